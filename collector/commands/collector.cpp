#include "collector.h"
#include "capture_format.h"
#include "capture_writer.h"
#include "definition_tables.h"
#include "errors.h"
#include "io_attribution.h"
#include "folder_export.h"
#include "metrics.h"
#include "metrics_http.h"
#include "pg_connection.h"
#include "resume_state.h"
#include "sample_codec.h"
#include "sample_source.h"
#include "server_definitions.h"
#include "server_facts.h"

#include <google/protobuf/descriptor.pb.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <malloc.h>
#include <memory>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <unordered_set>

namespace qprof {

namespace pb = capture::v1;
using Clock = std::chrono::steady_clock;

namespace {

volatile sig_atomic_t g_stop = 0;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

/* Sleeps up to `seconds`; a stop signal cuts it short. */
void pause_for(double seconds) {
    struct timespec ts;
    ts.tv_sec = static_cast<time_t>(seconds);
    ts.tv_nsec = static_cast<long>((seconds - ts.tv_sec) * 1e9);
    if (!g_stop)
        nanosleep(&ts, nullptr);
}

/* CollectorSettings.syscall_tracing: where the system call fields come
 * from, "off" when no sample has them. */
std::string syscall_tracing_setting(const CollectOptions &options,
                                    const IoAttribution &io) {
    if (!io.syscalls_traced())
        return "off";
    if (!options.bpf_syscall_windows)
        return options.bpf_syscalls;
    char text[64];
    snprintf(text, sizeof(text), "%ssampled %g/%g",
             options.bpf_syscalls == "raw" ? "raw " : "",
             options.bpf_syscall_window_seconds,
             options.bpf_syscall_period_seconds);
    return text;
}

std::string human_bytes(uint64_t bytes) {
    char text[32];
    if (bytes >= (1ull << 30))
        snprintf(text, sizeof text, "%.1f GiB", bytes / double(1ull << 30));
    else if (bytes >= (1ull << 20))
        snprintf(text, sizeof text, "%.1f MiB", bytes / double(1ull << 20));
    else
        snprintf(text, sizeof text, "%.1f KiB", bytes / 1024.0);
    return text;
}

class Collector {
  public:
    explicit Collector(const CollectOptions &options);
    int run();

  private:
    void capture_loop();
    void connect();
    std::unique_ptr<SampleSource> open_sample_source();
    void follow_epoch(const RingStatus &status);
    void start_file();
    void finish_file(bool more_follow);
    bool drain_once();
    void learn_definitions();
    void encode_rows();
    void fetch_node_actuals();
    void close_frame();
    void follow_open_file();
    void add_loss(uint64_t after_seq, uint64_t count, pb::Loss::Reason reason);
    void add_notice(const std::string &text);
    void write_catalog();
    void poll_status();
    void pause_between_reads();
    void report_progress(bool final_line);
    void report_following(const FollowStats &stats);
    bool should_stop() const;
    void export_closed_files();

    CollectOptions options_;
    CaptureWriter writer_;
    ResumeStateFile state_file_;
    DefinitionTables definitions_;
    SampleBlockEncoder encoder_;
    IoAttribution io_;

    /* Samples are read on their own connection, one request ahead; the
     * other queries go through conn_. */
    std::unique_ptr<PgConnection> conn_;
    std::unique_ptr<PgConnection> reader_conn_;
    std::unique_ptr<SampleSource> source_;
    std::unique_ptr<ServerDefinitions> server_definitions_;
    pb::ServerIdentity identity_;
    pb::CatalogSnapshot catalog_;
    Clock::time_point catalog_taken_;

    std::vector<SampleRow> rows_;
    std::vector<uint64_t> actuals_seqs_;

    /* --metrics-listen: the numbers, then the endpoint that serves them
     * (stopped first) */
    std::unique_ptr<Metrics> metrics_;
    std::unique_ptr<MetricsHttpServer> metrics_server_;

    /* --clickhouse: the frames go there as they are made durable, on a
     * thread of its own */
    std::unique_ptr<FolderExportThread> clickhouse_;

