/*
 * diff_statistics.h — the statistical tests qprof diff judges a change
 * by: the Mann–Whitney U test of two latency histograms, Welch's t test
 * of two means and the two-proportion z test of two rates.
 */
#pragma once

#include "diff_samples.h"
#include "latency_histogram.h"

#include <cstdint>
#include <string>

namespace qprof {

/* The Mann–Whitney U test of two latency histograms (executions tied
 * within a bucket), normal approximation with tie correction. */
struct RankTest {
    uint64_t n_base = 0, n_new = 0;
    double u = 0;       /* U of NEW: > n_base*n_new/2 when NEW is slower */
    double z = 0;       /* > 0: NEW slower */
    double p_value = 1; /* two-sided; 1 when either side is empty */
};
RankTest mann_whitney(const LatencyHistogram &base,
                      const LatencyHistogram &fresh);

/* A change of the work an execution does: rows, shared blocks accessed or
 * read (Welch's test of the means, normal approximation), or the error
 * rate (a two-proportion z test). */
struct WorkChange {
    std::string measure; /* "rows_per_call", "shared_blks_accessed_per_call",
                            "shared_blks_read_per_call", "io_wait_ms_per_call",
                            "error_rate"; a wait part: "oncpu_ms_per_call"
                            ... (WaitPart) */
    std::string method;  /* "welch-t" or "two-proportion-z" */
    double base = 0, fresh = 0;
    double z = 0;       /* > 0: more in NEW */
    double p_value = 1; /* two-sided */
    bool significant = false;
};
WorkChange welch_test(const std::string &measure, const Moments &base,
                      const Moments &fresh);
WorkChange proportion_test(const std::string &measure, double base_events,
                           double base_n, double new_events, double new_n);

} // namespace qprof
