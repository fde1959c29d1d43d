/*
 * metrics.h — live numbers of the samples `qprof collect` reads, for
 * Prometheus (`--metrics-listen`): counters and histograms per statement,
 * per route and per application, each bounded to a number of series, and
 * the ring's and the collector's own counters, rendered in the Prometheus
 * text exposition format (version 0.0.4). The collection loop adds samples;
 * the HTTP thread (metrics_http.h) asks for the text: both under one mutex,
 * held for one sample or for a copy of the numbers, never while rendering.
 */
#pragma once

#include "exec_io.h"
#include "sample_row.h"
#include "sample_source.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace qprof {

struct MetricsOptions {
    /* statements with series of their own (--metrics-statements); the
     * others are summed into queryid="other" */
    size_t statements = 100;
    /* routes, and applications, with series of their own
     * (--metrics-groups); the others are summed into "(other)" */
    size_t groups = 50;
    /* how often the busiest statement outside the top may take the place
     * of the idlest one inside */
    double rebalance_seconds = 60;
};

/* The upper bounds, in seconds, of the execution time histograms' buckets
 * (then +Inf). */
extern const double kMetricsBucketSeconds[];
extern const size_t kMetricsBuckets;

class Metrics {
  public:
    explicit Metrics(const MetricsOptions &options);
    ~Metrics();

    /* The text of a statement (its first 80 characters are exposed once,
     * in qprof_statement_info). */
    void add_text(int64_t queryid, const std::string &text);
    /* One sample the collector read; `io` its kernel facts, or null. */
    void add_sample(const SampleRow &row, const ExecIo *io);
    /* The ring's counters as last read, where the collector stands in it
     * (last_seq) and the samples it has counted as lost. */
    void set_status(const RingStatus &status, uint64_t last_seq,
                    uint64_t losses_total);

    /* The exposition: callable from any thread. */
    std::string exposition() const;

  private:
    struct State;
    mutable std::mutex mutex_;
    std::unique_ptr<State> state_;
};

} // namespace qprof
