/*
 * insights.h — the report's findings, each with its evidence and next
 * step: missing indexes, estimate errors, spills to disk, storage reads,
 * N+1 requests, plan changes, error rates and waits off the CPU (those of
 * the wait split are in wait_insights.h); ranked by the database time each
 * explains.
 */
#pragma once

#include "analysis.h"
#include "insight_rules.h"

namespace qprof {

/* A statement of the profile as every insight describes it (its text,
 * calls, time, share of the database time and route). */
InsightStatement insight_statement(const Analysis &analysis,
                                   uint32_t statement);

/* Fills analysis.insights, the largest first. */
void find_insights(Analysis &analysis);

} // namespace qprof
