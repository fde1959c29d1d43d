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

/* The latency of a set of executions as the JSON gives it: from its
 * histogram (the report of files), or as ClickHouse computed it. */
struct LatencyFigures {
    double min_ns = 0, max_ns = 0, p50_ns = 0, p95_ns = 0, p99_ns = 0;
};
LatencyFigures latency_figures(const LatencyHistogram &latency);

/* The measures of one set of executions (a statement, a plan, a group:
 * docs/report-json.md), inside the object open: the counts and sums of
 * `sums` (its histogram, series and waits unread), `latency`, and
 * `waits` (null: none). */
void aggregate_json(JsonWriter &w, const Aggregate &sums,
                    const LatencyFigures &latency, const WaitTotals *waits);

/* `attribution.dimensions` (docs/report-json.md): each dimension's groups
 * listed, with their measures and top statements. The report of files and
 * `qprof report --clickhouse` both write it from these. */
struct AttributionStatement {
    std::string statement; /* its key: s1... */
    double calls = 0, total_ns = 0;
};
struct AttributionGroup {
    std::string name;
    bool tagged = true;
    const Aggregate *all = nullptr; /* its top-level executions */
    LatencyFigures latency;
    const WaitTotals *waits = nullptr;
    std::vector<AttributionStatement> top_statements;
};
struct AttributionDimension {
    std::string name; /* route, controller, app, user, db, tag:NAME */
    uint64_t groups_total = 0;
    std::vector<AttributionGroup> groups;
};
/* The key `dimensions` and its array; shares are of `total_ns`. */
void attribution_dimensions_json(JsonWriter &w,
                                 const std::vector<AttributionDimension> &dims,
                                 double total_ns);

std::string render_report_json(const Analysis &analysis,
                               const ReportSelection &selection,
                               const ReportOptions &options);

} // namespace qprof
