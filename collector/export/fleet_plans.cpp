/* The fleet report's plans: the statements whose plans changed, the plans
 * of the statements listed with their nodes' actuals, and the plan nodes
 * that took most time. */
#include "fleet_queries.h"

#include <algorithm>

namespace qprof::fleet {

/* The statements that ran with more than one plan, the first --top of
 * them by their first execution (the report of files compares the
 * plans of every statement, in the order they first ran, and lists
 * --top of them); those not listed yet are added. */
void FleetQueries::changed_plans() {
    Rows rows = c_.select(
        "SELECT server_id, dbid, queryid FROM " + table("samples") + " FINAL" +
        where_and("planid != 0 AND queryid != 0") +
        " GROUP BY server_id, dbid, queryid HAVING uniqExact(planid) >= 2 "
        "ORDER BY min(start_unix_us), server_id, dbid, queryid LIMIT " +
        std::to_string(f_.top));
    check_columns(rows, 3, "changed plans");
    std::string missing;
    for (const auto &row : rows)
        if (statement_index(unum(row[0]), unum(row[1]), snum(row[2]), "") < 0)
            missing += std::string(missing.empty() ? "(" : ", (") +
                       std::to_string(unum(row[0])) + ", " +
                       std::to_string(unum(row[1])) + ", " +
                       std::to_string(snum(row[2])) + ")";
    if (!missing.empty())
        add_statements(
            where_and("(server_id, dbid, queryid) IN (" + missing + ")"),
            f_.top);
    for (const auto &row : rows) {
        int s = statement_index(unum(row[0]), unum(row[1]), snum(row[2]), "");
        if (s >= 0)
            r_.plan_changes.push_back(static_cast<uint32_t>(s));
    }
}

/* The plans of the statements listed: their executions over the
 * filters, nested ones too (as a statement's), and the plan's text. */
void FleetQueries::plans() {
    std::string listed;
    for (const FleetStatement &s : r_.statements)
        if (s.queryid != 0)
            listed += (listed.empty() ? "(" : ", (") +
                      std::to_string(s.server_id) + ", " +
                      std::to_string(s.dbid) + ", " +
                      std::to_string(s.queryid) + ")";
    if (listed.empty())
        return;
    Rows rows = c_.select(
        "SELECT server_id, dbid, queryid, planid, shape_id, executions, "
        "calls, total_ns, first_us, last_us, plan_text, plan_json FROM "
        "(SELECT "
        "server_id, dbid, queryid, planid, count() AS executions, "
        "sum(weight) AS calls, sum(weight * " +
        std::string(kDbTime) +
        ") AS total_ns, min(start_unix_us) AS first_us, "
        "max(start_unix_us) AS last_us FROM " +
        table("samples") + " FINAL" +
        where_and("planid != 0 AND (server_id, dbid, queryid) IN (" + listed +
                  ")") +
        " GROUP BY server_id, dbid, queryid, planid) ANY LEFT JOIN "
        "(SELECT server_id, queryid, planid, shape_id, plan_text, plan_json "
        "FROM " +
        table("plans") +
        " FINAL) USING (server_id, queryid, planid) ORDER BY server_id, "
        "dbid, queryid, first_us, planid");
    check_columns(rows, 12, "plans");
    for (const auto &row : rows) {
        int s = listed_statement(
            unum(row[0]), static_cast<uint32_t>(unum(row[1])), snum(row[2]));
        if (s < 0)
            continue;
        FleetPlan p;
        p.planid = snum(row[3]);
        p.shape_id = snum(row[4]);
        p.executions = unum(row[5]);
        p.calls = num(row[6]);
        p.total_ns = num(row[7]);
        p.first_unix_us = snum(row[8]);
        p.last_unix_us = snum(row[9]);
        p.text = row[10];
        p.json = row[11];
        r_.statements[static_cast<size_t>(s)].plans.push_back(std::move(p));
    }
}

/* The per-node actuals of the listed statements' plans: each plan's
 * EXPLAIN ANALYZEd executions the filters keep, summed by node as the
 * report of files sums a plan's (NodeTotals, unweighted). A plan is
 * (server_id, queryid, planid), its executions in any database, as in the
 * report of files; a node's estimate is that of the plan's last execution
 * (by end), the last the report of files reads (executions of one plan
 * may have been planned with other estimates). The executions are the
 * samples' (GLOBAL: computed once and sent to the shards). */
void FleetQueries::plan_nodes() {
    std::string listed;
    for (const FleetStatement &s : r_.statements)
        for (const FleetPlan &p : s.plans)
            listed += (listed.empty() ? "(" : ", (") +
                      std::to_string(s.server_id) + ", " +
                      std::to_string(s.queryid) + ", " +
                      std::to_string(p.planid) + ")";
    if (listed.empty())
        return;
    std::string executions =
        " FROM " + table("node_actuals") +
        " FINAL GLOBAL ANY INNER JOIN (SELECT server_id, epoch, seq, "
        "queryid, planid, start_unix_us + duration_us AS end_us FROM " +
        table("samples") + " FINAL" +
        where_and("has_node_actuals = 1 AND (server_id, queryid, planid) IN (" +
                  listed + ")") +
        ") USING (server_id, epoch, seq)";
    auto plans_of = [&](const std::vector<std::string> &row) {
        std::vector<FleetPlan *> out;
        uint64_t server_id = unum(row[0]);
        int64_t queryid = snum(row[1]), planid = snum(row[2]);
        for (FleetStatement &s : r_.statements)
            if (s.server_id == server_id && s.queryid == queryid)
                for (FleetPlan &p : s.plans)
                    if (p.planid == planid)
                        out.push_back(&p);
        return out;
    };
    Rows rows = c_.select("SELECT server_id, queryid, planid, "
                          "uniqExact(epoch, seq)" +
                          executions + " GROUP BY server_id, queryid, planid");
    check_columns(rows, 4, "plans' node actuals");
    for (const auto &row : rows)
        for (FleetPlan *p : plans_of(row))
            p->actuals_executions = unum(row[3]);
    std::string per_loop = "greatest(actual_rows / loops, 1)";
    rows = c_.select(
        "SELECT server_id, queryid, planid, node_id, any(parent_node_id), "
        "any(node_type), any(relation), any(index_name), count(), "
        "sum(loops), argMax(plan_rows, (end_us, seq)), sum(actual_rows), "
        "sum(rows_removed_by_filter), sum(rows_removed_by_join_filter), "
        "sumIf(total_time_ms, total_time_ms > 0), countIf(total_time_ms > "
        "0), sum(shared_blks_hit), sum(shared_blks_read), "
        "sum(temp_blks_read), sum(temp_blks_written), max(if(loops > 0 AND "
        "plan_rows > 0, greatest(" +
        per_loop + " / plan_rows, plan_rows / " + per_loop + "), 0))" +
        executions + " WHERE node_id <= " + std::to_string(kMaxNodeId) +
        " GROUP BY server_id, queryid, planid, node_id ORDER BY server_id, "
        "queryid, planid, node_id");
    check_columns(rows, 21, "plans' nodes");
    for (const auto &row : rows) {
        FleetPlanNode n;
        n.node_id = static_cast<uint32_t>(unum(row[3]));
        n.parent_node_id = static_cast<uint32_t>(unum(row[4]));
        n.node_type = row[5];
        n.relation = row[6];
        n.index = row[7];
        n.executions = unum(row[8]);
        n.loops = num(row[9]);
        n.plan_rows = num(row[10]);
        n.actual_rows = num(row[11]);
        n.rows_removed_by_filter = num(row[12]);
        n.rows_removed_by_join_filter = num(row[13]);
        n.total_time_ms = num(row[14]);
        n.timed_executions = unum(row[15]);
        n.shared_blks_hit = num(row[16]);
        n.shared_blks_read = num(row[17]);
        n.temp_blks_read = num(row[18]);
        n.temp_blks_written = num(row[19]);
        n.max_estimate_factor = num(row[20]);
        for (FleetPlan *p : plans_of(row))
            p->nodes.push_back(n);
    }
}

/* The per-node actuals of the executions the filters keep that have
 * a plan, by node type, relation and index, as the report of files
 * sums them (NodeTotals, unweighted): by time where timed, else by
 * rows read. The executions are the samples' (GLOBAL: computed once
 * and sent to the shards). */
void FleetQueries::hotspots() {
    std::string executions =
        " FROM " + table("node_actuals") +
        " FINAL GLOBAL ANY INNER JOIN (SELECT server_id, epoch, seq, dbid, "
        "queryid FROM " +
        table("samples") + " FINAL" +
        where_and("has_node_actuals = 1 AND planid != 0") +
        ") USING (server_id, epoch, seq) WHERE node_id <= " +
        std::to_string(kMaxNodeId);
    Rows rows =
        c_.select("SELECT uniqExact(server_id, epoch, seq)" + executions);
    check_columns(rows, 1, "node actuals");
    r_.actuals_executions = rows.empty() ? 0 : unum(rows[0][0]);
    if (r_.actuals_executions == 0)
        return;
    std::string per_loop = "greatest(actual_rows / loops, 1)";
    rows = c_.select(
        "SELECT node_type, relation, index_name, count(), sum(loops), "
        "sum(actual_rows) AS rows_read, sum(rows_removed_by_filter) AS "
        "rows_removed, sumIf(total_time_ms, total_time_ms > 0) AS "
        "time_ms, countIf(total_time_ms > 0), sum(shared_blks_read), "
        "sum(temp_blks_written), max(if(loops > 0 AND plan_rows > 0, "
        "greatest(" +
        per_loop + " / plan_rows, plan_rows / " + per_loop +
        "), 0)), groupUniqArray(concat(toString(server_id), '/', "
        "toString(dbid), '/', toString(queryid))), time_ms * 1e12 + "
        "rows_read + rows_removed AS weight" +
        executions +
        " GROUP BY node_type, relation, index_name ORDER BY weight DESC, "
        "node_type, relation, index_name LIMIT " +
        std::to_string(f_.top));
    check_columns(rows, 14, "node hotspots");
    for (const auto &row : rows) {
        FleetHotspot h;
        h.node_type = row[0];
        h.relation = row[1];
        h.index = row[2];
        h.executions = unum(row[3]);
        h.loops = num(row[4]);
        h.actual_rows = num(row[5]);
        h.rows_removed_by_filter = num(row[6]);
        h.total_time_ms = num(row[7]);
        h.timed = unum(row[8]) > 0;
        h.shared_blks_read = num(row[9]);
        h.temp_blks_written = num(row[10]);
        h.max_estimate_factor = num(row[11]);
        /* ['server/dbid/queryid',...] */
        const std::string &list = row[12];
        size_t at = 0;
        while ((at = list.find('\'', at)) != std::string::npos) {
            size_t end = list.find('\'', at + 1);
            if (end == std::string::npos)
                break;
            std::string id = list.substr(at + 1, end - at - 1);
            at = end + 1;
            size_t a = id.find('/'), b = id.rfind('/');
            if (a == std::string::npos || a == b)
                continue;
            int st = statement_index(unum(id.substr(0, a)),
                                     unum(id.substr(a + 1, b - a - 1)),
                                     snum(id.substr(b + 1)), "");
            if (st >= 0)
                h.statements.push_back(static_cast<uint32_t>(st));
        }
        std::sort(h.statements.begin(), h.statements.end());
        r_.node_hotspots.push_back(std::move(h));
    }
}

} // namespace qprof::fleet
