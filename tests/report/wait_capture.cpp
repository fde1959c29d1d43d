/*
 * wait_capture — writes a small capture with known waits (real capture
 * files, through the collector's writer, definition tables and sample
 * codec), for the tests of what `qprof report` says of them
 * (tests/t/186_report_waits.pl):
 *   - 4 rounds of a row lock: backend 202 updates the row (route /pay),
 *     sleeps 0.5 s in its transaction and commits; backend 101's
 *     SELECT ... FOR UPDATE (route /checkout) waits 489 ms of its 493 ms
 *     on Lock:transactionid;
 *   - 6 backends run a CPU-bound statement at once (route /report): 1 s
 *     each, 330 ms on the CPU, 660 ms in the run queue (66 waits), 10 ms
 *     with no wait event;
 *   - 20 inserts (route /log) of 10 ms: 5 ms on the CPU, 4 ms on
 *     LWLock:WALWrite (2 waits), 1 ms on IO:WALWrite;
 *   - one statement without kernel facts (route /health).
 * Every time is exact, so the test checks the report's numbers.
 *
 * usage: wait_capture --out DIR
 */
#include "capture_format.h"
#include "capture_writer.h"
#include "definition_tables.h"
#include "exec_io.h"
#include "qprof.pb.h"
#include "sample_codec.h"
#include "sample_row.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

namespace pb = qprof::capture::v1;

namespace {

constexpr int64_t kBeginUs = 1796601600ll * 1000000; /* 2026-12-07 UTC */
constexpr uint32_t kLockTransactionId = 0x03000005;
constexpr uint32_t kTimeoutPgSleep = 0x09000002;
constexpr uint32_t kLWLockWALWrite = 0x01000008;
constexpr uint32_t kIOWALWrite = 0x0A000048;
constexpr uint64_t kMs = 1000000;

struct Statement {
    int64_t queryid;
    const char *text;
    int cmd;
    const char *route;
};

const Statement kUpdate = {101,
                           "UPDATE accounts SET balance = balance - $1 "
                           "WHERE id = $2",
                           pb::CMD_UPDATE, "/pay"};
const Statement kSleep = {102, "SELECT pg_sleep($1)", pb::CMD_SELECT, "/pay"};
const Statement kCommit = {103, "COMMIT", pb::CMD_UTILITY, "/pay"};
const Statement kForUpdate = {104,
                              "SELECT balance FROM accounts WHERE id = $1 "
                              "FOR UPDATE",
                              pb::CMD_SELECT, "/checkout"};
const Statement kBusy = {105, "SELECT sum(g) FROM generate_series($1, $2) g",
                         pb::CMD_SELECT, "/report"};
const Statement kInsert = {106, "INSERT INTO events (kind) VALUES ($1)",
                           pb::CMD_INSERT, "/log"};
const Statement kHealth = {107, "SELECT $1", pb::CMD_SELECT, "/health"};

class WaitCapture {
  public:
    explicit WaitCapture(const std::string &out)
        : writer_(options(out)), defs_(writer_) {}

    void run() {
        start_file();
        for (int round = 0; round < 4; ++round)
            lock_round(kBeginUs + round * 2000000ll);
        int64_t t = kBeginUs + 10000000;
        for (int32_t pid = 301; pid <= 306; ++pid) {
            qprof::ExecIo io;
            io.oncpu_ns = 330 * kMs;
            io.runqueue_ns = 660 * kMs;
            io.runqueue_waits = 66;
            io.wait_class_ns[0] = 10 * kMs;
            io.wait_class_count[0] = 3;
            io.offcpu_other_ns = 670 * kMs;
            emit(kBusy, pid, t, 1000 * kMs, &io);
        }
        t = kBeginUs + 12000000;
        for (int i = 0; i < 20; ++i) {
            qprof::ExecIo io;
            io.oncpu_ns = 5 * kMs;
            wait(io, kLWLockWALWrite, 2, 4 * kMs);
            wait(io, kIOWALWrite, 1, 1 * kMs);
            io.offcpu_io_ns = 1 * kMs;
            io.offcpu_other_ns = 4 * kMs;
            emit(kInsert, 401, t + i * 20000, 10 * kMs, &io, 1);
        }
        emit(kHealth, 501, kBeginUs + 13000000, 1 * kMs, nullptr);
        finish_file();
        std::printf("wait_capture: %llu samples\n",
                    static_cast<unsigned long long>(seq_));
    }

  private:
    static qprof::CaptureWriterOptions options(const std::string &out) {
        qprof::CaptureWriterOptions w;
        w.dir = out;
        w.rotate_seconds = 0;
        return w;
    }

    static void wait(qprof::ExecIo &io, uint32_t event, uint64_t count,
                     uint64_t ns) {
        io.wait_class_ns[event >> 24] += ns;
        io.wait_class_count[event >> 24] += count;
        io.add_wait_event(event, count, ns);
    }

