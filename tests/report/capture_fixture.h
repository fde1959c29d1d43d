/*
 * capture_fixture.h — writes a capture of made-up executions through the
 * collector's own writer, definition tables and sample codec (real capture
 * files), for the tests that need kernel facts a test without BPF cannot
 * record: the programs beside it (wait_capture, io_wait_capture,
 * diff_wait_capture) each describe their executions and hand them to it.
 */
#pragma once

#include "capture_format.h"
#include "capture_writer.h"
#include "definition_tables.h"
#include "exec_io.h"
#include "qprof.pb.h"
#include "sample_codec.h"
#include "sample_row.h"

#include <cstdint>
#include <cstdio>
#include <string>

namespace fixture {

namespace pb = qprof::capture::v1;

constexpr int64_t kBeginUs = 1796601600ll * 1000000; /* 2026-12-07 UTC */
constexpr uint64_t kMs = 1000000;

/* wait_event_info values of PostgreSQL 15 */
constexpr uint32_t kLWLockWALWrite = 0x01000008;
constexpr uint32_t kLockTransactionId = 0x03000005;
constexpr uint32_t kTimeoutPgSleep = 0x09000002;
constexpr uint32_t kIOWALWrite = 0x0A000048;

struct Statement {
    int64_t queryid;
    const char *text;
    int cmd; /* pb::CmdType */
    const char *route;
};

/* What the capture says of itself and its server. */
struct Identity {
    const char *label;
    uint64_t system_identifier;
    const char *database;
    const char *application; /* every execution's application_name */
};

/* `ns` of off-CPU time in `count` periods credited to `event` and its
 * class, as the BPF programs count it. */
inline void add_wait(qprof::ExecIo &io, uint32_t event, uint64_t count,
                     uint64_t ns) {
    io.wait_class_ns[event >> 24] += ns;
    io.wait_class_count[event >> 24] += count;
    io.add_wait_event(event, count, ns);
}

/* One capture file in `dir`: opened by the constructor, closed by
 * finish(). */
class Capture {
  public:
    Capture(const std::string &dir, const Identity &id)
        : writer_(options(dir)), defs_(writer_), id_(id) {
        start_file();
    }

    /* One top-level execution of `st` by backend `pid`; `io` null: no
     * kernel facts; `request`: its request_id tag, none when empty. */
    void emit(const Statement &st, int32_t pid, int64_t start_us,
              uint64_t elapsed_ns, const qprof::ExecIo *io,
              uint64_t wal_records = 0, uint64_t shared_blks_hit = 0,
              const std::string &request = "") {
        qprof::SampleRow row;
        row.seq = ++seq_;
        row.pid = pid;
        row.exec_id = ++exec_id_;
        row.toplevel = true;
        row.dbid = 16384;
        row.userid = 10;
        row.application_name = id_.application;
        row.tags_json = std::string("{\"route\":\"") + st.route + "\"";
        if (!request.empty())
            row.tags_json += ",\"request_id\":\"" + request + "\"";
        row.tags_json += "}";
        row.queryid = st.queryid;
        row.cmd = st.cmd;
        row.exec_time_ns = elapsed_ns;
        row.start_unix_us = start_us;
        row.end_unix_us = start_us + static_cast<int64_t>(elapsed_ns / 1000);
        row.rows = 1;
        row.shared_blks_hit = shared_blks_hit;
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

    /* Writes the last samples and the trailer; returns the samples. */
    uint64_t finish() {
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
        return seq_;
    }

  private:
    static qprof::CaptureWriterOptions options(const std::string &dir) {
        qprof::CaptureWriterOptions w;
        w.dir = dir;
        w.rotate_seconds = 0;
        return w;
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
        h->set_label(id_.label);
        pb::ServerIdentity *s = h->mutable_server();
        s->set_system_identifier(id_.system_identifier);
        s->set_version(std::string("PostgreSQL 15.10 (") + id_.label +
                       ") on x86_64");
        s->set_version_num(150010);
        s->set_host("/var/run/postgresql");
        s->set_port(5432);
        s->set_database(id_.database);
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

    qprof::CaptureWriter writer_;
    qprof::DefinitionTables defs_;
    qprof::SampleBlockEncoder encoder_;
    Identity id_;
    uint64_t seq_ = 0, exec_id_ = 0;
};

} // namespace fixture
