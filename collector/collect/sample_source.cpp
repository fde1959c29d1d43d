#include "sample_source.h"
#include "errors.h"
#include "json_text.h"
#include "packed_samples.h"
#include "sample.h"
#include "qprof.pb.h"

#include <arpa/inet.h>
#include <cmath>
#include <cstring>
#include <map>

namespace qprof {

namespace pb = capture::v1;

namespace {

/* PostgreSQL timestamps count from 2000-01-01. */
constexpr int64_t kPgEpochUnixUs = 946684800LL * 1000000;

/* Readers of the binary wire format (network byte order). */
uint64_t be64(const char *p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return be64toh(v);
}

uint32_t be32(const char *p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return be32toh(v);
}

double float8(const char *p) {
    uint64_t bits = be64(p);
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
}

/* Milliseconds (as the SQL API reports) to whole nanoseconds. */
uint64_t ms_to_ns(double ms) {
    return ms > 0 ? static_cast<uint64_t>(std::llround(ms * 1e6)) : 0;
}

/* inet in binary: family, bits, is_cidr, length, address bytes. */
std::string inet_text(const char *p, int length) {
    if (length < 4)
        return "";
    char text[INET6_ADDRSTRLEN] = "";
    unsigned char family = static_cast<unsigned char>(p[0]);
    unsigned char address_bytes = static_cast<unsigned char>(p[3]);
    if (family == 2 && address_bytes == 4 && length >= 8)
        inet_ntop(AF_INET, p + 4, text, sizeof text);
    else if (family == 3 && address_bytes == 16 && length >= 20)
        inet_ntop(AF_INET6, p + 4, text, sizeof text);
    return text;
}

int cmd_of(const char *p, int length) {
    std::string cmd(p, static_cast<size_t>(length));
    for (char &c : cmd)
        c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
    if (cmd == "SELECT")
        return pb::CMD_SELECT;
    if (cmd == "UPDATE")
        return pb::CMD_UPDATE;
    if (cmd == "INSERT")
        return pb::CMD_INSERT;
    if (cmd == "DELETE")
        return pb::CMD_DELETE;
    if (cmd == "MERGE")
        return pb::CMD_MERGE;
    if (cmd == "UTILITY")
        return pb::CMD_UTILITY;
    return pb::CMD_UNKNOWN;
}

/* Column numbers of read_samples, looked up by name once. */
struct Columns {
    int seq, pid, exec_id, parent_exec_id, nesting_level, toplevel, dbid,
        userid, application_name, client_addr, tags, queryid, planid, cmd_type,
        start_time, end_time, plan_time_ms, exec_time_ms, rows, shared_blks_hit,
        shared_blks_read, shared_blks_dirtied, shared_blks_written,
        local_blks_hit, local_blks_read, local_blks_dirtied, local_blks_written,
        temp_blks_read, temp_blks_written, blk_read_time, blk_write_time,
        temp_blk_read_time, temp_blk_write_time, wal_records, wal_fpi,
        wal_bytes, jit_functions, jit_generation_time, jit_inlining_time,
        jit_optimization_time, jit_emission_time, parallel_workers_planned,
        parallel_workers_launched, sqlstate, has_node_actuals,
        wait_sample_interval_ms, sampled_waits;

