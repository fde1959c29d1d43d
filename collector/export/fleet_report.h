/*
 * fleet_report.h — the report's main tables computed by ClickHouse over the
 * samples `qprof export` loaded (docs/clickhouse.md): the summary, the top
 * statements with percentiles, the time by route (or another attribution),
 * the errors by SQLSTATE and the kernel facts by statement and by group. The
 * queries are those of docs/clickhouse-queries.sql with the report's filters;
 * sums are weighted by the sampling rate as in the report of files.
 */
#pragma once

#include "clickhouse_client.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qprof {

struct FleetFilters {
    /* servers by system identifier, label or cluster_name; empty: all */
    std::vector<std::string> servers;
    bool has_since = false, has_until = false;
    int64_t since_unix_us = 0, until_unix_us = 0;
    /* a duration before the newest sample (--since 1h): resolved by
     * query_fleet_report */
    bool since_relative = false, until_relative = false;
    std::string route, app, db;
    bool has_user = false;
    uint32_t user = 0;
    size_t top = 20;
    /* route, controller, app, user, db or tag:NAME */
    std::string group_by = "route";
};

struct FleetServer {
    uint64_t server_id = 0;
    std::string label, version, cluster_name, host;
    uint64_t epochs = 0, samples = 0;
    uint64_t lost = 0, epoch_changes = 0;
};

/* A statement is (server_id, dbid, queryid), as in the report of files. */
struct FleetStatement {
    uint64_t server_id = 0;
    uint32_t dbid = 0;
    int64_t queryid = 0;
    std::string cmd, database, text;
    uint64_t executions = 0;
    double calls = 0, total_ns = 0, toplevel_ns = 0, errors = 0;
    double p50_ns = 0, p95_ns = 0, p99_ns = 0;
    double rows = 0, shared_blks_read = 0;
    uint64_t kernel_executions = 0;
    double oncpu_ns = 0, io_wait_ns = 0, other_wait_ns = 0,
           page_cache_misses = 0, block_bytes = 0;
};

struct FleetGroup {
    std::string name;
    double calls = 0, total_ns = 0, p95_ns = 0, errors = 0;
    uint64_t kernel_executions = 0;
    double oncpu_ns = 0, io_wait_ns = 0, other_wait_ns = 0,
           page_cache_misses = 0, block_bytes = 0;
    /* its statements with most time: indexes in FleetReport::statements
     * (only those listed there) */
    std::vector<uint32_t> top_statements;
};

struct FleetError {
    std::string sqlstate;
    double count = 0;
    uint64_t executions = 0;
    /* the statement that failed most that way */
    uint64_t server_id = 0;
    int64_t queryid = 0;
    std::string text;
};

struct FleetReport {
    std::vector<FleetServer> servers;
    /* top-level executions */
    uint64_t executions = 0, kernel_executions = 0;
    double calls = 0, total_ns = 0, errors = 0;
    uint64_t statements_total = 0; /* distinct statements, nested too */
    int64_t first_unix_us = 0, last_unix_us = 0;
    double max_weight = 1;
    std::vector<FleetStatement> statements; /* top by total time */
    std::string group_by;                   /* the attribution's name */
    std::vector<FleetGroup> groups;         /* top by total time */
    uint64_t groups_total = 0;
    std::vector<FleetError> errors_by_sqlstate;
    std::vector<uint32_t> kernel_statements; /* top with kernel facts */
};

/* Asks ClickHouse; throws ClickHouseError, UsageError for a --server
 * that names no server or a bad group_by. */
FleetReport query_fleet_report(const ClickHouseClient &client,
                               FleetFilters filters);

} // namespace qprof
