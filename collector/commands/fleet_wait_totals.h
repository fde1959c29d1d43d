/*
 * fleet_wait_totals.h — the waits ClickHouse summed (FleetWaits) as the
 * report's WaitTotals, which the report's lines and JSON writers print.
 */
#pragma once

#include "fleet_report.h"
#include "wait_breakdown.h"

namespace qprof {

/* The report's WaitTotals of waits ClickHouse summed: the same rows and
 * JSON as the report of files. */
WaitTotals fleet_wait_totals(const FleetWaits &f);

} // namespace qprof
