/*
 * diff_statistics.cpp — the rank test, Welch's test and the proportion
 * test of qprof diff (diff_statistics.h).
 */
#include "diff_statistics.h"

#include <algorithm>
#include <cmath>

namespace qprof {

RankTest mann_whitney(const LatencyHistogram &base,
                      const LatencyHistogram &fresh) {
    RankTest t;
    t.n_base = base.count();
    t.n_new = fresh.count();
    if (t.n_base == 0 || t.n_new == 0)
        return t;
    const auto &bc = base.bucket_counts(), &fc = fresh.bucket_counts();
    int32_t bf = base.first_bucket(), ff = fresh.first_bucket();
    int32_t lo = std::min(bf, ff);
    int32_t hi = std::max(bf + static_cast<int32_t>(bc.size()),
                          ff + static_cast<int32_t>(fc.size()));
    auto at = [](const std::vector<uint32_t> &c, int32_t first, int32_t b) {
        int64_t i = static_cast<int64_t>(b) - first;
        return i >= 0 && i < static_cast<int64_t>(c.size())
                   ? static_cast<double>(c[static_cast<size_t>(i)])
                   : 0.0;
    };
    /* the executions of a bucket share its mid-rank */
    double below = 0, rank_sum_new = 0, ties = 0;
    for (int32_t b = lo; b < hi; ++b) {
        double nb = at(bc, bf, b), nf = at(fc, ff, b), n = nb + nf;
        if (n == 0)
            continue;
        rank_sum_new += nf * (below + (n + 1) / 2);
        ties += n * n * n - n;
        below += n;
    }
    double n1 = static_cast<double>(t.n_base),
           n2 = static_cast<double>(t.n_new);
    double big_n = n1 + n2;
    t.u = rank_sum_new - n2 * (n2 + 1) / 2;
    double mean = n1 * n2 / 2;
    double var = n1 * n2 / 12 * ((big_n + 1) - ties / (big_n * (big_n - 1)));
    if (var <= 0)
        return t; /* every execution in one bucket: no difference seen */
    double d = t.u - mean;
    double corrected = std::max(0.0, std::fabs(d) - 0.5); /* continuity */
    t.z = (d < 0 ? -corrected : corrected) / std::sqrt(var);
    t.p_value = std::erfc(std::fabs(t.z) / std::sqrt(2.0));
    return t;
}

WorkChange welch_test(const std::string &measure, const Moments &base,
                      const Moments &fresh) {
    WorkChange c;
    c.measure = measure;
    c.method = "welch-t";
    c.base = base.mean;
    c.fresh = fresh.mean;
    if (base.n < 2 || fresh.n < 2)
        return c; /* no spread known: not tested */
    double se2 = base.variance() / base.n + fresh.variance() / fresh.n;
    double d = fresh.mean - base.mean;
    if (se2 <= 0) {
        /* every execution of each side did the same: any difference is
         * certain */
        if (d != 0) {
            c.z = d > 0 ? INFINITY : -INFINITY;
            c.p_value = 0;
        }
        return c;
    }
    c.z = d / std::sqrt(se2);
    c.p_value = std::erfc(std::fabs(c.z) / std::sqrt(2.0));
    return c;
}

WorkChange proportion_test(const std::string &measure, double base_events,
                           double base_n, double new_events, double new_n) {
    WorkChange c;
    c.measure = measure;
    c.method = "two-proportion-z";
    if (base_n < 1 || new_n < 1)
        return c;
    c.base = base_events / base_n;
    c.fresh = new_events / new_n;
    double pooled = (base_events + new_events) / (base_n + new_n);
    double se2 = pooled * (1 - pooled) * (1 / base_n + 1 / new_n);
    if (se2 <= 0)
        return c; /* no error on either side, or nothing but errors */
    c.z = (c.fresh - c.base) / std::sqrt(se2);
    c.p_value = std::erfc(std::fabs(c.z) / std::sqrt(2.0));
    return c;
}

} // namespace qprof