    explicit Columns(const PgResult &r) {
#define QPROF_COLUMN(name) name = r.column(#name)
        QPROF_COLUMN(seq);
        QPROF_COLUMN(pid);
        QPROF_COLUMN(exec_id);
        QPROF_COLUMN(parent_exec_id);
        QPROF_COLUMN(nesting_level);
        QPROF_COLUMN(toplevel);
        QPROF_COLUMN(dbid);
        QPROF_COLUMN(userid);
        QPROF_COLUMN(application_name);
        QPROF_COLUMN(client_addr);
        QPROF_COLUMN(tags);
        QPROF_COLUMN(queryid);
        QPROF_COLUMN(planid);
        QPROF_COLUMN(cmd_type);
        QPROF_COLUMN(start_time);
        QPROF_COLUMN(end_time);
        QPROF_COLUMN(plan_time_ms);
        QPROF_COLUMN(exec_time_ms);
        QPROF_COLUMN(rows);
        QPROF_COLUMN(shared_blks_hit);
        QPROF_COLUMN(shared_blks_read);
        QPROF_COLUMN(shared_blks_dirtied);
        QPROF_COLUMN(shared_blks_written);
        QPROF_COLUMN(local_blks_hit);
        QPROF_COLUMN(local_blks_read);
        QPROF_COLUMN(local_blks_dirtied);
        QPROF_COLUMN(local_blks_written);
        QPROF_COLUMN(temp_blks_read);
        QPROF_COLUMN(temp_blks_written);
        QPROF_COLUMN(blk_read_time);
        QPROF_COLUMN(blk_write_time);
        QPROF_COLUMN(temp_blk_read_time);
        QPROF_COLUMN(temp_blk_write_time);
        QPROF_COLUMN(wal_records);
        QPROF_COLUMN(wal_fpi);
        QPROF_COLUMN(wal_bytes);
        QPROF_COLUMN(jit_functions);
        QPROF_COLUMN(jit_generation_time);
        QPROF_COLUMN(jit_inlining_time);
        QPROF_COLUMN(jit_optimization_time);
        QPROF_COLUMN(jit_emission_time);
        QPROF_COLUMN(parallel_workers_planned);
        QPROF_COLUMN(parallel_workers_launched);
        QPROF_COLUMN(sqlstate);
        QPROF_COLUMN(has_node_actuals);
        QPROF_COLUMN(wait_sample_interval_ms);
        QPROF_COLUMN(sampled_waits);
#undef QPROF_COLUMN
        if (seq < 0 || pid < 0 || exec_id < 0 || start_time < 0)
            throw ServerError("pg_qprof.read_samples does not return the "
                              "columns this collector knows (seq, pid, "
                              "exec_id, start_time...): version mismatch");
    }
};

/* Typed access to one binary row; a NULL or missing column reads as 0. */
class BinaryRow {
  public:
    BinaryRow(const PgResult &r, int row) : r_(r), row_(row) {}

    bool present(int column) const {
        return column >= 0 && !r_.is_null(row_, column);
    }
    int64_t int8(int column) const {
        return present(column)
                   ? static_cast<int64_t>(be64(r_.value(row_, column)))
                   : 0;
    }
    uint64_t count(int column) const {
        int64_t v = int8(column);
        return v > 0 ? static_cast<uint64_t>(v) : 0;
    }
    int32_t int4(int column) const {
        return present(column)
                   ? static_cast<int32_t>(be32(r_.value(row_, column)))
                   : 0;
    }
    bool boolean(int column) const {
        return present(column) && r_.value(row_, column)[0] != 0;
    }
    uint64_t duration_ns(int column) const {
        return present(column) ? ms_to_ns(float8(r_.value(row_, column))) : 0;
    }
    int64_t unix_us(int column) const {
        return present(column) ? int8(column) + kPgEpochUnixUs : 0;
    }
    void text(int column, std::string &out) const {
        if (present(column))
            out.assign(r_.value(row_, column),
                       static_cast<size_t>(r_.length(row_, column)));
        else
            out.clear();
    }
    const char *raw(int column) const { return r_.value(row_, column); }
    int length(int column) const { return r_.length(row_, column); }

