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

namespace {

/* A plan node's fields up to its filter, the same whether the node comes
 * from the stored plan (with its actuals `t`, or none) or from the actuals
 * alone. */
void node_fields(JsonWriter &w, int64_t node_id, const std::string &node_type,
                 const std::string &relation, const std::string &index,
                 double plan_rows, const NodeTotals &t) {
    w.field("node_id", node_id);
    w.field("node_type", node_type);
    w.key("relation").string_or_null(relation);
    w.key("index").string_or_null(index);
    w.field("executions", t.executions);
    w.field("loops", t.loops);
    w.field("plan_rows", plan_rows);
    w.field("actual_rows", t.actual_rows);
    w.field("rows_removed_by_filter", t.rows_removed_by_filter);
    w.field("rows_removed_by_join_filter", t.rows_removed_by_join_filter);
    w.key("total_time_ms");
    t.timed_executions ? w.value(t.total_time_ms) : w.null();
    w.field("shared_blks_hit", t.shared_blks_hit);
    w.field("shared_blks_read", t.shared_blks_read);
    w.field("temp_blks_read", t.temp_blks_read);
    w.field("temp_blks_written", t.temp_blks_written);
    w.key("estimate_factor");
    double f = t.estimate_factor();
    f > 0 ? w.value(f) : w.null();
}

void tree_node(JsonWriter &w, const PlanTree &tree,
               const std::vector<NodeTotals> &actuals, uint32_t at, int depth) {
    const PlanTreeNode &n = tree.nodes[at];
    const NodeTotals *act =
        n.actual_node_id >= 0 ? &actuals[static_cast<size_t>(n.actual_node_id)]
                              : nullptr;
    NodeTotals none;
    const NodeTotals &t = act ? *act : none;
    w.begin_object();
    node_fields(
        w, act ? static_cast<int64_t>(act->node_id) : static_cast<int64_t>(at),
        n.node_type, n.relation, n.index, act ? t.plan_rows : n.plan_rows, t);
    std::string filter = !n.filter.empty() ? n.filter : n.index_cond;
    w.key("filter").string_or_null(filter);
    w.key("children").begin_array();
    if (depth < 100)
        for (uint32_t c : n.children)
            tree_node(w, tree, actuals, c, depth + 1);
    w.end_array();
    w.end_object();
}

/* A tree from the actuals alone, when the stored plan is missing. */
void actuals_node(JsonWriter &w, const std::vector<NodeTotals> &actuals,
                  uint32_t id, int depth) {
    const NodeTotals &t = actuals[id];
    w.begin_object();
    node_fields(w, t.node_id, t.node_type, t.relation, t.index, t.plan_rows, t);
    w.key("filter").null();
    w.key("children").begin_array();
    if (depth < 100)
        for (uint32_t c = 0; c < actuals.size(); ++c)
            if (c != id && actuals[c].seen && actuals[c].parent_node_id == id)
                actuals_node(w, actuals, c, depth + 1);
    w.end_array();
    w.end_object();
}

} // namespace

void plan_nodes_json(JsonWriter &w, const PlanTree &tree,
                     const std::vector<NodeTotals> &actuals) {
    if (!tree.empty())
        tree_node(w, tree, actuals, 0, 0);
    else if (!actuals.empty() && actuals[0].seen)
        actuals_node(w, actuals, 0, 0);
    else
        w.null();
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
        plan_nodes_json(w_, a_.tree(plan), ps.nodes);
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
