/*
 * batch_means.h — how much a statement's latency drifts within one
 * capture, to tell a change between two captures from that drift.
 *
 * Executions of one capture are not independent: a minute of other load
 * on the machine, a table that grows, a cache that cools slow down a run
 * of consecutive executions together. A test over the individual
 * executions (the Mann–Whitney U of qprof diff) takes each for news and
 * finds a +30% "regression" between two captures of the same workload.
 * The batch means method groups consecutive executions into batches and
 * compares the two captures' batch means (of the log of the latency:
 * a ratio, robust to the odd slow execution) with Welch's t test, whose
 * variance is then the capture's own drift from batch to batch.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace qprof {

/* The batch means of a sequence of latencies, in bounded memory: batches
 * of kFirstBatchSize values; when kMaxBatches are full, neighbours are
 * merged into batches twice as large. Once there are 2 * kFirstBatchSize
 * * (kMaxBatches / 2) values or more, kMaxBatches / 2 to kMaxBatches - 1
 * batches of equal size are kept (the unfinished last one is left out). */
class BatchMeans {
  public:
    static constexpr uint64_t kFirstBatchSize = 4;
    static constexpr size_t kMaxBatches = 16;

    void add(uint64_t ns);

    size_t batches() const { return sums_.size(); }
    uint64_t batch_size() const { return size_; }
    /* The mean of the log (ns) of each finished batch's values. */
    std::vector<double> means() const;

  private:
    std::vector<double> sums_; /* finished batches: sum of log(ns) */
    uint64_t size_ = kFirstBatchSize;
    double open_sum_ = 0;
    uint64_t open_n_ = 0;
};

/* Welch's t test of the batch means of BASE and NEW: present when each
 * side has kMinBatches batches. */
struct BatchTest {
    static constexpr size_t kMinBatches = 4;

    bool present = false;
    size_t batches_base = 0, batches_new = 0;
    uint64_t batch_size_base = 0, batch_size_new = 0; /* values a batch */
    /* NEW / BASE of the geometric means of the batches (exp of the
     * difference of their mean log latency) */
    double ratio = 0;
    double t = 0;       /* > 0: NEW slower; infinite when neither spreads */
    double df = 0;      /* Welch–Satterthwaite degrees of freedom */
    double p_value = 1; /* two-sided, Student's t */
};

BatchTest batch_test(const BatchMeans &base, const BatchMeans &fresh);

/* Two-sided p-value of Student's t with `df` degrees of freedom. */
double student_t_p_value(double t, double df);

} // namespace qprof
