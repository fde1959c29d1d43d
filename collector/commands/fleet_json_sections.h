/*
 * fleet_json_sections.h — the sections of `qprof report --clickhouse
 * --json` written from ClickHouse's answers with the report's JSON field
 * names (docs/report-json.md): waits, kernel facts, the time series and
 * heatmap, the requests and N+1, the node hotspots.
 */
#pragma once

#include "fleet_report.h"
#include "json_writer.h"

namespace qprof {

/* `waits` as the report's JSON writes them, null without any. */
void fleet_waits_json(JsonWriter &w, const FleetWaits &waits);

/* A statement's or group's kernel facts, null without them, with their
 * waits; without kernel facts, the waits the extension sampled. */
void fleet_kernel_json(JsonWriter &w, const FleetStatement &s);
void fleet_kernel_json(JsonWriter &w, const FleetGroup &g);

/* `timeseries` and `heatmap` as in the report's JSON (docs/report-json.md). */
void fleet_timeline_json(JsonWriter &w, const FleetReport &r);

/* `requests` as in the report's JSON: the requests and the N+1
 * statements. */
void fleet_requests_json(JsonWriter &w, const FleetReport &r);

/* `node_hotspots` as in the report's JSON, by the report's writer. */
void fleet_hotspots_json(JsonWriter &w, const FleetReport &r);

} // namespace qprof
