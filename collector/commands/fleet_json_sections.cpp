#include "fleet_json_sections.h"
#include "fleet_wait_totals.h"
#include "node_hotspots.h"
#include "report_json.h"

#include <algorithm>

namespace qprof {

namespace {

template <typename T> void kernel_json_of(JsonWriter &w, const T &g) {
    w.key("kernel");
    if (g.kernel_executions == 0) {
        w.null();
    } else {
        w.begin_object();
        w.field("executions", g.kernel_executions);
        w.field("oncpu_ms", g.oncpu_ns / 1e6);
        w.field("io_wait_ms", g.io_wait_ns / 1e6);
        w.field("other_wait_ms", g.other_wait_ns / 1e6);
        w.field("page_cache_misses", g.page_cache_misses);
        w.field("block_bytes", g.block_bytes);
        w.key("waits");
        fleet_waits_json(w, g.waits);
        w.end_object();
    }
    w.key("sampled_waits");
    if (g.kernel_executions == 0)
        fleet_waits_json(w, g.waits);
    else
        w.null();
}

void series_json(JsonWriter &w, const std::vector<double> &values,
                 double divisor) {
    w.begin_array();
    for (double v : values)
        w.value(v / divisor);
    w.end_array();
}

} // namespace

void fleet_waits_json(JsonWriter &w, const FleetWaits &waits) {
    if (waits.executions == 0) {
        w.null();
        return;
    }
    WaitTotals totals = fleet_wait_totals(waits);
    report_waits_json(w, &totals);
}

void fleet_kernel_json(JsonWriter &w, const FleetStatement &s) {
    kernel_json_of(w, s);
}

void fleet_kernel_json(JsonWriter &w, const FleetGroup &g) {
    kernel_json_of(w, g);
}

void fleet_timeline_json(JsonWriter &w, const FleetReport &r) {
    const FleetTimeline &tl = r.timeline;
    w.key("timeseries").begin_object();
    w.key("start_unix_us");
    tl.intervals ? w.value(tl.first * tl.width_us) : w.null();
    w.field("interval_s", static_cast<double>(tl.width_us) / 1e6);
    w.field("intervals", tl.intervals);
    w.key("db_time_ms");
    series_json(w, tl.db_time_ns, 1e6);
    w.key("executions").begin_array();
    for (double v : tl.executions)
        w.value(static_cast<uint64_t>(v + 0.5));
    w.end_array();
    w.key("errors");
    series_json(w, tl.errors, 1);
    w.key("series").begin_array();
    std::vector<double> other = tl.db_time_ns;
    for (size_t i = 0; i < tl.statements.size(); ++i) {
        const std::vector<double> &v = tl.statements[i];
        for (size_t t = 0; t < v.size() && t < other.size(); ++t)
            other[t] = std::max(0.0, other[t] - v[t]);
        w.begin_object();
        w.field("kind", "statement");
        w.field("key", "s" + std::to_string(i + 1));
        std::string label = r.statements[i].text;
        if (label.size() > 80)
            label = label.substr(0, 77) + "...";
        w.field("label", label);
        w.key("db_time_ms");
        series_json(w, v, 1e6);
        w.end_object();
    }
    w.begin_object();
    w.field("kind", "other");
    w.field("key", "other");
    w.field("label", "other statements");
    w.key("db_time_ms");
    series_json(w, other, 1e6);
    w.end_object();
    for (size_t g = 0; g < tl.groups.size(); ++g) {
        w.begin_object();
        w.field("kind", "route");
        w.field("key", r.group_by + ":" + r.primary().groups[g].name);
        w.field("label", r.primary().groups[g].name);
        w.key("db_time_ms");
        series_json(w, tl.groups[g], 1e6);
        w.end_object();
    }
    w.end_array();
    w.end_object();
    w.key("heatmap").begin_object();
    w.key("start_unix_us");
    tl.intervals ? w.value(tl.first * tl.width_us) : w.null();
    w.field("interval_s", static_cast<double>(tl.width_us) / 1e6);
    w.key("counts").begin_array();
    for (const std::vector<double> &counts : tl.heatmap) {
        w.begin_array();
        for (double v : counts)
            w.value(static_cast<uint64_t>(v + 0.5));
        w.end_array();
    }
    w.end_array();
    w.end_object();
}

void fleet_requests_json(JsonWriter &w, const FleetReport &r) {
    w.key("requests").begin_object();
    w.key("tag").string_or_null(r.request_tag);
    w.field("requests", r.requests);
    w.key("statements_per_request").begin_object();
    w.field("mean", r.requests ? static_cast<double>(r.request_statements) /
                                     static_cast<double>(r.requests)
                               : 0.0);
    w.field("max", r.max_request_statements);
    w.end_object();
    w.key("n_plus_one").begin_array();
    for (const FleetNPlusOne &n : r.n_plus_one) {
        w.begin_object();
        w.field("statement", "s" + std::to_string(n.statement + 1));
        w.key("route").string_or_null(n.route);
        w.field("requests", n.requests);
        w.field("executions", n.executions);
        w.field("max_per_request", n.max_per_request);
        w.field("mean_per_request", static_cast<double>(n.executions) /
                                        static_cast<double>(n.requests));
        w.field("example_request", n.example_request);
        w.field("example_executions", n.max_per_request);
        w.field("total_ms", n.total_ns / 1e6);
        w.field("share", r.total_ns > 0 ? n.total_ns / r.total_ns : 0.0);
        w.end_object();
    }
    w.end_array();
    w.end_object();
}

void fleet_hotspots_json(JsonWriter &w, const FleetReport &r) {
    std::vector<NodeHotspot> spots;
    for (const FleetHotspot &h : r.node_hotspots) {
        NodeHotspot s;
        s.node_type = h.node_type;
        s.relation = h.relation;
        s.index = h.index;
        s.executions = h.executions;
        s.loops = h.loops;
        s.actual_rows = h.actual_rows;
        s.rows_removed_by_filter = h.rows_removed_by_filter;
        s.total_time_ms = h.total_time_ms;
        s.timed = h.timed;
        s.shared_blks_read = h.shared_blks_read;
        s.temp_blks_written = h.temp_blks_written;
        s.max_estimate_factor = h.max_estimate_factor;
        s.statements = h.statements;
        spots.push_back(std::move(s));
    }
    node_hotspots_json(w, spots, spots.size(), [](uint32_t statement) {
        return "s" + std::to_string(statement + 1);
    });
}

} // namespace qprof