    /* Backend 202 holds the row 0.5 s; backend 101 waits for it. */
    void lock_round(int64_t t) {
        qprof::ExecIo update;
        update.oncpu_ns = 1 * kMs;
        emit(kUpdate, 202, t, 1 * kMs, &update, 1);
        qprof::ExecIo sleep;
        sleep.oncpu_ns = kMs / 10;
        wait(sleep, kTimeoutPgSleep, 1, 499 * kMs + 9 * kMs / 10);
        sleep.offcpu_other_ns = 499 * kMs + 9 * kMs / 10;
        emit(kSleep, 202, t + 1000, 500 * kMs, &sleep);
        qprof::ExecIo commit;
        commit.oncpu_ns = 1 * kMs;
        emit(kCommit, 202, t + 501000, 1 * kMs, &commit, 1);
        qprof::ExecIo waiter;
        waiter.oncpu_ns = 2 * kMs;
        waiter.runqueue_ns = 1 * kMs;
        waiter.runqueue_waits = 1;
        wait(waiter, kLockTransactionId, 1, 489 * kMs);
        waiter.wait_class_ns[0] = 1 * kMs;
        waiter.wait_class_count[0] = 1;
        waiter.offcpu_other_ns = 491 * kMs;
        emit(kForUpdate, 101, t + 10000, 493 * kMs, &waiter, 1);
    }

    void emit(const Statement &st, int32_t pid, int64_t start_us,
              uint64_t elapsed_ns, const qprof::ExecIo *io,
              uint64_t wal_records = 0) {
        qprof::SampleRow row;
        row.seq = ++seq_;
        row.pid = pid;
        row.exec_id = ++exec_id_;
        row.toplevel = true;
        row.dbid = 16384;
        row.userid = 10;
        row.application_name = "shop";
        row.tags_json = std::string("{\"route\":\"") + st.route + "\"}";
        row.queryid = st.queryid;
        row.cmd = st.cmd;
        row.exec_time_ns = elapsed_ns;
        row.start_unix_us = start_us;
        row.end_unix_us = start_us + static_cast<int64_t>(elapsed_ns / 1000);
        row.rows = 1;
        row.wal_records = wal_records;
        row.wal_bytes = wal_records * 100;
        qprof::SampleRefs refs;
        refs.application_name_id = defs_.string_id(row.application_name);
        refs.client_addr_id = defs_.string_id(row.client_addr);
        refs.tag_set_id = defs_.tag_set_id(row.tags_json);
        if (!defs_.has_query(st.queryid))
            defs_.add_query(st.queryid, st.text);
        refs.query_ref = defs_.query_ref(st.queryid);
        if (!encoder_.active())
            encoder_.begin(1, row.seq, row.start_unix_us);
        encoder_.add(row, refs, io, false);
    }

    void start_file() {
        writer_.open_file(1); /* indices start at 1 */
        defs_.new_file();
        pb::Record record;
        pb::Header *h = record.mutable_header();
        h->set_format_version(qprof::kFormatVersion);
        pb::Record::descriptor()->file()->dependency(0)->CopyTo(
            h->mutable_schema()->add_file());
        pb::Record::descriptor()->file()->CopyTo(
            h->mutable_schema()->add_file());
        h->set_created_unix_us(kBeginUs);
        h->set_label("waits");
        pb::ServerIdentity *s = h->mutable_server();
        s->set_system_identifier(7300000000000000029ull);
        s->set_version("PostgreSQL 15.10 (wait_capture) on x86_64");
        s->set_version_num(150010);
        s->set_host("/var/run/postgresql");
        s->set_port(5432);
        s->set_database("shop");
        const std::pair<const char *, const char *> kSettings[] = {
            {"pg_qprof.sample_rate", "1"},
            {"pg_qprof.track", "top"},
            {"pg_qprof.min_duration", "0"}};
        for (const auto &kv : kSettings) {
            pb::Setting *setting = h->add_settings();
            setting->set_name(kv.first);
            setting->set_value(kv.second);
        }
        pb::CollectorSettings *c = h->mutable_collector();
        c->set_version(qprof::kCollectorVersion);
        c->set_frame_records(8192);
        c->set_frame_seconds(1);
        c->set_bpf("on (loaded)");
        c->set_io_stats(true);
        c->set_syscall_tracing("off");
        h->set_file_index(1);
        h->set_epoch(1);
        writer_.append(record);
        writer_.flush_frame();
    }

    void finish_file() {
        if (encoder_.active() && encoder_.size() > 0) {
            std::string_view head, body;
            encoder_.record(&head, &body);
            writer_.append_encoded(head, body);
        }
        encoder_.end();
        writer_.flush_frame();
        pb::Trailer trailer;
        trailer.set_closed_unix_us(kBeginUs + 20000000);
        trailer.set_samples(seq_);
        trailer.set_first_seq(1);
        trailer.set_last_seq(seq_);
        writer_.close_file(trailer);
    }

    qprof::CaptureWriter writer_;
    qprof::DefinitionTables defs_;
    qprof::SampleBlockEncoder encoder_;
    uint64_t seq_ = 0, exec_id_ = 0;
};

} // namespace

int main(int argc, char **argv) {
    if (argc != 3 || std::strcmp(argv[1], "--out") != 0) {
        std::fprintf(stderr, "usage: wait_capture --out DIR\n");
        return 2;
    }
    try {
        WaitCapture(argv[2]).run();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "wait_capture: %s\n", e.what());
        return 1;
    }
    return 0;
}
