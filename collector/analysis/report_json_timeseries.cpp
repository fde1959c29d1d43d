/*
 * report_json_timeseries.cpp — the report over time: database time,
 * executions and errors per interval, the series of the top statements and
 * groups, and the latency heatmap. docs/report-json.md.
 */
#include "report_json_document.h"

#include <algorithm>

namespace qprof {

void JsonReport::series_array(const std::vector<double> &values,
                              double divisor) {
    w_.begin_array();
    for (double v : values)
        w_.value(v / divisor);
    w_.end_array();
}

void JsonReport::timeseries() {
    const TimeGrid &grid = p_.grid;
    w_.key("timeseries").begin_object();
    w_.key("start_unix_us");
    grid.empty() ? w_.null() : w_.value(grid.start_unix_us());
    w_.field("interval_s", static_cast<double>(grid.width_us()) / 1e6);
    w_.field("intervals", grid.intervals());
    std::vector<double> total = p_.total.db_time_ns_series.values(grid);
    w_.key("db_time_ms");
    series_array(total, 1e6);
    w_.key("executions").begin_array();
    for (double v : p_.executions_series.values(grid))
        w_.value(static_cast<uint64_t>(v + 0.5));
    w_.end_array();
    w_.key("errors");
    series_array(p_.errors_series.values(grid), 1);
    w_.key("series").begin_array();
    std::vector<double> other = total;
    for (size_t i = 0; i < sel_.by_total.size() && i < kSeriesShown; ++i) {
        uint32_t stmt = sel_.by_total[i];
        std::vector<double> v =
            p_.statements[stmt].all.db_time_ns_series.values(grid);
        for (size_t t = 0; t < v.size() && t < other.size(); ++t)
            other[t] = std::max(0.0, other[t] - v[t]);
        w_.begin_object();
        w_.field("kind", "statement");
        w_.field("key", sel_.skey(stmt));
        std::string label = a_.text_of(stmt);
        if (label.size() > 80)
            label = label.substr(0, 77) + "...";
        w_.field("label", label);
        w_.key("db_time_ms");
        series_array(v, 1e6);
        w_.end_object();
    }
    w_.begin_object();
    w_.field("kind", "other");
    w_.field("key", "other");
    w_.field("label", "other statements");
    w_.key("db_time_ms");
    series_array(other, 1e6);
    w_.end_object();
    const DimensionStats &dim = p_.primary();
    const std::vector<uint32_t> &groups = sel_.groups[p_.group_by];
    for (size_t i = 0; i < groups.size() && i < kSeriesShown; ++i) {
        const GroupStats &g = dim.groups[groups[i]];
        w_.begin_object();
        w_.field("kind", "route");
        w_.field("key", dim.name + ":" + g.name);
        w_.field("label", g.name);
        w_.key("db_time_ms");
        series_array(g.all.db_time_ns_series.values(grid), 1e6);
        w_.end_object();
    }
    w_.end_array();
    w_.end_object();
}

void JsonReport::heatmap() {
    const TimeGrid &grid = p_.grid;
    w_.key("heatmap").begin_object();
    w_.key("start_unix_us");
    grid.empty() ? w_.null() : w_.value(grid.start_unix_us());
    w_.field("interval_s", static_cast<double>(grid.width_us()) / 1e6);
    std::vector<std::vector<double>> columns;
    for (const TimeSeries &s : p_.heatmap)
        columns.push_back(s.values(grid));
    w_.key("counts").begin_array();
    for (int64_t t = 0; t < grid.intervals(); ++t) {
        w_.begin_array();
        for (const auto &column : columns)
            w_.value(
                static_cast<uint64_t>(column[static_cast<size_t>(t)] + 0.5));
        w_.end_array();
    }
    w_.end_array();
    w_.end_object();
}

} // namespace qprof
