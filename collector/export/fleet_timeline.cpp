/* The fleet report's time series and heatmap, on the grid of the report
 * of files. */
#include "fleet_queries.h"

#include <algorithm>
#include <cstdio>

namespace qprof::fleet {

/* The series the report's JSON draws, on the grid of the report of
 * files: intervals of the spec's width over the first and last start
 * of every execution (nested too), sums of the top-level executions
 * but for a statement's (all of its executions). */
void FleetQueries::timeline() {
    FleetTimeline &tl = r_.timeline;
    tl.width_us =
        timeline_->interval_width_us(r_.first_unix_us, last_start_us_);
    if (tl.width_us <= 0)
        throw ClickHouseError("the report's time grid has no width");
    tl.first = r_.first_unix_us / tl.width_us;
    tl.intervals = last_start_us_ / tl.width_us - tl.first + 1;
    std::string w = std::to_string(tl.width_us);
    std::string interval = "intDiv(start_unix_us, " + w + ") - " +
                           std::to_string(tl.first) + " AS t";
    std::string db_time = kDbTime;
    auto zeros = [&]() {
        return std::vector<double>(static_cast<size_t>(tl.intervals), 0);
    };
    /* the interval's index, or -1 for an answer off the grid */
    auto at = [&](const std::string &field) -> long {
        int64_t i = snum(field);
        return i >= 0 && i < tl.intervals ? static_cast<long>(i) : -1;
    };
    tl.db_time_ns = tl.executions = tl.errors = zeros();
    Rows rows = c_.select("SELECT " + interval + ", sum(weight * " + db_time +
                          "), count(), sumIf(weight, sqlstate != '') FROM " +
                          table("samples") + " FINAL" +
                          where_and("toplevel = 1") + " GROUP BY t");
    check_columns(rows, 4, "time series");
    for (const auto &row : rows) {
        long i = at(row[0]);
        if (i < 0)
            continue;
        tl.db_time_ns[i] = num(row[1]);
        tl.executions[i] = num(row[2]);
        tl.errors[i] = num(row[3]);
    }

    /* the coarse bucket: how many bounds are below the time in ms
     * (a sum of comparisons: 18.16 refuses a lambda over a column
     * here) */
    std::string bucket = "0";
    for (double b : timeline_->coarse_bounds_ms) {
        char buf[96];
        snprintf(buf, sizeof buf, " + (%s / 1e6 > %.17g)", kDbTime, b);
        bucket += buf;
    }
    size_t buckets = timeline_->coarse_bounds_ms.size() + 1;
    tl.heatmap.assign(static_cast<size_t>(tl.intervals),
                      std::vector<double>(buckets, 0));
    rows = c_.select("SELECT " + interval + ", " + bucket +
                     " AS bucket, count() FROM " + table("samples") + " FINAL" +
                     where_and("toplevel = 1") + " GROUP BY t, bucket");
    check_columns(rows, 3, "heatmap");
    for (const auto &row : rows) {
        long i = at(row[0]);
        size_t bucket = static_cast<size_t>(unum(row[1]));
        if (i >= 0 && bucket < buckets)
            tl.heatmap[i][bucket] = num(row[2]);
    }

    size_t shown = std::min(timeline_->series_shown, r_.top_statements);
    std::string listed;
    for (size_t k = 0; k < shown; ++k) {
        const FleetStatement &st = r_.statements[k];
        listed += std::string(listed.empty() ? "(" : ", (") +
                  std::to_string(st.server_id) + ", " +
                  std::to_string(st.dbid) + ", " + std::to_string(st.queryid) +
                  ", " + sql_quote(st.queryid == 0 ? st.cmd : "") + ")";
    }
    tl.statements.assign(shown, zeros());
    if (shown > 0) {
        rows = c_.select("SELECT server_id, dbid, queryid, if(queryid = 0, "
                         "toString(cmd), '') AS untexted_cmd, " +
                         interval + ", sum(weight * " + db_time + ") FROM " +
                         table("samples") + " FINAL" +
                         where_and("(server_id, dbid, queryid, if(queryid = 0, "
                                   "toString(cmd), '')) IN (" +
                                   listed + ")") +
                         " GROUP BY server_id, dbid, queryid, untexted_cmd, t");
        check_columns(rows, 6, "statements' time series");
        for (const auto &row : rows) {
            long i = at(row[4]);
            for (size_t k = 0; k < shown && i >= 0; ++k) {
                const FleetStatement &st = r_.statements[k];
                if (st.server_id == unum(row[0]) && st.dbid == unum(row[1]) &&
                    st.queryid == snum(row[2]) &&
                    (st.queryid != 0 || st.cmd == row[3]))
                    tl.statements[k][i] = num(row[5]);
            }
        }
    }

    const std::vector<FleetGroup> &primary_groups = r_.primary().groups;
    size_t groups = std::min(timeline_->series_shown, primary_groups.size());
    std::string names;
    for (size_t g = 0; g < groups; ++g)
        names +=
            (names.empty() ? "" : ", ") + sql_quote(primary_groups[g].name);
    tl.groups.assign(groups, zeros());
    if (groups > 0) {
        rows = c_.select(
            "SELECT " + group_sql_ + " AS group_name, " + interval +
            ", sum(weight * " + db_time + ") FROM " + table("samples") +
            " FINAL" + where_and("toplevel = 1") +
            " GROUP BY group_name, t HAVING group_name IN (" + names + ")");
        check_columns(rows, 3, "groups' time series");
        for (const auto &row : rows) {
            long i = at(row[1]);
            for (size_t g = 0; g < groups && i >= 0; ++g)
                if (primary_groups[g].name == row[0])
                    tl.groups[g][i] = num(row[2]);
        }
    }
}

} // namespace qprof::fleet
