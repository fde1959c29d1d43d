/*
 * io_wait_capture — writes a small capture with a known I/O wait (real
 * capture files, through the collector's writer, definition tables and
 * sample codec), for the test of what `qprof diff` says of a change of I/O
 * wait (tests/t/182_diff_io_wait.pl), which needs kernel facts that a test
 * without BPF cannot record:
 *   - 220 reads (route /blob), each 1 ms on the CPU and an I/O wait of
 *     --io-wait-us times 0.5 to 1.5 (the same spread in every capture);
 *   - 220 statements without kernel facts (route /health), 1 ms each.
 *
 * usage: io_wait_capture --out DIR --io-wait-us N
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
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

namespace pb = qprof::capture::v1;

namespace {

constexpr int64_t kBeginUs = 1796601600ll * 1000000; /* 2026-12-07 UTC */
constexpr uint64_t kMs = 1000000;

struct Statement {
    int64_t queryid;
    const char *text;
    const char *route;
};

const Statement kRead = {201, "SELECT payload FROM blobs WHERE id = $1",
                         "/blob"};
const Statement kHealth = {202, "SELECT $1", "/health"};

class IoWaitCapture {
  public:
    IoWaitCapture(const std::string &out, uint64_t io_wait_us)
        : writer_(options(out)), defs_(writer_), io_wait_us_(io_wait_us) {}

    void run() {
        start_file();
        int64_t t = kBeginUs;
        for (int i = 0; i < 220; ++i) {
            uint64_t io_wait_ns = io_wait_us_ * 1000 * (5 + i % 11) / 10;
            qprof::ExecIo io;
            io.oncpu_ns = 1 * kMs;
            io.offcpu_io_ns = io_wait_ns;
            emit(kRead, 101, t, 1 * kMs + io_wait_ns, &io);
            t += 10000;
            emit(kHealth, 102, t, 1 * kMs, nullptr);
            t += 10000;
        }
        finish_file();
        std::printf("io_wait_capture: %llu samples\n",
                    static_cast<unsigned long long>(seq_));
    }

  private:
    static qprof::CaptureWriterOptions options(const std::string &out) {
        qprof::CaptureWriterOptions w;
        w.dir = out;
        w.rotate_seconds = 0;
        return w;
    }

    void emit(const Statement &st, int32_t pid, int64_t start_us,
              uint64_t elapsed_ns, const qprof::ExecIo *io) {
        qprof::SampleRow row;
        row.seq = ++seq_;
        row.pid = pid;
        row.exec_id = ++exec_id_;
        row.toplevel = true;
        row.dbid = 16384;
        row.userid = 10;
        row.application_name = "blobs";
        row.tags_json = std::string("{\"route\":\"") + st.route + "\"}";
        row.queryid = st.queryid;
        row.cmd = pb::CMD_SELECT;
        row.exec_time_ns = elapsed_ns;
        row.start_unix_us = start_us;
        row.end_unix_us = start_us + static_cast<int64_t>(elapsed_ns / 1000);
        row.rows = 1;
        row.shared_blks_hit = 4;
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
        h->set_label("io-wait");
        pb::ServerIdentity *s = h->mutable_server();
        s->set_system_identifier(7300000000000000182ull);
        s->set_version("PostgreSQL 15.10 (io_wait_capture) on x86_64");
        s->set_version_num(150010);
        s->set_host("/var/run/postgresql");
        s->set_port(5432);
        s->set_database("blobs");
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
    uint64_t io_wait_us_;
    uint64_t seq_ = 0, exec_id_ = 0;
};

} // namespace

int main(int argc, char **argv) {
    if (argc != 5 || std::strcmp(argv[1], "--out") != 0 ||
        std::strcmp(argv[3], "--io-wait-us") != 0) {
        std::fprintf(stderr,
                     "usage: io_wait_capture --out DIR --io-wait-us N\n");
        return 2;
    }
    try {
        IoWaitCapture(argv[2], std::strtoull(argv[4], nullptr, 10)).run();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "io_wait_capture: %s\n", e.what());
        return 1;
    }
    return 0;
}
