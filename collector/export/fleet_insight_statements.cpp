/* The statements the insights look at beyond those listed (the report of
 * files looks at every statement): those whose time could make an
 * insight, pre-filtered by the rules' own thresholds in SQL, are listed
 * with their plans, per-node sums and catalog; once those are in, the
 * caller's rules tell which of them an insight is about, and the others
 * are dropped before the sections that name statements (groups, node
 * hotspots, time series). */
#include "fleet_queries.h"

#include <algorithm>
#include <cstdio>

namespace qprof::fleet {

/* The statements not listed whose database time (every execution) is at
 * least min_insight_share of the period's, and that a rule on statements
 * could speak of: a spill (temporary blocks written), storage reads
 * (shared blocks read), a plan regression (two plans or more), a missing
 * index or an estimate error (a plan with a Seq Scan and a Filter, or with
 * per-node actuals); at most `candidates` of them by time. And the
 * statements an error rate or an N+1 could be about, by the rules' own
 * thresholds. */
void FleetQueries::insight_candidates() {
    candidates_from_ = r_.statements.size();
    if (insights_ == nullptr || r_.total_ns <= 0 || insights_->candidates == 0)
        return;
    /* the plans a missing index or an estimate error could be found in:
     * a Seq Scan and a Filter in the plan (of one node or not: the rule
     * reads the tree), or EXPLAIN ANALYZEd executions (a plan is its
     * server, queryid and planid, its actuals from any database's, as the
     * report of files sums them); GLOBAL: asked once, sent to the shards */
    std::string plan = "(server_id, queryid, planid)";
    std::string scans_or_actuals =
        plan + " GLOBAL IN (SELECT server_id, queryid, planid FROM " +
        table("plans") +
        " FINAL WHERE position(plan_json, '\"Seq Scan\"') > 0 AND "
        "position(plan_json, '\"Filter\"') > 0) OR " +
        plan + " GLOBAL IN (SELECT DISTINCT server_id, queryid, planid FROM " +
        table("samples") + " FINAL" +
        where_and("has_node_actuals = 1 AND planid != 0") + ")";
    char having[200];
    snprintf(having, sizeof having, " HAVING total_ns >= %.17g AND (",
             f_.min_insight_share * r_.total_ns);
    std::string rules = having +
                        std::string("sum(temp_blks_written) > 0 OR "
                                    "sum(shared_blks_read) > 0 OR "
                                    "uniqExactIf(planid, planid != 0) >= 2 OR "
                                    "countIf(") +
                        scans_or_actuals + ") > 0)";
    Rows rows = c_.select(
        "SELECT server_id, dbid, queryid, if(queryid = 0, toString(cmd), '') "
        "AS untexted_cmd, sum(weight * " +
        std::string(kDbTime) + ") AS total_ns FROM " + table("samples") +
        " FINAL" + where_ + " GROUP BY server_id, dbid, queryid, untexted_cmd" +
        rules + " ORDER BY total_ns DESC, server_id, queryid LIMIT " +
        std::to_string(candidates_from_ + insights_->candidates));
    check_columns(rows, 5, "insight candidates");
    Rows unlisted;
    for (auto &row : rows)
        if (unlisted.size() < insights_->candidates &&
            statement_index(unum(row[0]), unum(row[1]), snum(row[2]), row[3]) <
                0)
            unlisted.push_back(std::move(row));
    /* the error rates: every statement the rule holds for (it needs no
     * share of the time), at most --top or `candidates` of them by the
     * time their failures cost (the insight's), where failing_statements
     * listed the first --top by errors */
    snprintf(having, sizeof having,
             " HAVING errors >= %.17g AND errors >= %.17g * calls",
             f_.error_rate_min_errors, f_.error_rate_min_share);
    rows = c_.select(
        "SELECT server_id, dbid, queryid, if(queryid = 0, toString(cmd), '') "
        "AS untexted_cmd, sum(weight) AS calls, sumIf(weight, sqlstate != "
        "'') AS errors, sum(weight * " +
        std::string(kDbTime) + ") * errors / calls AS failed_ns FROM " +
        table("samples") + " FINAL" + where_ +
        " GROUP BY server_id, dbid, queryid, untexted_cmd" + having +
        " ORDER BY failed_ns DESC, server_id, queryid LIMIT " +
        std::to_string(std::max(f_.top, insights_->candidates)));
    check_columns(rows, 7, "failing insight candidates");
    for (auto &row : rows)
        unlisted.push_back(std::move(row));
    /* N+1: every (route, statement) row whose time is at least
     * min_insight_share of the period's, the share the insight needs */
    Rows n_plus_one;
    if (r_.requests > 0) {
        snprintf(having, sizeof having, " HAVING total_ns >= %.17g",
                 f_.min_insight_share * r_.total_ns);
        n_plus_one = c_.select(n_plus_one_sql(having, insights_->candidates));
        check_columns(n_plus_one, 10, "N+1 insight candidates");
        for (auto &key : statement_keys(n_plus_one))
            unlisted.push_back(std::move(key));
    }
    add_unlisted(unlisted);
    if (r_.requests > 0)
        r_.n_plus_one_insights = n_plus_one_rows(n_plus_one);
}

/* Keeps of the candidates those an insight is about. */
void FleetQueries::drop_insight_candidates() {
    if (insights_ == nullptr || candidates_from_ >= r_.statements.size())
        return;
    std::vector<bool> about = insights_->about(r_);
    std::vector<int> moved_to(r_.statements.size(), -1);
    for (size_t i = 0; i < candidates_from_; ++i)
        moved_to[i] = static_cast<int>(i);
    size_t kept = candidates_from_;
    for (size_t i = candidates_from_; i < r_.statements.size(); ++i)
        if (i < about.size() && about[i]) {
            if (kept != i)
                r_.statements[kept] = std::move(r_.statements[i]);
            moved_to[i] = static_cast<int>(kept);
            ++kept;
        }
    r_.statements.resize(kept);
    /* the N+1 rows follow their statements; a row of one dropped made no
     * insight */
    std::vector<FleetNPlusOne> rows;
    for (FleetNPlusOne &n : r_.n_plus_one_insights)
        if (n.statement < moved_to.size() && moved_to[n.statement] >= 0) {
            n.statement = static_cast<uint32_t>(moved_to[n.statement]);
            rows.push_back(std::move(n));
        }
    r_.n_plus_one_insights = std::move(rows);
}

} // namespace qprof::fleet
