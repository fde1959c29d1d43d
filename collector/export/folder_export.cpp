#include "folder_export.h"
#include "capture_reader.h"
#include "capture_set.h"
#include "clickhouse_schema.h"
#include "errors.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <utility>
#include <vector>

namespace qprof {

FolderExporter::FolderExporter(const ClickHouseClient &client,
                               const std::string &dir, bool delete_exported)
    : client_(client), dir_(dir), delete_exported_(delete_exported) {}

void FolderExporter::check_schema() const {
    auto rows = client_.select(
        "SELECT count() FROM system.tables WHERE database = " +
        sql_quote(client_.database()) + " AND name = 'samples_local'");
    if (rows.empty() || rows[0].empty() || rows[0][0] == "0")
        throw UsageError("ClickHouse at " + client_.where() +
                         " has no table samples_local: create the schema "
                         "first (qprof export --clickhouse URL "
                         "--create-schema)");
    std::vector<std::string> missing = missing_clickhouse_columns(client_);
    if (!missing.empty())
        throw UsageError("ClickHouse at " + client_.where() +
                         " has tables of an older qprof (no column " +
                         missing[0] +
                         "): add the new columns with qprof export "
                         "--clickhouse URL --create-schema");
}

uint64_t FolderExporter::load_mark() const {
    std::string path = dir_ + "/" + kExportMarkFileName;
    FILE *f = fopen(path.c_str(), "r");
    if (f == nullptr)
        return 0;
    unsigned long long index = 0;
    if (fscanf(f, "%llu", &index) != 1)
        index = 0;
    fclose(f);
    return index;
}

void FolderExporter::save_mark(uint64_t index) const {
    std::string path = dir_ + "/" + kExportMarkFileName;
    std::string temp = path + ".tmp";
    FILE *f = fopen(temp.c_str(), "w");
    if (f == nullptr)
        throw CaptureIoError(describe_errno("cannot write " + temp, errno));
    int wrote = fprintf(f, "%llu\n", static_cast<unsigned long long>(index));
    if (fclose(f) != 0 || wrote < 0 || rename(temp.c_str(), path.c_str()) != 0)
        throw CaptureIoError(describe_errno("cannot write " + path, errno));
}

ExportStats FolderExporter::export_closed(uint64_t next_index) {
    uint64_t mark = load_mark();
    /* the files to export, by index: a file's index is in its header */
    std::vector<std::pair<uint64_t, std::string>> files, exported;
    for (const std::string &path : capture_files_of({dir_})) {
        capture::v1::Header header;
        if (!read_capture_header(path, header))
            continue;
        uint64_t index = header.file_index();
        if (index > mark && index < next_index)
            files.emplace_back(index, path);
        else if (index <= mark)
            exported.emplace_back(index, path);
    }
    std::sort(files.begin(), files.end());
    ExportStats total;
    for (const auto &file : files) {
        ExportStats stats = export_file(file.first, file.second);
        total.samples += stats.samples;
        total.catalog_snapshots += stats.catalog_snapshots;
        total.inserts += stats.inserts;
        total.bytes_sent += stats.bytes_sent;
        save_mark(file.first);
        if (followed_index_ == file.first)
            stop_following();
        exported.push_back(file);
    }
    if (delete_exported_)
        delete_all_but_last(exported);
    return total;
}

ExportStats FolderExporter::export_open(uint64_t index, const std::string &path,
                                        uint64_t durable_bytes) {
    if (index <= load_mark())
        return ExportStats();
    return follow_file(index, path, durable_bytes);
}

ExportStats FolderExporter::export_file(uint64_t index,
                                        const std::string &path) {
    /* closed: whole now */
    if (index == followed_index_)
        return follow_file(index, path, UINT64_MAX);
    CaptureSet set({path});
    return export_capture_set(set, client_, ExportOptions(), &snapshots_sent_);
}

ExportStats FolderExporter::follow_file(uint64_t index, const std::string &path,
                                        uint64_t limit) {
    if (index != followed_index_) {
        stop_following();
        followed_index_ = index;
    }
    if (!followed_set_) {
        /* from the start: the first pass, or the one after a failure,
         * which sends only what the passes before did not */
        followed_set_ =
            std::make_unique<CaptureSet>(std::vector<std::string>{path});
        followed_exporter_ = std::make_unique<CaptureExporter>(
            *followed_set_, client_, ExportOptions(), &snapshots_sent_);
        followed_exporter_->skip_sent(followed_sent_);
        if (follow_stats_.passes > 0 && followed_sent_.samples > 0)
            ++follow_stats_.passes_from_start;
    }
    ExportStats before = followed_exporter_->stats();
    try {
        uint64_t bytes =
            followed_set_->read_appended(*followed_exporter_, limit);
        ++follow_stats_.passes;
        follow_stats_.bytes_read += bytes;
        follow_stats_.largest_pass_bytes =
            std::max(follow_stats_.largest_pass_bytes, bytes);
        followed_exporter_->finish();
    } catch (...) {
        /* what this pass sent is not known: the next reads the file
         * again and skips what the passes before sent */
        followed_exporter_.reset();
        followed_set_.reset();
        throw;
    }
    followed_sent_ = followed_exporter_->produced();
    ExportStats stats = followed_exporter_->stats();
    stats.samples -= before.samples;
    stats.catalog_snapshots -= before.catalog_snapshots;
    stats.inserts -= before.inserts;
    stats.bytes_sent -= before.bytes_sent;
    return stats;
}

void FolderExporter::stop_following() {
    followed_exporter_.reset(); /* before the set it reads */
    followed_set_.reset();
    followed_index_ = 0;
    followed_sent_ = ExportProgress();
}

void FolderExporter::delete_all_but_last(
    std::vector<std::pair<uint64_t, std::string>> &exported) const {
    std::sort(exported.begin(), exported.end());
    for (size_t i = 0; i + 1 < exported.size(); ++i)
        if (unlink(exported[i].second.c_str()) != 0 && errno != ENOENT)
            throw CaptureIoError(describe_errno("cannot delete " +
                                                    exported[i].second +
                                                    " (in ClickHouse already)",
                                                errno));
}

FolderExportThread::FolderExportThread(const std::string &url,
                                       const std::string &database,
                                       const std::string &dir,
                                       bool delete_exported)
    : client_(url, database), exporter_(client_, dir, delete_exported) {
    exporter_.check_schema();
    thread_ = std::thread([this] { run(); });
}

FolderExportThread::~FolderExportThread() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable())
        thread_.join();
}

