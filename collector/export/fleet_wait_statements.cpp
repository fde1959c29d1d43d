/* The statements the wait insights are about, added to those listed (the
 * report of files looks at every statement): those burning the CPU and
 * waiting for it when the run queue makes an insight, those whose Lock or
 * LWLock waits or kernel facts make one, and the statements that may hold
 * the locks waited for, from the lock windows the caller computes over
 * the executions ClickHouse gives in the capture's order. */
#include "fleet_queries.h"

#include <algorithm>
#include <cstdio>
#include <unordered_map>

namespace qprof::fleet {

namespace {

constexpr size_t kLockSlot = 3;   /* capture::v1::WAIT_CLASS_LOCK */
constexpr size_t kLWLockSlot = 1; /* capture::v1::WAIT_CLASS_LWLOCK */

std::string number(double value) {
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", value);
    return buf;
}

/* The factor that scales the times of the executions with waits to every
 * execution (the report's coverage_scale). */
double coverage_scale(double calls, double wait_calls) {
    return wait_calls > 0 ? std::max(1.0, calls / wait_calls) : 1;
}

/* "server_id/dbid/queryid/untexted_cmd" as its fields */
std::vector<std::string> key_fields(const std::string &key) {
    std::vector<std::string> fields;
    size_t from = 0;
    for (int i = 0; i < 3; ++i) {
        size_t slash = key.find('/', from);
        fields.push_back(key.substr(from, slash - from));
        from = slash + 1;
    }
    fields.push_back(key.substr(from));
    return fields;
}

std::string class_ns(size_t slot) {
    return "w_" + std::to_string(12 + slot);
}

} // namespace

/* Adds the statements of `keyed` (server_id, dbid, queryid, untexted_cmd
 * first) not listed yet. */
void FleetQueries::add_unlisted(const Rows &keyed) {
    std::string missing;
    size_t count = 0;
    for (const auto &row : keyed)
        if (statement_index(unum(row[0]), unum(row[1]), snum(row[2]), row[3]) <
            0) {
            missing += std::string(missing.empty() ? "(" : ", (") +
                       std::to_string(unum(row[0])) + ", " +
                       std::to_string(unum(row[1])) + ", " +
                       std::to_string(snum(row[2])) + ", " + sql_quote(row[3]) +
                       ")";
            ++count;
        }
    if (!missing.empty())
        add_statements(where_and("(" + std::string(kStatementKey) + ") IN (" +
                                 missing + ")"),
                       count);
}

void FleetQueries::waiting_statements() {
    if (r_.total_ns <= 0)
        return;
    double min_ns = f_.min_insight_share * r_.total_ns;
    std::string key = "server_id, dbid, queryid, if(queryid = 0, "
                      "toString(cmd), '') AS untexted_cmd";
    std::string group = " GROUP BY server_id, dbid, queryid, untexted_cmd";
    std::string from = " FROM " + table("samples") + " FINAL" + where_;
    /* the run queue: the statements that burn the CPU and wait for it */
    const FleetWaits &w = r_.waits;
    if (w.elapsed_ns > 0 &&
        w.runqueue_ns / w.elapsed_ns >= f_.wait_insight_share &&
        w.runqueue_ns * coverage_scale(r_.calls, w.calls) >= min_ns) {
        Rows rows = c_.select("SELECT sumIf(weight * oncpu_ns, " +
                              std::string(kKernelSplit) + ")" + from);
        check_columns(rows, 1, "CPU time");
        r_.statements_oncpu_ns = rows.empty() ? 0 : num(rows[0][0]);
        for (const char *measure : {"oncpu_ns", "runqueue_ns"}) {
            rows =
                c_.select("SELECT " + key + ", sumIf(weight * " + measure +
                          ", " + kKernelSplit + ") AS measure" + from + group +
                          " HAVING measure > 0 ORDER BY measure DESC, "
                          "server_id, queryid LIMIT " +
                          std::to_string(f_.wait_listed));
            check_columns(rows, 5, "statements by CPU");
            add_unlisted(rows);
        }
    }
    /* Lock and LWLock waits, and kernel facts mostly waiting */
    auto lock = [&](size_t slot) {
        return "(w_5 > 0 AND " + class_ns(slot) +
               " / w_5 >= " + number(f_.wait_insight_share) + " AND " +
               class_ns(slot) +
               " * if(w_4 > 0, greatest(1, calls / w_4), 1) >= " +
               number(min_ns) + ")";
    };
    std::string kernel = "(oncpu + io_wait + other_wait)";
    std::string d = number(f_.dominant_share);
    std::string bound = "(total_ns >= " + number(min_ns) +
                        " AND kernel_executions > 0 AND " + kernel +
                        " > 0 AND ((io_wait / " + kernel + " >= " + d +
                        " AND reads = 0) OR (io_wait / " + kernel + " < " + d +
                        " AND other_wait / " + kernel + " >= " + d + ")))";
    Rows rows = c_.select(
        "SELECT " + key + ", sum(weight) AS calls, sum(weight * " + kDbTime +
        ") AS total_ns, countIf(has_io = 1) AS kernel_executions, "
        "sumIf(weight * oncpu_ns, has_io = 1) AS oncpu, sumIf(weight * "
        "io_wait_ns, has_io = 1) AS io_wait, sumIf(weight * other_wait_ns, "
        "has_io = 1) AS other_wait, sum(weight * shared_blks_read) AS reads, " +
        waits_sql() + from + group + " HAVING " + lock(kLockSlot) + " OR " +
        lock(kLWLockSlot) + " OR " + bound +
        " ORDER BY total_ns DESC, server_id, queryid LIMIT " +
        std::to_string(f_.top));
    check_columns(rows, 11 + kWaitColumns, "waiting statements");
    add_unlisted(rows);
}

/* The lock windows of the executions with waits, when a statement listed
 * waits on locks enough for an insight; the first holders of each such
 * statement's waits are listed. */
void FleetQueries::lock_windows() {
    if (locks_ == nullptr || r_.total_ns <= 0)
        return;
    double min_ns = f_.min_insight_share * r_.total_ns;
    std::vector<uint32_t> waiters;
    for (uint32_t i = 0; i < r_.statements.size(); ++i) {
        const FleetStatement &s = r_.statements[i];
        const FleetWaits &w = s.waits;
        double ns = w.class_ns[kLockSlot];
        if (w.elapsed_ns > 0 && ns / w.elapsed_ns >= f_.wait_insight_share &&
            ns * coverage_scale(s.calls, w.calls) >= min_ns)
            waiters.push_back(i);
    }
    if (waiters.empty())
        return;
    /* statements and servers numbered as they first come */
    std::unordered_map<std::string, uint32_t> numbers;
    /* by number: the map's keys (its nodes do not move) */
    std::vector<const std::string *> keys;
    std::unordered_map<uint64_t, uint32_t> servers;
    std::string columns =
        "SELECT server_id, dbid, queryid, if(queryid = 0, toString(cmd), '') "
        "AS untexted_cmd, epoch, seq, pid, start_unix_us, duration_us, weight, "
        "cmd IN ('insert', 'update', 'delete', 'merge') OR (cmd = 'select' "
        "AND wal_records > 0), if(has_io = 1 AND arrayExists(c -> c != 0, "
        "wait_classes), arraySum(arrayMap((c, n) -> n * (c = 3), "
        "wait_classes, wait_class_ns)), arraySum(arrayMap((c, n) -> n * (c = "
        "3), sampled_wait_classes, sampled_wait_ns))) FROM " +
        table("samples") + " FINAL";
    std::string with_waits = "(has_io = 1 OR sampled_wait_interval_us > 0)";
    std::string after;
    size_t page = std::max<size_t>(locks_->rows_per_query, 1);
    for (;;) {
        Rows rows = c_.select(columns + where_and(with_waits + after) +
                              " ORDER BY server_id, epoch, seq LIMIT " +
                              std::to_string(page));
        check_columns(rows, 12, "executions with waits");
        for (const auto &row : rows) {
            std::string key =
                row[0] + "/" + row[1] + "/" + row[2] + "/" + row[3];
            auto found = numbers.find(key);
            if (found == numbers.end()) {
                if (numbers.size() >= locks_->max_statements)
                    return; /* bounded: no lock windows */
                found = numbers.emplace(key, static_cast<uint32_t>(keys.size()))
                            .first;
                keys.push_back(&found->first);
            }
            uint64_t server_id = unum(row[0]);
            auto server =
                servers
                    .emplace(server_id, static_cast<uint32_t>(servers.size()))
                    .first;
            FleetExecution e;
            e.server = server->second;
            e.dbid = static_cast<uint32_t>(unum(row[1]));
            e.statement = found->second;
            e.pid = static_cast<int32_t>(snum(row[6]));
            e.start_unix_us = snum(row[7]);
            e.end_unix_us = e.start_unix_us + snum(row[8]);
            e.weight = num(row[9]);
            e.takes_row_locks = unum(row[10]) != 0;
            e.lock_wait_ns = unum(row[11]);
            locks_->add(e);
        }
        if (rows.size() < page)
            break;
        const auto &last = rows.back();
        std::string s = std::to_string(unum(last[0])),
                    ep = std::to_string(unum(last[4])),
                    seq = std::to_string(unum(last[5]));
        after = " AND (server_id > " + s + " OR (server_id = " + s +
                " AND (epoch > " + ep + " OR (epoch = " + ep + " AND seq > " +
                seq + "))))";
    }
    std::vector<FleetLockWaiter> waits;
    std::vector<FleetLockPair> pairs;
    locks_->finish(waits, pairs);
    r_.lock_windows = true;
    auto number_of = [&](const FleetStatement &s) -> int64_t {
        auto found = numbers.find(
            std::to_string(s.server_id) + "/" + std::to_string(s.dbid) + "/" +
            std::to_string(s.queryid) + "/" + (s.queryid == 0 ? s.cmd : ""));
        return found == numbers.end() ? -1 : found->second;
    };
    /* each waiter's first holders, by waits then as they first came */
    std::unordered_map<uint32_t, std::vector<FleetLockPair>> by_waiter;
    for (const FleetLockPair &p : pairs)
        by_waiter[p.waiter].push_back(p);
    std::unordered_map<uint32_t, const FleetLockWaiter *> waiter_stats;
    for (const FleetLockWaiter &w : waits)
        waiter_stats[w.statement] = &w;
    std::vector<std::vector<FleetLockPair>> firsts;
    Rows unlisted;
    for (uint32_t i : waiters) {
        int64_t n = number_of(r_.statements[i]);
        std::vector<FleetLockPair> mine;
        if (n >= 0 && by_waiter.count(static_cast<uint32_t>(n)))
            mine = by_waiter[static_cast<uint32_t>(n)];
        std::sort(mine.begin(), mine.end(),
                  [](const FleetLockPair &x, const FleetLockPair &y) {
                      return x.waits != y.waits ? x.waits > y.waits
                                                : x.holder < y.holder;
                  });
        if (mine.size() > locks_->holders_listed)
            mine.resize(locks_->holders_listed);
        for (const FleetLockPair &p : mine)
            unlisted.push_back(key_fields(*keys[p.holder]));
        firsts.push_back(std::move(mine));
        auto stats = n >= 0 ? waiter_stats.find(static_cast<uint32_t>(n))
                            : waiter_stats.end();
        if (stats != waiter_stats.end()) {
            r_.statements[i].lock_matched_waits = stats->second->waits;
            r_.statements[i].lock_waits_with_holders =
                stats->second->waits_with_holders;
        }
    }
    add_unlisted(unlisted);
    for (size_t k = 0; k < waiters.size(); ++k)
        for (const FleetLockPair &p : firsts[k]) {
            std::vector<std::string> key = key_fields(*keys[p.holder]);
            int at = statement_index(unum(key[0]), unum(key[1]), snum(key[2]),
                                     key[3]);
            if (at >= 0)
                r_.statements[waiters[k]].lock_holders.push_back(
                    {static_cast<uint32_t>(at), p.waits, p.holder});
        }
}

} // namespace qprof::fleet
