/* The fleet report's requests and N+1 statements. */
#include "fleet_queries.h"

namespace qprof::fleet {

/* Requests, as the report of files rebuilds them: a request is the
 * top-level executions with its id on one backend (server_id, pid),
 * its route its first execution's. Per statement of each request:
 * its executions, their time and the first one. */
std::string FleetQueries::request_statements_sql() const {
    return "SELECT server_id, pid, request, dbid, queryid, if(queryid = "
           "0, toString(cmd), '') AS untexted_cmd, count() AS n, "
           "sum(weight * " +
           std::string(kDbTime) +
           ") AS ns, min(seq) AS first_seq, argMin(route, seq) AS "
           "first_route, argMin(request_tag, seq) AS first_tag, "
           "min(start_unix_us) AS first_us FROM " +
           table("samples") + " FINAL" +
           where_and("toplevel = 1 AND request != ''") +
           " GROUP BY server_id, pid, request, dbid, queryid, "
           "untexted_cmd";
}

/* Per request: its route and tag, its executions, when it began, and
 * the statements it ran at least n_plus_one_min_executions times. */
std::string FleetQueries::requests_sql() const {
    return "SELECT server_id, pid, request, argMin(first_route, "
           "first_seq) AS request_route, argMin(first_tag, first_seq) "
           "AS tag, sum(n) AS statements, min(first_us) AS began_us, "
           "groupArrayIf((dbid, queryid, untexted_cmd, n, ns), n >= " +
           std::to_string(f_.n_plus_one_min_executions) +
           ") AS repeated FROM (" + request_statements_sql() +
           ") GROUP BY server_id, pid, request";
}

/* The requests' counts and the N+1 statements by total time; the
 * statements named that are not in the top are added to the list. */
void FleetQueries::requests() {
    Rows rows = c_.select("SELECT count(), sum(statements), "
                          "max(statements), argMin(tag, began_us) FROM (" +
                          requests_sql() + ")");
    check_columns(rows, 4, "requests");
    if (rows.empty() || unum(rows[0][0]) == 0)
        return;
    r_.requests = unum(rows[0][0]);
    r_.request_statements = unum(rows[0][1]);
    r_.max_request_statements = unum(rows[0][2]);
    r_.request_tag = rows[0][3];

    rows = c_.select(n_plus_one_sql("", f_.top));
    check_columns(rows, 10, "N+1");
    add_unlisted(statement_keys(rows));
    r_.n_plus_one = n_plus_one_rows(rows);
    /* what the N+1 insights look at, unless insight_candidates asks for
     * every row that could make one */
    r_.n_plus_one_insights = r_.n_plus_one;
}

/* The N+1 rows, (route, statement) with the requests that ran it at least
 * n_plus_one_min_executions times, by total time: their route, statement
 * key, requests, executions, most in one request, the example (the
 * request that ran it most, the earliest of them) and total time. */
std::string FleetQueries::n_plus_one_sql(const std::string &having,
                                         size_t limit) const {
    return "SELECT request_route, server_id, tupleElement(r, 1) AS dbid, "
           "tupleElement(r, 2) AS queryid, tupleElement(r, 3) AS "
           "untexted_cmd, count() AS requests, sum(tupleElement(r, 4)) AS "
           "executions, max(tupleElement(r, 4)), argMax(request, "
           "(tupleElement(r, 4), -began_us)), sum(tupleElement(r, 5)) AS "
           "total_ns FROM (" +
           requests_sql() +
           ") ARRAY JOIN repeated AS r GROUP BY request_route, server_id, "
           "dbid, queryid, untexted_cmd" +
           having +
           " ORDER BY total_ns DESC, request_route, server_id, queryid "
           "LIMIT " +
           std::to_string(limit);
}

/* The statement keys (server_id, dbid, queryid, untexted_cmd) of N+1
 * rows, as add_unlisted takes them. */
Rows FleetQueries::statement_keys(const Rows &n_plus_one) {
    Rows keys;
    for (const auto &row : n_plus_one)
        keys.push_back({row[1], row[2], row[3], row[4]});
    return keys;
}

/* The N+1 rows of listed statements. */
std::vector<FleetNPlusOne>
FleetQueries::n_plus_one_rows(const Rows &rows) const {
    std::vector<FleetNPlusOne> out;
    for (const auto &row : rows) {
        int s =
            statement_index(unum(row[1]), unum(row[2]), snum(row[3]), row[4]);
        if (s < 0)
            continue;
        FleetNPlusOne n;
        n.statement = static_cast<uint32_t>(s);
        n.route = row[0];
        n.requests = unum(row[5]);
        n.executions = unum(row[6]);
        n.max_per_request = unum(row[7]);
        n.example_request = row[8];
        n.total_ns = num(row[9]);
        out.push_back(std::move(n));
    }
    return out;
}

} // namespace qprof::fleet
