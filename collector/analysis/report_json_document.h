/*
 * report_json_document.h — the writer of the report's JSON document
 * (report_json.h), inside the analysis layer only. One object writes the
 * document in its order; its sections are defined by concern:
 *   report_json.cpp              the order, filters, inputs
 *   report_json_summary.cpp      summary, sampling, insights
 *   report_json_measures.cpp     the measures of a set of executions, waits
 *   report_json_statements.cpp   statements, statement_index, rankings
 *   report_json_plans.cpp        plans and their nodes, plan_changes,
 *                                node_hotspots
 *   report_json_attribution.cpp  attribution, requests, errors
 *   report_json_timeseries.cpp   timeseries, heatmap
 */
#pragma once

#include "capture_format.h"
#include "json_writer.h"
#include "report_json.h"

#include <string>
#include <vector>

namespace qprof {

class JsonReport {
  public:
    JsonReport(const Analysis &a, const ReportSelection &sel,
               const ReportOptions &o)
        : a_(a), p_(a.profile), sel_(sel), o_(o) {}

    /* The whole document (docs/report-json.md). */
    std::string render();

  private:
    void filters();
    void inputs();

    void summary();
    void sampling();
    void insights();

    /* The fields of one set of executions, inside the object open. */
    void aggregate(const Aggregate &g);

    void statements();
    void statement_index();
    void rankings();

    void plans();
    void plan_changes();
    void hotspots();

    void attribution();
    void requests();
    void errors();

    void series_array(const std::vector<double> &values, double divisor);
    void timeseries();
    void heatmap();

    const Analysis &a_;
    const Profile &p_;
    const ReportSelection &sel_;
    const ReportOptions &o_;
    JsonWriter w_;
};

} // namespace qprof
