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
 *    as the latency is;
 *  - with the kernel facts' wait split (issue 29): the spread of each part
 *    of the executions' time (on the CPU, in the run queue, I/O wait, Lock,
 *    LWLock, other waits), and their latency less the time they waited
 *    for a CPU, which the machine's load adds to every execution.
 */
#pragma once

#include "batch_means.h"
#include "capture_set.h"
#include "latency_histogram.h"
#include "wait_breakdown.h"

#include <array>
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
    /* the requests whose executions all carry the wait split, each less
     * the time its executions waited for a CPU; and those that do not */
    LatencyHistogram latency_less_runqueue;
    uint64_t without_split = 0;
    /* the same values in the order the requests ended, batched: the
     * capture's own drift (batch_means.h) */
    BatchMeans batches, batches_less_runqueue;

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

/* The parts of an execution's time qprof diff compares, disjoint as the
 * report's "where the time went": they add up to its elapsed time but for
 * the CPU slices at its edges (WaitTotals::unaccounted_ns). The I/O wait
 * is the IO class of wait events (IO:DataFileRead...), not the kernel's
 * uninterruptible sleep: that sleep lasts until the task is on a CPU
 * again, so it overlaps the run queue, and a loaded machine would make
 * "other waits" negative. "Other waits" is the rest of the off-CPU time,
 * with another wait event or none. */
enum class WaitPart { OnCpu, RunQueue, IoWait, Lock, LWLock, OtherWaits };
constexpr size_t kWaitParts = 6;

/* "oncpu", "runqueue", "io_wait", "lock", "lwlock", "other_waits" */
const char *wait_part_name(WaitPart part);
/* "on the CPU", "waiting for a CPU", "I/O wait", "Lock", "LWLock",
 * "other waits" */
const char *wait_part_label(WaitPart part);

/* One execution's parts in ms, from its split read with a weight of 1. */
std::array<double, kWaitParts> wait_parts_ms(const WaitView &execution);

/* The work of executions, per execution. */
struct ExecutionWork {
    Moments rows, shared_blks_read, shared_blks_accessed; /* hit + read */
    Moments io_wait_ms; /* only executions with kernel facts */
    double errors = 0;
    /* executions whose kernel facts carry the wait split: their parts,
     * and their latency less the time they waited for a CPU (recorded
     * executions, as the profile's latency histograms count them) */
    std::array<Moments, kWaitParts> wait_parts_ms;
    LatencyHistogram latency_less_runqueue;
    uint64_t without_split = 0; /* recorded executions without it */
    /* the latency of recorded executions, and less their run-queue time,
     * in the order the capture holds them, batched: the capture's own
     * drift (batch_means.h) */
    BatchMeans batches, batches_less_runqueue;
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
