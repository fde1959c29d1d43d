#include "clickhouse_schema.h"

namespace qprof {

const char *const kClickHouseTables[] = {"servers",
                                         "statements",
                                         "plans",
                                         "samples",
                                         "losses",
                                         "epoch_changes",
                                         "node_actuals",
                                         "catalog_snapshots",
                                         "catalog_relations",
                                         "catalog_indexes",
                                         "catalog_columns",
                                         "catalog_settings"};
const size_t kClickHouseTableCount =
    sizeof kClickHouseTables / sizeof kClickHouseTables[0];

namespace {

/* Each local table: ReplacingMergeTree, so that a row exported twice (a
 * capture exported again, a collector restarted) is one row once merged,
 * and one row to a query with FINAL. The sorting key is the row's identity:
 * for samples (server_id, epoch, seq) decides queryid and start_time, so
 * the key sorts for the report's questions and still identifies a sample. */
const char *const kLocalTables[] = {
    /* servers */
    "(server_id UInt64, system_identifier UInt64, label String,"
    " version String, version_num UInt32, host String, port UInt16,"
    " database String, cluster_name String, server_addr String,"
    " collector_host String, sample_rate Float64, exported_at DateTime('UTC'))"
    " ENGINE = ReplacingMergeTree(exported_at) ORDER BY server_id",
    /* statements: the longest text of a queryid wins (a capture may have
     * lost a text another one has) */
    "(server_id UInt64, queryid Int64, text String, text_length UInt32)"
    " ENGINE = ReplacingMergeTree(text_length) ORDER BY (server_id, queryid)",
    /* plans */
    "(server_id UInt64, queryid Int64, planid Int64, shape_id Int64,"
    " plan_text String, plan_json String)"
    " ENGINE = ReplacingMergeTree ORDER BY (server_id, queryid, planid)",
    /* samples */
    "(server_id UInt64, epoch UInt64, seq UInt64,"
    " start_time DateTime('UTC') DEFAULT"
    "   toDateTime(intDiv(start_unix_us, 1000000), 'UTC'),"
    " start_unix_us Int64, duration_us UInt64,"
    " pid Int32, exec_id UInt64, parent_exec_id UInt64,"
    " nesting_level UInt16, toplevel UInt8, has_node_actuals UInt8,"
    " dbid UInt32, database String, userid UInt32,"
    " application String, client_addr String,"
    " route String, controller String, request String, request_tag String,"
    " tag_keys Array(String), tag_values Array(String),"
    " queryid Int64, planid Int64,"
    " cmd Enum8('unknown' = 0, 'select' = 1, 'update' = 2, 'insert' = 3,"
    "   'delete' = 4, 'merge' = 5, 'utility' = 6),"
    " weight Float64, plan_time_ns UInt64, exec_time_ns UInt64, rows UInt64,"
    " shared_blks_hit UInt64, shared_blks_read UInt64,"
    " shared_blks_dirtied UInt64, shared_blks_written UInt64,"
    " local_blks_hit UInt64, local_blks_read UInt64,"
    " local_blks_dirtied UInt64, local_blks_written UInt64,"
    " temp_blks_read UInt64, temp_blks_written UInt64,"
    " blk_read_time_ns UInt64, blk_write_time_ns UInt64,"
    " temp_blk_read_time_ns UInt64, temp_blk_write_time_ns UInt64,"
    " wal_records UInt64, wal_fpi UInt64, wal_bytes UInt64,"
    " jit_functions UInt64, jit_time_ns UInt64,"
    " parallel_workers_planned UInt16, parallel_workers_launched UInt16,"
    " sqlstate String,"
    " has_io UInt8, oncpu_ns UInt64, io_wait_ns UInt64, other_wait_ns UInt64,"
    " runqueue_ns UInt64, runqueue_waits UInt64,"
    " page_cache_misses UInt64, readahead_pages UInt64,"
    " block_requests UInt64, block_bytes UInt64, block_latency_ns UInt64,"
    " read_syscalls UInt64, read_bytes UInt64, read_latency_ns UInt64,"
    " write_syscalls UInt64, write_bytes UInt64, write_latency_ns UInt64,"
    " fsync_calls UInt64, fsync_latency_ns UInt64,"
    " wait_events Array(String), wait_event_ns Array(UInt64),"
    " wait_event_counts Array(UInt64), wait_event_infos Array(UInt32),"
    " other_wait_events_ns UInt64, other_wait_events_count UInt64,"
    " wait_classes Array(UInt8), wait_class_ns Array(UInt64),"
    " wait_class_counts Array(UInt64), sampled_wait_interval_us UInt32,"
    " sampled_wait_classes Array(UInt8), sampled_wait_ns Array(UInt64),"
    " sampled_wait_counts Array(UInt64))"
    " ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(start_time)"
    " ORDER BY (server_id, queryid, start_time, epoch, seq)",
    /* losses */
    "(server_id UInt64, epoch UInt64, after_seq UInt64, reason String,"
    " count UInt64, detected_unix_us Int64)"
    " ENGINE = ReplacingMergeTree"
    " ORDER BY (server_id, epoch, after_seq, reason)",
    /* epoch_changes */
    "(server_id UInt64, previous_epoch UInt64, previous_last_seq UInt64,"
    " new_epoch UInt64, detected_unix_us Int64)"
    " ENGINE = ReplacingMergeTree"
    " ORDER BY (server_id, previous_epoch, new_epoch)",
    /* node_actuals: a plan node's actuals in one EXPLAIN ANALYZEd
     * execution, in its sample's day (joined on server_id, epoch, seq) */
    "(server_id UInt64, epoch UInt64, seq UInt64,"
    " start_time DateTime('UTC') DEFAULT"
    "   toDateTime(intDiv(start_unix_us, 1000000), 'UTC'),"
    " start_unix_us Int64, node_id UInt32, parent_node_id UInt32,"
    " node_type String, relation String, index_name String,"
    " plan_rows Float64, actual_rows Float64, loops Float64,"
    " total_time_ms Float64, shared_blks_hit UInt64, shared_blks_read UInt64,"
    " rows_removed_by_filter Float64, rows_removed_by_join_filter Float64,"
    " temp_blks_read UInt64, temp_blks_written UInt64)"
    " ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(start_time)"
    " ORDER BY (server_id, epoch, seq, node_id)",
    /* The catalog snapshots (a database's relations, indexes, column
     * statistics and the server's settings, as the collector read them
     * every --catalog-seconds): a snapshot is (server_id, dbid,
     * taken_unix_us), the head of every key, so that one written into
     * every file of a capture, or exported twice, is one row per item; a
     * report takes a database's newest snapshot up to its period's end. */
    /* catalog_snapshots: one row per snapshot, with what it holds */
    "(server_id UInt64, dbid UInt32, taken_unix_us Int64,"
    " taken_time DateTime('UTC') DEFAULT"
    "   toDateTime(intDiv(taken_unix_us, 1000000), 'UTC'),"
    " database String, relations UInt32, indexes UInt32, columns UInt32,"
    " settings UInt32)"
    " ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(taken_time)"
    " ORDER BY (server_id, dbid, taken_unix_us)",
    /* catalog_relations: tables, partitioned tables, materialized views */
    "(server_id UInt64, dbid UInt32, taken_unix_us Int64,"
    " taken_time DateTime('UTC') DEFAULT"
    "   toDateTime(intDiv(taken_unix_us, 1000000), 'UTC'),"
    " oid UInt32, schema_name String, name String, kind String,"
    " total_bytes UInt64, table_bytes UInt64, reltuples Float64,"
    " relpages UInt32, seq_scan UInt64, idx_scan UInt64, n_live_tup UInt64,"
    " n_dead_tup UInt64)"
    " ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(taken_time)"
    " ORDER BY (server_id, dbid, taken_unix_us, oid)",
    /* catalog_indexes */
    "(server_id UInt64, dbid UInt32, taken_unix_us Int64,"
    " taken_time DateTime('UTC') DEFAULT"
    "   toDateTime(intDiv(taken_unix_us, 1000000), 'UTC'),"
    " oid UInt32, table_oid UInt32, schema_name String, name String,"
    " table_name String, definition String, bytes UInt64, is_unique UInt8,"
    " is_primary UInt8, idx_scan UInt64)"
    " ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(taken_time)"
    " ORDER BY (server_id, dbid, taken_unix_us, oid)",
    /* catalog_columns: pg_stats, the first 5 most common values */
    "(server_id UInt64, dbid UInt32, taken_unix_us Int64,"
    " taken_time DateTime('UTC') DEFAULT"
    "   toDateTime(intDiv(taken_unix_us, 1000000), 'UTC'),"
    " schema_name String, table_name String, column_name String,"
    " null_frac Float32, n_distinct Float32, correlation Float32,"
    " avg_width Int32, most_common_vals Array(String),"
    " most_common_freqs Array(Float32))"
    " ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(taken_time)"
    " ORDER BY (server_id, dbid, taken_unix_us, schema_name, table_name,"
    "   column_name)",
    /* catalog_settings: the settings the analysis reads (work_mem,
     * shared_buffers, block_size...), as pg_settings has them */
    "(server_id UInt64, dbid UInt32, taken_unix_us Int64,"
    " taken_time DateTime('UTC') DEFAULT"
    "   toDateTime(intDiv(taken_unix_us, 1000000), 'UTC'),"
    " name String, value String, unit String)"
    " ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(taken_time)"
    " ORDER BY (server_id, dbid, taken_unix_us, name)",
};

/* Columns added after the schema's first release, as each table's CREATE
 * has them: `--create-schema` adds them to the tables created before (the
 * local and the fleet table). The request's tag (traceparent or
 * request_id) came with the N+1 section of the report from ClickHouse. */
struct AddedColumn {
    const char *table, *name, *type, *after;
};
const AddedColumn kAddedColumns[] = {
    {"samples", "request_tag", "String", "request"},
    /* the wait split of the kernel facts and the extension's sampled
     * waits (issue 29), with "Where the time went" */
    {"samples", "runqueue_waits", "UInt64", "runqueue_ns"},
    {"samples", "wait_event_infos", "Array(UInt32)", "wait_event_counts"},
    {"samples", "other_wait_events_ns", "UInt64", "wait_event_infos"},
    {"samples", "other_wait_events_count", "UInt64", "other_wait_events_ns"},
    {"samples", "wait_classes", "Array(UInt8)", "other_wait_events_count"},
    {"samples", "wait_class_ns", "Array(UInt64)", "wait_classes"},
    {"samples", "wait_class_counts", "Array(UInt64)", "wait_class_ns"},
    {"samples", "sampled_wait_interval_us", "UInt32", "wait_class_counts"},
    {"samples", "sampled_wait_classes", "Array(UInt8)",
     "sampled_wait_interval_us"},
    {"samples", "sampled_wait_ns", "Array(UInt64)", "sampled_wait_classes"},
    {"samples", "sampled_wait_counts", "Array(UInt64)", "sampled_wait_ns"},
};

/* "table.column" of every column of the database's tables */
std::vector<std::string> existing_columns(const ClickHouseClient &client) {
    std::vector<std::string> out;
    for (const auto &row : client.select(
             "SELECT table, name FROM system.columns WHERE database = " +
             sql_quote(client.database())))
        if (row.size() == 2)
            out.push_back(row[0] + "." + row[1]);
    return out;
}

bool has(const std::vector<std::string> &columns, const std::string &name) {
    for (const std::string &c : columns)
        if (c == name)
            return true;
    return false;
}

} // namespace

void create_clickhouse_schema(const ClickHouseClient &client,
                              const std::string &cluster) {
    const std::string &database = client.database();
    for (const std::string &statement : clickhouse_schema(database, cluster))
        client.query(statement);
    std::vector<std::string> columns = existing_columns(client);
    for (const AddedColumn &c : kAddedColumns)
        for (const std::string &table :
             {std::string(c.table) + "_local", std::string(c.table)})
            if (!has(columns, table + "." + c.name))
                client.query("ALTER TABLE " + database + "." + table +
                             " ADD COLUMN " + c.name + " " + c.type +
                             " AFTER " + c.after);
}

std::vector<std::string>
missing_clickhouse_columns(const ClickHouseClient &client) {
    std::vector<std::string> columns = existing_columns(client), missing;
    auto table_exists = [&](const std::string &table) {
        for (const std::string &c : columns)
            if (c.compare(0, table.size() + 1, table + ".") == 0)
                return true;
        return false;
    };
    /* a table added since (the others are there) */
    if (table_exists("samples_local"))
        for (size_t i = 0; i < kClickHouseTableCount; ++i)
            for (const std::string &table :
                 {std::string(kClickHouseTables[i]) + "_local",
                  std::string(kClickHouseTables[i])})
                if (!table_exists(table))
                    missing.push_back(table + ".*");
    for (const AddedColumn &c : kAddedColumns)
        for (const std::string &table :
             {std::string(c.table) + "_local", std::string(c.table)})
            if (table_exists(table) && !has(columns, table + "." + c.name))
                missing.push_back(table + "." + c.name);
    return missing;
}

const char *const kNodeActualsColumns =
    "server_id, epoch, seq, start_unix_us, node_id, parent_node_id,"
    " node_type, relation, index_name, plan_rows, actual_rows, loops,"
    " total_time_ms, shared_blks_hit, shared_blks_read,"
    " rows_removed_by_filter, rows_removed_by_join_filter, temp_blks_read,"
    " temp_blks_written";

const char *const kSampleColumns =
    "server_id, epoch, seq, start_unix_us, duration_us, pid, exec_id,"
    " parent_exec_id, nesting_level, toplevel, has_node_actuals, dbid,"
    " database, userid, application, client_addr, route, controller,"
    " request, request_tag, tag_keys, tag_values, queryid, planid, cmd, weight,"
    " plan_time_ns, exec_time_ns, rows, shared_blks_hit, shared_blks_read,"
    " shared_blks_dirtied, shared_blks_written, local_blks_hit,"
    " local_blks_read, local_blks_dirtied, local_blks_written,"
    " temp_blks_read, temp_blks_written, blk_read_time_ns,"
    " blk_write_time_ns, temp_blk_read_time_ns, temp_blk_write_time_ns,"
    " wal_records, wal_fpi, wal_bytes, jit_functions, jit_time_ns,"
    " parallel_workers_planned, parallel_workers_launched, sqlstate,"
    " has_io, oncpu_ns, io_wait_ns, other_wait_ns, runqueue_ns,"
    " runqueue_waits,"
    " page_cache_misses, readahead_pages, block_requests, block_bytes,"
    " block_latency_ns, read_syscalls, read_bytes, read_latency_ns,"
    " write_syscalls, write_bytes, write_latency_ns, fsync_calls,"
    " fsync_latency_ns, wait_events, wait_event_ns, wait_event_counts,"
    " wait_event_infos, other_wait_events_ns, other_wait_events_count,"
    " wait_classes, wait_class_ns, wait_class_counts,"
    " sampled_wait_interval_us, sampled_wait_classes, sampled_wait_ns,"
    " sampled_wait_counts";

const char *const kCatalogSnapshotColumns =
    "server_id, dbid, taken_unix_us, database, relations, indexes, columns,"
    " settings";
const char *const kCatalogRelationColumns =
    "server_id, dbid, taken_unix_us, oid, schema_name, name, kind,"
    " total_bytes, table_bytes, reltuples, relpages, seq_scan, idx_scan,"
    " n_live_tup, n_dead_tup";
const char *const kCatalogIndexColumns =
    "server_id, dbid, taken_unix_us, oid, table_oid, schema_name, name,"
    " table_name, definition, bytes, is_unique, is_primary, idx_scan";
const char *const kCatalogColumnColumns =
    "server_id, dbid, taken_unix_us, schema_name, table_name, column_name,"
    " null_frac, n_distinct, correlation, avg_width, most_common_vals,"
    " most_common_freqs";
const char *const kCatalogSettingColumns =
    "server_id, dbid, taken_unix_us, name, value, unit";

std::vector<std::string> clickhouse_schema(const std::string &database,
                                           const std::string &cluster) {
    std::vector<std::string> out;
    out.push_back("CREATE DATABASE IF NOT EXISTS " + database);
    for (size_t i = 0; i < kClickHouseTableCount; ++i) {
        std::string name = kClickHouseTables[i];
        std::string local = database + "." + name + "_local";
        out.push_back("CREATE TABLE IF NOT EXISTS " + local + " " +
                      kLocalTables[i]);
        /* the fleet's name: the local tables of every shard, or of this
         * server; inserted through, the Distributed table keeps a server's
         * rows on one shard (sharding key server_id), where they dedupe */
        std::string engine =
            cluster.empty() ? "Merge(" + database + ", '^" + name + "_local$')"
                            : "Distributed(" + cluster + ", " + database +
                                  ", " + name + "_local, server_id)";
        out.push_back("CREATE TABLE IF NOT EXISTS " + database + "." + name +
                      " AS " + local + " ENGINE = " + engine);
    }
    return out;
}

} // namespace qprof
