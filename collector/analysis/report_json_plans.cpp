/*
 * report_json_plans.cpp — the plans with their node trees (from the stored
 * plan, or from the actuals alone), the plan changes and the node hot
 * spots (node_hotspots.h). docs/report-json.md.
 */
#include "node_hotspots.h"
#include "report_json_document.h"

namespace qprof {

namespace pb = capture::v1;

/* Distinct (node type, relation, index) summed as hot spots. */
constexpr size_t kMaxSpots = 10000;

/* A plan node's fields up to its filter, the same whether the node comes
 * from the stored plan (with its actuals `t`, or none) or from the actuals
 * alone. */
void JsonReport::node_fields(int64_t node_id, const std::string &node_type,
                             const std::string &relation,
                             const std::string &index, double plan_rows,
                             const NodeTotals &t) {
    w_.field("node_id", node_id);
    w_.field("node_type", node_type);
    w_.key("relation").string_or_null(relation);
    w_.key("index").string_or_null(index);
    w_.field("executions", t.executions);
    w_.field("loops", t.loops);
    w_.field("plan_rows", plan_rows);
    w_.field("actual_rows", t.actual_rows);
    w_.field("rows_removed_by_filter", t.rows_removed_by_filter);
    w_.field("rows_removed_by_join_filter", t.rows_removed_by_join_filter);
    w_.key("total_time_ms");
    t.timed_executions ? w_.value(t.total_time_ms) : w_.null();
    w_.field("shared_blks_hit", t.shared_blks_hit);
    w_.field("shared_blks_read", t.shared_blks_read);
    w_.field("temp_blks_read", t.temp_blks_read);
    w_.field("temp_blks_written", t.temp_blks_written);
    w_.key("estimate_factor");
    double f = t.estimate_factor();
    f > 0 ? w_.value(f) : w_.null();
}

void JsonReport::node(uint32_t plan, const PlanTree &tree, uint32_t at,
                      int depth) {
    const PlanTreeNode &n = tree.nodes[at];
    const NodeTotals *act =
        n.actual_node_id >= 0
            ? &p_.plans[plan].nodes[static_cast<size_t>(n.actual_node_id)]
            : nullptr;
    NodeTotals none;
    const NodeTotals &t = act ? *act : none;
    w_.begin_object();
    node_fields(
        act ? static_cast<int64_t>(act->node_id) : static_cast<int64_t>(at),
        n.node_type, n.relation, n.index, act ? t.plan_rows : n.plan_rows, t);
    std::string filter = !n.filter.empty() ? n.filter : n.index_cond;
    w_.key("filter").string_or_null(filter);
    w_.key("children").begin_array();
    if (depth < 100)
        for (uint32_t c : n.children)
            node(plan, tree, c, depth + 1);
    w_.end_array();
    w_.end_object();
}

/* A tree from the actuals alone, when the stored plan is missing. */
void JsonReport::actuals_node(const PlanStats &ps, uint32_t id, int depth) {
    const NodeTotals &t = ps.nodes[id];
    w_.begin_object();
    node_fields(t.node_id, t.node_type, t.relation, t.index, t.plan_rows, t);
    w_.key("filter").null();
    w_.key("children").begin_array();
    if (depth < 100)
        for (uint32_t c = 0; c < ps.nodes.size(); ++c)
            if (c != id && ps.nodes[c].seen && ps.nodes[c].parent_node_id == id)
                actuals_node(ps, c, depth + 1);
    w_.end_array();
    w_.end_object();
}

void JsonReport::plans() {
    w_.key("plans").begin_array();
    for (uint32_t plan : sel_.plans) {
        const PlanStats &ps = p_.plans[plan];
        const pb::Plan &def = a_.set.plans()[ps.definition - 1].plan;
        w_.begin_object();
        w_.field("key", sel_.pkey(plan));
        w_.field("statement", sel_.skey(ps.statement));
        w_.field("planid", std::to_string(def.planid()));
        w_.field("shape_id", std::to_string(def.shape_id()));
        w_.field("text", def.plan_text());
        w_.field("first_unix_us", ps.first_unix_us);
        w_.field("last_unix_us", ps.last_unix_us);
        w_.field("actuals_executions", ps.actuals_executions);
        aggregate(ps.all);
        w_.key("nodes");
        const PlanTree &tree = a_.tree(plan);
        if (!tree.empty())
            node(plan, tree, 0, 0);
        else if (!ps.nodes.empty() && ps.nodes[0].seen)
            actuals_node(ps, 0, 0);
        else
            w_.null();
        w_.end_object();
    }
    w_.end_array();
}

void JsonReport::plan_changes() {
    w_.key("plan_changes").begin_array();
    for (const PlanChange &pc : a_.plan_changes) {
        if (sel_.statement_key[pc.statement] < 0)
            continue;
        w_.begin_object();
        w_.field("statement", sel_.skey(pc.statement));
        w_.key("plans").begin_array();
        for (uint32_t plan : pc.plans)
            w_.value(sel_.pkey(plan));
        w_.end_array();
        w_.field("slower_plan", sel_.pkey(pc.slower));
        w_.field("faster_plan", sel_.pkey(pc.faster));
        w_.field("extra_ms", pc.extra_ns / 1e6);
        w_.field("changed_unix_us", pc.changed_unix_us);
        w_.end_object();
    }
    w_.end_array();
}

void JsonReport::hotspots() {
    node_hotspots_json(w_, profile_node_hotspots(p_, kMaxSpots), o_.top,
                       [&](uint32_t statement) {
                           return sel_.statement_key[statement] >= 0
                                      ? sel_.skey(statement)
                                      : std::string();
                       });
}

} // namespace qprof