void FolderExportThread::request(uint64_t next_index) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        wanted_ = std::max(wanted_, next_index);
    }
    wake_.notify_one();
}

void FolderExportThread::follow(uint64_t index, const std::string &path,
                                uint64_t durable_bytes) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        wanted_ = std::max(wanted_, index);
        open_index_ = index;
        open_path_ = path;
        open_durable_bytes_ = durable_bytes;
        ++frames_wanted_;
    }
    wake_.notify_one();
}

std::string FolderExportThread::finish(uint64_t next_index) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        wanted_ = std::max(wanted_, next_index);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable())
        thread_.join();
    return error_;
}

void FolderExportThread::run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] {
            return stopping_ || wanted_ > attempted_ ||
                   frames_wanted_ > frames_attempted_;
        });
        /* stopping: only the closed files are left to export (finish()) */
        if (wanted_ <= attempted_ && stopping_)
            return;
        uint64_t wanted = wanted_, frames = frames_wanted_;
        /* the followed file, unless it is closed since */
        bool open = open_index_ >= wanted && !stopping_;
        uint64_t open_index = open_index_;
        std::string open_path = open_path_;
        uint64_t open_durable_bytes = open_durable_bytes_;
        lock.unlock();
        std::string error;
        try {
            /* the folder is listed only when a file closed since, or the
             * last listing failed: not at each frame */
            if (wanted > closed_exported_) {
                exporter_.export_closed(wanted);
                closed_exported_ = wanted;
            }
            if (open)
                exporter_.export_open(open_index, open_path,
                                      open_durable_bytes);
        } catch (const std::exception &e) {
            error = e.what();
        }
        lock.lock();
        attempted_ = wanted;
        frames_attempted_ = frames;
        if (error.empty() && !error_.empty())
            fprintf(stderr, "qprof collect: ClickHouse takes the files "
                            "again\n");
        else if (!error.empty() && error != error_)
            fprintf(stderr,
                    "qprof collect: %s; the capture is loaded into "
                    "ClickHouse when it answers, at the next frame\n",
                    error.c_str());
        error_ = error;
    }
}

} // namespace qprof
