/*
 * fleet_json.h — the JSON document of `qprof report --clickhouse --json`,
 * which its page draws: the report's field names for the parts ClickHouse
 * answers (docs/report-json.md), and `not_available` for the others.
 */
#pragma once

#include "fleet_report.h"

#include <cstddef>
#include <string>

namespace qprof {

/* The document of `r`, read from the ClickHouse `where`; `top` bounds the
 * insights listed. */
std::string fleet_json(const FleetReport &r, const std::string &where,
                       size_t top);

} // namespace qprof
