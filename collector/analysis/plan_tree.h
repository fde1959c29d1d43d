/*
 * plan_tree.h — a stored plan (EXPLAIN VERBOSE in JSON) as a tree the
 * analysis can walk: node types, relations, indexes, filters; the per-node
 * actuals of sampled executions summed per plan node; and the columns a
 * filter compares, for index advice.
 */
#pragma once

#include "qprof.pb.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qprof {

/* Per-node actuals of one plan node, summed over executions. */
struct NodeTotals {
    bool seen = false;
    uint32_t node_id = 0;
    uint32_t parent_node_id = 0;
    std::string node_type, relation, index;
    uint64_t executions = 0;
    double loops = 0, plan_rows = 0, actual_rows = 0;
    double rows_removed_by_filter = 0, rows_removed_by_join_filter = 0;
    double total_time_ms = 0;
    uint64_t timed_executions = 0; /* executions whose nodes were timed */
    double shared_blks_hit = 0, shared_blks_read = 0;
    double temp_blks_read = 0, temp_blks_written = 0;
    /* the largest |estimate error| of a single execution, as a factor */
    double max_estimate_factor = 0;

    void add(const capture::v1::PlanNode &node);
    /* actual rows per loop against the estimate; 0 when unknown */
    double estimate_factor() const;
};

/* One node of a stored plan. */
struct PlanTreeNode {
    std::string node_type;
    std::string relation; /* schema.name, or empty */
    std::string alias;
    std::string index; /* schema.name of the index, or empty */
    /* schema.name of the index's table (a Bitmap Index Scan's is its heap
     * scan's), or empty */
    std::string index_table;
    std::string filter, index_cond, join_filter;
    double plan_rows = 0;
    std::vector<uint32_t> children;
    int actual_node_id = -1; /* the NodeTotals matched, or -1 */
};

struct PlanTree {
    std::vector<PlanTreeNode> nodes; /* nodes[0] is the root when any */
    bool empty() const { return nodes.empty(); }
};

/* Parses a plan as pg_qprof.plans stores it (EXPLAIN's JSON); an empty
 * tree when it does not parse. */
PlanTree parse_plan_json(const std::string &json);

/* Matches each node of `tree` with the actuals node of the same type and
 * relation in plan order (actuals are indexed by node id). */
void match_actuals(PlanTree &tree, const std::vector<NodeTotals> &actuals);

/* A column a filter compares, and how. */
struct FilterColumn {
    enum class Use { Equality, Range, Other };
    std::string column;
    Use use;
};

/* The columns of relation alias `alias` that `filter` (EXPLAIN's text,
 * columns qualified by alias) compares, each once, equality first. */
std::vector<FilterColumn> filter_columns(const std::string &filter,
                                         const std::string &alias);

/* The columns of an index definition (pg_get_indexdef), in order. */
std::vector<std::string> index_columns(const std::string &definition);

} // namespace qprof
