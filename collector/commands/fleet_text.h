/*
 * fleet_text.h — the terminal layout of `qprof report --clickhouse`:
 * report_text.cpp's for the sections ClickHouse answers (summary, insights,
 * top statements, time by route or another attribution, plan changes,
 * requests and N+1, errors by SQLSTATE, kernel facts by statement and by
 * group, where the time went); statements are keyed s1, s2... by total
 * time, their plans p1, p2... in that order.
 */
#pragma once

#include "fleet_report.h"

#include <cstddef>
#include <string>

namespace qprof {

/* The terminal report of `r`, read from the ClickHouse `where`; `top`
 * bounds the insights shown. */
std::string fleet_text(const FleetReport &r, const std::string &where,
                       size_t top);

} // namespace qprof
