#include "fleet_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace qprof {

namespace {

using Rows = std::vector<std::vector<std::string>>;

double num(const std::string &field) {
    return std::strtod(field.c_str(), nullptr);
}
uint64_t unum(const std::string &field) {
    return std::strtoull(field.c_str(), nullptr, 10);
}
int64_t snum(const std::string &field) {
    return std::strtoll(field.c_str(), nullptr, 10);
}

/* The database time of one sample, and its weighted sum. */
const char *const kDbTime = "(plan_time_ns + exec_time_ns)";
const char *const kStatementKey =
    "server_id, dbid, queryid, if(queryid = 0, toString(cmd), '')";

/* Plan nodes past this id are not summed (the report's kMaxNodeId). */
constexpr uint32_t kMaxNodeId = 10000;

/* Percentiles as the report of files computes them (latency_histogram.h):
 * each execution's database time in log-spaced buckets 2% wide, bucket i
 * holding (1.02^(i-1), 1.02^i]; the nearest-rank bucket of the recorded
 * executions (quantileExactWeighted: memory per distinct bucket, not per
 * execution), stood for by its midpoint within the exact minimum and
 * maximum, and the minimum and maximum themselves at the ends. */
constexpr double kGamma = 1.02;

std::string percentile_sql(const std::string &db_time) {
    return "quantilesExactWeighted(0.5, 0.95, 0.99)(if(" + db_time +
           " <= 1, 0, toInt32(ceil(log(" + db_time +
           ") / log(1.02)))), 1) AS pb, min(" + db_time + ") AS p_min, max(" +
           db_time + ") AS p_max";
}

/* "[12,-3,40]" */
std::vector<int32_t> int_array(const std::string &field) {
    std::vector<int32_t> out;
    const char *p = field.c_str();
    while (*p != '\0') {
        if (*p == '-' || (*p >= '0' && *p <= '9')) {
            char *end = nullptr;
            out.push_back(static_cast<int32_t>(std::strtol(p, &end, 10)));
            p = end;
        } else {
            ++p;
        }
    }
    return out;
}

double quantile_ns(double q, uint64_t count, int32_t bucket, double min_ns,
                   double max_ns) {
    if (count == 0)
        return 0;
    uint64_t rank = static_cast<uint64_t>(std::ceil(q * count));
    rank = std::max<uint64_t>(1, std::min(rank, count));
    if (rank == count)
        return max_ns;
    if (rank == 1)
        return min_ns;
    double v = bucket <= 0
                   ? 1
                   : std::exp(std::log(kGamma) * bucket) * 2 / (1 + kGamma);
    return std::min(std::max(v, min_ns), max_ns);
}

/* p50, p95, p99 from the three fields percentile_sql() gives */
void set_percentiles(const std::string *fields, uint64_t count, double *p50,
                     double *p95, double *p99) {
    std::vector<int32_t> buckets = int_array(fields[0]);
    if (buckets.size() != 3)
        throw ClickHouseError("ClickHouse's percentiles: not 3 buckets: " +
                              fields[0]);
    double lo = num(fields[1]), hi = num(fields[2]);
    *p50 = quantile_ns(0.50, count, buckets[0], lo, hi);
    *p95 = quantile_ns(0.95, count, buckets[1], lo, hi);
    *p99 = quantile_ns(0.99, count, buckets[2], lo, hi);
}

/* A row must have `columns` fields: anything else is not our query's
 * answer. */
void check_columns(const Rows &rows, size_t columns, const char *what) {
    for (const auto &row : rows)
        if (row.size() != columns)
            throw ClickHouseError(std::string("ClickHouse's answer to the ") +
                                  what + " query has " +
                                  std::to_string(row.size()) +
                                  " columns, not " + std::to_string(columns));
}

class FleetQueries {
  public:
    FleetQueries(const ClickHouseClient &client, FleetFilters &filters,
                 const TimelineSpec *timeline)
        : c_(client), f_(filters), timeline_(timeline), db_(client.database()) {
    }

    FleetReport run() {
        resolve_servers();
        resolve_relative_times();
        where_ = where_clause();
        servers();
        group_sql_ = group_expression(f_.group_by);
        r_.group_by = f_.group_by;
        summary();
        statements();
        requests();
        changed_plans();
        plans();
        groups();
        waits();
        hotspots();
        errors();
        if (timeline_ != nullptr && r_.executions > 0)
            timeline();
        return std::move(r_);
    }

