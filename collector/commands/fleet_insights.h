/*
 * fleet_insights.h — the insights of `qprof report --clickhouse`, decided
 * from ClickHouse's answers (export/fleet_report.h) by the report's own
 * rules (analysis/insight_rules.h).
 */
#pragma once

#include "analysis.h"
#include "fleet_report.h"

#include <vector>

namespace qprof {

/* The insights whose inputs ClickHouse answers, by the report's rules
 * (insight_rules.h), ranked as the report ranks them: the missing indexes
 * and estimate errors of the plans of the statements listed, their spills and
 * storage reads (with the catalog snapshot of their database and its settings),
 * the N+1 statements, the plan regressions of the plan changes (and the index
 * the faster plan used, dropped since), the error rates, the wait
 * insights (fleet_wait_insights.h). Plans are
 * numbered as keyed (p1 is 0). */
std::vector<Insight> fleet_insights(const FleetReport &r);

/* Which statements of `r` the insights are about (true at their index):
 * the one each describes, those it names and those whose plans it weighs
 * (a missing index's time is that of every plan scanning so). */
std::vector<bool> fleet_insight_statements(const FleetReport &r);

} // namespace qprof
