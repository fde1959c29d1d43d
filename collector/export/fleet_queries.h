/*
 * fleet_queries.h — the queries behind query_fleet_report (fleet_report.h),
 * one object per report: the filters as SQL and the report filled in, each
 * concern in a file of its own (fleet_report.cpp the frame, summary,
 * statements and errors; fleet_attribution.cpp; fleet_plans.cpp;
 * fleet_rankings.cpp; fleet_requests.cpp; fleet_waits.cpp;
 * fleet_timeline.cpp; fleet_catalog.cpp; fleet_wait_statements.cpp;
 * fleet_insight_statements.cpp).
 */
#pragma once

#include "fleet_report.h"
#include "fleet_sql.h"

#include <string>
#include <vector>

namespace qprof::fleet {

class FleetQueries {
  public:
    FleetQueries(const ClickHouseClient &client, FleetFilters &filters,
                 const TimelineSpec *timeline, const FleetLockWindowSpec *locks,
                 const FleetInsightSpec *insights)
        : c_(client), f_(filters), timeline_(timeline), locks_(locks),
          insights_(insights), db_(client.database()) {}

    FleetReport run();

  private:
    std::string table(const char *name) const { return db_ + "." + name; }
    static std::string join(const std::vector<std::string> &items);

    /* the filters (fleet_report.cpp) */
    void resolve_servers();
    void resolve_relative_times();
    std::string where_clause() const;
    std::string where_and(const std::string &extra) const;
    std::string group_expression(const std::string &group_by) const;

    /* the frame (fleet_report.cpp) */
    void servers();
    void summary();
    void statements();
    void add_statements(const std::string &where, size_t limit);
    int statement_index(uint64_t server_id, uint64_t dbid, int64_t queryid,
                        const std::string &untexted_cmd) const;
    int listed_statement(uint64_t server_id, uint32_t dbid,
                         int64_t queryid) const;
    void errors();
    void statement_routes_and_errors();
    void statement_latencies();
    void failing_statements();
    std::string listed_statements_sql() const;
    Rows listed_statement_rows(const std::string &columns,
                               const std::string &condition,
                               const std::string &group_more,
                               size_t more_columns, const char *what) const;
    FleetStatement *statement_of_row(const std::vector<std::string> &row);

    /* the attribution (fleet_attribution.cpp) */
    void dimensions();
    void attribution();
    void dimension_groups(size_t dimension, const std::string &from);
    Rows group_statements(size_t dimension, const std::string &from);

    /* plans (fleet_plans.cpp) */
    void changed_plans();
    void plans();
    void plan_nodes();
    void hotspots();

    /* rankings (fleet_rankings.cpp) */
    void rankings();

    /* requests (fleet_requests.cpp) */
    std::string request_statements_sql() const;
    std::string requests_sql() const;
    void requests();
    std::string n_plus_one_sql(const std::string &having, size_t limit) const;
    static Rows statement_keys(const Rows &n_plus_one);
    std::vector<FleetNPlusOne> n_plus_one_rows(const Rows &rows) const;

    /* waits (fleet_waits.cpp) */
    /* Which waits an execution has, as the report of files decides
     * (WaitBreakdown::has_split, then Sample.sampled_waits): the kernel's
     * split of its off-CPU time, or else the classes the extension
     * sampled. */
    static constexpr const char *kKernelSplit =
        "(has_io = 1 AND (runqueue_ns > 0 OR notEmpty(wait_classes) OR "
        "io_wait_ns + other_wait_ns = 0))";
    static constexpr size_t kWaitColumns = 12 + 2 * kFleetWaitClassSlots;
    static std::string sampled_only();
    /* the time in the wait classes `classes` ("1, 3"), as waits_sql sums
     * each class's */
    static std::string class_time_sql(const std::string &classes);
    static std::string waits_sql();
    static std::string waits_names();
    static void set_waits(const std::string *f, FleetWaits &w);
    void total_waits();
    void waits();

    /* the catalog snapshots and what their insights weigh
     * (fleet_catalog.cpp) */
    void catalog_sums();
    void catalogs();

    /* the statements of the wait insights (fleet_wait_statements.cpp) */
    void waiting_statements();
    void add_unlisted(const Rows &keyed);
    void lock_windows();

    /* the statements the other insights look at
     * (fleet_insight_statements.cpp) */
    void insight_candidates();
    void drop_insight_candidates();

    /* the time series (fleet_timeline.cpp) */
    void timeline();

    const ClickHouseClient &c_;
    FleetFilters &f_;
    const TimelineSpec *timeline_;
    const FleetLockWindowSpec *locks_;
    const FleetInsightSpec *insights_;
    size_t candidates_from_ = 0; /* the first insight candidate listed */
    int64_t last_start_us_ = 0;
    std::string db_;
    std::vector<std::string> server_ids_;
    std::string where_;
    std::string group_sql_; /* the --group-by dimension's */
    /* each dimension's group of a sample, in FleetReport::dimensions */
    std::vector<std::string> dimension_sql_;
    FleetReport r_;
};

} // namespace qprof::fleet
