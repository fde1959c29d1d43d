/* The attribution: database time per route, controller, application, user
 * and database (and the --group-by tag), as the report of files has it:
 * each dimension's --top groups by time with their measures, and each
 * group's statements with most time, which are listed. Every query is
 * bounded: ClickHouse returns the groups' number, --top groups and
 * statements_per_group statements of each. */
#include "fleet_queries.h"

namespace qprof::fleet {

namespace {

/* The report's sample sums of a group, weighted, in FleetGroup's order. */
const char *const kSampleSumColumns[] = {"plan_time_ns",
                                         "rows",
                                         "shared_blks_hit",
                                         "shared_blks_read",
                                         "shared_blks_dirtied",
                                         "shared_blks_written",
                                         "local_blks_read",
                                         "temp_blks_read",
                                         "temp_blks_written",
                                         "blk_read_time_ns",
                                         "blk_write_time_ns",
                                         "wal_records",
                                         "wal_bytes"};
double FleetGroup::*const kSampleSumFields[] = {
    &FleetGroup::plan_ns,
    &FleetGroup::rows,
    &FleetGroup::shared_blks_hit,
    &FleetGroup::shared_blks_read,
    &FleetGroup::shared_blks_dirtied,
    &FleetGroup::shared_blks_written,
    &FleetGroup::local_blks_read,
    &FleetGroup::temp_blks_read,
    &FleetGroup::temp_blks_written,
    &FleetGroup::blk_read_time_ns,
    &FleetGroup::blk_write_time_ns,
    &FleetGroup::wal_records,
    &FleetGroup::wal_bytes};
/* The kernel facts, over the executions that have them. */
const char *const kKernelSumColumns[] = {
    "oncpu_ns",       "io_wait_ns",  "other_wait_ns", "page_cache_misses",
    "block_requests", "block_bytes", "read_bytes",    "write_bytes"};
double FleetGroup::*const kKernelSumFields[] = {
    &FleetGroup::oncpu_ns,       &FleetGroup::io_wait_ns,
    &FleetGroup::other_wait_ns,  &FleetGroup::page_cache_misses,
    &FleetGroup::block_requests, &FleetGroup::block_bytes,
    &FleetGroup::read_bytes,     &FleetGroup::write_bytes};
constexpr size_t kSampleSums =
    sizeof kSampleSumColumns / sizeof kSampleSumColumns[0];
constexpr size_t kKernelSums =
    sizeof kKernelSumColumns / sizeof kKernelSumColumns[0];
static_assert(kSampleSums ==
                  sizeof kSampleSumFields / sizeof kSampleSumFields[0],
              "a column per field");
static_assert(kKernelSums ==
                  sizeof kKernelSumFields / sizeof kKernelSumFields[0],
              "a column per field");

/* count, calls, time, errors, percentiles (3), kernel executions */
constexpr size_t kGroupColumns = 1 + 8 + kSampleSums + kKernelSums;

} // namespace

/* The report of files' dimensions, in its order. */
void FleetQueries::dimensions() {
    std::vector<std::string> names = {"route", "controller", "app", "user",
                                      "db"};
    if (f_.group_by.compare(0, 4, "tag:") == 0)
        names.push_back(f_.group_by);
    for (size_t d = 0; d < names.size(); ++d) {
        FleetDimension dim;
        dim.name = names[d];
        if (dim.name == f_.group_by)
            r_.group_by_dimension = d;
        r_.dimensions.push_back(std::move(dim));
        dimension_sql_.push_back(group_expression(names[d]));
    }
}

void FleetQueries::attribution() {
    std::string from =
        " FROM " + table("samples") + " FINAL" + where_and("toplevel = 1");
    std::string counts;
    for (const std::string &expr : dimension_sql_)
        counts += (counts.empty() ? "" : ", ") + ("uniqExact(" + expr + ")");
    Rows rows = c_.select("SELECT " + counts + from);
    check_columns(rows, dimension_sql_.size(), "groups' number");
    for (size_t d = 0; d < r_.dimensions.size() && !rows.empty(); ++d)
        r_.dimensions[d].groups_total = unum(rows[0][d]);
    for (size_t d = 0; d < r_.dimensions.size(); ++d)
        dimension_groups(d, from);

    /* the groups' statements with most time: those not listed yet are */
    std::string missing;
    std::vector<Rows> tops;
    for (size_t d = 0; d < r_.dimensions.size(); ++d) {
        tops.push_back(group_statements(d, from));
        for (const auto &row : tops.back())
            if (statement_index(unum(row[1]), unum(row[2]), snum(row[3]),
                                row[4]) < 0)
                missing += std::string(missing.empty() ? "(" : ", (") +
                           std::to_string(unum(row[1])) + ", " +
                           std::to_string(unum(row[2])) + ", " +
                           std::to_string(snum(row[3])) + ", " +
                           sql_quote(row[4]) + ")";
    }
    if (!missing.empty())
        add_statements(where_and("(" + std::string(kStatementKey) + ") IN (" +
                                 missing + ")"),
                       r_.dimensions.size() * f_.top * f_.statements_per_group);
    for (size_t d = 0; d < r_.dimensions.size(); ++d)
        for (FleetGroup &g : r_.dimensions[d].groups)
            for (const auto &row : tops[d]) {
                if (row[0] != g.name)
                    continue;
                int s = statement_index(unum(row[1]), unum(row[2]),
                                        snum(row[3]), row[4]);
                if (s < 0)
                    continue;
                g.top_statements.push_back(static_cast<uint32_t>(s));
                g.top_statement_calls.push_back(num(row[5]));
                g.top_statement_ns.push_back(num(row[6]));
            }
}

/* Dimension d's --top groups by time, with their measures; where the time
 * went for the route and --group-by dimensions only (the report of files
 * sums it for those). */
void FleetQueries::dimension_groups(size_t d, const std::string &from) {
    FleetDimension &dim = r_.dimensions[d];
    bool with_waits = d == 0 || d == r_.group_by_dimension;
    std::string db_time = kDbTime;
    std::string sql = "SELECT " + dimension_sql_[d] +
                      " AS group_name, count(), sum(weight), sum(weight * " +
                      db_time +
                      ") AS total_ns, sumIf(weight, sqlstate != ''), " +
                      percentile_sql(db_time) + ", countIf(has_io = 1)";
    for (const char *column : kSampleSumColumns)
        sql += std::string(", sum(weight * ") + column + ")";
    for (const char *column : kKernelSumColumns)
        sql += std::string(", sumIf(weight * ") + column + ", has_io = 1)";
    if (with_waits)
        sql += ", " + waits_sql();
    Rows rows = c_.select(sql + from +
                          " GROUP BY group_name ORDER BY total_ns DESC, "
                          "group_name LIMIT " +
                          std::to_string(f_.top));
    check_columns(rows, kGroupColumns + (with_waits ? kWaitColumns : 0),
                  "groups");
    bool always_tagged = dim.name == "user" || dim.name == "db";
    for (const auto &row : rows) {
        FleetGroup g;
        g.name = row[0];
        g.tagged = always_tagged || g.name != "(none)";
        g.executions = unum(row[1]);
        g.calls = num(row[2]);
        g.total_ns = num(row[3]);
        g.errors = num(row[4]);
        set_percentiles(&row[5], g.executions, &g.p50_ns, &g.p95_ns, &g.p99_ns);
        g.min_ns = num(row[6]);
        g.max_ns = num(row[7]);
        g.kernel_executions = unum(row[8]);
        size_t at = 9;
        for (double FleetGroup::*field : kSampleSumFields)
            g.*field = num(row[at++]);
        for (double FleetGroup::*field : kKernelSumFields)
            g.*field = num(row[at++]);
        g.has_waits = with_waits;
        if (with_waits)
            set_waits(&row[at], g.waits);
        dim.groups.push_back(std::move(g));
    }
}

/* The statements with most time of dimension d's groups listed: rows of
 * group, server_id, dbid, queryid, untexted_cmd, calls, time. */
Rows FleetQueries::group_statements(size_t d, const std::string &from) {
    const FleetDimension &dim = r_.dimensions[d];
    if (dim.groups.empty())
        return {};
    std::string names;
    for (const FleetGroup &g : dim.groups)
        names += (names.empty() ? "" : ", ") + sql_quote(g.name);
    Rows rows = c_.select(
        "SELECT " + dimension_sql_[d] +
        " AS group_name, server_id, dbid, queryid, if(queryid = 0, "
        "toString(cmd), '') AS untexted_cmd, sum(weight), sum(weight * " +
        std::string(kDbTime) + ") AS total_ns" + from + " AND (" +
        dimension_sql_[d] + ") IN (" + names +
        ") GROUP BY group_name, server_id, dbid, queryid, untexted_cmd "
        "ORDER BY group_name, total_ns DESC, server_id, queryid LIMIT " +
        std::to_string(f_.statements_per_group) + " BY group_name");
    check_columns(rows, 7, "statements by group");
    return rows;
}

} // namespace qprof::fleet
