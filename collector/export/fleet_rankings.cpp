/* The fleet report's rankings of statements other than by total time, as
 * the report of files ranks them (report_selection.cpp): by mean time,
 * calls, rows, shared reads, the kernel's storage reads, I/O wait,
 * off-CPU time and run queue, Lock and LWLock waits, temp blocks and
 * errors. */
#include "fleet_queries.h"

#include <set>
#include <utility>

namespace qprof::fleet {

namespace {

/* (name, the statement's measure over its executions, weighted) in the
 * report's order */
std::vector<std::pair<std::string, std::string>>
ranking_measures(const std::string &runqueue_time,
                 const std::string &lock_time) {
    std::string db_time = kDbTime;
    return {
        {"total_time", "sum(weight * " + db_time + ")"},
        {"mean_time", "sum(weight * " + db_time + ") / sum(weight)"},
        {"calls", "sum(weight)"},
        {"rows", "sum(weight * rows)"},
        {"shared_blks_read", "sum(weight * shared_blks_read)"},
        {"storage_reads", "sumIf(weight * page_cache_misses, has_io = 1)"},
        {"io_wait", "sumIf(weight * io_wait_ns, has_io = 1)"},
        {"offcpu", "sumIf(weight * (io_wait_ns + other_wait_ns), has_io = 1)"},
        {"runqueue", runqueue_time},
        {"lock_wait", lock_time},
        {"temp_blks", "sum(weight * (temp_blks_read + temp_blks_written))"},
        {"errors", "sumIf(weight, sqlstate != '')"},
    };
}

} // namespace

/* Every ranking in one pass: each statement's measures as an array, one
 * row per (ranking, statement) with a nonzero measure, the first --top of
 * each (ties: the statement that ended first, as the report of files
 * meets them in its files). The statements not listed yet are added. */
void FleetQueries::rankings() {
    /* the kernel's run queue; Lock and LWLock (classes 3 and 1), the
     * kernel's or sampled */
    auto measures = ranking_measures("sumIf(weight * runqueue_ns, " +
                                         std::string(kKernelSplit) + ")",
                                     class_time_sql("1, 3"));
    std::string array;
    for (const auto &m : measures)
        array += (array.empty() ? "[" : ", ") + ("toFloat64(" + m.second + ")");
    array += "]";
    Rows rows = c_.select(
        "SELECT ranking, server_id, dbid, queryid, untexted_cmd FROM (SELECT "
        "server_id, dbid, queryid, if(queryid = 0, toString(cmd), '') AS "
        "untexted_cmd, " +
        array +
        " AS measures, min(start_unix_us + duration_us) AS first_end FROM " +
        table("samples") + " FINAL" + where_ +
        " GROUP BY server_id, dbid, queryid, untexted_cmd) ARRAY JOIN "
        "measures AS measure, arrayEnumerate(measures) AS ranking WHERE "
        "measure > 0 ORDER BY ranking, measure DESC, first_end, server_id, "
        "queryid LIMIT " +
        std::to_string(f_.top) + " BY ranking");
    check_columns(rows, 5, "rankings");
    std::string missing;
    std::set<std::string> added;
    for (const auto &row : rows) {
        if (statement_index(unum(row[1]), unum(row[2]), snum(row[3]), row[4]) >=
            0)
            continue;
        /* named by the numbers read, not the answer's text */
        std::string key = "(" + std::to_string(unum(row[1])) + ", " +
                          std::to_string(unum(row[2])) + ", " +
                          std::to_string(snum(row[3])) + ", " +
                          sql_quote(row[4]) + ")";
        if (!added.insert(key).second)
            continue;
        missing += (missing.empty() ? "" : ", ") + key;
    }
    if (!missing.empty())
        add_statements(where_and("(" + std::string(kStatementKey) + ") IN (" +
                                 missing + ")"),
                       added.size());
    for (const auto &m : measures)
        r_.rankings.push_back({m.first, {}});
    for (const auto &row : rows) {
        uint64_t ranking = unum(row[0]);
        int s =
            statement_index(unum(row[1]), unum(row[2]), snum(row[3]), row[4]);
        if (ranking >= 1 && ranking <= r_.rankings.size() && s >= 0)
            r_.rankings[ranking - 1].statements.push_back(
                static_cast<uint32_t>(s));
    }
}

} // namespace qprof::fleet
