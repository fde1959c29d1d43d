/*
 * clickhouse_schema.h — the tables `qprof export` fills (docs/clickhouse.md):
 * per shard, ReplacingMergeTree tables named *_local (samples partitioned by
 * day, ordered by server, queryid and time; statement texts, plans,
 * servers, losses stored once); and over them, under the plain names, a
 * Distributed table per local table over a cluster of shards, or, without
 * a cluster, a Merge table over the local one, so that queries read the
 * plain names either way.
 */
#pragma once

#include <string>
#include <vector>

namespace qprof {

/* The local tables, in creation order. */
extern const char *const kClickHouseTables[];
extern const size_t kClickHouseTableCount;

/* The statements creating database `database` and its tables (IF NOT
 * EXISTS: running them again changes nothing); `cluster` empty for one
 * server. */
std::vector<std::string> clickhouse_schema(const std::string &database,
                                           const std::string &cluster);

/* Columns of samples_local that export writes, in its TabSeparated order. */
extern const char *const kSampleColumns;

} // namespace qprof
