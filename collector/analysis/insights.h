/*
 * insights.h — the report's findings, each with its evidence and next
 * step: missing indexes, estimate errors, spills to disk, storage reads,
 * N+1 requests, plan changes, error rates and waits off the CPU (those of
 * the wait split are in wait_insights.h); ranked by the database time each
 * explains.
 */
#pragma once

#include "analysis.h"

namespace qprof {

/* Fills analysis.insights, the largest first. */
void find_insights(Analysis &analysis);

} // namespace qprof
