/*
 * fleet_plan_nodes.h — the per-node actuals ClickHouse summed for a plan
 * (FleetPlan::nodes, export/fleet_report.h) as the report's NodeTotals, and
 * the plan's tree with them, so that the report's writer and rules
 * (plan_nodes_json, the insights on plan nodes) take them as they take the
 * report of files'.
 */
#pragma once

#include "fleet_report.h"
#include "plan_tree.h"

#include <vector>

namespace qprof {

/* The plan's node sums indexed by node id (the report's PlanStats::nodes:
 * the ids no execution had are not `seen`). */
std::vector<NodeTotals> fleet_node_totals(const FleetPlan &plan);

/* The stored plan's tree (FleetPlan::json) with `nodes` matched to its
 * nodes (match_actuals); empty when the plan is not stored or does not
 * parse. */
PlanTree fleet_plan_tree(const FleetPlan &plan,
                         const std::vector<NodeTotals> &nodes);

} // namespace qprof
