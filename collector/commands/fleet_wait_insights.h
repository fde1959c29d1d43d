/*
 * fleet_wait_insights.h — the wait insights of `qprof report --clickhouse`
 * (cpu_saturation, lock_wait, lwlock_wait, io_bound, wait_bound), decided
 * from ClickHouse's sums by the report's own rules
 * (analysis/wait_insight_rules.h).
 */
#pragma once

#include "analysis.h"
#include "fleet_report.h"

#include <vector>

namespace qprof {

/* Appends them to `out` in the order the report of files finds them:
 * the run queue, then each statement listed's Lock and LWLock waits,
 * then each one's kernel facts. Plans are numbered as keyed (p1 is 0). */
void add_fleet_wait_insights(const FleetReport &r, std::vector<Insight> &out);

} // namespace qprof