  private:
    const PgResult &r_;
    int row_;
};

/* The sampled waits: the interval, and the jsonb of ms per class (a version
 * byte, then {"Lock": 500.000, ...}) turned back into ticks. */
void read_sampled_waits(const BinaryRow &b, const Columns &c, SampleRow &s) {
    s.sampled_wait_ticks.fill(0);
    s.wait_sample_interval_us =
        static_cast<uint32_t>(b.duration_ns(c.wait_sample_interval_ms) / 1000);
    std::map<std::string, std::string> classes;
    if (s.wait_sample_interval_us == 0 || !b.present(c.sampled_waits) ||
        b.length(c.sampled_waits) < 2 ||
        !parse_flat_json_object(
            std::string(b.raw(c.sampled_waits) + 1,
                        static_cast<size_t>(b.length(c.sampled_waits) - 1)),
            classes))
        return;
    for (const auto &cls : classes) {
        size_t slot = 1;
        while (slot < kWaitClasses &&
               cls.first != sampled_wait_class_name(static_cast<int>(slot)))
            ++slot;
        double ms = strtod(cls.second.c_str(), nullptr);
        if (slot < kWaitClasses && ms > 0)
            s.sampled_wait_ticks[slot] = static_cast<uint32_t>(
                std::llround(ms * 1000 / s.wait_sample_interval_us));
    }
}

} // namespace

void verify_sample_access(PgConnection &conn) {
    PgResult ext =
        conn.exec("SELECT pg_catalog.to_regprocedure("
                  "'pg_qprof.read_samples(bigint,integer)') IS NOT NULL,"
                  " pg_catalog.current_database(), current_user");
    if (ext.text(0, 0) != "t")
        throw ServerError("extension pg_qprof is not installed in database \"" +
                          ext.text(0, 1) +
                          "\": run CREATE EXTENSION pg_qprof there (the "
                          "library must also be in shared_preload_libraries)");
    PgResult rights =
        conn.exec("SELECT pg_catalog.has_function_privilege("
                  "'pg_qprof.read_samples(bigint,integer)', 'EXECUTE')");
    if (rights.text(0, 0) != "t")
        throw ServerError("role \"" + ext.text(0, 2) +
                          "\" may not read samples: grant it "
                          "pg_read_all_stats (GRANT pg_read_all_stats TO " +
                          ext.text(0, 2) + ") or use a superuser");
}

RingStatus read_ring_status(PgConnection &conn) {
    PgResult r = conn.exec(
        "SELECT epoch, capacity, head_seq, oldest_seq, samples_overwritten, "
        "samples_dropped, reset_seq FROM pg_qprof.status()");
    RingStatus s;
    auto number = [&r](int column) -> uint64_t {
        return r.is_null(0, column)
                   ? 0
                   : std::strtoull(r.value(0, column), nullptr, 10);
    };
    s.epoch = number(0);
    s.capacity = number(1);
    s.head_seq = number(2);
    s.oldest_seq = number(3);
    s.samples_overwritten = number(4);
    s.samples_dropped = number(5);
    s.reset_seq = number(6);
    return s;
}

void SampleSource::request(uint64_t after_seq, int max_rows) {
    requested_ = true;
    if (memory_) {
        /* read when received, so that the freshest samples come */
        after_seq_ = after_seq;
        max_rows_ = max_rows;
        return;
    }
    if (!prepared_) {
        /* raw sample structs when the extension offers them: far less work
         * for the server than one datum per column */
        packed_ = conn_
                      ->exec("SELECT pg_catalog.to_regprocedure("
                             "'pg_qprof.read_samples_packed(bigint,integer)') "
                             "IS NOT NULL")
                      .text(0, 0) == "t";
        conn_->prepare("qprof_read_samples",
                       packed_
                           ? "SELECT pg_qprof.read_samples_packed($1::bigint,"
                             " $2::integer)"
                           : "SELECT * FROM pg_qprof.read_samples($1::bigint,"
                             " $2::integer)",
                       2);
        prepared_ = true;
    }
    conn_->send_prepared("qprof_read_samples",
                         {std::to_string(after_seq), std::to_string(max_rows)},
                         true);
}

void SampleSource::pump() {
    if (requested_ && conn_)
        PQconsumeInput(conn_->raw());
}

void SampleSource::receive(std::vector<SampleRow> &rows) {
    requested_ = false;
    if (memory_) {
        memory_->read(after_seq_, max_rows_, rows);
        return;
    }
    PgResult r = conn_->receive("qprof_read_samples");
    if (packed_) {
        decode_packed_samples(r.value(0, 0),
                              static_cast<size_t>(r.length(0, 0)), rows);
        return;
    }
    Columns c(r);
    int n = r.rows();
    rows.resize(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        BinaryRow b(r, i);
        SampleRow &s = rows[static_cast<size_t>(i)];
        s.seq = b.count(c.seq);
        s.pid = b.int4(c.pid);
        s.exec_id = b.count(c.exec_id);
        s.parent_exec_id = b.count(c.parent_exec_id);
        s.nesting_level = static_cast<uint32_t>(b.int4(c.nesting_level));
        s.toplevel = b.boolean(c.toplevel);
        s.has_node_actuals = b.boolean(c.has_node_actuals);
        s.dbid = static_cast<uint32_t>(b.int4(c.dbid));
        s.userid = static_cast<uint32_t>(b.int4(c.userid));
        b.text(c.application_name, s.application_name);
        s.client_addr =
            b.present(c.client_addr)
                ? inet_text(b.raw(c.client_addr), b.length(c.client_addr))
                : std::string();
        /* jsonb in binary is a version byte followed by the JSON text. */
        if (b.present(c.tags) && b.length(c.tags) > 1)
            s.tags_json.assign(b.raw(c.tags) + 1,
                               static_cast<size_t>(b.length(c.tags) - 1));
        else
            s.tags_json.clear();
        if (s.tags_json == "{}" || s.tags_json == "null")
            s.tags_json.clear();
        s.queryid = b.int8(c.queryid);
        s.planid = static_cast<uint64_t>(b.int8(c.planid));
        s.cmd = b.present(c.cmd_type)
                    ? cmd_of(b.raw(c.cmd_type), b.length(c.cmd_type))
                    : 0;
        s.start_unix_us = b.unix_us(c.start_time);
        s.end_unix_us = b.unix_us(c.end_time);
        if (s.end_unix_us < s.start_unix_us)
            s.end_unix_us = s.start_unix_us;
        s.plan_time_ns = b.duration_ns(c.plan_time_ms);
        s.exec_time_ns = b.duration_ns(c.exec_time_ms);
        s.rows = b.count(c.rows);
        s.shared_blks_hit = b.count(c.shared_blks_hit);
        s.shared_blks_read = b.count(c.shared_blks_read);
        s.shared_blks_dirtied = b.count(c.shared_blks_dirtied);
        s.shared_blks_written = b.count(c.shared_blks_written);
        s.local_blks_hit = b.count(c.local_blks_hit);
        s.local_blks_read = b.count(c.local_blks_read);
        s.local_blks_dirtied = b.count(c.local_blks_dirtied);
        s.local_blks_written = b.count(c.local_blks_written);
        s.temp_blks_read = b.count(c.temp_blks_read);
        s.temp_blks_written = b.count(c.temp_blks_written);
        s.blk_read_time_ns = b.duration_ns(c.blk_read_time);
        s.blk_write_time_ns = b.duration_ns(c.blk_write_time);
        s.temp_blk_read_time_ns = b.duration_ns(c.temp_blk_read_time);
        s.temp_blk_write_time_ns = b.duration_ns(c.temp_blk_write_time);
        s.wal_records = b.count(c.wal_records);
        s.wal_fpi = b.count(c.wal_fpi);
        /* wal_bytes is numeric in pg_stat_statements; here bigint. */
        s.wal_bytes = b.count(c.wal_bytes);
        s.jit_functions = b.count(c.jit_functions);
        s.jit_generation_time_ns = b.duration_ns(c.jit_generation_time);
        s.jit_inlining_time_ns = b.duration_ns(c.jit_inlining_time);
        s.jit_optimization_time_ns = b.duration_ns(c.jit_optimization_time);
        s.jit_emission_time_ns = b.duration_ns(c.jit_emission_time);
        s.parallel_workers_planned =
            static_cast<uint32_t>(b.int4(c.parallel_workers_planned));
        s.parallel_workers_launched =
            static_cast<uint32_t>(b.int4(c.parallel_workers_launched));
        b.text(c.sqlstate, s.sqlstate);
        if (s.sqlstate == "00000")
            s.sqlstate.clear();
        read_sampled_waits(b, c, s);
    }
}

} // namespace qprof
