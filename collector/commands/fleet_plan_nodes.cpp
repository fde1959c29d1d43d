#include "fleet_plan_nodes.h"

namespace qprof {

std::vector<NodeTotals> fleet_node_totals(const FleetPlan &plan) {
    std::vector<NodeTotals> out;
    for (const FleetPlanNode &n : plan.nodes) {
        /* ids are bounded by the query (kMaxNodeId) */
        if (out.size() <= n.node_id)
            out.resize(n.node_id + 1);
        NodeTotals &t = out[n.node_id];
        t.seen = true;
        t.node_id = n.node_id;
        t.parent_node_id = n.parent_node_id;
        t.node_type = n.node_type;
        t.relation = n.relation;
        t.index = n.index;
        t.executions = n.executions;
        t.loops = n.loops;
        t.plan_rows = n.plan_rows;
        t.actual_rows = n.actual_rows;
        t.rows_removed_by_filter = n.rows_removed_by_filter;
        t.rows_removed_by_join_filter = n.rows_removed_by_join_filter;
        t.total_time_ms = n.total_time_ms;
        t.timed_executions = n.timed_executions;
        t.shared_blks_hit = n.shared_blks_hit;
        t.shared_blks_read = n.shared_blks_read;
        t.temp_blks_read = n.temp_blks_read;
        t.temp_blks_written = n.temp_blks_written;
        t.max_estimate_factor = n.max_estimate_factor;
    }
    return out;
}

PlanTree fleet_plan_tree(const FleetPlan &plan,
                         const std::vector<NodeTotals> &nodes) {
    PlanTree tree = parse_plan_json(plan.json);
    match_actuals(tree, nodes);
    return tree;
}

} // namespace qprof
