/*
 * diff_samples.h — what qprof diff reads of each sample beyond the
 * profile:
 *  - what each request of a route cost the database: a route is compared
 *    per request (the time of the route's statements within one request,
 *    told by traceparent or request_id), so that captures of different
 *    length or load compare, and a slower statement among a route's many
 *    fast ones shows in its requests even when the median execution of the
 *    route does not move;
 *  - the spread of the work of each statement's and route's executions
 *    (rows, shared blocks), so that a change of their mean can be tested
 *    as the latency is.
 */
#pragma once

#include "capture_set.h"
#include "latency_histogram.h"

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

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

/* Count, mean and spread of one measure over executions (each weighted
 * by the sample rate; Welford's update, no cancellation), for a test of a
 * change of its mean. */
struct Moments {
    double n = 0, mean = 0, m2 = 0;

    void add(double value, double weight) {
        n += weight;
        double delta = value - mean;
        mean += weight * delta / n;
        m2 += weight * delta * (value - mean);
    }
    /* sample variance; 0 for fewer than two executions */
    double variance() const { return n > 1 && m2 > 0 ? m2 / (n - 1) : 0; }
};

/* The work of executions, per execution. */
struct ExecutionWork {
    Moments rows, shared_blks_read, shared_blks_accessed; /* hit + read */
    Moments io_wait_ms; /* only executions with kernel facts */
    double errors = 0;
};

/* A statement as the profile tells it apart: server, database, text (1 +
 * index in CaptureSet::texts(), 0 = none) and, without a text, command. */
using StatementWorkKey = std::tuple<uint32_t, uint32_t, uint32_t, int>;

struct SampleFacts {
    std::map<std::string, RouteRequests> route_requests; /* by route name */
    uint64_t requests = 0; /* every request seen, of any route */
    std::map<StatementWorkKey, ExecutionWork> statement_work;
    std::map<std::string, ExecutionWork> route_work; /* top-level */
};

/* Reads `set` once more (memory: one open request per backend, one
 * histogram per route, one entry per statement). */
SampleFacts read_sample_facts(CaptureSet &set);

} // namespace qprof
