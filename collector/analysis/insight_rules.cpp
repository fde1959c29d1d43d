#include "insight_rules.h"
#include "one_line.h"
#include "sqlstate.h"

#include <algorithm>
#include <cstdio>

namespace qprof {

namespace {

/* A plan slower than another by this ratio. */
constexpr double kSlowerPlanRatio = 1.5;

std::string format(const char *fmt, double value) {
    char buf[64];
    snprintf(buf, sizeof buf, fmt, value);
    return buf;
}

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
        n.request_tag + ") ran it " + format("%.1f", mean) +
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
    in.title = "Plan change made it " +
               format("%.1f", slower.mean_ns / std::max(faster.mean_ns, 1.0)) +
               "x slower: " + summaries.first + " instead of " +
               summaries.second;
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

} // namespace qprof
