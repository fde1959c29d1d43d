/*
 * wait_insights.h — the insights drawn from where execution time went
 * (wait_breakdown.h, issue 29), their inputs taken from the Profile and
 * decided by wait_insight_rules.h: executions waiting for a CPU (the
 * server needs more CPU or less work), statements waiting on heavyweight
 * locks (with the statements that may hold them, lock_windows.h) and on
 * PostgreSQL's internal locks (LWLocks). Ranked with the others by the
 * database time each explains.
 */
#pragma once

#include "analysis.h"
#include "wait_insight_rules.h"

namespace qprof {

/* Appends the wait insights to analysis.insights. */
void find_wait_insights(Analysis &analysis);

/* Whether a wait insight already tells why `statement` waits (its Lock or
 * LWLock waits, or the run queue when the CPU insight was found), so that
 * the generic "waiting off CPU" one is not told twice. */
bool waits_told_by_wait_insight(const Analysis &analysis, uint32_t statement);

} // namespace qprof