  private:
    std::string table(const char *name) const { return db_ + "." + name; }

    /* --server: a system identifier, label or cluster name */
    void resolve_servers() {
        for (const std::string &name : f_.servers) {
            Rows rows = c_.select(
                "SELECT DISTINCT server_id FROM " + table("servers") +
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

    void resolve_relative_times() {
        if (!f_.since_relative && !f_.until_relative)
            return;
        std::string server_filter =
            server_ids_.empty()
                ? ""
                : " WHERE server_id IN (" + join(server_ids_) + ")";
        Rows rows = c_.select("SELECT max(start_unix_us + duration_us) FROM " +
                              table("samples") + server_filter);
        int64_t end = rows.empty() || rows[0].empty() ? 0 : snum(rows[0][0]);
        if (f_.since_relative)
            f_.since_unix_us = end - f_.since_unix_us;
        if (f_.until_relative)
            f_.until_unix_us = end - f_.until_unix_us;
    }

    static std::string join(const std::vector<std::string> &items) {
        std::string out;
        for (const std::string &item : items)
            out += (out.empty() ? "" : ", ") + item;
        return out;
    }

    /* The filters, on samples; the day partitions are pruned by
     * start_time, the rows cut by start_unix_us. */
    std::string where_clause() const {
        std::vector<std::string> terms;
        if (!server_ids_.empty())
            terms.push_back("server_id IN (" + join(server_ids_) + ")");
        if (f_.has_since) {
            terms.push_back("start_time >= toDateTime(" +
                            std::to_string(f_.since_unix_us / 1000000) + ")");
            terms.push_back("start_unix_us >= " +
                            std::to_string(f_.since_unix_us));
        }
        if (f_.has_until) {
            terms.push_back("start_time <= toDateTime(" +
                            std::to_string(f_.until_unix_us / 1000000) + ")");
            terms.push_back("start_unix_us < " +
                            std::to_string(f_.until_unix_us));
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
    std::string where_and(const std::string &extra) const {
        return where_.empty() ? " WHERE " + extra : where_ + " AND " + extra;
    }

    void servers() {
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
        Rows lost = c_.select("SELECT server_id, sum(count) FROM " +
                              table("losses") + " FINAL WHERE server_id IN (" +
                              join(ids) + ") GROUP BY server_id");
        Rows restarts = c_.select(
            "SELECT server_id, count() FROM " + table("epoch_changes") +
            " FINAL WHERE server_id IN (" + join(ids) + ") GROUP BY server_id");
        for (FleetServer &s : r_.servers) {
            for (const auto &row : lost)
                if (row.size() == 2 && unum(row[0]) == s.server_id)
                    s.lost = unum(row[1]);
            for (const auto &row : restarts)
                if (row.size() == 2 && unum(row[0]) == s.server_id)
                    s.epoch_changes = unum(row[1]);
        }
    }

    void summary() {
        Rows rows = c_.select(
            std::string(
                "SELECT countIf(toplevel = 1), sumIf(weight, toplevel = "
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
    void statements() {
        add_statements(where_, f_.top);
        r_.top_statements = r_.statements.size();
    }

    /* Adds the statements of `where` (the filters and more), at most
     * `limit` of them by total time. */
    void add_statements(const std::string &where, size_t limit) {
        std::string db_time = kDbTime;
        Rows rows = c_.select(
            "SELECT server_id, dbid, queryid, cmd_name, database, executions, "
            "calls, total_ns, toplevel_ns, errors, pb, p_min, p_max, rows, "
            "shared_blks_read, kernel_executions, oncpu_sum, io_wait_sum, "
            "other_wait_sum, page_cache_misses_sum, block_bytes_sum, text, " +
            waits_names() +
            " FROM (SELECT "
            "server_id, dbid, queryid, if(queryid = 0, toString(cmd), '') AS "
            "untexted_cmd, toString(any(cmd)) AS cmd_name, any(database) AS "
            "database, count() AS executions, sum(weight) AS calls, "
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

    /* The statements that ran with more than one plan, the first --top of
     * them by their first execution (the report of files compares the
     * plans of every statement, in the order they first ran, and lists
     * --top of them); those not listed yet are added. */
    void changed_plans() {
        Rows rows = c_.select(
            "SELECT server_id, dbid, queryid FROM " + table("samples") +
            " FINAL" + where_and("planid != 0 AND queryid != 0") +
            " GROUP BY server_id, dbid, queryid HAVING uniqExact(planid) >= 2 "
            "ORDER BY min(start_unix_us), server_id, dbid, queryid LIMIT " +
            std::to_string(f_.top));
        check_columns(rows, 3, "changed plans");
        std::string missing;
        for (const auto &row : rows)
            if (statement_index(unum(row[0]), unum(row[1]), snum(row[2]), "") <
                0)
                missing += std::string(missing.empty() ? "(" : ", (") + row[0] +
                           ", " + row[1] + ", " + row[2] + ")";
        if (!missing.empty())
            add_statements(
                where_and("(server_id, dbid, queryid) IN (" + missing + ")"),
                f_.top);
        for (const auto &row : rows) {
            int s =
                statement_index(unum(row[0]), unum(row[1]), snum(row[2]), "");
            if (s >= 0)
                r_.plan_changes.push_back(static_cast<uint32_t>(s));
        }
    }

    /* The plans of the statements listed: their executions over the
     * filters, nested ones too (as a statement's), and the plan's text. */
    void plans() {
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
            "calls, total_ns, first_us, last_us, plan_text FROM (SELECT "
            "server_id, dbid, queryid, planid, count() AS executions, "
            "sum(weight) AS calls, sum(weight * " +
            std::string(kDbTime) +
            ") AS total_ns, min(start_unix_us) AS first_us, "
            "max(start_unix_us) AS last_us FROM " +
            table("samples") + " FINAL" +
            where_and("planid != 0 AND (server_id, dbid, queryid) IN (" +
                      listed + ")") +
            " GROUP BY server_id, dbid, queryid, planid) ANY LEFT JOIN "
            "(SELECT server_id, queryid, planid, shape_id, plan_text FROM " +
            table("plans") +
            " FINAL) USING (server_id, queryid, planid) ORDER BY server_id, "
            "dbid, queryid, first_us, planid");
        check_columns(rows, 11, "plans");
        for (const auto &row : rows) {
            int s = listed_statement(unum(row[0]),
                                     static_cast<uint32_t>(unum(row[1])),
                                     snum(row[2]));
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
            r_.statements[static_cast<size_t>(s)].plans.push_back(std::move(p));
        }
    }

    /* Which waits an execution has, as the report of files decides
     * (WaitBreakdown::has_split, then Sample.sampled_waits): the kernel's
     * split of its off-CPU time, or else the classes the extension
     * sampled. */
    static constexpr const char *kKernelSplit =
        "(has_io = 1 AND (runqueue_ns > 0 OR notEmpty(wait_classes) OR "
        "io_wait_ns + other_wait_ns = 0))";
    static std::string sampled_only() {
        return std::string("(not") + kKernelSplit +
               " AND sampled_wait_interval_us > 0)";
    }
    static constexpr size_t kWaitColumns = 12 + 2 * kFleetWaitClassSlots;

    /* The kWaitColumns sums of FleetWaits, w_0, w_1, ... */
    static std::string waits_sql() {
        std::string split = kKernelSplit, sampled = sampled_only();
        std::string any = "(" + split + " OR " + sampled + ")";
        std::vector<std::string> sums = {
            "countIf(" + any + ")",
            "countIf(" + sampled + ")",
            "minIf(sampled_wait_interval_us, " + sampled + ")",
            "maxIf(sampled_wait_interval_us, " + sampled + ")",
            "sumIf(weight, " + any + ")",
            "sumIf(weight * " + std::string(kDbTime) + ", " + any + ")",
            "sumIf(weight * oncpu_ns, " + split + ")",
            "sumIf(weight * runqueue_ns, " + split + ")",
            "sumIf(weight * runqueue_waits, " + split + ")",
            "sumIf(weight * io_wait_ns, " + split + ")",
            "sumIf(weight * other_wait_events_ns, " + split + ")",
            "sumIf(weight * other_wait_events_count, " + split + ")"};
        /* each class's time and count: the kernel's or the sampled */
        for (const char *part : {"ns", "counts"})
            for (size_t slot = 0; slot < kFleetWaitClassSlots; ++slot) {
                std::string of =
                    "(c, n) -> n * (c = " + std::to_string(slot) + ")";
                std::string kernel = std::string(part) == "ns"
                                         ? "wait_class_ns"
                                         : "wait_class_counts";
                std::string sampled_values = std::string(part) == "ns"
                                                 ? "sampled_wait_ns"
                                                 : "sampled_wait_counts";
                sums.push_back("sumIf(weight * arraySum(arrayMap(" + of +
                               ", wait_classes, " + kernel + ")), " + split +
                               ") + sumIf(weight * arraySum(arrayMap(" + of +
                               ", sampled_wait_classes, " + sampled_values +
                               ")), " + sampled + ")");
            }
        std::string out;
        for (size_t i = 0; i < sums.size(); ++i)
            out += (i ? ", " : "") + sums[i] + " AS w_" + std::to_string(i);
        return out;
    }

    static std::string waits_names() {
        std::string out;
        for (size_t i = 0; i < kWaitColumns; ++i)
            out += (i ? ", w_" : "w_") + std::to_string(i);
        return out;
    }

    static void set_waits(const std::string *f, FleetWaits &w) {
        w.executions = unum(f[0]);
        w.sampled_executions = unum(f[1]);
        w.min_interval_us = static_cast<uint32_t>(unum(f[2]));
        w.max_interval_us = static_cast<uint32_t>(unum(f[3]));
        w.calls = num(f[4]);
        w.elapsed_ns = num(f[5]);
        w.oncpu_ns = num(f[6]);
        w.runqueue_ns = num(f[7]);
        w.runqueue_waits = num(f[8]);
        w.io_wait_ns = num(f[9]);
        w.other_events_ns = num(f[10]);
        w.other_events_count = num(f[11]);
        for (size_t slot = 0; slot < kFleetWaitClassSlots; ++slot) {
            w.class_ns[slot] = num(f[12 + slot]);
            w.class_count[slot] = num(f[12 + kFleetWaitClassSlots + slot]);
        }
    }

    /* The top-level executions' waits, and the kernel's wait events of
     * the total, the statements listed and the groups shown. */
    void waits() {
        Rows rows =
            c_.select("SELECT " + waits_sql() + " FROM " + table("samples") +
                      " FINAL" + where_and("toplevel = 1"));
        check_columns(rows, kWaitColumns, "waits");
        if (!rows.empty())
            set_waits(rows[0].data(), r_.waits);
        if (r_.waits.executions == r_.waits.sampled_executions)
            return; /* no kernel split: no events */
        /* the events of the executions with the kernel's split (rows of an
         * older export have no wait_event_infos: none) */
        std::string events =
            ", ev, sum(weight * wait_event_ns[i]), sum(weight * "
            "wait_event_counts[i]) FROM " +
            table("samples") +
            " FINAL ARRAY JOIN wait_event_infos AS ev, "
            "arrayEnumerate(wait_event_infos) AS i";
        auto add_event = [](FleetWaits &w, const std::string *f) {
            w.events.push_back(
                {static_cast<uint32_t>(unum(f[0])), num(f[1]), num(f[2])});
        };
        rows = c_.select(
            "SELECT 0" + events +
            where_and("toplevel = 1 AND " + std::string(kKernelSplit)) +
            " GROUP BY ev");
        check_columns(rows, 4, "wait events");
        for (const auto &row : rows)
            add_event(r_.waits, &row[1]);

        std::string listed;
        for (const FleetStatement &st : r_.statements)
            listed += std::string(listed.empty() ? "(" : ", (") +
                      std::to_string(st.server_id) + ", " +
                      std::to_string(st.dbid) + ", " +
                      std::to_string(st.queryid) + ", " +
                      sql_quote(st.queryid == 0 ? st.cmd : "") + ")";
        if (!listed.empty()) {
            rows = c_.select(
                "SELECT server_id, dbid, queryid, if(queryid = 0, "
                "toString(cmd), '') AS untexted_cmd" +
                events +
                where_and(std::string(kKernelSplit) +
                          " AND (server_id, dbid, queryid, if(queryid = 0, "
                          "toString(cmd), '')) IN (" +
                          listed + ")") +
                " GROUP BY server_id, dbid, queryid, untexted_cmd, ev");
            check_columns(rows, 7, "statements' wait events");
            for (const auto &row : rows) {
                int st = statement_index(unum(row[0]), unum(row[1]),
                                         snum(row[2]), row[3]);
                if (st >= 0)
                    add_event(r_.statements[static_cast<size_t>(st)].waits,
                              &row[4]);
            }
        }
        rows = c_.select(
            "SELECT " + group_sql_ + " AS group_name" + events +
            where_and("toplevel = 1 AND " + std::string(kKernelSplit)) +
            " GROUP BY group_name, ev");
        check_columns(rows, 4, "groups' wait events");
        for (FleetGroup &g : r_.groups)
            for (const auto &row : rows)
                if (row[0] == g.name)
                    add_event(g.waits, &row[1]);
        auto by_time = [](FleetWaits &w) {
            std::stable_sort(
                w.events.begin(), w.events.end(),
                [](const FleetWaitEvent &a, const FleetWaitEvent &b) {
                    return a.ns != b.ns ? a.ns > b.ns : a.event < b.event;
                });
        };
        by_time(r_.waits);
        for (FleetStatement &st : r_.statements)
            by_time(st.waits);
        for (FleetGroup &g : r_.groups)
            by_time(g.waits);
    }

    /* The per-node actuals of the executions the filters keep that have
     * a plan, by node type, relation and index, as the report of files
     * sums them (NodeTotals, unweighted): by time where timed, else by
     * rows read. The executions are the samples' (GLOBAL: computed once
     * and sent to the shards). */
    void hotspots() {
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

    /* Requests, as the report of files rebuilds them: a request is the
     * top-level executions with its id on one backend (server_id, pid),
     * its route its first execution's. Per statement of each request:
     * its executions, their time and the first one. */
    std::string request_statements_sql() const {
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
    std::string requests_sql() const {
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
    void requests() {
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

        /* the example: the request that ran it most, the earliest of
         * them */
        rows = c_.select(
            "SELECT request_route, server_id, tupleElement(r, 1) AS dbid, "
            "tupleElement(r, 2) AS queryid, tupleElement(r, 3) AS "
            "untexted_cmd, count() AS requests, sum(tupleElement(r, 4)) AS "
            "executions, max(tupleElement(r, 4)), argMax(request, "
            "(tupleElement(r, 4), -began_us)), sum(tupleElement(r, 5)) AS "
            "total_ns FROM (" +
            requests_sql() +
            ") ARRAY JOIN repeated AS r GROUP BY request_route, server_id, "
            "dbid, queryid, untexted_cmd ORDER BY total_ns DESC, "
            "request_route, server_id, queryid LIMIT " +
            std::to_string(f_.top));
        check_columns(rows, 10, "N+1");
        std::string missing;
        for (const auto &row : rows)
            if (statement_index(unum(row[1]), unum(row[2]), snum(row[3]),
                                row[4]) < 0)
                missing += std::string(missing.empty() ? "(" : ", (") + row[1] +
                           ", " + row[2] + ", " + row[3] + ", " +
                           sql_quote(row[4]) + ")";
        if (!missing.empty())
            add_statements(
                where_and("(server_id, dbid, queryid, if(queryid = 0, "
                          "toString(cmd), '')) IN (" +
                          missing + ")"),
                f_.top);
        for (const auto &row : rows) {
            int s = statement_index(unum(row[1]), unum(row[2]), snum(row[3]),
                                    row[4]);
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
            r_.n_plus_one.push_back(std::move(n));
        }
    }

    /* The listed statement (server_id, dbid, queryid and, without a
     * queryid, its command), or -1. */
    int statement_index(uint64_t server_id, uint64_t dbid, int64_t queryid,
                        const std::string &untexted_cmd) const {
        for (size_t i = 0; i < r_.statements.size(); ++i) {
            const FleetStatement &s = r_.statements[i];
            if (s.server_id == server_id && s.dbid == dbid &&
                s.queryid == queryid && (queryid != 0 || s.cmd == untexted_cmd))
                return static_cast<int>(i);
        }
        return -1;
    }

    /* The group of a sample under --group-by, named as the report of files
     * names it; users and databases are a server's (OIDs), told apart by
     * " @server_id" when there are several servers. */
    std::string group_expression(const std::string &group_by) const {
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

    /* The listed statement (server_id, dbid, queryid), or -1. */
    int listed_statement(uint64_t server_id, uint32_t dbid,
                         int64_t queryid) const {
        for (size_t i = 0; i < r_.statements.size(); ++i) {
            const FleetStatement &s = r_.statements[i];
            if (s.server_id == server_id && s.dbid == dbid &&
                s.queryid == queryid)
                return static_cast<int>(i);
        }
        return -1;
    }

    void groups() {
        std::string db_time = kDbTime;
        std::string from =
            " FROM " + table("samples") + " FINAL" + where_and("toplevel = 1");
        Rows rows = c_.select(
            "SELECT " + group_sql_ +
            " AS group_name, sum(weight), sum(weight * " + db_time +
            ") AS total_ns, sumIf(weight, sqlstate != ''), count(), " +
            percentile_sql(db_time) +
            ", countIf(has_io = 1), sumIf(weight * oncpu_ns, has_io = 1), "
            "sumIf(weight * io_wait_ns, has_io = 1), sumIf(weight * "
            "other_wait_ns, has_io = 1), sumIf(weight * page_cache_misses, "
            "has_io = 1), sumIf(weight * block_bytes, has_io = 1), " +
            waits_sql() + from +
            " GROUP BY group_name ORDER BY total_ns DESC, group_name");
        check_columns(rows, 14 + kWaitColumns, "groups");
        r_.groups_total = rows.size();
        for (const auto &row : rows) {
            if (r_.groups.size() >= f_.top)
                break;
            FleetGroup g;
            g.name = row[0];
            g.executions = unum(row[4]);
            g.calls = num(row[1]);
            g.total_ns = num(row[2]);
            g.errors = num(row[3]);
            double p50, p99;
            set_percentiles(&row[5], unum(row[4]), &p50, &g.p95_ns, &p99);
            g.kernel_executions = unum(row[8]);
            g.oncpu_ns = num(row[9]);
            g.io_wait_ns = num(row[10]);
            g.other_wait_ns = num(row[11]);
            g.page_cache_misses = num(row[12]);
            g.block_bytes = num(row[13]);
            set_waits(&row[14], g.waits);
            r_.groups.push_back(std::move(g));
        }
        /* each group's statements with most time */
        Rows tops = c_.select(
            "SELECT " + group_sql_ +
            " AS group_name, server_id, dbid, queryid, sum(weight * " +
            db_time + ") AS total_ns" + from +
            " GROUP BY group_name, server_id, dbid, queryid ORDER BY "
            "group_name, total_ns DESC LIMIT 3 BY group_name");
        check_columns(tops, 5, "statements by group");
        for (FleetGroup &g : r_.groups)
            for (const auto &row : tops)
                if (row[0] == g.name) {
                    int s = listed_statement(
                        unum(row[1]), static_cast<uint32_t>(unum(row[2])),
                        snum(row[3]));
                    if (s >= 0)
                        g.top_statements.push_back(static_cast<uint32_t>(s));
                }
    }

    void errors() {
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

    /* The series the report's JSON draws, on the grid of the report of
     * files: intervals of the spec's width over the first and last start
     * of every execution (nested too), sums of the top-level executions
     * but for a statement's (all of its executions). */
    void timeline() {
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
        Rows rows =
            c_.select("SELECT " + interval + ", sum(weight * " + db_time +
                      "), count(), sumIf(weight, sqlstate != '') FROM " +
                      table("samples") + " FINAL" + where_and("toplevel = 1") +
                      " GROUP BY t");
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
                         " AS bucket, count() FROM " + table("samples") +
                         " FINAL" + where_and("toplevel = 1") +
                         " GROUP BY t, bucket");
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
                      std::to_string(st.dbid) + ", " +
                      std::to_string(st.queryid) + ", " +
                      sql_quote(st.queryid == 0 ? st.cmd : "") + ")";
        }
        tl.statements.assign(shown, zeros());
        if (shown > 0) {
            rows = c_.select(
                "SELECT server_id, dbid, queryid, if(queryid = 0, "
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
                    if (st.server_id == unum(row[0]) &&
                        st.dbid == unum(row[1]) && st.queryid == snum(row[2]) &&
                        (st.queryid != 0 || st.cmd == row[3]))
                        tl.statements[k][i] = num(row[5]);
                }
            }
        }

        size_t groups = std::min(timeline_->series_shown, r_.groups.size());
        std::string names;
        for (size_t g = 0; g < groups; ++g)
            names += (names.empty() ? "" : ", ") + sql_quote(r_.groups[g].name);
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
                    if (r_.groups[g].name == row[0])
                        tl.groups[g][i] = num(row[2]);
            }
        }
    }

    const ClickHouseClient &c_;
    FleetFilters &f_;
    const TimelineSpec *timeline_;
    int64_t last_start_us_ = 0;
    std::string db_;
    std::vector<std::string> server_ids_;
    std::string where_;
    std::string group_sql_;
    FleetReport r_;
};

} // namespace

FleetReport query_fleet_report(const ClickHouseClient &client,
                               FleetFilters filters,
                               const TimelineSpec *timeline) {
    return FleetQueries(client, filters, timeline).run();
}

} // namespace qprof
