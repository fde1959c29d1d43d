#include "insight_rules.h"
#include "one_line.h"
#include "sqlstate.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace qprof {

namespace {

/* A plan slower than another by this ratio. */
constexpr double kSlowerPlanRatio = 1.5;

/* The scans of a plan ("Seq Scan on public.t"); every node when
 * `all` (to tell apart two plans that scan alike). */
std::string plan_summary(const PlanTree &tree, bool all = false) {
    std::string out;
    for (const PlanTreeNode &n : tree.nodes) {
        if (!all && n.relation.empty() && n.index.empty())
            continue;
        if (!out.empty())
            out += ", ";
        out += n.node_type;
        if (!n.index.empty())
            out += " using " + n.index;
        if (!n.relation.empty())
            out += " on " + n.relation;
    }
    if (out.empty() && !tree.nodes.empty())
        out = tree.nodes[0].node_type;
    if (out.size() > 160)
        out = out.substr(0, 157) + "...";
    return out;
}

/* Summaries of two plans that differ, when their scans do not. */
std::pair<std::string, std::string> plan_summaries(const PlanSide &a,
                                                   const PlanSide &b) {
    PlanTree none;
    const PlanTree &ta = a.tree ? *a.tree : none;
    const PlanTree &tb = b.tree ? *b.tree : none;
    std::string sa = plan_summary(ta), sb = plan_summary(tb);
    if (sa == sb) {
        sa = plan_summary(ta, true);
        sb = plan_summary(tb, true);
    }
    if (sa == sb) {
        sa += " (planid " + std::to_string(a.planid) + ")";
        sb += " (planid " + std::to_string(b.planid) + ")";
    }
    return {sa, sb};
}

} // namespace

std::string relation_under(const PlanTree &tree, uint32_t at) {
    if (at >= tree.nodes.size()) /* a plan whose text did not parse */
        return "";
    if (!tree.nodes[at].relation.empty())
        return tree.nodes[at].relation;
    for (uint32_t child : tree.nodes[at].children) {
        std::string r = relation_under(tree, child);
        if (!r.empty())
            return r;
    }
    return "";
}

void describe_statement(Insight &in, const InsightStatement &s) {
    in.statement = s.index;
    in.route = s.route;
    std::string where = s.route.empty() ? "" : ", mostly from route " + s.route;
    double mean_ns = s.calls > 0 ? s.total_ns / s.calls : 0;
    in.evidence.push_back("statement " + one_line(s.text, 60) + ": " +
                          human_count(s.calls) + " calls, " +
                          human_ms(s.total_ns / 1e6) + " in all (" +
                          human_percent(s.share) + " of the database time), " +
                          human_ms(mean_ns / 1e6) + " each" + where);
}

bool has_error_rate(double errors, double calls) {
    return errors >= kErrorRateMinErrors &&
           errors >= kErrorRateMinShare * calls;
}

Insight error_rate_insight(
    const InsightStatement &s, double errors,
    const std::vector<std::pair<std::string, double>> &by_sqlstate) {
    Insight in;
    in.kind = "error_rate";
    in.db_time_ns = s.total_ns * errors / s.calls;
    describe_statement(in, s);
    std::string main_state;
    double main_count = 0;
    for (const auto &e : by_sqlstate)
        if (e.second > main_count) {
            main_count = e.second;
            main_state = e.first;
        }
    bool timeout = sqlstate_is_timeout(main_state);
    in.title = human_percent(errors / s.calls) + " of its executions fail" +
               (timeout ? " on a timeout or cancel (" : " (") + main_state +
               " " + sqlstate_name(main_state) + ")";
    for (const auto &e : by_sqlstate)
        in.evidence.push_back(human_count(e.second) + " x " + e.first + " " +
                              sqlstate_name(e.first));
    in.action = timeout ? "Executions run into statement_timeout (or are "
                          "cancelled): make the statement faster (see its "
                          "plan) or give it a timeout that fits."
                        : "Look at why it fails in the server log and fix the "
                          "application or the data; failed executions still "
                          "cost their time.";
    in.fact("error_rate", errors / s.calls);
    in.fact("sqlstate", main_state);
    return in;
}

