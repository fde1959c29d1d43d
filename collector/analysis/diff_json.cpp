/*
 * diff_json.cpp — qprof diff as one JSON document (docs/diff.md).
 */
#include "diff.h"

#include <string>

#include "json_writer.h"
#include "wait_events.h"

namespace qprof {

namespace {

void write_side(JsonWriter &w, const char *name, const DiffSide &s,
                bool route) {
    w.key(name);
    if (!s.present) {
        w.null();
        return;
    }
    w.begin_object()
        .field("calls", s.calls)
        .field("total_ms", s.total_ms)
        .field("mean_ms", s.mean_ms)
        .field("p50_ms", s.p50_ms)
        .field("p95_ms", s.p95_ms)
        .field("p99_ms", s.p99_ms)
        .field("rows_per_call", s.rows_per_call)
        .field("shared_blks_read_per_call", s.blks_read_per_call)
        .field("shared_blks_hit_per_call", s.blks_hit_per_call)
        .field("io_wait_ms_per_call", s.io_wait_ms_per_call)
        .field("error_rate", s.error_rate)
        .field("calls_per_request", s.calls_per_request)
        .field("ms_per_request", s.ms_per_request);
    if (route)
        w.field("requests", s.requests)
            .field("request_p50_ms", s.request_p50_ms)
            .field("request_p95_ms", s.request_p95_ms)
            .field("request_p99_ms", s.request_p99_ms);
    w.field("share", s.share).end_object();
}

void write_plan(JsonWriter &w, const char *name, const DiffPlan &p) {
    w.key(name);
    if (p.shape_id == 0 && p.text.empty()) {
        w.null();
        return;
    }
    w.begin_object()
        .field("shape_id", std::to_string(p.shape_id))
        .field("cost", p.cost)
        .field("calls", p.calls)
        .field("text", p.text)
        .end_object();
}

void write_batches(JsonWriter &w, const BatchTest &b) {
    w.key("batches");
    if (!b.present) {
        w.null();
        return;
    }
    w.begin_object()
        .field("method", "welch-t-batch-means")
        .field("batches_base", static_cast<uint64_t>(b.batches_base))
        .field("batches_new", static_cast<uint64_t>(b.batches_new))
        .field("batch_size_base", b.batch_size_base)
        .field("batch_size_new", b.batch_size_new)
        .field("ratio", b.ratio)
        .field("t", b.t) /* null: infinite, neither side spreads */
        .field("df", b.df)
        .field("p_value", b.p_value)
        .end_object();
}

void write_test(JsonWriter &w, const RankTest &t, const BatchTest &batches,
                DiffUnit unit) {
    w.begin_object()
        .field("method", "mann-whitney-u")
        .field("unit", unit_name(unit))
        .field("executions_base", t.n_base)
        .field("executions_new", t.n_new)
        .field("u", t.u)
        .field("z", t.z)
        .field("p_value", t.p_value);
    write_batches(w, batches);
    w.end_object();
}

void write_change(JsonWriter &w, const WorkChange &c) {
    w.begin_object()
        .field("measure", c.measure)
        .field("method", c.method)
        .field("base", c.base)
        .field("new", c.fresh)
        .field("z", c.z)
        .field("p_value", c.p_value)
        .field("significant", c.significant)
        .end_object();
}

void write_less_runqueue(JsonWriter &w, const DiffRow &r) {
    const LoadIndependentLatency &l = r.less_runqueue;
    w.key("latency_less_runqueue");
    if (!l.present) {
        w.null();
        return;
    }
    w.begin_object()
        .field("p50_base_ms", l.p50_base_ms)
        .field("p50_new_ms", l.p50_new_ms)
        .field("p95_base_ms", l.p95_base_ms)
        .field("p95_new_ms", l.p95_new_ms);
    w.key("median_ratio");
    if (l.median_ratio > 0)
        w.value(l.median_ratio);
    else
        w.null();
    w.key("test");
    write_test(w, l.test, l.batches, r.unit);
    w.end_object();
}

void write_waits(JsonWriter &w, const WaitComparison &c) {
    w.key("waits");
    if (!c.present) {
        w.null();
        return;
    }
    w.begin_object()
        .field("calls_base", c.calls_base)
        .field("calls_new", c.calls_new)
        .field("change_ms", c.change_ms);
    w.key("parts").begin_array();
    for (const WorkChange &p : c.parts)
        write_change(w, p);
    w.end_array();
    w.key("events").begin_array();
    for (const WaitEventChange &e : c.events)
        w.begin_object()
            .field("event", wait_event_name(e.event))
            .field("class", wait_event_class_name(e.event >> 24))
            .field("base_ms", e.base_ms)
            .field("new_ms", e.new_ms)
            .end_object();
    w.end_array();
    w.key("grew");
    if (!c.grew) {
        w.null();
    } else {
        w.begin_object()
            .field("part", wait_part_name(c.grew_part))
            .field("label", wait_part_label(c.grew_part))
            .field("ms", c.grew_ms);
        w.key("event");
        if (c.grew_event != 0)
            w.value(wait_event_name(c.grew_event));
        else
            w.null();
        w.field("event_ms", c.grew_event_ms).end_object();
    }
    w.end_object();
}

void write_rows(JsonWriter &w, const char *name,
                const std::vector<DiffRow> &rows) {
    w.key(name).begin_array();
    for (const DiffRow &r : rows) {
        w.begin_object()
            .field("kind", r.kind)
            .field("name", r.name)
            .field("key", r.key)
            .key("matched_by")
            .string_or_null(r.matched_by)
            .field("verdict", verdict_name(r.verdict))
            .field("raw_verdict", verdict_name(r.raw_verdict))
            .field("verdict_basis", r.less_runqueue.present
                                        ? "latency_less_runqueue"
                                        : "latency")
            .field("fails", r.fails)
            .field("within_drift", r.within_drift);
        w.key("route").string_or_null(r.route);
        bool route = r.kind == "route";
        write_side(w, "base", r.base, route);
        write_side(w, "new", r.fresh, route);
        w.key("median_ratio");
        if (r.median_ratio > 0)
            w.value(r.median_ratio);
        else
            w.null();
        w.field("added_ms", r.added_ms);
        w.key("test");
        write_test(w, r.test, r.batches, r.unit);
        write_less_runqueue(w, r);
        w.key("work").begin_array();
        for (const WorkChange &c : r.work)
            write_change(w, c);
        w.end_array();
        write_waits(w, r.waits);
        w.field("plan_changed", r.plan_changed);
        if (r.kind == "statement") {
            write_plan(w, "plan_base", r.plan_base);
            write_plan(w, "plan_new", r.plan_new);
        }
        w.end_object();
    }
    w.end_array();
}

void write_input(JsonWriter &w, const char *name, const DiffInput &in) {
    w.key(name).begin_object();
    w.key("paths").begin_array();
    for (const auto &p : in.paths)
        w.value(p);
    w.end_array();
    w.key("servers").begin_array();
    for (const auto &s : in.servers)
        w.value(s);
    w.end_array();
    w.field("samples", in.samples)
        .field("executions", in.executions)
        .field("requests", in.requests)
        .key("request_tag")
        .string_or_null(in.request_tag)
        .field("db_time_ms", in.total_ms)
        .field("first_unix_us", in.first_unix_us)
        .field("last_unix_us", in.last_unix_us);
    w.key("notices").begin_array();
    for (const auto &n : in.notices)
        w.value(n);
    w.end_array();
    w.end_object();
}

} // namespace

std::string render_diff_json(const DiffResult &d) {
    JsonWriter w;
    w.begin_object().field("format", "qprof-diff/2");
    write_input(w, "base", d.base);
    write_input(w, "new", d.fresh);
    w.field("same_server", d.same_server);
    w.key("options")
        .begin_object()
        .field("alpha", d.options.alpha)
        .field("min_change_pct", d.options.min_change_pct)
        .field("min_delta_ms", d.options.min_delta_ms)
        .field("min_share_pct", d.options.min_share_pct);
    w.key("fail_on_pct");
    if (d.options.fail_on)
        w.value(d.options.fail_on_pct);
    else
        w.null();
    w.end_object();
    w.field("failed", d.failed)
        .field("load_independent_rows", d.load_independent_rows)
        .field("load_changed_verdicts", d.load_changed_verdicts)
        .field("within_drift_rows", static_cast<uint64_t>(d.within_drift_rows));
    write_rows(w, "statements", d.statements);
    write_rows(w, "routes", d.routes);
    w.end_object();
    return w.str();
}

} // namespace qprof
