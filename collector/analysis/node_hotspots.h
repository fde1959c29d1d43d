/*
 * node_hotspots.h — the plan nodes that took most time (else read most
 * rows): the per-node actuals of EXPLAIN ANALYZEd executions summed by node
 * type, relation and index (unweighted), as the report's `node_hotspots`.
 * The report of files sums them from its Profile; `qprof report
 * --clickhouse` has ClickHouse sum them; both write them with
 * node_hotspots_json.
 */
#pragma once

#include "json_writer.h"
#include "profile.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace qprof {

struct NodeHotspot {
    std::string node_type, relation, index;
    uint64_t executions = 0;
    double loops = 0, actual_rows = 0, rows_removed_by_filter = 0;
    double total_time_ms = 0;
    bool timed = false; /* some executions timed the node */
    double shared_blks_read = 0, temp_blks_written = 0;
    double max_estimate_factor = 0; /* 0: unknown */
    /* the statements whose plans have it (the caller's indexes) */
    std::vector<uint32_t> statements;

    /* by time where timed, else by rows read (kept and removed) */
    double weight() const {
        return total_time_ms * 1e12 + actual_rows + rows_removed_by_filter;
    }
};

/* The profile's node hotspots, heaviest first, at most `max_spots` node
 * types, relations and indexes. */
std::vector<NodeHotspot> profile_node_hotspots(const Profile &profile,
                                               size_t max_spots);

/* `node_hotspots`: the first `top`; a statement is written as
 * statement_key gives it, left out when that is empty. */
void node_hotspots_json(
    JsonWriter &w, const std::vector<NodeHotspot> &spots, size_t top,
    const std::function<std::string(uint32_t)> &statement_key);

} // namespace qprof
