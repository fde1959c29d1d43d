/*
 * fleet_sql.h — what the fleet report's queries share: ClickHouse's answers
 * read as numbers, the database time and statement key in SQL, and the
 * report's percentiles computed from ClickHouse's buckets.
 */
#pragma once

#include "clickhouse_client.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qprof::fleet {

using Rows = std::vector<std::vector<std::string>>;

double num(const std::string &field);
uint64_t unum(const std::string &field);
int64_t snum(const std::string &field);

/* The database time of one sample, and what tells statements apart. */
constexpr const char *kDbTime = "(plan_time_ns + exec_time_ns)";
constexpr const char *kStatementKey =
    "server_id, dbid, queryid, if(queryid = 0, toString(cmd), '')";

/* Plan nodes past this id are not summed (the report's kMaxNodeId). */
constexpr uint32_t kMaxNodeId = 10000;

/* The latency bucket of `db_time` (LatencyHistogram::bucket_of): bucket i
 * holds (1.02^(i-1), 1.02^i] ns, 0 holds up to 1 ns. */
std::string latency_bucket_sql(const std::string &db_time);

/* The fields pb, p_min, p_max over `db_time`: the buckets of p50, p95 and
 * p99 as the report of files computes them, and the exact ends. */
std::string percentile_sql(const std::string &db_time);

/* p50, p95, p99 from the three fields percentile_sql() gives */
void set_percentiles(const std::string *fields, uint64_t count, double *p50,
                     double *p95, double *p99);

/* A row must have `columns` fields: anything else is not our query's
 * answer. */
void check_columns(const Rows &rows, size_t columns, const char *what);

} // namespace qprof::fleet
