#include "aggregate.h"

namespace qprof {

void ExecutionView::set_sums() {
    const SampleFields &s = *sample;
    double *out = sums;
#define QPROF_SET(name, expr, json, divisor)                                   \
    *out++ = weight * static_cast<double>(expr);
    QPROF_SAMPLE_SUMS(QPROF_SET)
    has_kernel = s.has_io();
    if (has_kernel) {
        const IoFields &io = s.io();
        out = kernel;
        QPROF_KERNEL_SUMS(QPROF_SET)
        waits.set(io, weight, db_time_ns);
    } else {
        waits.present = false;
    }
    /* without the kernel's split, the waits the extension sampled */
    if (!waits.present && s.has_sampled_waits())
        waits.set_sampled(s.sampled_waits(), weight, db_time_ns);
    else
        waits.sampled = false;
#undef QPROF_SET
}

void Aggregate::add(const ExecutionView &e, const TimeGrid &grid,
                    bool with_series, bool with_waits) {
    double w = e.weight;
    ++executions;
    calls += w;
    if (e.error)
        errors += w;
    total_ns += w * static_cast<double>(e.db_time_ns);
    const double *in = e.sums;
#define QPROF_ADD(name, expr, json, divisor) name += *in++;
    QPROF_SAMPLE_SUMS(QPROF_ADD)
    if (e.has_kernel) {
        ++kernel_executions;
        in = e.kernel;
        QPROF_KERNEL_SUMS(QPROF_ADD)
    }
    if (with_waits)
        waits.add(e.waits);
#undef QPROF_ADD
    latency.add(e.bucket, e.db_time_ns);
    if (with_series)
        db_time_ns_series.add(grid, e.interval,
                              w * static_cast<double>(e.db_time_ns));
}

} // namespace qprof
