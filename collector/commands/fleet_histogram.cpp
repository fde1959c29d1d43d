#include "fleet_histogram.h"
#include "latency_histogram.h"

namespace qprof {

std::vector<uint64_t> fleet_histogram(const FleetStatement &s) {
    std::vector<uint64_t> out(LatencyHistogram::coarse_bounds_ms().size() + 1,
                              0);
    for (const FleetLatencyBucket &b : s.latency)
        out[LatencyHistogram::coarse_bucket_of(static_cast<uint64_t>(
            LatencyHistogram::bucket_value_ns(b.bucket)))] += b.executions;
    return out;
}

} // namespace qprof
