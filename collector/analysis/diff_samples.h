/*
 * diff_requests.h — what each request of a route cost the database, for
 * qprof diff: a route is compared per request (the time of the route's
 * statements within one request, told by traceparent or request_id), so
 * that captures of different length or load compare, and a slower
 * statement among a route's many fast ones shows in its requests even
 * when the median execution of the route does not move.
 */
#pragma once

#include "capture_set.h"
#include "latency_histogram.h"

#include <cstdint>
#include <map>
#include <string>

namespace qprof {

/* A route's requests: each one's database time (its top-level executions
 * of that route, summed) in a latency histogram. */
struct RouteRequests {
    uint64_t requests = 0;
    double executions = 0; /* weighted by the sample rate */
    double total_ns = 0;
    LatencyHistogram latency; /* one value per request */

    double mean_ns() const {
        return requests ? total_ns / static_cast<double>(requests) : 0;
    }
};

/* The requests of a capture set, by route name (the `route` tag). */
struct RequestProfile {
    std::map<std::string, RouteRequests> routes;
    uint64_t requests = 0; /* every request seen, of any route */
};

/* Reads `set` once more for its requests (memory: one open request per
 * backend, one histogram per route). */
RequestProfile build_request_profile(CaptureSet &set);

} // namespace qprof
