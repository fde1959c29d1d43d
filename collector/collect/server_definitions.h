/*
 * server_definitions.h — the things samples refer to that the server keeps
 * once: query texts (pg_qprof.queries, else the query column of
 * pg_qprof.samples), plans (pg_qprof.plans) and per-node actuals
 * (pg_qprof.node_actuals(seq)). Each source is used only when the server
 * has it, so older or partial installations still capture samples.
 */
#pragma once

#include "pg_connection.h"
#include "qprof.pb.h"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace qprof {

/* A statement as the server keeps its text: per user and database. */
struct QueryKey {
    uint32_t userid;
    uint32_t dbid;
    int64_t queryid;
};

class ServerDefinitions {
  public:
    /* Looks up which of the SQL objects exist. */
    explicit ServerDefinitions(PgConnection &conn);

    /* Texts of `queryids` the server still knows. */
    std::unordered_map<int64_t, std::string>
    query_texts(const std::vector<QueryKey> &queries);

    /* Stored plans of the (queryid, planid) pairs (ref not set), looked up
     * by id when the server can (pg_qprof.stored_plans(bigint[], bigint[]),
     * no copy of its whole store), else through the plans view. */
    std::vector<capture::v1::Plan>
    plans(const std::vector<std::pair<int64_t, uint64_t>> &pairs);

    /* Per-node actuals of the samples `seqs` (epoch not set). */
    std::vector<capture::v1::NodeActuals>
    node_actuals(const std::vector<uint64_t> &seqs);

    bool has_plans() const { return has_plans_; }
    bool has_node_actuals() const { return has_node_actuals_; }

  private:
    PgConnection &conn_;
    bool has_queries_view_ = false;
    bool has_texts_by_id_ = false;
    bool has_plans_ = false;
    bool has_plans_by_id_ = false;
    bool has_node_actuals_ = false;
};

} // namespace qprof