Insight n_plus_one_insight(const InsightStatement &s, const NPlusOneFacts &n) {
    Insight in;
    in.kind = "n_plus_one";
    in.db_time_ns = n.total_ns;
    describe_statement(in, s);
    in.route = n.route;
    double mean =
        static_cast<double>(n.executions) / static_cast<double>(n.requests);
    in.title =
        "N+1: one request " +
        (in.route.empty() ? std::string("") : "of route " + in.route + " ") +
        "runs the same statement up to " +
        human_count(static_cast<double>(n.max_per_request)) + " times";
    in.evidence.push_back(
        human_count(static_cast<double>(n.requests)) + " requests (" +
        n.request_tag + ") ran it " + format_number("%.1f", mean) +
        " times each on average, " + human_ms(n.total_ns / 1e6) +
        " in all; request " + n.example_request + " ran it " +
        human_count(static_cast<double>(n.example_executions)) + " times");
    in.action = "Fetch the rows in one statement instead of one per "
                "item: WHERE key = ANY($1), a join, or the ORM's "
                "prefetch (Django: select_related / "
                "prefetch_related).";
    in.fact("requests", static_cast<double>(n.requests));
    in.fact("max_per_request", static_cast<double>(n.max_per_request));
    in.fact("example_request", n.example_request);
    return in;
}

bool is_plan_regression(const PlanSide &slower, const PlanSide &faster) {
    return slower.mean_ns >= kSlowerPlanRatio * faster.mean_ns &&
           slower.first_unix_us > faster.first_unix_us;
}

Insight plan_regression_insight(const InsightStatement &s,
                                const PlanSide &slower, const PlanSide &faster,
                                double extra_ns) {
    Insight in;
    in.kind = "plan_regression";
    in.db_time_ns = extra_ns;
    describe_statement(in, s);
    in.table = slower.tree ? relation_under(*slower.tree, 0) : "";
    std::pair<std::string, std::string> summaries =
        plan_summaries(slower, faster);
    in.title =
        "Plan change made it " +
        format_number("%.1f", slower.mean_ns / std::max(faster.mean_ns, 1.0)) +
        "x slower: " + summaries.first + " instead of " + summaries.second;
    in.evidence.push_back("before: " + summaries.second + ", " +
                          human_count(faster.calls) + " calls, mean " +
                          human_ms(faster.mean_ns / 1e6));
    in.evidence.push_back("after: " + summaries.first + ", " +
                          human_count(slower.calls) + " calls, mean " +
                          human_ms(slower.mean_ns / 1e6) + ", costing " +
                          human_ms(extra_ns / 1e6) + " more");
    in.action = "Compare the two plans: refresh statistics "
                "(ANALYZE) of the tables they read, and look "
                "for a changed index, setting or data size.";
    in.fact("faster_mean_ms", faster.mean_ns / 1e6);
    in.fact("slower_mean_ms", slower.mean_ns / 1e6);
    in.fact("changed_unix_us", static_cast<double>(slower.first_unix_us));
    return in;
}

void rank_insights(std::vector<Insight> &insights) {
    std::stable_sort(insights.begin(), insights.end(),
                     [](const Insight &x, const Insight &y) {
                         return x.db_time_ns > y.db_time_ns;
                     });
}

void insights_json(JsonWriter &w, const std::vector<Insight> &insights,
                   size_t top, double total_ns, const InsightKeys &keys) {
    w.key("insights").begin_array();
    for (size_t i = 0; i < insights.size() && i < top; ++i) {
        const Insight &in = insights[i];
        double share = total_ns > 0 ? in.db_time_ns / total_ns : 0;
        w.begin_object();
        w.field("kind", in.kind);
        w.field("severity", share >= 0.2    ? "high"
                            : share >= 0.05 ? "medium"
                                            : "low");
        w.field("title", in.title);
        w.field("db_time_ms", in.db_time_ns / 1e6);
        w.field("share", share);
        w.key("statement");
        std::string statement =
            in.statement >= 0
                ? keys.statement(static_cast<uint32_t>(in.statement))
                : "";
        statement.empty() ? w.null() : w.value(statement);
        w.key("route").string_or_null(in.route);
        w.key("table").string_or_null(in.table);
        w.key("columns").begin_array();
        for (const std::string &c : in.columns)
            w.value(c);
        w.end_array();
        w.key("plans").begin_array();
        for (uint32_t plan : in.plans) {
            std::string key = keys.plan(plan);
            if (!key.empty())
                w.value(key);
        }
        w.end_array();
        w.key("related_statements").begin_array();
        for (uint32_t stmt : in.statements) {
            std::string key = keys.statement(stmt);
            if (!key.empty())
                w.value(key);
        }
        w.end_array();
        w.key("evidence").begin_array();
        for (const std::string &e : in.evidence)
            w.value(e);
        w.end_array();
        w.key("facts").begin_object();
        for (const InsightFact &f : in.facts) {
            w.key(f.name.c_str());
            f.is_text ? w.value(f.text) : w.value(f.number);
        }
        w.end_object();
        w.field("action", in.action);
        w.key("sql").string_or_null(in.sql);
        w.end_object();
    }
    w.end_array();
}

