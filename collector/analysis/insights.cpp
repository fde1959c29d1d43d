#include "insights.h"
#include "insight_rules.h"
#include "one_line.h"
#include "sqlstate.h"
#include "wait_insights.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

namespace qprof {

namespace pb = capture::v1;

namespace {

/* A table this large is worth an index. */
constexpr double kLargeTableRows = 10000;
/* A scan that keeps at most this share of the rows it reads is selective. */
constexpr double kSelectiveKeep = 0.1;
/* Estimates off by this factor or more. */
constexpr double kEstimateFactor = 10;
/* ...on a node with at least this many rows, actual or estimated */
constexpr double kEstimateMinRows = 1000;
/* A statement whose kernel time is at least this share waiting. */
constexpr double kDominantShare = 0.5;

std::string format(const char *fmt, double value) {
    char buf[64];
    snprintf(buf, sizeof buf, fmt, value);
    return buf;
}

std::string quote_ident(const std::string &name) {
    bool plain =
        !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (char c : name)
        if (!(std::islower(static_cast<unsigned char>(c)) ||
              std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
            plain = false;
    if (plain)
        return name;
    std::string out = "\"";
    for (char c : name) {
        if (c == '"')
            out += '"';
        out += c;
    }
    return out + "\"";
}

std::string quote_qualified(const std::string &relation) {
    size_t dot = relation.find('.');
    if (dot == std::string::npos)
        return quote_ident(relation);
    return quote_ident(relation.substr(0, dot)) + "." +
           quote_ident(relation.substr(dot + 1));
}

uint64_t block_size(const Analysis &a, uint32_t server) {
    std::string bs = a.setting(server, "block_size");
    uint64_t size = bs.empty() ? 8192 : std::strtoull(bs.c_str(), nullptr, 10);
    return size ? size : 8192;
}

/* A setting in kB (work_mem, shared_buffers in 8kB pages...). */
double setting_kb(const Analysis &a, uint32_t server, const std::string &name) {
    const CaptureServer &s = a.set.servers()[server];
    for (const pb::Setting &setting : s.settings) {
        if (setting.name() != name)
            continue;
        double value = std::strtod(setting.value().c_str(), nullptr);
        const std::string &unit = setting.unit();
        if (unit == "8kB")
            return value * 8;
        if (unit == "kB")
            return value;
        if (unit == "MB")
            return value * 1024;
        if (unit == "B")
            return value / 1024;
        return value;
    }
    return 0;
}

/* The next step of a statement waiting off the CPU, by its main wait
 * (main_wait_of; "" without the wait split). */
std::string wait_bound_action(const std::string &cause) {
    if (cause.compare(0, 8, "Timeout:") == 0)
        return "It sleeps or waits for a timeout (" + cause +
               ": pg_sleep, a lock or statement timeout's delay, "
               "VACUUM's cost delay): check that the wait is meant, and "
               "move it out of the database where it holds a connection.";
    if (cause.compare(0, 7, "Client:") == 0)
        return "It waits for the client (" + cause +
               "): the application is slow to send the next data or read "
               "the results, or the network is; look at the application "
               "side of this statement.";
    if (cause.compare(0, 4, "IPC:") == 0)
        return "It waits for other server processes (" + cause +
               ": parallel workers, replication, a synchronous standby): "
               "see the event in the documentation's wait event table.";
    if (cause == "no wait event")
        return "It is off the CPU with no wait event reported: page faults "
               "(memory pressure, a large working set) or a wait "
               "PostgreSQL does not report (an extension's).";
    return "It waits for something other than the CPU or storage: locks "
           "held by other sessions, the client, or sleeps. Look at pg_locks "
           "and wait_event while it runs.";
}

class InsightFinder {
  public:
    explicit InsightFinder(Analysis &a) : a_(a), p_(a.profile) {}

    void run() {
        missing_indexes();
        estimate_errors();
        spills();
        storage_reads();
        n_plus_one();
        plan_changes();
        error_rates();
        find_wait_insights(a_);
        waits();
        rank_insights(a_.insights);
    }

  private:
    bool matters(double ns) const { return a_.share(ns) >= kMinInsightShare; }

    /* The statement as the insights describe it. */
    InsightStatement subject(uint32_t stmt) const {
        const StatementStats &st = p_.statements[stmt];
        return {static_cast<int>(stmt),
                a_.text_of(stmt),
                st.all.calls,
                st.all.total_ns,
                a_.share(st.toplevel_ns),
                a_.top_group_of(stmt, Dimension::Route)};
    }

    void common(Insight &in, uint32_t stmt) {
        describe_statement(in, subject(stmt));
    }

    /* Per-node actuals of a plan node, or null. */
    const NodeTotals *actuals_of(uint32_t plan, const PlanTreeNode &node) {
        if (node.actual_node_id < 0)
            return nullptr;
        return &p_.plans[plan].nodes[static_cast<size_t>(node.actual_node_id)];
    }

    void missing_indexes() {
        struct Found {
            Insight insight;
            std::set<uint32_t> statements;
        };
        std::map<std::string, Found> by_key; /* table + columns */
        for (uint32_t plan = 0; plan < p_.plans.size(); ++plan) {
            const PlanStats &ps = p_.plans[plan];
            if (!matters(ps.all.total_ns))
                continue;
            const PlanTree &tree = a_.tree(plan);
            for (const PlanTreeNode &node : tree.nodes) {
                if (node.node_type != "Seq Scan" || node.relation.empty() ||
                    node.filter.empty())
                    continue;
                check_scan(plan, node, by_key);
            }
        }
        for (auto &entry : by_key)
            a_.insights.push_back(std::move(entry.second.insight));
    }

    template <typename Map>
    void check_scan(uint32_t plan, const PlanTreeNode &node, Map &by_key) {
        const PlanStats &ps = p_.plans[plan];
        uint32_t stmt = ps.statement;
        const pb::Relation *rel = a_.relation(stmt, node.relation);
        const NodeTotals *act = actuals_of(plan, node);
        double table_rows =
            rel ? std::max<double>(rel->reltuples(),
                                   static_cast<double>(rel->n_live_tup()))
                : 0;
        double read_rows = 0, kept_rows = 0, removed_rows = 0;
        if (act != nullptr && act->executions > 0) {
            kept_rows = act->actual_rows / act->executions;
            removed_rows = act->rows_removed_by_filter / act->executions;
            read_rows = kept_rows + removed_rows;
            if (table_rows == 0)
                table_rows = read_rows;
        } else if (table_rows > 0) {
            read_rows = table_rows;
            kept_rows = std::min(node.plan_rows, table_rows);
            removed_rows = table_rows - kept_rows;
        }
        if (table_rows < kLargeTableRows || read_rows <= 0 ||
            kept_rows / read_rows > kSelectiveKeep)
            return;
        std::vector<FilterColumn> cols =
            filter_columns(node.filter, node.alias);
        std::vector<std::string> key_columns;
        for (const FilterColumn &c : cols) {
            if (c.use == FilterColumn::Use::Equality)
                key_columns.push_back(c.column);
        }
        for (const FilterColumn &c : cols)
            if (c.use == FilterColumn::Use::Range) {
                key_columns.push_back(c.column);
                break;
            }
        if (key_columns.empty())
            return;
        /* an index that leads with one of the columns serves the filter */
        std::vector<std::string> index_names;
        if (rel != nullptr) {
            const pb::CatalogSnapshot *snap =
                a_.set.servers()[p_.statements[stmt].server].catalog(
                    p_.statements[stmt].dbid);
            for (const pb::Index &index : snap->indexes()) {
                if (index.table_oid() != rel->oid())
                    continue;
                std::vector<std::string> ic = index_columns(index.definition());
                index_names.push_back(index.name() + " (" +
                                      (ic.empty() ? "?" : ic[0]) + ")");
                if (!ic.empty() &&
                    std::find(key_columns.begin(), key_columns.end(), ic[0]) !=
                        key_columns.end())
                    return;
            }
        }
        std::string key = node.relation;
        for (const std::string &c : key_columns)
            key += "," + c;
        auto &found = by_key[key];
        Insight &in = found.insight;
        if (found.statements.empty() ||
            ps.all.total_ns > p_.statements[in.statement].all.total_ns) {
            double previous = in.db_time_ns;
            std::vector<uint32_t> plans = in.plans;
            in = Insight();
            in.db_time_ns = previous;
            in.plans = plans;
            in.kind = "missing_index";
            in.table = node.relation;
            in.columns = key_columns;
            common(in, stmt);
            std::string cols_text;
            for (const std::string &c : key_columns)
                cols_text += (cols_text.empty() ? "" : ", ") + quote_ident(c);
            in.title = "Sequential scan of " + node.relation +
                       " filtering on " + cols_text + " keeps " +
                       human_percent(kept_rows / read_rows) + " of " +
                       human_count(read_rows) + " rows: no index";
            in.evidence.push_back(
                "Seq Scan on " + node.relation + " with Filter: " +
                node.filter + (act ? " removes " : " is estimated to remove ") +
                human_count(removed_rows) + " rows and keeps " +
                human_count(kept_rows) + " per execution" +
                (act ? " (per-node actuals of " +
                           human_count(static_cast<double>(act->executions)) +
                           " executions)"
                     : ""));
            if (rel != nullptr)
                in.evidence.push_back(
                    node.relation + ": " + human_count(table_rows) +
                    " rows, " + human_bytes(static_cast<double>(
                                    rel->table_bytes())) +
                    "; indexes: " +
                    (index_names.empty()
                         ? std::string("none")
                         : [&] {
                               std::string s;
                               for (const auto &n : index_names)
                                   s += (s.empty() ? "" : ", ") + n;
                               return s;
                           }()) +
                    " (catalog snapshot)");
            in.sql = "CREATE INDEX CONCURRENTLY ON " +
                     quote_qualified(node.relation) + " (" + cols_text + ");";
            in.action = "Create an index on " + node.relation + " (" +
                        cols_text + ") so the filter reads only the rows it " +
                        "keeps; CONCURRENTLY does not block writes.";
            in.fact("rows_removed_per_execution", removed_rows);
            in.fact("rows_kept_per_execution", kept_rows);
            in.fact("table_rows", table_rows);
            in.fact("table_bytes",
                    rel ? static_cast<double>(rel->table_bytes()) : 0);
            in.fact("filter", node.filter);
        }
        if (std::find(in.plans.begin(), in.plans.end(), plan) ==
            in.plans.end()) {
            in.plans.push_back(plan);
            in.db_time_ns += ps.all.total_ns;
        }
        found.statements.insert(stmt);
    }

    void estimate_errors() {
        for (uint32_t plan = 0; plan < p_.plans.size(); ++plan) {
            const PlanStats &ps = p_.plans[plan];
            if (ps.actuals_executions == 0 || !matters(ps.all.total_ns))
                continue;
            const PlanTree &tree = a_.tree(plan);
            const PlanTreeNode *worst = nullptr;
            const NodeTotals *worst_act = nullptr;
            uint32_t worst_at = 0;
            double worst_factor = 0;
            for (uint32_t i = 0; i < tree.nodes.size(); ++i) {
                const NodeTotals *act = actuals_of(plan, tree.nodes[i]);
                if (act == nullptr || act->loops <= 0)
                    continue;
                double per_loop = act->actual_rows / act->loops;
                if (std::max(per_loop, act->plan_rows) < kEstimateMinRows)
                    continue; /* a few rows either way do not matter */
                double f = act->estimate_factor();
                double off = f >= 1 ? f : (f > 0 ? 1 / f : 0);
                if (off >= kEstimateFactor && off > worst_factor) {
                    worst_factor = off;
                    worst = &tree.nodes[i];
                    worst_act = act;
                    worst_at = i;
                }
            }
            if (worst == nullptr)
                continue;
            Insight in;
            in.kind = "estimate_error";
            in.db_time_ns = ps.all.total_ns;
            in.plans.push_back(plan);
            in.table = relation_under(tree, worst_at);
            std::string filter =
                !worst->filter.empty() ? worst->filter : worst->join_filter;
            for (const FilterColumn &c : filter_columns(filter, worst->alias))
                in.columns.push_back(c.column);
            common(in, ps.statement);
            double per_loop = worst_act->actual_rows / worst_act->loops;
            in.title =
                worst->node_type + (in.table.empty() ? "" : " on " + in.table) +
                ": the planner expected " + human_count(worst_act->plan_rows) +
                " rows, got " + human_count(per_loop) + " (" +
                format("%.0f", worst_factor) + "x off)";
            in.evidence.push_back(
                worst->node_type + ": estimated " +
                human_count(worst_act->plan_rows) + " rows per loop, actual " +
                human_count(per_loop) + " over " +
                human_count(static_cast<double>(worst_act->executions)) +
                " executions with per-node actuals" +
                (filter.empty() ? "" : "; condition " + filter));
            if (in.table.empty()) {
                in.action = "Refresh the statistics of the tables this plan "
                            "reads (ANALYZE) and compare the estimates again.";
            } else if (in.columns.size() >= 2) {
                std::string cols;
                for (const std::string &c : in.columns)
                    cols += (cols.empty() ? "" : ", ") + quote_ident(c);
                in.sql = "CREATE STATISTICS ON " + cols + " FROM " +
                         quote_qualified(in.table) + "; ANALYZE " +
                         quote_qualified(in.table) + ";";
                in.action = "The condition combines correlated columns: give "
                            "the planner extended statistics on them, then "
                            "ANALYZE.";
            } else {
                in.sql = "ANALYZE " + quote_qualified(in.table) + ";";
                in.action = "Refresh the statistics of " + in.table +
                            " (ANALYZE; raise its columns' statistics target "
                            "if the estimate stays off).";
            }
            in.fact("estimate_factor", worst_factor);
            in.fact("plan_rows", worst_act->plan_rows);
            in.fact("actual_rows_per_loop", per_loop);
            a_.insights.push_back(std::move(in));
        }
    }

    void spills() {
        for (uint32_t stmt = 0; stmt < p_.statements.size(); ++stmt) {
            const StatementStats &st = p_.statements[stmt];
            if (st.all.temp_blks_written <= 0 || !matters(st.all.total_ns))
                continue;
            uint64_t bs = block_size(a_, st.server);
            double max_bytes =
                static_cast<double>(st.max_temp_blks_written) * bs;
            double mean_bytes = st.all.temp_blks_written * bs / st.all.calls;
            double work_mem_kb = setting_kb(a_, st.server, "work_mem");
            /* in memory a sort or hash takes more than its spill files: ask
             * for twice the largest spill, in whole MB, a power of two */
            double fit_kb = 1024;
            while (fit_kb < 2 * max_bytes / 1024)
                fit_kb *= 2;
            Insight in;
            in.kind = "spill";
            in.db_time_ns = st.all.total_ns;
            std::string node_type = "";
            for (uint32_t plan : st.plans) {
                const PlanTree &tree = a_.tree(plan);
                for (uint32_t i = 0; i < tree.nodes.size(); ++i) {
                    const NodeTotals *act = actuals_of(plan, tree.nodes[i]);
                    const std::string &type = tree.nodes[i].node_type;
                    bool spills = act ? act->temp_blks_written > 0
                                      : (type == "Sort" || type == "Hash" ||
                                         type == "Aggregate");
                    if (spills) { /* the deepest: parents count their children's
                                   */
                        node_type = type;
                        in.table = relation_under(tree, i);
                    }
                }
                in.plans.push_back(plan);
            }
            common(in, stmt);
            std::string fit = human_bytes(fit_kb * 1024);
            in.title = (node_type.empty() ? std::string("It") : node_type) +
                       " spills to disk: up to " + human_bytes(max_bytes) +
                       " of temporary files per "
                       "execution (work_mem " +
                       human_bytes(work_mem_kb * 1024) + ")";
            in.evidence.push_back(
                human_count(st.all.temp_blks_written) +
                " temporary blocks written in all, " + human_bytes(mean_bytes) +
                " per execution on average, " + human_bytes(max_bytes) +
                " at most; work_mem is " + human_bytes(work_mem_kb * 1024));
            in.sql = "SET work_mem = '" +
                     std::to_string(static_cast<uint64_t>(fit_kb / 1024)) +
                     "MB';";
            in.action = "Give this statement about " + fit +
                        " of work_mem (SET for its session or transaction, "
                        "or ALTER ROLE ... SET work_mem for its application) "
                        "rather than raising it for every connection; or "
                        "sort fewer rows (an index on the sort key).";
            in.fact("temp_bytes_max", max_bytes);
            in.fact("temp_bytes_mean", mean_bytes);
            in.fact("work_mem_now_kb", work_mem_kb);
            in.fact("work_mem_fit_kb", fit_kb);
            a_.insights.push_back(std::move(in));
        }
    }

    void storage_reads() {
        for (uint32_t stmt = 0; stmt < p_.statements.size(); ++stmt) {
            const StatementStats &st = p_.statements[stmt];
            const Aggregate &g = st.all;
            if (!matters(g.total_ns) || g.shared_blks_read <= 0)
                continue;
            /* time waiting for storage: the kernel's I/O wait, else
             * PostgreSQL's read time (track_io_timing) */
            double wait_ns = 0;
            std::string how;
            if (g.kernel_executions > 0) {
                double kernel_share =
                    static_cast<double>(g.kernel_executions) / g.executions;
                wait_ns = g.io_wait_ns / kernel_share;
                how = "I/O wait (kernel)";
            } else if (g.blk_read_time_ns > 0) {
                wait_ns = g.blk_read_time_ns;
                how = "block read time (track_io_timing)";
            }
            double hit_ratio =
                g.shared_blks_hit / (g.shared_blks_hit + g.shared_blks_read);
            if (wait_ns < kDominantShare * g.total_ns)
                continue;
            Insight in;
            in.kind = "storage_reads";
            in.db_time_ns = wait_ns;
            in.plans = st.plans;
            /* the relation that read the most, from per-node actuals */
            double most = -1;
            for (uint32_t plan : st.plans) {
                const PlanTree &tree = a_.tree(plan);
                for (uint32_t i = 0; i < tree.nodes.size(); ++i) {
                    const NodeTotals *act = actuals_of(plan, tree.nodes[i]);
                    double reads = act ? act->shared_blks_read : 0;
                    if (!tree.nodes[i].relation.empty() && reads > most) {
                        most = reads;
                        in.table = tree.nodes[i].relation;
                    }
                }
            }
            common(in, stmt);
            in.title = "Dominated by storage reads: " +
                       human_percent(wait_ns / g.total_ns) +
                       " of its time in " + how + ", cache hit ratio " +
                       human_percent(hit_ratio);
            in.evidence.push_back(human_count(g.shared_blks_read) +
                                  " blocks read from outside "
                                  "shared buffers, " +
                                  human_count(g.shared_blks_hit) + " hit; " +
                                  human_ms(wait_ns / 1e6) + " of " + how);
            double shared_buffers_kb =
                setting_kb(a_, st.server, "shared_buffers");
            const pb::Relation *rel =
                in.table.empty() ? nullptr : a_.relation(stmt, in.table);
            double dead = rel ? static_cast<double>(rel->n_dead_tup()) : 0;
            double live = rel ? static_cast<double>(rel->n_live_tup()) : 0;
            if (rel != nullptr)
                in.evidence.push_back(
                    in.table + ": " +
                    human_bytes(static_cast<double>(rel->table_bytes())) +
                    ", " + human_count(live) + " live and " +
                    human_count(dead) + " dead rows; shared_buffers " +
                    human_bytes(shared_buffers_kb * 1024));
            if (rel != nullptr && dead > 0.2 * (live + dead)) {
                in.sql = "VACUUM (VERBOSE, ANALYZE) " +
                         quote_qualified(in.table) + ";";
                in.action = in.table + " is bloated (" +
                            human_percent(dead / (live + dead)) +
                            " dead rows): vacuum it, and check why autovacuum "
                            "falls behind (long transactions, its cost limit); "
                            "pg_repack or VACUUM FULL gives the space back.";
            } else {
                in.action = "The data it reads does not stay in memory: "
                            "read less (an index, fewer columns), or give the "
                            "cache more memory (shared_buffers, the machine's "
                            "RAM for the page cache).";
            }
            in.fact("wait_ms", wait_ns / 1e6);
            in.fact("cache_hit_ratio", hit_ratio);
            in.fact("shared_buffers_kb", shared_buffers_kb);
            in.fact("dead_rows", dead);
            a_.insights.push_back(std::move(in));
        }
    }

    void n_plus_one() {
        for (const NPlusOne &n : p_.n_plus_one) {
            if (!matters(n.total_ns))
                continue;
            NPlusOneFacts facts;
            facts.route = n.route ? a_.set.string(n.route) : "";
            facts.request_tag = p_.request_tag;
            facts.example_request = n.example_request;
            facts.requests = n.requests;
            facts.executions = n.executions;
            facts.max_per_request = n.max_per_request;
            facts.example_executions = n.example_executions;
            facts.total_ns = n.total_ns;
            Insight in = n_plus_one_insight(subject(n.statement), facts);
            in.plans = p_.statements[n.statement].plans;
            a_.insights.push_back(std::move(in));
        }
    }

    PlanSide plan_side(uint32_t plan) const {
        const PlanStats &ps = p_.plans[plan];
        return {nullptr, a_.set.plans()[ps.definition - 1].plan.planid(),
                ps.all.calls, ps.all.mean_ns(), ps.first_unix_us};
    }

    void plan_changes() {
        for (uint32_t stmt = 0; stmt < p_.statements.size(); ++stmt) {
            const StatementStats &st = p_.statements[stmt];
            if (st.plans.size() < 2)
                continue;
            std::vector<PlanOutcome> outcomes;
            for (uint32_t plan : st.plans)
                outcomes.push_back({p_.plans[plan].first_unix_us,
                                    p_.plans[plan].all.calls,
                                    p_.plans[plan].all.mean_ns()});
            PlanComparison c = compare_plans(outcomes);
            PlanChange pc;
            pc.statement = stmt;
            for (uint32_t i : c.order)
                pc.plans.push_back(st.plans[i]);
            pc.slower = st.plans[c.slower];
            pc.faster = st.plans[c.faster];
            pc.extra_ns = c.extra_ns;
            pc.changed_unix_us = c.changed_unix_us;
            a_.plan_changes.push_back(pc);
            PlanSide slower = plan_side(pc.slower),
                     faster = plan_side(pc.faster);
            if (!is_plan_regression(slower, faster) || !matters(pc.extra_ns))
                continue;
            /* parsed only now: parsing every plan would cost */
            slower.tree = &a_.tree(pc.slower);
            faster.tree = &a_.tree(pc.faster);
            Insight in = plan_regression_insight(subject(stmt), slower, faster,
                                                 pc.extra_ns);
            in.plans = {pc.faster, pc.slower};
            /* an index the faster plan used that the catalog lacks now */
            const StatementStats &s = p_.statements[stmt];
            const pb::CatalogSnapshot *snap =
                a_.set.servers()[s.server].catalog(s.dbid);
            for (const PlanTreeNode &n : a_.tree(pc.faster).nodes) {
                if (n.index.empty() || snap == nullptr)
                    continue;
                bool present = false;
                for (const pb::Index &index : snap->indexes())
                    if (index.schema() + "." + index.name() == n.index)
                        present = true;
                if (present)
                    continue;
                in.evidence.push_back("index " + n.index +
                                      ", used by the faster plan, is not in "
                                      "the catalog snapshot: it was dropped");
                std::vector<std::string> cols;
                for (const FilterColumn &c :
                     filter_columns(n.index_cond, n.alias))
                    cols.push_back(quote_ident(c.column));
                if (!n.relation.empty() && !cols.empty()) {
                    std::string list;
                    for (const std::string &c : cols)
                        list += (list.empty() ? "" : ", ") + c;
                    in.sql = "CREATE INDEX CONCURRENTLY ON " +
                             quote_qualified(n.relation) + " (" + list + ");";
                    in.table = n.relation;
                    for (const FilterColumn &c :
                         filter_columns(n.index_cond, n.alias))
                        in.columns.push_back(c.column);
                }
                break;
            }
            if (!in.sql.empty())
                in.action = "Recreate the index the faster plan used.";
            a_.insights.push_back(std::move(in));
        }
    }

    void error_rates() {
        for (uint32_t stmt = 0; stmt < p_.statements.size(); ++stmt) {
            const StatementStats &st = p_.statements[stmt];
            if (!has_error_rate(st.all.errors, st.all.calls))
                continue;
            Insight in =
                error_rate_insight(subject(stmt), st.all.errors, st.errors);
            in.plans = st.plans;
            a_.insights.push_back(std::move(in));
        }
    }

    void waits() {
        for (uint32_t stmt = 0; stmt < p_.statements.size(); ++stmt) {
            const StatementStats &st = p_.statements[stmt];
            const Aggregate &g = st.all;
            if (g.kernel_executions == 0 || !matters(g.total_ns))
                continue;
            double kernel_ns = g.oncpu_ns + g.io_wait_ns + g.other_wait_ns;
            if (kernel_ns <= 0)
                continue;
            double io = g.io_wait_ns / kernel_ns;
            double other = g.other_wait_ns / kernel_ns;
            if (io < kDominantShare && other < kDominantShare)
                continue;
            bool is_io = io >= kDominantShare;
            if (is_io && g.shared_blks_read > 0)
                continue; /* told as storage_reads */
            if (!is_io && waits_told_by_wait_insight(a_, stmt))
                continue; /* told as lock_wait, lwlock_wait, cpu_saturation */
            const WaitTotals *split = g.waits.totals();
            std::string cause = split ? main_wait_of(*split) : "";
            Insight in;
            in.kind = is_io ? "io_bound" : "wait_bound";
            double scale = static_cast<double>(g.executions) /
                           static_cast<double>(g.kernel_executions);
            in.db_time_ns = (is_io ? g.io_wait_ns : g.other_wait_ns) * scale;
            in.plans = st.plans;
            common(in, stmt);
            in.title = std::string(is_io ? "I/O wait" : "Waiting off CPU") +
                       " is " + human_percent(is_io ? io : other) +
                       " of its time (kernel facts)" +
                       (cause.empty() ? "" : ", mostly " + cause);
            in.evidence.push_back(
                "on CPU " + human_ms(g.oncpu_ns / 1e6) + ", I/O wait " +
                human_ms(g.io_wait_ns / 1e6) + ", other waits " +
                human_ms(g.other_wait_ns / 1e6) + " over " +
                human_count(static_cast<double>(g.kernel_executions)) +
                " executions with kernel facts");
            in.action = is_io ? "It waits for files other than table reads "
                                "(WAL flushes, temporary files): check "
                                "commit frequency and temporary file use."
                              : wait_bound_action(cause);
            in.fact("oncpu_ms", g.oncpu_ns / 1e6);
            in.fact("io_wait_ms", g.io_wait_ns / 1e6);
            in.fact("other_wait_ms", g.other_wait_ns / 1e6);
            if (!cause.empty())
                in.fact("main_wait", cause);
            a_.insights.push_back(std::move(in));
        }
    }

    Analysis &a_;
    const Profile &p_;
};

} // namespace

void find_insights(Analysis &a) {
    InsightFinder(a).run();
}

} // namespace qprof
