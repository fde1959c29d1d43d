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

/* X(name): the measures of both lists that most executions have, in
 * their order in Aggregate (one cache line). Every aggregate adds all of
 * them, zeros included, as one run of additions with no lookup; the
 * others only when not zero. Adding a zero changes no sum (they start at
 * +0, and no measure is negative), so the sums are the same either way. */
#define QPROF_HOT_SUMS(X)                                                      \
    X(plan_ns)                                                                 \
    X(rows)                                                                    \
    X(shared_blks_hit)                                                         \
    X(oncpu_ns)                                                                \
    X(other_wait_ns) X(io_wait_ns) X(shared_blks_read) X(blk_read_time_ns)
/* Their places in ExecutionView::hot: kHot_plan_ns... */
#define QPROF_HOT_SLOT(name) kHot_##name,
enum HotSum : size_t { QPROF_HOT_SUMS(QPROF_HOT_SLOT) kHotSums };
#undef QPROF_HOT_SLOT

struct Aggregate;

/* One execution as every aggregate it counts in sees it (computed once,
 * from the sample alone: the report makes it on the thread that reads
 * the samples). Laid out by use: what every aggregate reads first, then
 * the measures most executions have, the waits, the other measures. */
struct ExecutionView {
    const SampleFields *sample;
    double weight;       /* executions it stands for (1 / sample_rate) */
    uint64_t db_time_ns; /* planning + execution */
    int32_t bucket;      /* LatencyHistogram::bucket_of(db_time_ns) */
    bool error;          /* a SQLSTATE other than 00000 */
    bool has_kernel;
    size_t measures; /* in `measure` */
    /* the measures of QPROF_HOT_SUMS, weighted (zero when absent) */
    double hot[kHotSums];
    WaitView waits; /* present when the kernel facts carry the split */
    /* the other measures this execution has (not zero), weighted, and
     * where each is summed: an aggregate adds only these (most executions
     * have none, and a sum that stays zero is never written) */
    struct Measure {
        double Aggregate::*field;
        double value;
    } measure[kSampleSums + kKernelSums];

    /* Everything above from `s` and `weight`. */
    void set(const SampleFields &s, double weight);
    /* Fills the measures from `sample` and `weight`. */
    void set_sums();
};

/* Aligned on a cache line and laid out by use: what every execution adds
 * first (counts, histogram, series), then the measures most executions
 * have, the rarer ones last. A sample of a busy capture adds to thousands
 * of statements and plans: the fewer lines an addition touches, the
 * fewer it waits for. A measure added to the lists above needs its field
 * here too (the compiler says so). */
struct alignas(64) Aggregate {
    uint64_t executions = 0; /* recorded */
    double calls = 0;        /* estimated: weighted */
    double total_ns = 0;
    uint64_t kernel_executions = 0;
    LatencyHistogram latency;
    TimeSeries db_time_ns_series;
    /* on most executions: QPROF_HOT_SUMS */
    double plan_ns = 0, rows = 0, shared_blks_hit = 0, oncpu_ns = 0,
           other_wait_ns = 0, io_wait_ns = 0, shared_blks_read = 0,
           blk_read_time_ns = 0;
    /* on some */
    double errors = 0;
    WaitBreakdown waits; /* where the time went, from the kernel facts */
    double shared_blks_dirtied = 0, shared_blks_written = 0,
           local_blks_read = 0, temp_blks_read = 0, temp_blks_written = 0,
           blk_write_time_ns = 0, wal_records = 0, wal_bytes = 0,
           page_cache_misses = 0, block_requests = 0, block_bytes = 0,
           read_bytes = 0, write_bytes = 0;

    /* `with_series`: also the database time per interval (only the
     * aggregates whose series are shown keep one: it costs a cache miss);
     * `with_waits`: also where the time went (statements, the total, the
     * route and --group-by groups: the others would cost as much again) */
    /* `interval`: the execution's in `grid` (TimeGrid::interval_of) */
    void add(const ExecutionView &e, int64_t interval, const TimeGrid &grid,
             bool with_series = true, bool with_waits = true);
    /* Only the series and the waits of add() (the rest is summed
     * elsewhere and added with add_counts). */
    void add_series_and_waits(const ExecutionView &e, int64_t interval,
                              const TimeGrid &grid);
    /* Adds `o`'s counts, sums and latencies: not its series or waits.
     * Exact for the counts and the histogram; a sum of weighted measures
     * is the same as adding the executions one by one when the weights
     * and measures are whole numbers (a sampling rate of 1, 0.5, 0.1...)
     * and may differ in its last digits otherwise. */
    void add_counts(const Aggregate &o);
    double mean_ns() const { return calls > 0 ? total_ns / calls : 0; }
};

} // namespace qprof
