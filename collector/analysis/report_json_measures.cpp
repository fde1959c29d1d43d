/*
 * report_json_measures.cpp — the measures of a set of executions, the same
 * fields wherever the report lists one (a statement, a plan, a group):
 * latency, the sample sums, the kernel's facts and where the time went
 * (waits). docs/report-json.md.
 */
#include "report_json_document.h"
#include "wait_events.h"

#include <algorithm>

namespace qprof {

void JsonReport::aggregate(const Aggregate &g) {
    aggregate_json(w_, g, latency_figures(g.latency), g.waits.totals());
}

LatencyFigures latency_figures(const LatencyHistogram &latency) {
    LatencyFigures f;
    f.min_ns = static_cast<double>(latency.min_ns());
    f.max_ns = static_cast<double>(latency.max_ns());
    f.p50_ns = latency.quantile_ns(0.50);
    f.p95_ns = latency.quantile_ns(0.95);
    f.p99_ns = latency.quantile_ns(0.99);
    return f;
}

void aggregate_json(JsonWriter &w, const Aggregate &g,
                    const LatencyFigures &latency, const WaitTotals *waits) {
    w.field("executions", g.executions);
    w.field("calls", g.calls);
    w.field("errors", g.errors);
    w.field("total_ms", g.total_ns / 1e6);
    w.field("mean_ms", g.mean_ns() / 1e6);
    w.field("min_ms", latency.min_ns / 1e6);
    w.field("max_ms", latency.max_ns / 1e6);
    w.field("p50_ms", latency.p50_ns / 1e6);
    w.field("p95_ms", latency.p95_ns / 1e6);
    w.field("p99_ms", latency.p99_ns / 1e6);
#define QPROF_JSON(name, expr, json, divisor) w.field(json, g.name / divisor);
    QPROF_SAMPLE_SUMS(QPROF_JSON)
    w.key("kernel");
    if (g.kernel_executions == 0) {
        w.null();
    } else {
        w.begin_object();
        w.field("executions", g.kernel_executions);
        QPROF_KERNEL_SUMS(QPROF_JSON)
        w.key("waits");
        report_waits_json(w, waits);
        w.end_object();
    }
    /* without kernel facts, the waits the extension sampled */
    w.key("sampled_waits");
    report_waits_json(w, g.kernel_executions == 0 ? waits : nullptr);
#undef QPROF_JSON
}

/* Wait events listed by name per set of executions; the rest summed. */
constexpr size_t kWaitEventsShown = 8;

void report_waits_json(JsonWriter &w, const WaitTotals *t) {
    if (t == nullptr) {
        w.null();
        return;
    }
    w.begin_object();
    w.field("executions", t->executions);
    w.field("calls", t->calls);
    w.field("elapsed_ms", t->elapsed_ns / 1e6);
    w.field("oncpu_ms", t->oncpu_ns / 1e6);
    w.field("runqueue_ms", t->runqueue_ns / 1e6);
    w.field("runqueue_waits", t->runqueue_waits);
    w.field("io_wait_ms", t->io_wait_ns / 1e6);
    std::vector<size_t> classes;
    for (size_t c = 1; c < kWaitClassSlots; ++c)
        if (t->class_ns[c] > 0 || t->class_count[c] > 0)
            classes.push_back(c);
    std::stable_sort(classes.begin(), classes.end(), [&](size_t x, size_t y) {
        return t->class_ns[x] > t->class_ns[y];
    });
    w.key("classes").begin_array();
    for (size_t c : classes) {
        w.begin_object();
        w.field("class", wait_class_label(static_cast<int>(c)));
        w.field("ms", t->class_ns[c] / 1e6);
        w.field("count", t->class_count[c]);
        w.end_object();
    }
    w.end_array();
    std::vector<WaitEventSum> events = t->events_by_time();
    double rest_ns = t->other_events_ns, rest_count = t->other_events_count;
    w.key("events").begin_array();
    for (size_t i = 0; i < events.size(); ++i) {
        const WaitEventSum &e = events[i];
        if (i >= kWaitEventsShown) {
            rest_ns += e.ns;
            rest_count += e.count;
            continue;
        }
        w.begin_object();
        w.field("name", wait_event_name(e.event));
        w.field("class", wait_class_label(static_cast<int>(e.event >> 24)));
        w.field("ms", e.ns / 1e6);
        w.field("count", e.count);
        w.end_object();
    }
    w.end_array();
    w.field("other_events_ms", rest_ns / 1e6);
    w.field("other_events_count", rest_count);
    w.field("no_wait_event_ms", t->no_event_ns() / 1e6);
    w.field("no_wait_event_count", t->no_event_count());
    w.field("unaccounted_ms", t->unaccounted_ns() / 1e6);
    w.field("sampled_executions", t->sampled_executions);
    w.field("sample_interval_ms", t->max_interval_us / 1e3);
    w.end_object();
}

} // namespace qprof
