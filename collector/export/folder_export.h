/*
 * folder_export.h — a collector's output folder exported to ClickHouse
 * while it is written (`qprof collect --clickhouse`): the file being
 * written is followed, its frames sent as they are made durable, and the
 * capture files below an index and past the last one exported are
 * exported in order once closed, each through the capture layer as `qprof
 * export` reads them. The open file is read from where the previous pass
 * stopped to the end of its last durable frame, its definitions kept
 * between passes (CaptureSet::read_appended), so that a pass costs what the
 * new frames hold, whatever the file's length. A pass that fails drops
 * them: the next reads the file from its start and skips the rows the
 * passes before sent (ExportProgress).
 *
 * The last index exported whole is kept in DIR/clickhouse.exported, so
 * that a collector restarted after a crash (kill -9) exports the files its
 * predecessor left, its unfinished one too (read to its last whole frame,
 * from its start: the rows its predecessor sent of it go again): the
 * restarted collector resumes after that frame, and no sample is missing;
 * one exported twice is one row to FINAL (clickhouse_export.h). With
 * delete_exported the folder is a spool: the files exported are deleted,
 * but the last, which tells a restarted collector where the capture
 * stands.
 */
#pragma once

#include "clickhouse_client.h"
#include "clickhouse_export.h"

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace qprof {

constexpr const char *kExportMarkFileName = "clickhouse.exported";

/* What following the open files cost: each pass's bytes of the file read
 * (mapped). */
struct FollowStats {
    uint64_t passes = 0, bytes_read = 0, largest_pass_bytes = 0;
    /* passes that read the file from its start again (after a failure) */
    uint64_t passes_from_start = 0;
};

class FolderExporter {
  public:
    FolderExporter(const ClickHouseClient &client, const std::string &dir,
                   bool delete_exported);

    /* Throws UsageError when the tables are not there (the schema was not
     * created), ServerError when ClickHouse cannot be reached. */
    void check_schema() const;

    /* Exports the files of the folder with an index below `next_index`
     * that were not exported yet. Throws ServerError (ClickHouseError)
     * when ClickHouse fails: the files before stay marked exported, that
     * one and those after are tried again at the next call. Then, with
     * delete_exported, deletes the files exported but the last (throws
     * CaptureIoError when one cannot be). */
    ExportStats export_closed(uint64_t next_index);

    /* Exports what the file `index`, still being written at `path`, holds
     * beyond what was sent of it: the frames within its first
     * `durable_bytes` (what the writer made durable) not read yet.
     * Throws as export_closed. */
    ExportStats export_open(uint64_t index, const std::string &path,
                            uint64_t durable_bytes);

    const FollowStats &follow_stats() const { return follow_stats_; }

  private:
    /* Exports the file, the rest of it when it was followed. */
    ExportStats export_file(uint64_t index, const std::string &path);
    /* Reads the followed file `index` further, to `limit`, and sends what
     * is new. */
    ExportStats follow_file(uint64_t index, const std::string &path,
                            uint64_t limit);
    void stop_following();
    uint64_t load_mark() const;
    void delete_all_but_last(
        std::vector<std::pair<uint64_t, std::string>> &exported) const;
    void save_mark(uint64_t index) const;

    const ClickHouseClient &client_;
    std::string dir_;
    bool delete_exported_;
    /* the file followed while open, and what was sent of it; its reading
     * and exporter, kept from pass to pass */
    uint64_t followed_index_ = 0;
    ExportProgress followed_sent_;
    std::unique_ptr<CaptureSet> followed_set_;
    std::unique_ptr<CaptureExporter> followed_exporter_;
    FollowStats follow_stats_;
    /* a snapshot is in every file until the next: sent with the first */
    CatalogSnapshotsSent snapshots_sent_;
};

/* A FolderExporter on a thread of its own, so that the capture never waits
 * for ClickHouse (a file of a busy server takes seconds to load, while the
 * ring fills). Requests made while a pass runs make one pass after it. A
 * failure is told once on stderr and what was not sent is tried again at
 * the next request. */
class FolderExportThread {
  public:
    /* Checks the schema first (throws as FolderExporter::check_schema). */
    FolderExportThread(const std::string &url, const std::string &database,
                       const std::string &dir, bool delete_exported);
    ~FolderExportThread();
    FolderExportThread(const FolderExportThread &) = delete;
    FolderExportThread &operator=(const FolderExportThread &) = delete;

    /* The files below `next_index` are closed: export them; returns at
     * once. */
    void request(uint64_t next_index);
    /* The first `durable_bytes` of the file `index`, open at `path`, are
     * durable: export the files before it and what it holds; returns at
     * once. */
    void follow(uint64_t index, const std::string &path,
                uint64_t durable_bytes);
    /* Exports the files below `next_index` and waits for it; returns what
     * went wrong, or an empty string when every file went in. */
    std::string finish(uint64_t next_index);
    /* What following cost; once finish() returned. */
    const FollowStats &follow_stats() const { return exporter_.follow_stats(); }

  private:
    void run();

    ClickHouseClient client_;
    FolderExporter exporter_;
    std::mutex mutex_;
    std::condition_variable wake_;
    uint64_t wanted_ = 0, attempted_ = 0;
    /* the files below it are exported (the thread's own) */
    uint64_t closed_exported_ = 0;
    /* the open file, and the frames asked for and attempted (counts) */
    uint64_t open_index_ = 0;
    std::string open_path_;
    uint64_t open_durable_bytes_ = 0;
    uint64_t frames_wanted_ = 0, frames_attempted_ = 0;
    bool stopping_ = false;
    std::string error_;
    std::thread thread_;
};

} // namespace qprof
