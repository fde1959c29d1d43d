/*
 * fleet_plan_changes.h — the plans of the statements `qprof report
 * --clickhouse` lists (export/fleet_report.h), compared and keyed as the
 * report of files compares and keys them.
 */
#pragma once

#include "analysis.h"
#include "fleet_report.h"

#include <cstddef>
#include <vector>

namespace qprof {

/* A listed statement whose plans changed, compared as the report of files
 * compares them (compare_plans). */
struct FleetPlanChange {
    uint32_t statement;
    PlanComparison comparison;
};

/* The plan changes of `statements` (indexes into FleetReport::statements;
 * those with fewer than two plans are skipped), each statement's plans
 * compared by compare_plans. */
std::vector<FleetPlanChange>
fleet_plan_changes(const FleetReport &r,
                   const std::vector<uint32_t> &statements);

/* Plans are keyed p1, p2... in the order of their statements' keys, as in
 * the report of files: the key number of each statement's first plan. */
std::vector<size_t> fleet_plan_keys(const FleetReport &r);

} // namespace qprof
