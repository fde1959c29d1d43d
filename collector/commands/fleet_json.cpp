#include "fleet_json.h"
#include "capture_format.h"
#include "fleet_attribution.h"
#include "fleet_histogram.h"
#include "fleet_insights.h"
#include "fleet_json_sections.h"
#include "fleet_plan_changes.h"
#include "fleet_plan_nodes.h"
#include "insight_rules.h"
#include "json_writer.h"
#include "latency_histogram.h"
#include "report_json.h"
#include "sqlstate.h"

namespace qprof {

namespace {

/* The parts of the report of files ClickHouse does not answer yet: the
 * page says so where it would draw them. */
const char *const kNotAvailable[] = {"inputs"};

double share(const FleetReport &r, double ns) {
    return r.total_ns > 0 ? ns / r.total_ns : 0.0;
}

} // namespace

std::string fleet_json(const FleetReport &r, const std::string &where,
                       size_t top) {
    JsonWriter w;
    w.begin_object();
    w.field("schema_version", kReportSchemaVersion);
    w.field("generator",
            std::string("qprof report --clickhouse ") + kCollectorVersion);
    w.field("generated_unix_us", unix_now_us());
    w.field("source", "clickhouse");
    w.field("clickhouse", where);
    /* what the report of files has and ClickHouse does not answer yet */
    w.key("not_available").begin_array();
    for (const char *part : kNotAvailable)
        w.value(part);
    w.end_array();
    w.key("summary").begin_object();
    w.key("servers").begin_array();
    for (const FleetServer &s : r.servers) {
        w.begin_object();
        w.field("key", std::to_string(s.server_id));
        w.field("system_identifier", std::to_string(s.server_id));
        w.field("label", s.label);
        w.field("cluster_name", s.cluster_name);
        w.field("version", s.version);
        w.field("host", s.host);
        w.field("epochs", s.epochs);
        w.field("executions", s.samples);
        w.field("lost", s.lost);
        w.field("epoch_changes", s.epoch_changes);
        w.end_object();
    }
    w.end_array();
    w.field("executions", r.executions);
    w.field("calls", r.calls);
    w.field("db_time_ms", r.total_ns / 1e6);
    w.field("errors", r.errors);
    w.field("statements", r.statements_total);
    w.key("start_unix_us");
    r.executions ? w.value(r.first_unix_us) : w.null();
    w.key("end_unix_us");
    r.executions ? w.value(r.last_unix_us) : w.null();
    w.field("duration_s",
            r.executions
                ? static_cast<double>(r.last_unix_us - r.first_unix_us) / 1e6
                : 0.0);
    w.key("sampling").begin_object();
    w.field("sample_rate", r.max_weight > 0 ? 1 / r.max_weight : 1.0);
    w.field("scale", r.max_weight);
    w.field("scaled", r.max_weight > 1);
    w.end_object();
    uint64_t overwritten = 0, reset = 0, epoch_changed = 0, lost = 0,
             epoch_changes = 0;
    for (const FleetServer &s : r.servers) {
        overwritten += s.lost_overwritten;
        reset += s.lost_reset;
        epoch_changed += s.lost_epoch_changed;
        lost += s.lost;
        epoch_changes += s.epoch_changes;
    }
    w.key("losses").begin_object();
    w.field("overwritten", overwritten);
    w.field("reset", reset);
    w.field("epoch_changed", epoch_changed);
    w.field("unknown", lost - overwritten - reset - epoch_changed);
    w.field("epoch_changes", epoch_changes);
    w.end_object();
    w.field("kernel_executions", r.kernel_executions);
    auto of_executions = [&](uint64_t n) {
        return r.executions
                   ? static_cast<double>(n) / static_cast<double>(r.executions)
                   : 0.0;
    };
    w.key("kernel").begin_object();
    w.field("present", r.kernel_executions > 0);
    w.field("executions", r.kernel_executions);
    w.field("share", of_executions(r.kernel_executions));
    w.field("wait_executions", r.waits.executions);
    w.field("wait_share", of_executions(r.waits.executions));
    w.key("waits");
    fleet_waits_json(w, r.waits);
    w.end_object();
    w.key("node_actuals").begin_object();
    w.field("executions", r.actuals_executions);
    w.end_object();
    w.end_object();
    std::vector<size_t> first_key = fleet_plan_keys(r);
    w.key("statements").begin_array();
    double running = 0;
    for (uint32_t i = 0; i < r.statements.size(); ++i) {
        const FleetStatement &s = r.statements[i];
        w.begin_object();
        w.field("key", "s" + std::to_string(i + 1));
        /* the statements after the top are those other sections name */
        w.field("rank", i + 1);
        w.field("server", std::to_string(s.server_id));
        w.field("share", share(r, s.toplevel_ns));
        w.key("cumulative_share");
        if (i < r.top_statements) {
            running += s.toplevel_ns;
            w.value(share(r, running));
        } else {
            w.null();
        }
        w.field("system_identifier", std::to_string(s.server_id));
        w.field("queryid", std::to_string(s.queryid));
        w.field("dbid", s.dbid);
        w.field("database", s.database);
        w.field("text", s.text);
        w.field("cmd", s.cmd);
        w.field("executions", s.executions);
        w.field("calls", s.calls);
        w.field("errors", s.errors);
        w.field("total_ms", s.total_ns / 1e6);
        w.field("mean_ms", s.calls > 0 ? s.total_ns / s.calls / 1e6 : 0.0);
        w.field("p50_ms", s.p50_ns / 1e6);
        w.field("p95_ms", s.p95_ns / 1e6);
        w.field("p99_ms", s.p99_ns / 1e6);
        w.field("rows", s.rows);
        w.field("shared_blks_read", s.shared_blks_read);
        w.key("histogram").begin_array();
        for (uint64_t count : fleet_histogram(s))
            w.value(count);
        w.end_array();
        w.key("plans").begin_array();
        for (size_t p = 0; p < s.plans.size(); ++p) {
            const FleetPlan &plan = s.plans[p];
            w.begin_object();
            w.field("key", "p" + std::to_string(first_key[i] + p));
            w.field("planid", std::to_string(plan.planid));
            w.field("shape_id", std::to_string(plan.shape_id));
            w.field("text", plan.text);
            w.field("first_unix_us", plan.first_unix_us);
            w.field("last_unix_us", plan.last_unix_us);
            w.field("executions", plan.executions);
            w.field("calls", plan.calls);
            w.field("total_ms", plan.total_ns / 1e6);
            w.field("mean_ms",
                    plan.calls > 0 ? plan.total_ns / plan.calls / 1e6 : 0.0);
            /* the tree with its nodes' actuals, by the report's writer */
            w.field("actuals_executions", plan.actuals_executions);
            std::vector<NodeTotals> nodes = fleet_node_totals(plan);
            w.key("nodes");
            plan_nodes_json(w, fleet_plan_tree(plan, nodes), nodes);
            w.end_object();
        }
        w.end_array();
        /* its routes (top-level executions), and its errors */
        w.key("routes").begin_array();
        for (const FleetStatementRoute &route : s.routes) {
            w.begin_object();
            w.field("name", route.name);
            w.field("calls", route.calls);
            w.field("total_ms", route.total_ns / 1e6);
            w.end_object();
        }
        w.end_array();
        w.key("errors_by_sqlstate").begin_array();
        for (const auto &e : s.errors_by_sqlstate) {
            w.begin_object();
            w.field("sqlstate", e.first);
            w.field("name", sqlstate_name(e.first));
            w.field("count", e.second);
            w.end_object();
        }
        w.end_array();
        fleet_kernel_json(w, s);
        w.end_object();
    }
    w.end_array();
    w.field("statements_total", r.statements_total);
    w.key("rankings").begin_object();
    for (const FleetRanking &ranking : r.rankings) {
        w.key(ranking.name.c_str()).begin_array();
        for (uint32_t s : ranking.statements)
            w.value("s" + std::to_string(s + 1));
        w.end_array();
    }
    w.end_object();
    w.key("plan_changes").begin_array();
    for (const FleetPlanChange &pc : fleet_plan_changes(r, r.plan_changes)) {
        size_t first = first_key[pc.statement];
        w.begin_object();
        w.field("statement", "s" + std::to_string(pc.statement + 1));
        w.key("plans").begin_array();
        for (uint32_t p : pc.comparison.order)
            w.value("p" + std::to_string(first + p));
        w.end_array();
        w.field("slower_plan",
                "p" + std::to_string(first + pc.comparison.slower));
        w.field("faster_plan",
                "p" + std::to_string(first + pc.comparison.faster));
        w.field("extra_ms", pc.comparison.extra_ns / 1e6);
        w.field("changed_unix_us", pc.comparison.changed_unix_us);
        w.end_object();
    }
    w.end_array();
    /* every dimension, by the report's writer */
    w.key("attribution").begin_object();
    w.field("group_by", r.group_by);
    attribution_dimensions_json(w, FleetAttribution(r).dimensions(),
                                r.total_ns);
    w.end_object();
    fleet_requests_json(w, r);
    fleet_hotspots_json(w, r);
    InsightKeys keys;
    keys.statement = [](uint32_t s) { return "s" + std::to_string(s + 1); };
    keys.plan = [](uint32_t p) { return "p" + std::to_string(p + 1); };
    insights_json(w, fleet_insights(r), top, r.total_ns, keys);
    w.key("errors").begin_array();
    for (const FleetError &e : r.errors_by_sqlstate) {
        w.begin_object();
        w.field("sqlstate", e.sqlstate);
        w.field("name", sqlstate_name(e.sqlstate));
        w.field("class", sqlstate_class_name(e.sqlstate));
        w.field("timeout", sqlstate_is_timeout(e.sqlstate));
        w.field("cancel", sqlstate_is_cancel(e.sqlstate));
        w.field("count", e.count);
        /* the statement that failed most that way, when listed */
        w.key("statements").begin_array();
        for (uint32_t i = 0; i < r.statements.size(); ++i)
            if (r.statements[i].server_id == e.server_id &&
                r.statements[i].queryid == e.queryid) {
                w.begin_object();
                w.field("statement", "s" + std::to_string(i + 1));
                w.end_object();
                break;
            }
        w.end_array();
        w.field("executions", e.executions);
        w.field("top_system_identifier", std::to_string(e.server_id));
        w.field("top_queryid", std::to_string(e.queryid));
        w.end_object();
    }
    w.end_array();
    fleet_timeline_json(w, r);
    w.key("latency_buckets_ms").begin_array();
    for (double b : LatencyHistogram::coarse_bounds_ms())
        w.value(b);
    w.null().end_array();
    w.end_object();
    return w.str();
}

} // namespace qprof
