#include "aggregate.h"

namespace qprof {

void Aggregate::add(const ExecutionView &e, const TimeGrid &grid,
                    bool with_series) {
    const capture::v1::Sample &s = *e.sample;
    double w = e.weight;
    ++executions;
    calls += w;
    if (e.error)
        errors += w;
    total_ns += w * static_cast<double>(e.db_time_ns);
#define QPROF_ADD(name, expr, json, divisor)                                   \
    name += w * static_cast<double>(expr);
    QPROF_SAMPLE_SUMS(QPROF_ADD)
    if (s.has_io()) {
        const capture::v1::IoStats &io = s.io();
        ++kernel_executions;
        QPROF_KERNEL_SUMS(QPROF_ADD)
    }
#undef QPROF_ADD
    latency.add(e.bucket, e.db_time_ns);
    if (with_series)
        db_time_ns_series.add(grid, e.interval,
                              w * static_cast<double>(e.db_time_ns));
}

} // namespace qprof
