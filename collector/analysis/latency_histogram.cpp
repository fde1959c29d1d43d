#include "latency_histogram.h"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace qprof {

namespace {

/* Bucket i holds (gamma^(i-1), gamma^i]: its midpoint is within
 * (gamma-1)/(gamma+1) < 1% of any value in it. */
constexpr double kGamma = 1.02;
const double kLogGamma = std::log(kGamma);

} // namespace

int32_t LatencyHistogram::bucket_of(uint64_t ns) {
    if (ns <= 1)
        return 0;
    return static_cast<int32_t>(
        std::ceil(std::log(static_cast<double>(ns)) / kLogGamma));
}

double LatencyHistogram::bucket_value_ns(int32_t bucket) {
    if (bucket <= 0)
        return 1;
    return std::exp(kLogGamma * bucket) * 2 / (1 + kGamma);
}

void LatencyHistogram::add_widening(int32_t bucket, uint64_t ns) {
    if (counts_.empty()) {
        first_ = bucket;
        counts_.assign(1, 0);
    } else if (bucket < first_) {
        counts_.insert(counts_.begin(), static_cast<size_t>(first_ - bucket),
                       0);
        first_ = bucket;
    } else if (static_cast<size_t>(bucket - first_) >= counts_.size()) {
        counts_.resize(static_cast<size_t>(bucket - first_) + 1, 0);
    }
    ++counts_[static_cast<size_t>(bucket - first_)];
    ++count_;
    min_ns_ = std::min(min_ns_, ns);
    max_ns_ = std::max(max_ns_, ns);
}

void LatencyHistogram::merge(const LatencyHistogram &other) {
    for (size_t i = 0; i < other.counts_.size(); ++i) {
        uint32_t n = other.counts_[i];
        if (n == 0)
            continue;
        int32_t bucket = other.first_ + static_cast<int32_t>(i);
        add(bucket, other.min_ns_);
        counts_[static_cast<size_t>(bucket - first_)] += n - 1;
        count_ += n - 1;
    }
    if (other.count_) {
        min_ns_ = std::min(min_ns_, other.min_ns_);
        max_ns_ = std::max(max_ns_, other.max_ns_);
    }
}

double LatencyHistogram::quantile_ns(double q) const {
    if (count_ == 0)
        return 0;
    /* the rank of the nearest-rank definition */
    uint64_t rank = static_cast<uint64_t>(std::ceil(q * count_));
    rank = std::max<uint64_t>(1, std::min(rank, count_));
    if (rank == count_)
        return static_cast<double>(max_ns_);
    if (rank == 1)
        return static_cast<double>(min_ns_);
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
        seen += counts_[i];
        if (seen >= rank) {
            double v = bucket_value_ns(first_ + static_cast<int32_t>(i));
            return std::min(std::max(v, static_cast<double>(min_ns_)),
                            static_cast<double>(max_ns_));
        }
    }
    return static_cast<double>(max_ns_);
}

namespace {

constexpr double kCoarseBoundsMs[] = {
    0.01, 0.02, 0.05, 0.1, 0.2,  0.5,  1,    2,     5,     10,   20,
    50,   100,  200,  500, 1000, 2000, 5000, 10000, 30000, 60000};
constexpr size_t kCoarseBounds = std::size(kCoarseBoundsMs);

/* The coarse bucket of `ns` as the bounds in ms define it: the first
 * bound not below ns / 1e6. */
uint32_t coarse_bucket_by_ms(uint64_t ns) {
    double ms = static_cast<double>(ns) / 1e6;
    return static_cast<uint32_t>(std::lower_bound(std::begin(kCoarseBoundsMs),
                                                  std::end(kCoarseBoundsMs),
                                                  ms) -
                                 std::begin(kCoarseBoundsMs));
}

/* The same bounds in ns: the largest ns in each bucket, found with
 * coarse_bucket_by_ms itself (ns / 1e6 never decreases as ns grows, so
 * a bucket is a range of ns), so that a value's bucket is found by
 * comparing integers, with no division, and is the same. */
struct CoarseBoundsNs {
    uint64_t last_ns[kCoarseBounds];
    CoarseBoundsNs() {
        for (size_t i = 0; i < kCoarseBounds; ++i) {
            uint64_t ns =
                static_cast<uint64_t>(std::llround(kCoarseBoundsMs[i] * 1e6));
            while (coarse_bucket_by_ms(ns) > i)
                --ns;
            while (coarse_bucket_by_ms(ns + 1) <= i)
                ++ns;
            last_ns[i] = ns;
        }
    }
};
const CoarseBoundsNs kCoarseBoundsNs;

} // namespace

const std::vector<double> &LatencyHistogram::coarse_bounds_ms() {
    static const std::vector<double> bounds(std::begin(kCoarseBoundsMs),
                                            std::end(kCoarseBoundsMs));
    return bounds;
}

uint32_t LatencyHistogram::coarse_bucket_of(uint64_t ns) {
    const uint64_t *last = kCoarseBoundsNs.last_ns;
    return static_cast<uint32_t>(
        std::lower_bound(last, last + kCoarseBounds, ns) - last);
}

std::vector<uint64_t> LatencyHistogram::coarse_counts() const {
    std::vector<uint64_t> out(coarse_bounds_ms().size() + 1, 0);
    for (size_t i = 0; i < counts_.size(); ++i)
        if (counts_[i] != 0)
            out[coarse_bucket_of(static_cast<uint64_t>(bucket_value_ns(
                first_ + static_cast<int32_t>(i))))] += counts_[i];
    return out;
}

} // namespace qprof
