/* The fleet report's frame: the filters as SQL, the servers, the summary,
 * the top statements and the errors by SQLSTATE. */
#include "fleet_queries.h"

#include <cstdio>

namespace qprof::fleet {

FleetReport FleetQueries::run() {
    resolve_servers();
    resolve_relative_times();
    where_ = where_clause();
    servers();
    group_sql_ = group_expression(f_.group_by);
    r_.group_by = f_.group_by;
    dimensions();
    summary();
    statements();
    requests();
    changed_plans();
    failing_statements();
    rankings();
    total_waits();
    waiting_statements();
    lock_windows();
    /* before the candidates, which may be dropped: the groups' statements
     * stay where they are */
    attribution();
    insight_candidates();
    plans();
    plan_nodes();
    statement_routes_and_errors();
    statement_latencies();
    catalog_sums();
    catalogs();
    drop_insight_candidates();
    waits();
    hotspots();
    errors();
    if (timeline_ != nullptr && r_.executions > 0)
        timeline();
    return std::move(r_);
}

/* --server: a system identifier, label or cluster name */
void FleetQueries::resolve_servers() {
    for (const std::string &name : f_.servers) {
        Rows rows =
            c_.select("SELECT DISTINCT server_id FROM " + table("servers") +
                      " FINAL WHERE toString(server_id) = " + sql_quote(name) +
                      " OR toString(system_identifier) = " + sql_quote(name) +
                      " OR label = " + sql_quote(name) +
                      " OR cluster_name = " + sql_quote(name));
        if (rows.empty())
            throw UsageError("--server " + name +
                             ": no server with that system identifier, "
                             "label or cluster_name in ClickHouse");
        for (const auto &row : rows)
            server_ids_.push_back(row.at(0));
    }
}

void FleetQueries::resolve_relative_times() {
    if (!f_.since_relative && !f_.until_relative)
        return;
    std::string server_filter =
        server_ids_.empty() ? ""
                            : " WHERE server_id IN (" + join(server_ids_) + ")";
    Rows rows = c_.select("SELECT max(start_unix_us + duration_us) FROM " +
                          table("samples") + server_filter);
    int64_t end = rows.empty() || rows[0].empty() ? 0 : snum(rows[0][0]);
    if (f_.since_relative)
        f_.since_unix_us = end - f_.since_unix_us;
    if (f_.until_relative)
        f_.until_unix_us = end - f_.until_unix_us;
}

std::string FleetQueries::join(const std::vector<std::string> &items) {
    std::string out;
    for (const std::string &item : items)
        out += (out.empty() ? "" : ", ") + item;
    return out;
}

/* The filters, on samples; the day partitions are pruned by
 * start_time, the rows cut by start_unix_us. */
std::string FleetQueries::where_clause() const {
    std::vector<std::string> terms;
    if (!server_ids_.empty())
        terms.push_back("server_id IN (" + join(server_ids_) + ")");
    if (f_.has_since) {
        terms.push_back("start_time >= toDateTime(" +
                        std::to_string(f_.since_unix_us / 1000000) + ")");
        terms.push_back("start_unix_us >= " + std::to_string(f_.since_unix_us));
    }
    if (f_.has_until) {
        terms.push_back("start_time <= toDateTime(" +
                        std::to_string(f_.until_unix_us / 1000000) + ")");
        terms.push_back("start_unix_us < " + std::to_string(f_.until_unix_us));
    }
    if (!f_.route.empty())
        terms.push_back("route = " + sql_quote(f_.route));
    if (!f_.app.empty())
        terms.push_back("application = " + sql_quote(f_.app));
    if (!f_.db.empty())
        terms.push_back("(database = " + sql_quote(f_.db) +
                        " OR toString(dbid) = " + sql_quote(f_.db) + ")");
    if (f_.has_user)
        terms.push_back("userid = " + std::to_string(f_.user));
    std::string out;
    for (const std::string &t : terms)
        out += (out.empty() ? " WHERE " : " AND ") + t;
    return out;
}

/* `extra` added to the filters */
std::string FleetQueries::where_and(const std::string &extra) const {
    return where_.empty() ? " WHERE " + extra : where_ + " AND " + extra;
}

void FleetQueries::servers() {
    Rows rows = c_.select(
        "SELECT server_id, label, version, cluster_name, host, epochs, "
        "samples FROM (SELECT server_id, label, version, cluster_name, "
        "host FROM " +
        table("servers") +
        " FINAL) ANY INNER JOIN (SELECT server_id, uniqExact(epoch) AS "
        "epochs, count() AS samples FROM " +
        table("samples") + " FINAL" + where_ +
        " GROUP BY server_id) USING (server_id) ORDER BY server_id");
    check_columns(rows, 7, "servers");
    for (const auto &row : rows) {
        FleetServer s;
        s.server_id = unum(row[0]);
        s.label = row[1];
        s.version = row[2];
        s.cluster_name = row[3];
        s.host = row[4];
        s.epochs = unum(row[5]);
        s.samples = unum(row[6]);
        r_.servers.push_back(std::move(s));
    }
    if (r_.servers.empty())
        return;
    std::vector<std::string> ids;
    for (const FleetServer &s : r_.servers)
        ids.push_back(std::to_string(s.server_id));
    Rows lost = c_.select("SELECT server_id, sum(count), sumIf(count, reason "
                          "= 'overwritten'), sumIf(count, reason = 'reset'), "
                          "sumIf(count, reason = 'epoch_changed') FROM " +
                          table("losses") + " FINAL WHERE server_id IN (" +
                          join(ids) + ") GROUP BY server_id");
    Rows restarts = c_.select(
        "SELECT server_id, count() FROM " + table("epoch_changes") +
        " FINAL WHERE server_id IN (" + join(ids) + ") GROUP BY server_id");
    for (FleetServer &s : r_.servers) {
        for (const auto &row : lost)
            if (row.size() == 5 && unum(row[0]) == s.server_id) {
                s.lost = unum(row[1]);
                s.lost_overwritten = unum(row[2]);
                s.lost_reset = unum(row[3]);
                s.lost_epoch_changed = unum(row[4]);
            }
        for (const auto &row : restarts)
            if (row.size() == 2 && unum(row[0]) == s.server_id)
                s.epoch_changes = unum(row[1]);
    }
}

void FleetQueries::summary() {
    Rows rows = c_.select(
        std::string("SELECT countIf(toplevel = 1), sumIf(weight, toplevel = "
                    "1), sumIf(weight * ") +
        kDbTime +
        ", toplevel = 1), sumIf(weight, toplevel = 1 AND sqlstate != ''), "
        "countIf(toplevel = 1 AND has_io = 1), uniqExact(" +
        kStatementKey +
        "), min(start_unix_us), max(start_unix_us + duration_us), "
        "max(weight), max(start_unix_us) FROM " +
        table("samples") + " FINAL" + where_);
    check_columns(rows, 10, "summary");
    if (rows.empty())
        return;
    const auto &row = rows[0];
    r_.executions = unum(row[0]);
    r_.calls = num(row[1]);
    r_.total_ns = num(row[2]);
    r_.errors = num(row[3]);
    r_.kernel_executions = unum(row[4]);
    r_.statements_total = unum(row[5]);
    r_.first_unix_us = snum(row[6]);
    r_.last_unix_us = snum(row[7]);
    r_.max_weight = num(row[8]);
    last_start_us_ = snum(row[9]);
}

/* The top statements by total time. */
void FleetQueries::statements() {
    add_statements(where_, f_.top);
    r_.top_statements = r_.statements.size();
}

/* Adds the statements of `where` (the filters and more), at most
 * `limit` of them by total time. */
void FleetQueries::add_statements(const std::string &where, size_t limit) {
    std::string db_time = kDbTime;
    /* database_name, not database: ClickHouse would read the filter's
     * `database` (--db) as this alias, an aggregate in WHERE */
    Rows rows = c_.select(
        "SELECT server_id, dbid, queryid, cmd_name, database_name, executions, "
        "calls, total_ns, toplevel_ns, errors, pb, p_min, p_max, rows, "
        "shared_blks_read, kernel_executions, oncpu_sum, io_wait_sum, "
        "other_wait_sum, page_cache_misses_sum, block_bytes_sum, text, " +
        waits_names() +
        " FROM (SELECT "
        "server_id, dbid, queryid, if(queryid = 0, toString(cmd), '') AS "
        "untexted_cmd, toString(any(cmd)) AS cmd_name, any(database) AS "
        "database_name, count() AS executions, sum(weight) AS calls, "
        "sum(weight * " +
        db_time + ") AS total_ns, sumIf(weight * " + db_time +
        ", toplevel = 1) AS toplevel_ns, sumIf(weight, sqlstate != '') AS "
        "errors, " +
        percentile_sql(db_time) +
        ", sum(weight * rows) AS rows, sum(weight * "
        "shared_blks_read) AS shared_blks_read, countIf(has_io = 1) AS "
        "kernel_executions, sumIf(weight * oncpu_ns, has_io = 1) AS "
        "oncpu_sum, sumIf(weight * io_wait_ns, has_io = 1) AS "
        "io_wait_sum, sumIf(weight * other_wait_ns, has_io = 1) AS "
        "other_wait_sum, sumIf(weight * page_cache_misses, has_io = 1) AS "
        "page_cache_misses_sum, sumIf(weight * block_bytes, has_io = 1) "
        "AS block_bytes_sum, " +
        waits_sql() + " FROM " + table("samples") + " FINAL" + where +
        " GROUP BY server_id, dbid, queryid, untexted_cmd ORDER BY "
        "total_ns DESC, server_id, queryid LIMIT " +
        std::to_string(limit) +
        ") ANY LEFT JOIN (SELECT server_id, queryid, text FROM " +
        table("statements") +
        " FINAL) USING (server_id, queryid) ORDER BY total_ns DESC, "
        "server_id, queryid");
    check_columns(rows, 22 + kWaitColumns, "statements");
    for (const auto &row : rows) {
        FleetStatement s;
        s.server_id = unum(row[0]);
        s.dbid = static_cast<uint32_t>(unum(row[1]));
        s.queryid = snum(row[2]);
        s.cmd = row[3];
        s.database = row[4];
        s.executions = unum(row[5]);
        s.calls = num(row[6]);
        s.total_ns = num(row[7]);
        s.toplevel_ns = num(row[8]);
        s.errors = num(row[9]);
        set_percentiles(&row[10], s.executions, &s.p50_ns, &s.p95_ns,
                        &s.p99_ns);
        s.rows = num(row[13]);
        s.shared_blks_read = num(row[14]);
        s.kernel_executions = unum(row[15]);
        s.oncpu_ns = num(row[16]);
        s.io_wait_ns = num(row[17]);
        s.other_wait_ns = num(row[18]);
        s.page_cache_misses = num(row[19]);
        s.block_bytes = num(row[20]);
        s.text = row[21];
        set_waits(&row[22], s.waits);
        if (s.kernel_executions > 0 && where == where_)
            r_.kernel_statements.push_back(
                static_cast<uint32_t>(r_.statements.size()));
        r_.statements.push_back(std::move(s));
    }
}

/* The listed statement (server_id, dbid, queryid and, without a
 * queryid, its command), or -1. */
int FleetQueries::statement_index(uint64_t server_id, uint64_t dbid,
                                  int64_t queryid,
                                  const std::string &untexted_cmd) const {
    for (size_t i = 0; i < r_.statements.size(); ++i) {
        const FleetStatement &s = r_.statements[i];
        if (s.server_id == server_id && s.dbid == dbid &&
            s.queryid == queryid && (queryid != 0 || s.cmd == untexted_cmd))
            return static_cast<int>(i);
    }
    return -1;
}

/* The listed statement (server_id, dbid, queryid), or -1. */
int FleetQueries::listed_statement(uint64_t server_id, uint32_t dbid,
                                   int64_t queryid) const {
    for (size_t i = 0; i < r_.statements.size(); ++i) {
        const FleetStatement &s = r_.statements[i];
        if (s.server_id == server_id && s.dbid == dbid && s.queryid == queryid)
            return static_cast<int>(i);
    }
    return -1;
}

/* The group of a sample in a dimension, named as the report of files
 * names it; users and databases are a server's (OIDs), told apart by
 * " @server_id" when there are several servers. */
std::string FleetQueries::group_expression(const std::string &group_by) const {
    std::string server =
        r_.servers.size() > 1 ? ", ' @', toString(server_id)" : "";
    auto tag = [](const std::string &key) {
        std::string value =
            "tag_values[indexOf(tag_keys, " + sql_quote(key) + ")]";
        return "if(" + value + " = '', '(none)', " + value + ")";
    };
    if (group_by == "route")
        return "if(route = '', '(none)', route)";
    if (group_by == "controller")
        return "if(controller = '', '(none)', controller)";
    if (group_by == "app")
        return "if(application = '', '(none)', application)";
    if (group_by == "user")
        return "concat('userid ', toString(userid)" + server + ")";
    if (group_by == "db")
        return "concat(if(database = '', concat('dbid ', toString(dbid)), "
               "database), ''" +
               server + ")";
    if (group_by.compare(0, 4, "tag:") == 0 && group_by.size() > 4)
        return tag(group_by.substr(4));
    throw UsageError("--group-by takes route, controller, app, user, db "
                     "or tag:NAME, not " +
                     group_by);
}

/* The statements that fail often enough for the report's error_rate
 * insight, at most --top of them by their errors; those not listed yet
 * are added. */
void FleetQueries::failing_statements() {
    char having[160];
    snprintf(having, sizeof having,
             " HAVING errors >= %.17g AND errors >= %.17g * sum(weight)",
             f_.error_rate_min_errors, f_.error_rate_min_share);
    Rows rows = c_.select(
        "SELECT server_id, dbid, queryid, if(queryid = 0, toString(cmd), '') "
        "AS untexted_cmd, sumIf(weight, sqlstate != '') AS errors FROM " +
        table("samples") + " FINAL" + where_ +
        " GROUP BY server_id, dbid, queryid, untexted_cmd" + having +
        " ORDER BY errors DESC, server_id, queryid LIMIT " +
        std::to_string(f_.top));
    check_columns(rows, 5, "failing statements");
    std::string missing;
    for (const auto &row : rows)
        if (statement_index(unum(row[0]), unum(row[1]), snum(row[2]), row[3]) <
            0)
            missing += std::string(missing.empty() ? "(" : ", (") +
                       std::to_string(unum(row[0])) + ", " +
                       std::to_string(unum(row[1])) + ", " +
                       std::to_string(snum(row[2])) + ", " + sql_quote(row[3]) +
                       ")";
    if (!missing.empty())
        add_statements(where_and("(" + std::string(kStatementKey) + ") IN (" +
                                 missing + ")"),
                       f_.top);
}

/* (server_id, dbid, queryid, untexted_cmd) of every statement listed, for
 * an IN over kStatementKey; "" when none is. */
std::string FleetQueries::listed_statements_sql() const {
    std::string listed;
    for (const FleetStatement &st : r_.statements)
        listed += std::string(listed.empty() ? "(" : ", (") +
                  std::to_string(st.server_id) + ", " +
                  std::to_string(st.dbid) + ", " + std::to_string(st.queryid) +
                  ", " + sql_quote(st.queryid == 0 ? st.cmd : "") + ")";
    return listed;
}

/* The samples of the listed statements that meet `condition` (and the
 * filters; "" for all), grouped by the statement's key and then
 * `group_more` (", route ORDER BY ..."): each row the key (server_id,
 * dbid, queryid, untexted_cmd) and then `columns`, `more_columns` of them.
 * No rows when no statement is listed. */
Rows FleetQueries::listed_statement_rows(const std::string &columns,
                                         const std::string &condition,
                                         const std::string &group_more,
                                         size_t more_columns,
                                         const char *what) const {
    std::string listed = listed_statements_sql();
    if (listed.empty())
        return {};
    std::string of_listed =
        "(" + std::string(kStatementKey) + ") IN (" + listed + ")";
    Rows rows = c_.select(
        "SELECT server_id, dbid, queryid, if(queryid = 0, toString(cmd), '') "
        "AS untexted_cmd, " +
        columns + " FROM " + table("samples") + " FINAL" +
        where_and(condition.empty() ? of_listed
                                    : condition + " AND " + of_listed) +
        " GROUP BY server_id, dbid, queryid, untexted_cmd" + group_more);
    check_columns(rows, 4 + more_columns, what);
    return rows;
}

/* The listed statement whose key starts `row` (listed_statement_rows'),
 * or null. */
FleetStatement *
FleetQueries::statement_of_row(const std::vector<std::string> &row) {
    int s = statement_index(unum(row[0]), unum(row[1]), snum(row[2]), row[3]);
    return s < 0 ? nullptr : &r_.statements[static_cast<size_t>(s)];
}

/* Each listed statement's routes (its top-level executions, as the
 * report's attribution) and its errors by SQLSTATE (every execution). */
void FleetQueries::statement_routes_and_errors() {
    Rows rows = listed_statement_rows(
        "route, sum(weight), sum(weight * " + std::string(kDbTime) +
            ") AS total_ns",
        "toplevel = 1", ", route ORDER BY total_ns DESC, route", 3,
        "statements' routes");
    for (const auto &row : rows) {
        FleetStatement *st = statement_of_row(row);
        if (st == nullptr)
            continue;
        bool tagged = !row[4].empty();
        if (tagged && st->top_route.empty())
            st->top_route = row[4];
        if (st->routes.size() < f_.routes_per_statement)
            st->routes.push_back(
                {tagged ? row[4] : "(none)", tagged, num(row[5]), num(row[6])});
    }
    rows = listed_statement_rows(
        "sqlstate, sum(weight), min(start_unix_us) AS first", "sqlstate != ''",
        ", sqlstate ORDER BY first, sqlstate", 3, "statements' errors");
    for (const auto &row : rows)
        if (FleetStatement *st = statement_of_row(row))
            st->errors_by_sqlstate.emplace_back(row[4], num(row[5]));
}

/* Each listed statement's executions recorded (every execution, nested
 * too) by latency bucket, as the report of files' histogram counts them. */
void FleetQueries::statement_latencies() {
    Rows rows = listed_statement_rows(
        latency_bucket_sql(kDbTime) + " AS bucket, count()", "",
        ", bucket ORDER BY server_id, dbid, queryid, untexted_cmd, bucket", 2,
        "statements' latencies");
    for (const auto &row : rows)
        if (FleetStatement *st = statement_of_row(row))
            st->latency.push_back(
                {static_cast<int32_t>(snum(row[4])), unum(row[5])});
}

void FleetQueries::errors() {
    Rows rows = c_.select(
        "SELECT sqlstate, count, executions, top_server_id, top_queryid, "
        "text FROM (SELECT sqlstate, sum(n) AS count, sum(recorded) AS "
        "executions, argMax(server_id, n) AS top_server_id, "
        "argMax(queryid, n) AS top_queryid FROM (SELECT sqlstate, "
        "server_id, queryid, sum(weight) AS n, count() AS recorded FROM " +
        table("samples") + " FINAL" +
        where_and("toplevel = 1 AND sqlstate != ''") +
        " GROUP BY sqlstate, server_id, queryid) GROUP BY sqlstate) ANY "
        "LEFT JOIN (SELECT server_id AS top_server_id, queryid AS "
        "top_queryid, text FROM " +
        table("statements") +
        " FINAL) USING (top_server_id, top_queryid) ORDER BY count DESC, "
        "sqlstate");
    check_columns(rows, 6, "errors");
    for (const auto &row : rows) {
        FleetError e;
        e.sqlstate = row[0];
        e.count = num(row[1]);
        e.executions = unum(row[2]);
        e.server_id = unum(row[3]);
        e.queryid = snum(row[4]);
        e.text = row[5];
        r_.errors_by_sqlstate.push_back(std::move(e));
    }
}

} // namespace qprof::fleet

namespace qprof {

FleetReport query_fleet_report(const ClickHouseClient &client,
                               FleetFilters filters,
                               const TimelineSpec *timeline,
                               const FleetLockWindowSpec *locks,
                               const FleetInsightSpec *insights) {
    return fleet::FleetQueries(client, filters, timeline, locks, insights)
        .run();
}

} // namespace qprof
