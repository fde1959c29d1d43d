/*
 * report_json.h — the report as the JSON document docs/report-json.md
 * describes (schema_version 1). The HTML page is rendered from it.
 */
#pragma once

#include "analysis.h"
#include "json_writer.h"
#include "plan_tree.h"
#include "report_selection.h"

#include <string>
#include <vector>

namespace qprof {

constexpr int kReportSchemaVersion = 1;
/* Statements and groups with a time series of their own. */
constexpr size_t kSeriesShown = 8;

/* Where the elapsed time of a set of executions with wait facts went
 * (docs/report-json.md, "waits"): an object, or null without them. */
void report_waits_json(JsonWriter &w, const WaitTotals *waits);

/* A plan's `nodes` (docs/report-json.md): the stored plan's tree with
 * the actuals matched to its nodes (match_actuals), or, without the plan,
 * the tree of the actuals alone (indexed by node id); null without
 * either. */
void plan_nodes_json(JsonWriter &w, const PlanTree &tree,
                     const std::vector<NodeTotals> &actuals);

std::string render_report_json(const Analysis &analysis,
                               const ReportSelection &selection,
                               const ReportOptions &options);

} // namespace qprof
