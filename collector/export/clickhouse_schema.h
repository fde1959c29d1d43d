/*
 * clickhouse_schema.h — the tables `qprof export` fills (docs/clickhouse.md):
 * per shard, ReplacingMergeTree tables named *_local (samples partitioned by
 * day, ordered by server, queryid and time; statement texts, plans,
 * servers, losses stored once; the catalog snapshots by server, database
 * and time taken); and over them, under the plain names, a
 * Distributed table per local table over a cluster of shards, or, without
 * a cluster, a Merge table over the local one, so that queries read the
 * plain names either way.
 */
#pragma once

#include "clickhouse_client.h"

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
/* Columns of node_actuals_local that export writes. */
extern const char *const kNodeActualsColumns;
/* Columns of the catalog_*_local tables that export writes. */
extern const char *const kCatalogSnapshotColumns;
extern const char *const kCatalogRelationColumns;
extern const char *const kCatalogIndexColumns;
extern const char *const kCatalogColumnColumns;
extern const char *const kCatalogSettingColumns;

/* Creates the schema on the server of `client` (clickhouse_schema()), and
 * adds to tables an earlier qprof created the columns added since
 * (kAddedColumns: 18.16 has no ADD COLUMN IF NOT EXISTS, so the columns a
 * table has are read from system.columns first). Throws ClickHouseError. */
void create_clickhouse_schema(const ClickHouseClient &client,
                              const std::string &cluster);

/* The columns this qprof writes that the existing tables of `client`'s
 * database lack (created by an earlier qprof), "table.column" each: empty
 * when the schema is current or not there at all. */
std::vector<std::string>
missing_clickhouse_columns(const ClickHouseClient &client);

} // namespace qprof
