#include "packed_samples.h"
#include "errors.h"
#include "sample.h"
#include "sqlcommenter.h"

#include <arpa/inet.h>
#include <cstring>

namespace qprof {

static_assert(static_cast<size_t>(kSampledWaitClasses) == kWaitClasses,
              "the extension's wait classes are the capture's");

namespace {

/* PostgreSQL timestamps count from 2000-01-01. */
constexpr int64_t kPgEpochUnixUs = 946684800LL * 1000000;

uint64_t count_of(int64_t v) {
    return v > 0 ? static_cast<uint64_t>(v) : 0;
}

/* PostgreSQL packs a SQLSTATE as five 6-bit characters. */
std::string sqlstate_text(int32_t packed) {
    if (packed == 0)
        return "";
    char text[6];
    uint32_t code = static_cast<uint32_t>(packed);
    for (int i = 0; i < 5; ++i) {
        text[i] = static_cast<char>((code & 0x3F) + '0');
        code >>= 6;
    }
    text[5] = '\0';
    return std::string(text) == "00000" ? "" : text;
}

std::string client_text(const Sample &s) {
    char text[INET6_ADDRSTRLEN] = "";
    if (s.client_family == 4)
        inet_ntop(AF_INET, s.client_addr, text, sizeof text);
    else if (s.client_family == 6)
        inet_ntop(AF_INET6, s.client_addr, text, sizeof text);
    return text;
}

} // namespace

void sample_to_row(const Sample &s, SampleRow &r) {
    r.seq = s.seq;
    r.pid = s.pid;
    r.exec_id = s.exec_id;
    r.parent_exec_id = s.parent_exec_id;
    r.nesting_level = static_cast<uint32_t>(s.nesting_level);
    r.toplevel = (s.flags & kFlagTopLevel) != 0;
    r.has_node_actuals = (s.flags & kFlagNodeActuals) != 0;
    r.dbid = s.dbid;
    r.userid = s.userid;
    r.application_name.assign(s.app_name,
                              strnlen(s.app_name, sizeof(s.app_name)));
    r.client_addr = client_text(s);
    r.tags_json.clear();
    if (s.tags_len > 0 &&
        !sqlcommenter_to_json(s.tags, s.tags_len,
                              (s.flags & kFlagTagsTruncated) != 0,
                              &r.tags_json))
        r.tags_json.clear(); /* malformed comment: no tags, as in SQL */
    r.queryid = s.queryid;
    r.planid = s.planid;
    r.cmd = static_cast<int>(s.cmd); /* same numbering as CmdType */
    r.start_unix_us = s.start_ts + kPgEpochUnixUs;
    r.end_unix_us = s.end_ts + kPgEpochUnixUs;
    if (r.end_unix_us < r.start_unix_us)
        r.end_unix_us = r.start_unix_us;
    r.plan_time_ns = count_of(s.plan_time_ns);
    r.exec_time_ns = count_of(s.exec_time_ns);
    r.rows = count_of(s.rows);
    r.shared_blks_hit = count_of(s.shared_blks_hit);
    r.shared_blks_read = count_of(s.shared_blks_read);
    r.shared_blks_dirtied = count_of(s.shared_blks_dirtied);
    r.shared_blks_written = count_of(s.shared_blks_written);
    r.local_blks_hit = count_of(s.local_blks_hit);
    r.local_blks_read = count_of(s.local_blks_read);
    r.local_blks_dirtied = count_of(s.local_blks_dirtied);
    r.local_blks_written = count_of(s.local_blks_written);
    r.temp_blks_read = count_of(s.temp_blks_read);
    r.temp_blks_written = count_of(s.temp_blks_written);
    r.blk_read_time_ns = count_of(s.blk_read_time_ns);
    r.blk_write_time_ns = count_of(s.blk_write_time_ns);
    r.temp_blk_read_time_ns = count_of(s.temp_blk_read_time_ns);
    r.temp_blk_write_time_ns = count_of(s.temp_blk_write_time_ns);
    r.wal_records = count_of(s.wal_records);
    r.wal_fpi = count_of(s.wal_fpi);
    r.wal_bytes = count_of(s.wal_bytes);
    r.jit_functions = count_of(s.jit_functions);
    r.jit_generation_time_ns = count_of(s.jit_generation_time_ns);
    r.jit_inlining_time_ns = count_of(s.jit_inlining_time_ns);
    r.jit_optimization_time_ns = count_of(s.jit_optimization_time_ns);
    r.jit_emission_time_ns = count_of(s.jit_emission_time_ns);
    r.parallel_workers_planned =
        static_cast<uint32_t>(s.parallel_workers_planned);
    r.parallel_workers_launched =
        static_cast<uint32_t>(s.parallel_workers_launched);
    r.sqlstate = sqlstate_text(s.sqlstate);
    r.wait_sample_interval_us = s.wait_sample_interval_us;
    for (size_t c = 0; c < kWaitClasses; ++c)
        r.sampled_wait_ticks[c] =
            r.wait_sample_interval_us != 0 ? s.sampled_wait_ticks[c] : 0;
}

void decode_packed_samples(const char *data, size_t length,
                           std::vector<SampleRow> &rows) {
    PackedSamplesHeader header;
    if (length < sizeof(header))
        throw ServerError("pg_qprof.read_samples_packed: short answer");
    memcpy(&header, data, sizeof(header));
    if (memcmp(header.magic, kPackedSamplesMagic, sizeof(header.magic)) != 0 ||
        header.fixed_bytes != kSampleFixedBytes)
        throw ServerError("pg_qprof.read_samples_packed: samples of another "
                          "layout (extension and collector versions differ)");
    rows.resize(header.count);
    Sample sample;
    const char *p = data + sizeof(header);
    const char *end = data + length;
    uint32_t decoded = 0;
    for (; decoded < header.count; ++decoded) {
        /* the bytea is not aligned: copy before reading */
        if (static_cast<size_t>(end - p) < kSampleFixedBytes)
            break;
        memcpy(&sample, p, kSampleFixedBytes);
        size_t bytes = sample_used_bytes(sample);
        if (static_cast<size_t>(end - p) < bytes)
            break;
        memcpy(sample.tags, p + kSampleFixedBytes, bytes - kSampleFixedBytes);
        sample_to_row(sample, rows[decoded]);
        p += bytes;
    }
    if (decoded != header.count || p != end)
        throw ServerError("pg_qprof.read_samples_packed: answer of " +
                          std::to_string(length) + " bytes does not hold " +
                          std::to_string(header.count) + " samples");
}

} // namespace qprof
