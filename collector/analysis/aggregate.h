/*
 * aggregate.h — the measures summed over a set of executions (a statement,
 * a plan, a route...), so that any two sets can be compared: counts and
 * sums weighted by the sampling rate, the latency histogram, kernel facts
 * and database time per interval.
 *
 * A measure of the sample is added in one place, the lists below: its sum
 * then appears in every aggregate, in the JSON document and to diff.
 */
#pragma once

#include "latency_histogram.h"
#include "qprof.pb.h"
#include "time_series.h"
#include "wait_breakdown.h"

#include <cstdint>

namespace qprof {

/* X(name, expression over `s` (a SampleFields), JSON name, divisor
 * from the capture's unit to the JSON's) */
#define QPROF_SAMPLE_SUMS(X)                                                   \
    X(plan_ns, s.plan_time_ns(), "plan_ms", 1e6)                               \
    X(rows, s.rows(), "rows", 1)                                               \
    X(shared_blks_hit, s.shared_blks_hit(), "shared_blks_hit", 1)              \
    X(shared_blks_read, s.shared_blks_read(), "shared_blks_read", 1)           \
    X(shared_blks_dirtied, s.shared_blks_dirtied(), "shared_blks_dirtied", 1)  \
    X(shared_blks_written, s.shared_blks_written(), "shared_blks_written", 1)  \
    X(local_blks_read, s.local_blks_read(), "local_blks_read", 1)              \
    X(temp_blks_read, s.temp_blks_read(), "temp_blks_read", 1)                 \
    X(temp_blks_written, s.temp_blks_written(), "temp_blks_written", 1)        \
    X(blk_read_time_ns, s.blk_read_time_ns(), "blk_read_time_ms", 1e6)         \
    X(blk_write_time_ns, s.blk_write_time_ns(), "blk_write_time_ms", 1e6)      \
    X(wal_records, s.wal_records(), "wal_records", 1)                          \
    X(wal_bytes, s.wal_bytes(), "wal_bytes", 1)

/* The same for the kernel facts (over `io`, an IoFields), summed
 * over the executions that have them. */
#define QPROF_KERNEL_SUMS(X)                                                   \
    X(oncpu_ns, io.oncpu_ns(), "oncpu_ms", 1e6)                                \
    X(io_wait_ns, io.offcpu_io_wait_ns(), "io_wait_ms", 1e6)                   \
    X(other_wait_ns, io.offcpu_other_ns(), "other_wait_ms", 1e6)               \
    X(page_cache_misses, io.page_cache_misses(), "page_cache_misses", 1)       \
    X(block_requests, io.block_requests(), "block_requests", 1)                \
    X(block_bytes, io.block_bytes(), "block_bytes", 1)                         \
    X(read_bytes, io.read_bytes(), "read_bytes", 1)                            \
    X(write_bytes, io.write_bytes(), "write_bytes", 1)

#define QPROF_COUNT(name, expr, json, divisor) +1
constexpr size_t kSampleSums = 0 QPROF_SAMPLE_SUMS(QPROF_COUNT);
constexpr size_t kKernelSums = 0 QPROF_KERNEL_SUMS(QPROF_COUNT);
#undef QPROF_COUNT

/* One execution as every aggregate it counts in sees it (computed once). */
struct ExecutionView {
    const SampleFields *sample;
    double weight;       /* executions it stands for (1 / sample_rate) */
    uint64_t db_time_ns; /* planning + execution */
    int32_t bucket;      /* LatencyHistogram::bucket_of(db_time_ns) */
    int64_t interval;    /* TimeGrid::interval_of(start) */
    bool error;
    /* the measures above, weighted, in list order (set_sums) */
    double sums[kSampleSums];
    bool has_kernel;
    double kernel[kKernelSums];
    WaitView waits; /* present when the kernel facts carry the split */

    /* Fills sums and kernel from `sample` and `weight`. */
    void set_sums();
};

struct Aggregate {
    uint64_t executions = 0; /* recorded */
    double calls = 0;        /* estimated: weighted */
    double errors = 0;
    double total_ns = 0;
#define QPROF_FIELD(name, expr, json, divisor) double name = 0;
    QPROF_SAMPLE_SUMS(QPROF_FIELD)
    uint64_t kernel_executions = 0;
    QPROF_KERNEL_SUMS(QPROF_FIELD)
#undef QPROF_FIELD
    LatencyHistogram latency;
    TimeSeries db_time_ns_series;
    WaitBreakdown waits; /* where the time went, from the kernel facts */

    /* `with_series`: also the database time per interval (only the
     * aggregates whose series are shown keep one: it costs a cache miss);
     * `with_waits`: also where the time went (statements, the total, the
     * route and --group-by groups: the others would cost as much again) */
    void add(const ExecutionView &e, const TimeGrid &grid,
             bool with_series = true, bool with_waits = true);
    double mean_ns() const {
        return calls > 0 ? total_ns / calls : 0;
    }
};

} // namespace qprof
