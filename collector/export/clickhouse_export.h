/*
 * clickhouse_export.h — a capture set loaded into ClickHouse's tables
 * (clickhouse_schema.h): each resolved sample one row of samples_local with
 * its statement's queryid and plan, tags, application, database and kernel
 * facts; the statement texts, plans, servers, losses and epoch changes
 * once each; each catalog snapshot a row of catalog_snapshots_local and its
 * relations, indexes, column statistics and settings a row each. Rows go in
 * batches of bounded size, one INSERT each.
 *
 * Exactly once: a sample is identified by (server_id, epoch, seq), the
 * sorting key of the ReplacingMergeTree it goes to, so exporting the same
 * samples again leaves one row each once merged, and one row to every query
 * that reads with FINAL.
 */
#pragma once

#include "capture_set.h"
#include "clickhouse_client.h"
#include "sample_key.h"

#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace qprof {

/* The server's id in ClickHouse: its system identifier, or when the
 * collector could not read it (0), a 64-bit FNV-1a hash of
 * "host:port/cluster_name" with the top bit set (never a real identifier's
 * collision in practice, and stable across captures). */
uint64_t clickhouse_server_id(const capture::v1::ServerIdentity &identity);

struct ExportOptions {
    size_t batch_rows = 100000;     /* samples per INSERT */
    size_t batch_bytes = 64u << 20; /* or this much TabSeparated text */
};

struct ExportStats {
    uint64_t samples = 0, texts = 0, plans = 0, servers = 0, losses = 0,
             epoch_changes = 0, node_actuals = 0; /* executions' actuals */
    uint64_t catalog_snapshots = 0;               /* distinct ones, once each */
    uint64_t inserts = 0, bytes_sent = 0;
};

/* The rows of each table a reading of a capture set has produced, in the
 * order it produces them. A file read again once it has grown (the file
 * `qprof collect --clickhouse` follows while it writes it) produces the
 * same rows first, so that those already sent can be skipped. */
struct ExportProgress {
    uint64_t samples = 0, node_actuals = 0, losses = 0, epoch_changes = 0,
             texts = 0, plans = 0, servers = 0;
};

/* The catalog snapshots sent, (server_id, dbid, taken_unix_us): every
 * file of a capture has the newest one again, and a file followed while
 * it grows is read again. Kept across the files and passes of a
 * collector, so that each snapshot is sent once. */
class CatalogSnapshotsSent {
  public:
    using Key = std::tuple<uint64_t, uint32_t, int64_t>;
    bool contains(const Key &key) const { return sent_.count(key) > 0; }
    /* a bounded memory: past kMaxKept it forgets, and a snapshot sent
     * again is one row to ClickHouse all the same */
    void add(const Key &key);

  private:
    static constexpr size_t kMaxKept = 100000;
    std::set<Key> sent_;
};

class CaptureExporter : public CaptureVisitor {
  public:
    CaptureExporter(CaptureSet &set, const ClickHouseClient &client,
                    const ExportOptions &options,
                    CatalogSnapshotsSent *snapshots_sent = nullptr);

    void sample(const ResolvedSample &sample) override;
    void loss(uint32_t server, const capture::v1::Loss &loss) override;
    void epoch_change(uint32_t server,
                      const capture::v1::EpochChange &change) override;
    void node_actuals(uint32_t server,
                      const capture::v1::NodeActuals &actuals) override;
    void catalog(uint32_t server,
                 const capture::v1::CatalogSnapshot &snapshot) override;

    /* The first rows of each table, as many as `sent` says, were sent by
     * an earlier reading of the same files: they are not sent again. */
    void skip_sent(const ExportProgress &sent) { sent_ = sent; }

    /* Sends what is buffered, then the set's texts, plans and servers not
     * sent yet. The set may then be read further (a file followed,
     * CaptureSet::read_appended) and finish() called again: the rows of
     * each reading go once, and a sample already sent is still paired with
     * actuals that come in a later one. */
    void finish();
    const ExportStats &stats() const { return stats_; }
    /* The rows produced so far, those skipped included. */
    const ExportProgress &produced() const { return produced_; }

  private:
    void pair_actuals(const ResolvedSample &sample);
    void add_actuals(const SampleKey &key, int64_t start_unix_us,
                     const capture::v1::NodeActuals &actuals);
    void flush_samples();
    void flush_catalogs();
    void send(const char *table, const char *columns, std::string &rows);
    const std::string &database_name(uint32_t server, uint32_t dbid);
    uint64_t server_id(uint32_t server);

    CaptureSet &set_;
    const ClickHouseClient &client_;
    ExportOptions options_;
    ExportStats stats_;
    ExportProgress sent_, produced_;
    uint32_t route_key_, controller_key_;
    std::string samples_;
    size_t buffered_ = 0;
    std::string losses_, epoch_changes_;
    std::vector<uint64_t> server_ids_;
    /* executions with actuals whose actuals have not come yet (their
     * start), and actuals whose sample has not: at most
     * kMaxPendingActuals each (past it all are dropped, as the report of
     * files does) */
    static constexpr size_t kMaxPendingActuals = 200000;
    std::unordered_map<SampleKey, int64_t, SampleKeyHash> waiting_samples_;
    std::unordered_map<SampleKey, capture::v1::NodeActuals, SampleKeyHash>
        waiting_actuals_;
    std::string actuals_;
    std::unordered_map<uint64_t, std::string> database_names_;
    CatalogSnapshotsSent own_snapshots_sent_;
    CatalogSnapshotsSent &snapshots_sent_;
    /* buffered, sent with the next flush_catalogs() */
    std::set<CatalogSnapshotsSent::Key> snapshots_buffered_;
    std::string catalog_snapshots_, catalog_relations_, catalog_indexes_,
        catalog_columns_, catalog_settings_;
};

/* Reads `set` once into ClickHouse. Throws ServerError (ClickHouseError)
 * when ClickHouse refuses or cannot be reached; what was inserted before
 * stays, and exporting again completes it without doubling anything. */
ExportStats export_capture_set(CaptureSet &set, const ClickHouseClient &client,
                               const ExportOptions &options = {},
                               CatalogSnapshotsSent *snapshots_sent = nullptr);

} // namespace qprof