    /* Where the capture stands: last seq encoded and last made durable. */
    bool position_known_ = false;
    uint64_t epoch_ = 0;
    uint64_t last_seq_ = 0;
    uint64_t durable_seq_ = 0;
    uint64_t last_head_seq_ = 0; /* head_seq seen in the current epoch */
    uint64_t server_epoch_ = 0;  /* epoch of the server's ring, last seen */
    uint64_t next_file_index_ = 1;

    /* What the current file holds, for its trailer. */
    uint64_t file_samples_ = 0, file_first_seq_ = 0;

    Clock::time_point started_, frame_started_, last_status_, last_progress_;
    uint64_t samples_total_ = 0, losses_total_ = 0, samples_at_progress_ = 0;
    bool progress_ = false;
};

Collector::Collector(const CollectOptions &options)
    : options_(options),
      writer_(CaptureWriterOptions{options.out_dir, options.to_stdout,
                                   options.rotate_bytes, options.rotate_seconds,
                                   options.retain_bytes, options.zstd_level}),
      state_file_(options.out_dir), definitions_(writer_) {
    progress_ = isatty(STDERR_FILENO) && !options.to_stdout;
}

bool Collector::should_stop() const {
    return g_stop || (options_.duration_seconds > 0 &&
                      seconds_since(started_) >= options_.duration_seconds);
}

void Collector::connect() {
    source_.reset();
    reader_conn_.reset();
    conn_.reset();
    conn_ = std::make_unique<PgConnection>(options_.dsn);
    verify_sample_access(*conn_);
    source_ = open_sample_source();
    /* The collector's own statements are not worth profiling; a reader
     * (pg_read_all_stats, as verified above) may exclude its sessions. */
    for (PgConnection *conn : {conn_.get(), reader_conn_.get()})
        if (conn)
            conn->exec("SELECT pg_qprof.exclude_session()");
    server_definitions_ = std::make_unique<ServerDefinitions>(*conn_);
    identity_ = read_server_identity(*conn_);
}

/* From the postmaster's memory when this process may map it: no backend
 * then copies the samples out and no socket carries them, which costs the
 * server's clients far less. Else through SQL, on a connection of its own:
 * the same samples, so `auto` falls back without a word (`memory` says why
 * it cannot). */
std::unique_ptr<SampleSource> Collector::open_sample_source() {
    if (options_.ring_read != "sql") {
        try {
            return std::make_unique<SampleSource>(
                RingMemoryReader::open(*conn_));
        } catch (const RingMemoryUnavailable &why) {
            if (options_.ring_read == "memory")
                throw ServerError(std::string("--ring-read memory: ") +
                                  why.what());
        }
    }
    reader_conn_ = std::make_unique<PgConnection>(options_.dsn);
    return std::make_unique<SampleSource>(*reader_conn_);
}

/* Called after each (re)connection: a different epoch means the server's
 * ring was created anew and whatever the old one still held is gone. */
void Collector::follow_epoch(const RingStatus &status) {
    bool restarted = position_known_ && status.epoch != epoch_;
    /* Same epoch but behind us: this is not the ring we were reading. */
    bool rewound = position_known_ && status.epoch == epoch_ &&
                   status.head_seq < last_seq_;
    if (restarted || rewound) {
        pb::Record record;
        pb::EpochChange *change = record.mutable_epoch_change();
        change->set_previous_epoch(epoch_);
        change->set_previous_last_seq(last_seq_);
        change->set_new_epoch(status.epoch);
        change->set_detected_unix_us(unix_now_us());
        writer_.append(record);
        if (last_head_seq_ > last_seq_)
            add_loss(last_seq_, last_head_seq_ - last_seq_,
                     pb::Loss::EPOCH_CHANGED);
        else if (last_head_seq_ == 0)
            add_loss(last_seq_, 0, pb::Loss::EPOCH_CHANGED);
        epoch_ = status.epoch;
        last_seq_ = 0;
        close_frame();
    } else if (!position_known_) {
        /* A new capture starts with what the ring holds now. */
        epoch_ = status.epoch;
        last_seq_ = status.oldest_seq > 0 ? status.oldest_seq - 1 : 0;
    }
    position_known_ = true;
    last_head_seq_ = status.head_seq;
}

void Collector::start_file() {
    writer_.open_file(next_file_index_);
    uint64_t file_index = next_file_index_++;
    definitions_.new_file();
    file_samples_ = 0;
    file_first_seq_ = 0;

    pb::Record record;
    pb::Header *header = record.mutable_header();
    header->set_format_version(kFormatVersion);
    /* The schema travels with the data, so any protobuf tool can read it. */
    google::protobuf::FileDescriptorProto *schema =
        header->mutable_schema()->add_file();
    pb::Record::descriptor()->file()->dependency(0)->CopyTo(schema);
    pb::Record::descriptor()->file()->CopyTo(
        header->mutable_schema()->add_file());
    header->set_created_unix_us(unix_now_us());
    header->set_label(options_.label);
    *header->mutable_server() = identity_;
    read_settings(*conn_, header->mutable_settings());
    pb::CollectorSettings *settings = header->mutable_collector();
    settings->set_version(kCollectorVersion);
    settings->set_frame_records(options_.frame_records);
    settings->set_frame_seconds(options_.frame_seconds);
    settings->set_rotate_bytes(options_.rotate_bytes);
    settings->set_retain_bytes(options_.retain_bytes);
    settings->set_bpf(options_.bpf + (io_.active() ? " (loaded)" : ""));
    settings->set_io_stats(io_.active());
    settings->set_syscall_stats(io_.syscalls_traced());
    settings->set_syscall_tracing(syscall_tracing_setting(options_, io_));
    settings->set_batch_rows(static_cast<uint32_t>(options_.batch_rows));
    header->set_file_index(file_index);
    header->set_epoch(server_epoch_);
    writer_.append(record);

    add_notice(io_.notice());
    write_catalog();
    close_frame();
    writer_.apply_retention();
}

void Collector::finish_file(bool more_follow) {
    close_frame();
    pb::Trailer trailer;
    trailer.set_closed_unix_us(unix_now_us());
    trailer.set_samples(file_samples_);
    trailer.set_first_seq(file_first_seq_);
    trailer.set_last_seq(file_samples_ > 0 ? durable_seq_ : 0);
    trailer.set_next_file_index(more_follow ? next_file_index_ : 0);
    writer_.close_file(trailer);
    if (!options_.to_stdout)
        state_file_.save({true, epoch_, durable_seq_, next_file_index_});
    export_closed_files();
}

/* Every file before the next one is closed (or was left by a collector
 * that died): into ClickHouse, without waiting for it. */
void Collector::export_closed_files() {
    if (clickhouse_)
        clickhouse_->request(next_file_index_);
}

/* Catalog facts are re-read every catalog_seconds and written into every
 * new file. */
void Collector::write_catalog() {
    if (catalog_.taken_unix_us() == 0 ||
        seconds_since(catalog_taken_) >= options_.catalog_seconds) {
        catalog_ = read_catalog_snapshot(*conn_);
        catalog_taken_ = Clock::now();
    }
    pb::Record record;
    *record.mutable_catalog() = catalog_;
    writer_.append(record);
}

void Collector::add_loss(uint64_t after_seq, uint64_t count,
                         pb::Loss::Reason reason) {
    pb::Record record;
    pb::Loss *loss = record.mutable_loss();
    loss->set_epoch(epoch_);
    loss->set_after_seq(after_seq);
    loss->set_count(count);
    loss->set_reason(reason);
    loss->set_detected_unix_us(unix_now_us());
    writer_.append(record);
    losses_total_ += count;
}

/* Something a reader of the capture should know; nothing when empty. */
void Collector::add_notice(const std::string &text) {
    if (text.empty())
        return;
    pb::Record record;
    record.mutable_notice()->set_unix_us(unix_now_us());
    record.mutable_notice()->set_text(text);
    writer_.append(record);
}

/* Makes everything built so far durable, then records how far it got. */
void Collector::close_frame() {
    if (encoder_.active() && encoder_.size() > 0) {
        std::string_view head, body;
        encoder_.record(&head, &body);
        writer_.append_encoded(head, body);
        file_samples_ += encoder_.size();
    }
    encoder_.end();
    bool had_data = !writer_.frame_empty();
    writer_.flush_frame();
    frame_started_ = Clock::now();
    if (!had_data)
        return;
    durable_seq_ = last_seq_;
    if (!options_.to_stdout)
        state_file_.save({true, epoch_, durable_seq_, next_file_index_});
    follow_open_file();
}

/* The frame just made durable goes to ClickHouse, without waiting for it
 * (--clickhouse: the open file is followed, not only the closed ones). */
void Collector::follow_open_file() {
    if (clickhouse_ && writer_.file_open())
        clickhouse_->follow(next_file_index_ - 1,
                            options_.out_dir + "/" + writer_.current_name(),
                            writer_.file_bytes());
}

/* Query texts and plans of the rows just read, fetched once each. */
void Collector::learn_definitions() {
    /* A capture keeps one text a queryid: that of the first sample's user
     * and database. */
    std::vector<QueryKey> new_queries;
    std::vector<std::pair<int64_t, uint64_t>> new_plans;
    std::unordered_set<int64_t> queries_seen;
    for (const SampleRow &row : rows_) {
        if (row.queryid != 0 && !definitions_.has_query(row.queryid) &&
            queries_seen.insert(row.queryid).second)
            new_queries.push_back({row.userid, row.dbid, row.queryid});
        if (row.planid != 0 && !definitions_.has_plan(row.queryid, row.planid))
            new_plans.emplace_back(row.queryid, row.planid);
    }
    /* each (queryid, planid) once */
    std::sort(new_plans.begin(), new_plans.end());
    new_plans.erase(std::unique(new_plans.begin(), new_plans.end()),
                    new_plans.end());
    if (!new_queries.empty()) {
        auto texts = server_definitions_->query_texts(new_queries);
        for (const QueryKey &q : new_queries) {
            auto found = texts.find(q.queryid);
            definitions_.add_query(q.queryid, found == texts.end()
                                                  ? std::string()
                                                  : found->second);
            if (metrics_ && found != texts.end())
                metrics_->add_text(q.queryid, found->second);
        }
    }
    for (pb::Plan &plan : server_definitions_->plans(new_plans))
        definitions_.add_plan(std::move(plan));
}

void Collector::encode_rows() {
    actuals_seqs_.clear();
    for (size_t row_index = 0; row_index < rows_.size(); ++row_index) {
        const SampleRow &row = rows_[row_index];
        if (row.seq <= last_seq_)
            continue; /* never twice, whatever the server returns */
        if (row.seq > last_seq_ + 1)
            add_loss(last_seq_, row.seq - last_seq_ - 1, pb::Loss::OVERWRITTEN);
        SampleRefs refs;
        refs.application_name_id = definitions_.string_id(row.application_name);
        refs.client_addr_id = definitions_.string_id(row.client_addr);
        refs.tag_set_id = definitions_.tag_set_id(row.tags_json);
        refs.query_ref = definitions_.query_ref(row.queryid);
        refs.plan_ref = definitions_.plan_ref(row.queryid, row.planid);
        if (!encoder_.active())
            encoder_.begin(epoch_, row.seq, row.start_unix_us);
        encoder_.add(row, refs, io_.facts_of(row_index),
                     io_.syscalls_of(row_index));
        if (row.has_node_actuals)
            actuals_seqs_.push_back(row.seq);
        if (file_first_seq_ == 0)
            file_first_seq_ = row.seq;
        last_seq_ = row.seq;
        ++samples_total_;
        if (metrics_)
            metrics_->add_sample(row, io_.facts_of(row_index));
        if ((samples_total_ & 1023) == 0)
            source_->pump();
        if (encoder_.size() >= options_.frame_records)
            close_frame();
    }
}

void Collector::fetch_node_actuals() {
    if (actuals_seqs_.empty())
        return;
    for (pb::NodeActuals &actuals :
         server_definitions_->node_actuals(actuals_seqs_)) {
        pb::Record record;
        actuals.set_epoch(epoch_);
        *record.mutable_node_actuals() = std::move(actuals);
        writer_.append(record);
    }
}

/* One read of the ring; true when it returned a full batch (more waits).
 * After a full batch the next one is requested at once, so the server
 * builds it while this one is encoded and written. */
bool Collector::drain_once() {
    if (!source_->requested())
        source_->request(last_seq_, options_.batch_rows);
    source_->receive(rows_);
    if (rows_.empty())
        return false;
    bool full = static_cast<int>(rows_.size()) >= options_.batch_rows;
    if (full)
        source_->request(std::max(last_seq_, rows_.back().seq),
                         options_.batch_rows);
    learn_definitions();
    io_.take(rows_);
    encode_rows();
    fetch_node_actuals();
    return full;
}

/* The BPF programs' per-CPU slice rings hold about 0.2 s of a CPU running
 * short statements back to back: they are read 4 times as often, with no
 * system call, while the ring is read every poll_seconds. */
void Collector::pause_between_reads() {
    constexpr double kSliceReadSeconds = 0.05;
    double left = options_.poll_seconds;
    while (left > 0 && !g_stop) {
        double step = io_.active() ? std::min(left, kSliceReadSeconds) : left;
        pause_for(step);
        io_.read_slices();
        left -= step;
    }
}

void Collector::poll_status() {
    RingStatus status = read_ring_status(*conn_);
    server_epoch_ = status.epoch;
    if (status.epoch != epoch_ || status.head_seq < last_seq_) {
        close_frame();
        follow_epoch(status);
    }
    last_head_seq_ = status.head_seq;
    last_status_ = Clock::now();
    if (metrics_)
        metrics_->set_status(status, last_seq_, losses_total_);
    add_notice(io_.housekeeping(*conn_));
}

/* What following the open files for ClickHouse read, in bytes of the
 * files: each pass reads only what was added since the one before. */
void Collector::report_following(const FollowStats &stats) {
    fprintf(stderr,
            "qprof collect: ClickHouse followed the open files in %llu "
            "passes, which read %llu bytes of them (%llu at most in one "
            "pass; %llu passes from a file's start again)\n",
            static_cast<unsigned long long>(stats.passes),
            static_cast<unsigned long long>(stats.bytes_read),
            static_cast<unsigned long long>(stats.largest_pass_bytes),
            static_cast<unsigned long long>(stats.passes_from_start));
}

void Collector::report_progress(bool final_line) {
    if (!progress_)
        return;
    /* The rate since the previous line (the whole run for the last one). */
    double elapsed =
        final_line ? seconds_since(started_) : seconds_since(last_progress_);
    uint64_t samples =
        final_line ? samples_total_ : samples_total_ - samples_at_progress_;
    fprintf(stderr,
            "\r%llu samples  %.0f samples/s  %s written  %llu lost  %s   ",
            static_cast<unsigned long long>(samples_total_),
            elapsed > 0 ? samples / elapsed : 0.0,
            human_bytes(writer_.total_bytes_written()).c_str(),
            static_cast<unsigned long long>(losses_total_),
            writer_.current_name().c_str());
    if (final_line)
        fputc('\n', stderr);
    fflush(stderr);
    last_progress_ = Clock::now();
    samples_at_progress_ = samples_total_;
}

int Collector::run() {
    started_ = last_progress_ = Clock::now();
    if (!options_.metrics_listen.empty()) {
        metrics_ = std::make_unique<Metrics>(
            MetricsOptions{options_.metrics_statements, options_.metrics_groups,
                           options_.metrics_rebalance_seconds});
        Metrics *metrics = metrics_.get();
        metrics_server_ = std::make_unique<MetricsHttpServer>(
            options_.metrics_listen,
            [metrics] { return metrics->exposition(); });
    }
    if (!options_.clickhouse_url.empty())
        clickhouse_ = std::make_unique<FolderExportThread>(
            options_.clickhouse_url, options_.clickhouse_database,
            options_.out_dir, options_.delete_exported);
    connect();
    IoAttributionOptions bpf;
    bpf.mode = options_.bpf;
    bpf.syscalls = options_.bpf_syscalls;
    bpf.windows = SyscallWindows{options_.bpf_syscall_windows,
                                 options_.bpf_syscall_window_seconds,
                                 options_.bpf_syscall_period_seconds};
    bpf.map_entries = options_.bpf_map_entries;
    io_.start(bpf, source_->reads_memory(), *conn_);
    if (options_.once && io_.active())
        fprintf(stderr,
                "qprof collect: --once with BPF: the samples already in the "
                "ring are of executions that began before the programs were "
                "attached, and carry no I/O stats; to have them, run the "
                "collector while the workload runs\n");

    ResumePoint resume;
    if (!options_.to_stdout) {
        resume = find_resume_point(options_.out_dir);
        next_file_index_ = resume.next_file_index;
    }
    std::string notice;
    if (resume.known && resume.system_identifier != 0 &&
        identity_.system_identifier() != 0 &&
        resume.system_identifier != identity_.system_identifier()) {
        /* Sequence numbers of another server mean nothing here. */
        notice = "the output directory holds a capture of another server "
                 "(system identifier " +
                 std::to_string(resume.system_identifier) +
                 "); this capture starts afresh";
        fprintf(stderr, "qprof collect: %s\n", notice.c_str());
        resume.known = false;
    }
    if (resume.known) {
        position_known_ = true;
        epoch_ = resume.epoch;
        last_seq_ = durable_seq_ = resume.last_seq;
    }
    /* what an earlier collector of this folder closed or left behind */
    export_closed_files();
    RingStatus status = read_ring_status(*conn_);
    server_epoch_ = status.epoch;
    start_file();
    add_notice(notice);
    follow_epoch(status);
    durable_seq_ = last_seq_;
    last_status_ = Clock::now();
    frame_started_ = Clock::now();

    try {
        capture_loop();
    } catch (const ServerError &) {
        /* Keep what was read; the error is reported by the caller. */
        finish_file(false);
        throw;
    }
    finish_file(false);
    report_progress(true);
    if (clickhouse_) {
        bool complete = clickhouse_->finish(next_file_index_).empty();
        report_following(clickhouse_->follow_stats());
        if (!complete) {
            fprintf(stderr,
                    "qprof collect: the last files are not in ClickHouse; the "
                    "next qprof collect --clickhouse of this folder loads "
                    "them\n");
            return kExitServer;
        }
    }
    return kExitOk;
}

void Collector::capture_loop() {
    bool connected = true;
    while (!should_stop()) {
        try {
            if (!connected) {
                connect();
                connected = true;
                std::string followed = io_.follow_server(*conn_);
                if (!followed.empty()) {
                    fprintf(stderr, "qprof collect: %s\n", followed.c_str());
                    add_notice(followed);
                }
                poll_status();
            }
            bool more = drain_once();
            if (seconds_since(last_status_) >= 1.0)
                poll_status();
            if (!writer_.frame_empty() || encoder_.size() > 0) {
                if (seconds_since(frame_started_) >= options_.frame_seconds ||
                    options_.once)
                    close_frame();
            } else {
                frame_started_ = Clock::now();
            }
            if (writer_.wants_rotation()) {
                finish_file(true);
                start_file();
            } else if (seconds_since(catalog_taken_) >=
                       options_.catalog_seconds) {
                write_catalog();
            }
            if (progress_ && seconds_since(last_progress_) >= 1.0)
                report_progress(false);
            if (!more) {
                if (options_.once)
                    break;
                pause_between_reads();
            }
        } catch (const ConnectionLost &lost) {
            /* Keep what we have, then wait for the server to come back. */
            close_frame();
            if (connected)
                fprintf(stderr, "qprof collect: %s; reconnecting\n",
                        lost.what());
            connected = false;
            if (options_.once)
                throw;
            pause_for(1.0);
        } catch (const ServerError &refused) {
            if (connected)
                throw;
            /* Still restarting: the server refuses connections for now. */
            pause_for(1.0);
        }
    }
}

void on_stop_signal(int) {
    g_stop = 1;
}

} // namespace

void request_stop() {
    g_stop = 1;
}

int run_collect(const CollectOptions &options) {
    if (!options.to_stdout) {
        struct stat st;
        if (stat(options.out_dir.c_str(), &st) != 0 && errno == ENOENT &&
            mkdir(options.out_dir.c_str(), 0700) != 0)
            throw CaptureIoError(describe_errno(
                "cannot create directory " + options.out_dir, errno));
        if (access(options.out_dir.c_str(), W_OK) != 0)
            throw CaptureIoError(
                describe_errno("cannot write into " + options.out_dir, errno));
    }
    /* Each batch allocates and frees a large libpq result: keep the memory
     * instead of giving it back to the kernel and faulting it in again. */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 64 << 20);

    /* No SA_RESTART: a signal must interrupt the pause between polls. */
    struct sigaction action = {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
    signal(SIGPIPE, SIG_IGN);

    Collector collector(options);
    return collector.run();
}

} // namespace qprof
