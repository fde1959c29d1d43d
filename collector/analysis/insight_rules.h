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
#include "qprof.pb.h"

#include <cstdint>
#include <functional>
#include <map>
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

/* ------------------------------------------------------------------------
 * The insights that need a catalog snapshot and the server's settings:
 * missing_index, spill, storage_reads, and what a plan regression adds when
 * the index its faster plan used is no longer in the catalog. The report of
 * files takes the snapshot from its captures, `qprof report --clickhouse`
 * from the catalog_* tables (the same snapshot, rebuilt).
 */

/* What is known of a statement's database: its newest catalog snapshot
 * (null without one) and its server's settings (null without them). */
struct InsightCatalog {
    const capture::v1::CatalogSnapshot *snapshot = nullptr;
    const std::vector<capture::v1::Setting> *settings = nullptr;

    /* The relation "schema.name" of the snapshot, or null. */
    const capture::v1::Relation *relation(const std::string &name) const;
    /* A setting in kB (work_mem, shared_buffers in 8kB pages...); 0 when
     * absent. */
    double setting_kb(const std::string &name) const;
    /* block_size, 8192 when absent. */
    uint64_t block_size() const;
};

/* One of a statement's plans: its tree, the per-node actuals summed over
 * its EXPLAIN ANALYZEd executions (indexed by PlanTreeNode::actual_node_id,
 * match_actuals; null without them) and its database time. */
struct InsightPlan {
    uint32_t plan = 0; /* the caller's key */
    const PlanTree *tree = nullptr;
    const std::vector<NodeTotals> *actuals = nullptr;
    double total_ns = 0; /* every execution */

    /* The actuals of `node` of the tree, or null. */
    const NodeTotals *actuals_of(const PlanTreeNode &node) const;
};

/* An identifier and a schema.name as SQL writes them. */
std::string quote_ident(const std::string &name);
std::string quote_qualified(const std::string &relation);

/* estimate_error: the node of a plan with per-node actuals (the caller
 * checks that it has some and that its time matters) whose rows per loop
 * are furthest from the planner's estimate, at least 10 times off on a
 * node of 1,000 rows or more (actual or estimated); ANALYZE, or extended
 * statistics when its condition combines columns. False when no node is
 * that far off. */
constexpr double kEstimateFactor = 10;
constexpr double kEstimateMinRows = 1000;
bool estimate_error_insight(const InsightStatement &s, const InsightPlan &plan,
                            Insight &out);

/* missing_index: a sequential scan of a large table (at least 10,000 rows)
 * whose filter keeps at most 10% of what it reads, on columns no index of
 * the table leads with. One insight per table and columns, about the
 * statement with most time among those whose plans scan so, its time
 * that of every such plan. */
class MissingIndexes {
  public:
    /* The Seq Scans with a filter of `plan`, a plan of `s` (whose time
     * matters: the caller's kMinInsightShare). */
    void check_plan(const InsightStatement &s, const InsightPlan &plan,
                    const InsightCatalog &catalog);
    /* The insights found, by table and columns. */
    void add_to(std::vector<Insight> &out);

  private:
    void check_scan(const InsightStatement &s, const InsightPlan &plan,
                    const PlanTreeNode &node, const InsightCatalog &catalog);
    struct Found {
        Insight insight;
        bool described = false;
        double statement_total_ns = 0; /* of the statement described */
    };
    std::map<std::string, Found> by_key_; /* table + columns */
};

/* A statement's waits on storage is told when it is at least this share
 * of its time. */
constexpr double kStorageDominantShare = 0.5;

/* spill: a statement that wrote temporary files (the caller checks that
 * it did and that its time matters); `plans` its plans. */
struct SpillFacts {
    double temp_blks_written = 0;     /* every execution, weighted */
    double max_temp_blks_written = 0; /* of one execution */
};
Insight spill_insight(const InsightStatement &s, const SpillFacts &f,
                      const std::vector<InsightPlan> &plans,
                      const InsightCatalog &catalog);

/* storage_reads: a statement that read blocks from outside shared buffers
 * (the caller checks that it did and that its time matters) and waited
 * for them at least kStorageDominantShare of its time: the kernel's I/O
 * wait, else PostgreSQL's block read time. False when it did not. */
struct StorageFacts {
    uint64_t executions = 0, kernel_executions = 0; /* recorded */
    /* weighted; io_wait_ns over the executions with kernel facts */
    double io_wait_ns = 0, blk_read_time_ns = 0;
    double shared_blks_hit = 0, shared_blks_read = 0;
};
bool storage_reads_insight(const InsightStatement &s, const StorageFacts &f,
                           const std::vector<InsightPlan> &plans,
                           const InsightCatalog &catalog, Insight &out);

/* What a plan regression adds when an index the faster plan used is not
 * in the catalog snapshot: an evidence line, and the CREATE INDEX that
 * recreates it with its action. */
void add_dropped_index(Insight &in, const PlanTree &faster,
                       const InsightCatalog &catalog);

} // namespace qprof
