/*
 * report_clickhouse.h — `qprof report --clickhouse`: the report's main
 * tables computed by ClickHouse (export/fleet_report.h), printed as the
 * report of files prints them, or as JSON with the report's field names.
 */
#pragma once

#include "fleet_report.h"

#include <string>

namespace qprof {

/* Prints the report of the samples in ClickHouse at `url`, and writes it
 * as the HTML page to `html` unless empty; returns the exit status. */
int report_from_clickhouse(const std::string &url, const std::string &database,
                           const FleetFilters &filters, bool json,
                           const std::string &html);

/* Writes `content` to `path`; throws CaptureIoError. */
void write_report_file(const std::string &path, const std::string &content);

} // namespace qprof
