/*
 * insight_rules.h — the insights whose inputs are sums any source of the
 * report has (a statement's calls, time and errors, its N+1 requests, its
 * plans' means): the rule that decides each, and its title, evidence,
 * action and facts. The report of files (insights.cpp) takes the inputs
 * from its Profile, `qprof report --clickhouse` from ClickHouse's answers,
 * so that both say the same thing of the same captures. The insights'
 * JSON is written by insights_json for both.
 */
#pragma once

#include "analysis.h"
#include "json_writer.h"
#include "plan_tree.h"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace qprof {

/* The statement an insight is about, as its first line of evidence says. */
struct InsightStatement {
    int index = -1; /* the caller's */
    std::string text;
    double calls = 0, total_ns = 0; /* every execution */
    double share = 0;  /* of the database time, by its top-level executions */
    std::string route; /* of most of its time, "" when untagged */
};

/* Sets the insight's statement and route, and its first evidence. */
void describe_statement(Insight &in, const InsightStatement &s);

/* error_rate: a statement failing at least 5 times and 5% of its calls,
 * its errors (SQLSTATE -> weighted executions) in the order they first
 * failed. */
constexpr double kErrorRateMinErrors = 5;
constexpr double kErrorRateMinShare = 0.05;
bool has_error_rate(double errors, double calls);
Insight error_rate_insight(
    const InsightStatement &s, double errors,
    const std::vector<std::pair<std::string, double>> &by_sqlstate);

/* n_plus_one: a statement run many times in single requests of a route. */
struct NPlusOneFacts {
    std::string route, request_tag, example_request;
    uint64_t requests = 0, executions = 0, max_per_request = 0,
             example_executions = 0;
    double total_ns = 0;
};
Insight n_plus_one_insight(const InsightStatement &s, const NPlusOneFacts &n);

/* One of the two plans a plan change compares. */
struct PlanSide {
    const PlanTree *tree = nullptr;
    int64_t planid = 0;
    double calls = 0, mean_ns = 0;
    int64_t first_unix_us = 0;
};
/* plan_regression: the later plan at least 1.5 times slower (whether the
 * time it cost matters is the caller's kMinInsightShare). The insight
 * without what the catalog would add (the index the faster plan used,
 * dropped since). */
bool is_plan_regression(const PlanSide &slower, const PlanSide &faster);
Insight plan_regression_insight(const InsightStatement &s,
                                const PlanSide &slower, const PlanSide &faster,
                                double extra_ns);

/* The insights of the report's JSON (docs/report-json.md), the first
 * `top`; statements and plans are written as the functions give their
 * keys, left out when that is empty. */
struct InsightKeys {
    std::function<std::string(uint32_t)> statement, plan;
};
void insights_json(JsonWriter &w, const std::vector<Insight> &insights,
                   size_t top, double total_ns, const InsightKeys &keys);

/* The first relation scanned under node `at` of `tree` (itself
 * included), or "". */
std::string relation_under(const PlanTree &tree, uint32_t at);

/* Ranks insights by the database time each explains (stable). */
void rank_insights(std::vector<Insight> &insights);

} // namespace qprof
