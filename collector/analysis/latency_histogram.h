/*
 * latency_histogram.h — latencies of individual executions in log-spaced
 * buckets 2% wide, so that any percentile is known within 1% of its exact
 * value whatever the number of executions. Only the range of buckets a
 * statement uses is stored; minimum and maximum are kept exactly.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace qprof {

class LatencyHistogram {
  public:
    /* The bucket of `ns` (computed once per execution, then added to every
     * histogram the execution counts in). */
    static int32_t bucket_of(uint64_t ns);
    /* The value a bucket stands for: within 1% of every value in it. */
    static double bucket_value_ns(int32_t bucket);

    void add(int32_t bucket, uint64_t ns) {
        /* inline for a bucket already in range: every sample is added to
         * several histograms */
        size_t at =
            static_cast<size_t>(static_cast<int64_t>(bucket) - first_);
        if (bucket >= first_ && at < counts_.size()) {
            ++counts_[at];
            ++count_;
            min_ns_ = ns < min_ns_ ? ns : min_ns_;
            max_ns_ = ns > max_ns_ ? ns : max_ns_;
            return;
        }
        add_widening(bucket, ns);
    }
    void merge(const LatencyHistogram &other);

    uint64_t count() const { return count_; }
    uint64_t min_ns() const { return count_ ? min_ns_ : 0; }
    uint64_t max_ns() const { return max_ns_; }
    /* The q-quantile (0..1) of the values added, within 1%; 0 when empty. */
    double quantile_ns(double q) const;

    /* Counts per coarse bucket (coarse_bounds_ms(), the last one open). */
    std::vector<uint64_t> coarse_counts() const;
    /* Upper bounds in ms of the coarse buckets; the last is open. */
    static const std::vector<double> &coarse_bounds_ms();
    /* The coarse bucket of a value in ns. */
    static uint32_t coarse_bucket_of(uint64_t ns);

    /* The stored buckets: counts[i] executions in bucket first + i (a
     * rank test over two histograms, diff.cpp). */
    int32_t first_bucket() const { return first_; }
    const std::vector<uint32_t> &bucket_counts() const { return counts_; }

  private:
    /* add() of a bucket outside the buckets held so far */
    void add_widening(int32_t bucket, uint64_t ns);

    int32_t first_ = 0;
    std::vector<uint32_t> counts_;
    uint64_t count_ = 0;
    uint64_t min_ns_ = UINT64_MAX;
    uint64_t max_ns_ = 0;
};

} // namespace qprof