/* ------------------------------------------------------------------------
 * The insights that need the catalog snapshot and the settings.
 */

namespace pb = capture::v1;

namespace {

/* A table this large is worth an index. */
constexpr double kLargeTableRows = 10000;
/* A scan that keeps at most this share of the rows it reads is selective. */
constexpr double kSelectiveKeep = 0.1;

} // namespace

const pb::Relation *InsightCatalog::relation(const std::string &name) const {
    if (snapshot == nullptr)
        return nullptr;
    for (const pb::Relation &r : snapshot->relations())
        if (r.schema() + "." + r.name() == name)
            return &r;
    return nullptr;
}

double InsightCatalog::setting_kb(const std::string &name) const {
    if (settings == nullptr)
        return 0;
    for (const pb::Setting &setting : *settings) {
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

uint64_t InsightCatalog::block_size() const {
    if (settings != nullptr)
        for (const pb::Setting &setting : *settings)
            if (setting.name() == "block_size") {
                uint64_t size =
                    std::strtoull(setting.value().c_str(), nullptr, 10);
                return size ? size : 8192;
            }
    return 8192;
}

const NodeTotals *InsightPlan::actuals_of(const PlanTreeNode &node) const {
    if (actuals == nullptr || node.actual_node_id < 0 ||
        static_cast<size_t>(node.actual_node_id) >= actuals->size())
        return nullptr;
    return &(*actuals)[static_cast<size_t>(node.actual_node_id)];
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

bool estimate_error_insight(const InsightStatement &s, const InsightPlan &plan,
                            Insight &out) {
    const PlanTree &tree = *plan.tree;
    const PlanTreeNode *worst = nullptr;
    const NodeTotals *worst_act = nullptr;
    uint32_t worst_at = 0;
    double worst_factor = 0;
    for (uint32_t i = 0; i < tree.nodes.size(); ++i) {
        const NodeTotals *act = plan.actuals_of(tree.nodes[i]);
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
        return false;
    Insight in;
    in.kind = "estimate_error";
    in.db_time_ns = plan.total_ns;
    in.plans.push_back(plan.plan);
    in.table = relation_under(tree, worst_at);
    std::string filter =
        !worst->filter.empty() ? worst->filter : worst->join_filter;
    for (const FilterColumn &c : filter_columns(filter, worst->alias))
        in.columns.push_back(c.column);
    describe_statement(in, s);
    double per_loop = worst_act->actual_rows / worst_act->loops;
    in.title = worst->node_type + (in.table.empty() ? "" : " on " + in.table) +
               ": the planner expected " + human_count(worst_act->plan_rows) +
               " rows, got " + human_count(per_loop) + " (" +
               format_number("%.0f", worst_factor) + "x off)";
    in.evidence.push_back(
        worst->node_type + ": estimated " + human_count(worst_act->plan_rows) +
        " rows per loop, actual " + human_count(per_loop) + " over " +
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
    out = std::move(in);
    return true;
}

void MissingIndexes::check_plan(const InsightStatement &s,
                                const InsightPlan &plan,
                                const InsightCatalog &catalog) {
    for (const PlanTreeNode &node : plan.tree->nodes) {
        if (node.node_type != "Seq Scan" || node.relation.empty() ||
            node.filter.empty())
            continue;
        check_scan(s, plan, node, catalog);
    }
}

void MissingIndexes::add_to(std::vector<Insight> &out) {
    for (auto &entry : by_key_)
        out.push_back(std::move(entry.second.insight));
    by_key_.clear();
}

void MissingIndexes::check_scan(const InsightStatement &s,
                                const InsightPlan &plan,
                                const PlanTreeNode &node,
                                const InsightCatalog &catalog) {
    const pb::Relation *rel = catalog.relation(node.relation);
    const NodeTotals *act = plan.actuals_of(node);
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
    std::vector<FilterColumn> cols = filter_columns(node.filter, node.alias);
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
        for (const pb::Index &index : catalog.snapshot->indexes()) {
            if (index.table_oid() != rel->oid())
                continue;
            std::vector<std::string> ic = index_columns(index.definition());
            index_names.push_back(index.name() + " (" +
                                  (ic.empty() ? "?" : ic[0]) + ")");
            if (!ic.empty() && std::find(key_columns.begin(), key_columns.end(),
                                         ic[0]) != key_columns.end())
                return;
        }
    }
    std::string key = node.relation;
    for (const std::string &c : key_columns)
        key += "," + c;
    Found &found = by_key_[key];
    Insight &in = found.insight;
    if (!found.described || plan.total_ns > found.statement_total_ns) {
        double previous = in.db_time_ns;
        std::vector<uint32_t> plans = in.plans;
        in = Insight();
        in.db_time_ns = previous;
        in.plans = plans;
        in.kind = "missing_index";
        in.table = node.relation;
        in.columns = key_columns;
        describe_statement(in, s);
        found.described = true;
        found.statement_total_ns = s.total_ns;
        std::string cols_text;
        for (const std::string &c : key_columns)
            cols_text += (cols_text.empty() ? "" : ", ") + quote_ident(c);
        in.title = "Sequential scan of " + node.relation + " filtering on " +
                   cols_text + " keeps " +
                   human_percent(kept_rows / read_rows) + " of " +
                   human_count(read_rows) + " rows: no index";
        in.evidence.push_back(
            "Seq Scan on " + node.relation + " with Filter: " + node.filter +
            (act ? " removes " : " is estimated to remove ") +
            human_count(removed_rows) + " rows and keeps " +
            human_count(kept_rows) + " per execution" +
            (act ? " (per-node actuals of " +
                       human_count(static_cast<double>(act->executions)) +
                       " executions)"
                 : ""));
        if (rel != nullptr) {
            std::string names;
            for (const std::string &n : index_names)
                names += (names.empty() ? "" : ", ") + n;
            in.evidence.push_back(
                node.relation + ": " + human_count(table_rows) + " rows, " +
                human_bytes(static_cast<double>(rel->table_bytes())) +
                "; indexes: " + (names.empty() ? std::string("none") : names) +
                " (catalog snapshot)");
        }
        in.sql = "CREATE INDEX CONCURRENTLY ON " +
                 quote_qualified(node.relation) + " (" + cols_text + ");";
        in.action = "Create an index on " + node.relation + " (" + cols_text +
                    ") so the filter reads only the rows it " +
                    "keeps; CONCURRENTLY does not block writes.";
        in.fact("rows_removed_per_execution", removed_rows);
        in.fact("rows_kept_per_execution", kept_rows);
        in.fact("table_rows", table_rows);
        in.fact("table_bytes",
                rel ? static_cast<double>(rel->table_bytes()) : 0);
        in.fact("filter", node.filter);
    }
    if (std::find(in.plans.begin(), in.plans.end(), plan.plan) ==
        in.plans.end()) {
        in.plans.push_back(plan.plan);
        in.db_time_ns += plan.total_ns;
    }
}

Insight spill_insight(const InsightStatement &s, const SpillFacts &f,
                      const std::vector<InsightPlan> &plans,
                      const InsightCatalog &catalog) {
    uint64_t bs = catalog.block_size();
    double max_bytes = f.max_temp_blks_written * static_cast<double>(bs);
    double mean_bytes = f.temp_blks_written * static_cast<double>(bs) / s.calls;
    double work_mem_kb = catalog.setting_kb("work_mem");
    /* in memory a sort or hash takes more than its spill files: ask for
     * twice the largest spill, in whole MB, a power of two */
    double fit_kb = 1024;
    while (fit_kb < 2 * max_bytes / 1024)
        fit_kb *= 2;
    Insight in;
    in.kind = "spill";
    in.db_time_ns = s.total_ns;
    std::string node_type = "";
    for (const InsightPlan &plan : plans) {
        const PlanTree &tree = *plan.tree;
        for (uint32_t i = 0; i < tree.nodes.size(); ++i) {
            const NodeTotals *act = plan.actuals_of(tree.nodes[i]);
            const std::string &type = tree.nodes[i].node_type;
            bool spills =
                act ? act->temp_blks_written > 0
                    : (type == "Sort" || type == "Hash" || type == "Aggregate");
            if (spills) { /* the deepest: parents count their children's */
                node_type = type;
                in.table = relation_under(tree, i);
            }
        }
        in.plans.push_back(plan.plan);
    }
    describe_statement(in, s);
    std::string fit = human_bytes(fit_kb * 1024);
    in.title = (node_type.empty() ? std::string("It") : node_type) +
               " spills to disk: up to " + human_bytes(max_bytes) +
               " of temporary files per "
               "execution (work_mem " +
               human_bytes(work_mem_kb * 1024) + ")";
    in.evidence.push_back(
        human_count(f.temp_blks_written) +
        " temporary blocks written in all, " + human_bytes(mean_bytes) +
        " per execution on average, " + human_bytes(max_bytes) +
        " at most; work_mem is " + human_bytes(work_mem_kb * 1024));
    in.sql = "SET work_mem = '" +
             std::to_string(static_cast<uint64_t>(fit_kb / 1024)) + "MB';";
    in.action = "Give this statement about " + fit +
                " of work_mem (SET for its session or transaction, "
                "or ALTER ROLE ... SET work_mem for its application) "
                "rather than raising it for every connection; or "
                "sort fewer rows (an index on the sort key).";
    in.fact("temp_bytes_max", max_bytes);
    in.fact("temp_bytes_mean", mean_bytes);
    in.fact("work_mem_now_kb", work_mem_kb);
    in.fact("work_mem_fit_kb", fit_kb);
    return in;
}

bool storage_reads_insight(const InsightStatement &s, const StorageFacts &f,
                           const std::vector<InsightPlan> &plans,
                           const InsightCatalog &catalog, Insight &out) {
    /* time waiting for storage: the kernel's I/O wait, else PostgreSQL's
     * read time (track_io_timing) */
    double wait_ns = 0;
    std::string how;
    if (f.kernel_executions > 0) {
        double kernel_share = static_cast<double>(f.kernel_executions) /
                              static_cast<double>(f.executions);
        wait_ns = f.io_wait_ns / kernel_share;
        how = "I/O wait (kernel)";
    } else if (f.blk_read_time_ns > 0) {
        wait_ns = f.blk_read_time_ns;
        how = "block read time (track_io_timing)";
    }
    double hit_ratio =
        f.shared_blks_hit / (f.shared_blks_hit + f.shared_blks_read);
    if (wait_ns < kStorageDominantShare * s.total_ns)
        return false;
    Insight in;
    in.kind = "storage_reads";
    in.db_time_ns = wait_ns;
    /* the relation that read the most, from per-node actuals */
    double most = -1;
    for (const InsightPlan &plan : plans) {
        in.plans.push_back(plan.plan);
        const PlanTree &tree = *plan.tree;
        for (uint32_t i = 0; i < tree.nodes.size(); ++i) {
            const NodeTotals *act = plan.actuals_of(tree.nodes[i]);
            double reads = act ? act->shared_blks_read : 0;
            if (!tree.nodes[i].relation.empty() && reads > most) {
                most = reads;
                in.table = tree.nodes[i].relation;
            }
        }
    }
    describe_statement(in, s);
    in.title =
        "Dominated by storage reads: " + human_percent(wait_ns / s.total_ns) +
        " of its time in " + how + ", cache hit ratio " +
        human_percent(hit_ratio);
    in.evidence.push_back(human_count(f.shared_blks_read) +
                          " blocks read from outside "
                          "shared buffers, " +
                          human_count(f.shared_blks_hit) + " hit; " +
                          human_ms(wait_ns / 1e6) + " of " + how);
    double shared_buffers_kb = catalog.setting_kb("shared_buffers");
    const pb::Relation *rel =
        in.table.empty() ? nullptr : catalog.relation(in.table);
    double dead = rel ? static_cast<double>(rel->n_dead_tup()) : 0;
    double live = rel ? static_cast<double>(rel->n_live_tup()) : 0;
    if (rel != nullptr)
        in.evidence.push_back(
            in.table + ": " +
            human_bytes(static_cast<double>(rel->table_bytes())) + ", " +
            human_count(live) + " live and " + human_count(dead) +
            " dead rows; shared_buffers " +
            human_bytes(shared_buffers_kb * 1024));
    if (rel != nullptr && dead > 0.2 * (live + dead)) {
        in.sql = "VACUUM (VERBOSE, ANALYZE) " + quote_qualified(in.table) + ";";
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
    out = std::move(in);
    return true;
}

void add_dropped_index(Insight &in, const PlanTree &faster,
                       const InsightCatalog &catalog) {
    const pb::CatalogSnapshot *snap = catalog.snapshot;
    for (const PlanTreeNode &n : faster.nodes) {
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
        for (const FilterColumn &c : filter_columns(n.index_cond, n.alias))
            cols.push_back(quote_ident(c.column));
        if (!n.index_table.empty() && !cols.empty()) {
            std::string list;
            for (const std::string &c : cols)
                list += (list.empty() ? "" : ", ") + c;
            in.sql = "CREATE INDEX CONCURRENTLY ON " +
                     quote_qualified(n.index_table) + " (" + list + ");";
            in.table = n.index_table;
            for (const FilterColumn &c : filter_columns(n.index_cond, n.alias))
                in.columns.push_back(c.column);
        }
        break;
    }
    if (!in.sql.empty())
        in.action = "Recreate the index the faster plan used.";
}

} // namespace qprof
