/*
 * `qprof report --clickhouse`: asks ClickHouse for the report's tables
 * (export/fleet_report.h) and prints them in the terminal layout
 * (fleet_text.cpp), as the JSON document (fleet_json.cpp) or as the page
 * drawn from that document. The insights are fleet_insights.cpp's.
 */
#include "report_clickhouse.h"
#include "analysis.h"
#include "capture_format.h"
#include "fleet_insights.h"
#include "fleet_json.h"
#include "fleet_lock_windows.h"
#include "fleet_text.h"
#include "html_report.h"
#include "insight_rules.h"
#include "latency_histogram.h"
#include "profile.h"
#include "report_json.h"
#include "report_selection.h"
#include "time_series.h"
#include "wait_insight_rules.h"

#include <cstdio>

namespace qprof {

namespace {

/* The grid of the report of files (TimeGrid) over the same starts. */
TimelineSpec timeline_spec() {
    TimelineSpec spec;
    spec.interval_width_us = [](int64_t first_start_us, int64_t last_start_us) {
        TimeGrid grid;
        grid.interval_of(first_start_us);
        grid.interval_of(last_start_us);
        return grid.width_us();
    };
    spec.coarse_bounds_ms = LatencyHistogram::coarse_bounds_ms();
    spec.series_shown = kSeriesShown;
    return spec;
}

} // namespace

int report_from_clickhouse(const std::string &url, const std::string &database,
                           const FleetFilters &filters, bool json,
                           const std::string &html) {
    ClickHouseClient client(url, database);
    TimelineSpec spec = timeline_spec();
    FleetFilters asked = filters;
    asked.n_plus_one_min_executions = kNPlusOneMinExecutions;
    asked.error_rate_min_errors = kErrorRateMinErrors;
    asked.error_rate_min_share = kErrorRateMinShare;
    asked.routes_per_statement = kTopPerGroup;
    asked.wait_insight_share = kWaitInsightShare;
    asked.min_insight_share = kMinInsightShare;
    asked.dominant_share = kWaitDominantShare;
    asked.wait_listed = kWaitStatementsListed;
    FleetLockWindows windows;
    FleetLockWindowSpec locks = windows.spec();
    FleetInsightSpec insights;
    insights.about = fleet_insight_statements;
    bool document = json || !html.empty();
    FleetReport report = query_fleet_report(
        client, asked, document ? &spec : nullptr, &locks, &insights);
    std::string out;
    if (document)
        out = fleet_json(report, client.where(), filters.top);
    if (!html.empty())
        write_report_file(html, render_html(out));
    out = json ? out + "\n" : fleet_text(report, client.where(), filters.top);
    fwrite(out.data(), 1, out.size(), stdout);
    if (!html.empty() && !json)
        printf("\nHTML report: %s\n", html.c_str());
    fflush(stdout);
    return kExitOk;
}

} // namespace qprof
