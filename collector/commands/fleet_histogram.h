/*
 * fleet_histogram.h — a statement's latency histogram from the executions
 * ClickHouse counted per latency bucket (FleetStatement::latency), in the
 * report's coarse buckets (LatencyHistogram::coarse_counts).
 */
#pragma once

#include "fleet_report.h"

#include <cstdint>
#include <vector>

namespace qprof {

/* Executions per coarse bucket (LatencyHistogram::coarse_bounds_ms(), the
 * last one open), each fine bucket counted where its value falls, as the
 * report of files counts them. */
std::vector<uint64_t> fleet_histogram(const FleetStatement &s);

} // namespace qprof
