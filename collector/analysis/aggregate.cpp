#include "aggregate.h"

#include <algorithm>

namespace qprof {

namespace {

/* Where each measure of the lists is summed, in list order. */
#define QPROF_MEMBER(name, expr, json, divisor) &Aggregate::name,
constexpr double Aggregate::*kSampleSumFields[kSampleSums] = {
    QPROF_SAMPLE_SUMS(QPROF_MEMBER)};
constexpr double Aggregate::*kKernelSumFields[kKernelSums] = {
    QPROF_KERNEL_SUMS(QPROF_MEMBER)};
#undef QPROF_MEMBER

/* The slot of a measure in ExecutionView::hot, or -1. */
#define QPROF_MEMBER(name) &Aggregate::name,
constexpr double Aggregate::*kHotSumFields[kHotSums] = {
    QPROF_HOT_SUMS(QPROF_MEMBER)};
#undef QPROF_MEMBER
constexpr int hot_slot_of(double Aggregate::*field) {
    for (size_t i = 0; i < kHotSums; ++i)
        if (kHotSumFields[i] == field)
            return static_cast<int>(i);
    return -1;
}
constexpr bool hot_sums_are_listed() {
    for (double Aggregate::*hot : kHotSumFields) {
        bool listed = false;
        for (double Aggregate::*field : kSampleSumFields)
            listed = listed || field == hot;
        for (double Aggregate::*field : kKernelSumFields)
            listed = listed || field == hot;
        if (!listed)
            return false;
    }
    return true;
}
static_assert(hot_sums_are_listed(),
              "a measure of QPROF_HOT_SUMS is in neither list");

} // namespace

void ExecutionView::set(const SampleFields &s, double w) {
    sample = &s;
    weight = w;
    db_time_ns = s.plan_time_ns() + s.exec_time_ns();
    bucket = LatencyHistogram::bucket_of(db_time_ns);
    error = !s.sqlstate().empty() && s.sqlstate() != "00000";
    set_sums();
}

void ExecutionView::set_sums() {
    const SampleFields &s = *sample;
    size_t n = 0;
    double Aggregate::*const *field = kSampleSumFields;
    std::fill(hot, hot + kHotSums, 0.0); /* the kernel's, without them */
    /* a zero is not kept among the others: adding it would change no
     * sum (they start at +0, and a nonzero measure never makes one -0) */
#define QPROF_SET(name, expr, json, divisor)                                   \
    if constexpr (constexpr int slot = hot_slot_of(&Aggregate::name);          \
                  slot >= 0) {                                                 \
        hot[slot] = weight * static_cast<double>(expr);                        \
    } else if (auto v = (expr)) {                                              \
        measure[n++] = {*field, weight * static_cast<double>(v)};              \
    }                                                                          \
    ++field;
    QPROF_SAMPLE_SUMS(QPROF_SET)
    has_kernel = s.has_io();
    if (has_kernel) {
        const IoFields &io = s.io();
        field = kKernelSumFields;
        QPROF_KERNEL_SUMS(QPROF_SET)
        waits.set(io, weight, db_time_ns);
    } else {
        waits.present = false;
    }
    measures = n;
    /* without the kernel's split, the waits the extension sampled */
    if (!waits.present && s.has_sampled_waits())
        waits.set_sampled(s.sampled_waits(), weight, db_time_ns);
    else
        waits.sampled = false;
#undef QPROF_SET
}

void Aggregate::add(const ExecutionView &e, int64_t interval,
                    const TimeGrid &grid, bool with_series, bool with_waits) {
    double w = e.weight;
    ++executions;
    calls += w;
    total_ns += w * static_cast<double>(e.db_time_ns);
    latency.add(e.bucket, e.db_time_ns);
    if (with_series)
        db_time_ns_series.add(grid, interval,
                              w * static_cast<double>(e.db_time_ns));
    if (e.has_kernel)
        ++kernel_executions;
#define QPROF_ADD_HOT(name) name += e.hot[kHot_##name];
    QPROF_HOT_SUMS(QPROF_ADD_HOT)
#undef QPROF_ADD_HOT
    for (size_t i = 0; i < e.measures; ++i)
        this->*e.measure[i].field += e.measure[i].value;
    if (e.error)
        errors += w;
    if (with_waits)
        waits.add(e.waits);
}

void Aggregate::add_series_and_waits(const ExecutionView &e, int64_t interval,
                                     const TimeGrid &grid) {
    db_time_ns_series.add(grid, interval,
                          e.weight * static_cast<double>(e.db_time_ns));
    waits.add(e.waits);
}

void Aggregate::add_counts(const Aggregate &o) {
    executions += o.executions;
    calls += o.calls;
    total_ns += o.total_ns;
    kernel_executions += o.kernel_executions;
    errors += o.errors;
    for (double Aggregate::*field : kSampleSumFields)
        this->*field += o.*field;
    for (double Aggregate::*field : kKernelSumFields)
        this->*field += o.*field;
    latency.merge(o.latency);
}

} // namespace qprof
