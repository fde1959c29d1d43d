/*
 * sql_api.cpp — the SQL-callable functions over the ring: read_samples (the
 * collector's interface), ring_samples (behind the samples view), status,
 * reset and exec_word.
 *
 * These run in a backend on behalf of a reader, off the statement hot path.
 * They are written in plain C style: PostgreSQL errors may longjmp through
 * them, so no C++ object with a destructor lives across a PostgreSQL call;
 * the one C++ parser used here runs in its own frame and never throws.
 */
#include <arpa/inet.h>
#include <cstring>
#include <malloc.h>

extern "C" {
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "common/string.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inet.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(pg_qprof_read_samples);
PG_FUNCTION_INFO_V1(pg_qprof_ring_samples);
PG_FUNCTION_INFO_V1(pg_qprof_status);
PG_FUNCTION_INFO_V1(pg_qprof_reset);
PG_FUNCTION_INFO_V1(pg_qprof_exec_word);
PG_FUNCTION_INFO_V1(pg_qprof_ring_memory);
PG_FUNCTION_INFO_V1(pg_qprof_exclude_session);
PG_FUNCTION_INFO_V1(pg_qprof_read_samples_packed);
}

#include "executions.h"
#include "preload.h"
#include "query_texts.h"
#include "ring.h"
#include "sqlcommenter.h"
#include "word_slots.h"

using namespace qprof;

namespace {

constexpr int kSampleColumns = 47;
/* a JSON text from a tag body of kTagBytes: at most 6 bytes per byte */
constexpr size_t kTagJsonBytes = kTagBytes * 6 + 16;

void require_ring() {
    require_preloaded(ring_ready());
}

bool can_read_all_stats() {
    return superuser() ||
           has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
}

void require_read_all_stats(const char *what) {
    if (!can_read_all_stats())
        ereport(ERROR,
                (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                 errmsg("permission denied for %s", what),
                 errdetail("Only superusers and roles with privileges of "
                           "pg_read_all_stats may call it.")));
}

/* Parses the sample's tags into `out` (NUL-terminated JSON). The parser
 * keeps its std::string and exceptions to itself: this file is compiled
 * without exceptions (docs/error-contract.md). */
bool tags_json(const Sample &s, char *out, size_t cap) {
    if (s.tags_len == 0)
        return false;
    return sqlcommenter_to_json_buffer(
        s.tags, s.tags_len, (s.flags & kFlagTagsTruncated) != 0, out, cap);
}

/* The UTF-8 text `utf8` converted to the database encoding, or null when a
 * character has no equivalent there. The conversion is asked not to raise. */
const char *utf8_to_database(const char *utf8, int database_encoding) {
    Oid proc = FindDefaultConversionProc(PG_UTF8, database_encoding);
    if (!OidIsValid(proc))
        return nullptr;
    size_t len = strlen(utf8);
    size_t cap = len * MAX_CONVERSION_GROWTH + 1;
    char *converted = static_cast<char *>(palloc(cap));
    int consumed = pg_do_encoding_conversion_buf(
        proc, PG_UTF8, database_encoding,
        reinterpret_cast<unsigned char *>(const_cast<char *>(utf8)),
        static_cast<int>(len), reinterpret_cast<unsigned char *>(converted),
        static_cast<int>(cap), true);
    if (consumed != static_cast<int>(len)) {
        pfree(converted);
        return nullptr;
    }
    return converted;
}

/* The tags JSON text (UTF-8 without NUL, as the parser makes it) as jsonb in
 * this database. Checked before jsonb_in sees it, so that one sample's tags
 * can never make a read fail: a text this database cannot hold gives that
 * row no tags (false). */
bool tags_jsonb(const char *json, Datum *out) {
    int database_encoding = GetDatabaseEncoding();
    const char *text = json;
    if (database_encoding != PG_UTF8 && database_encoding != PG_SQL_ASCII &&
        !pg_is_ascii(json)) {
        text = utf8_to_database(json, database_encoding);
        if (text == nullptr)
            return false;
    }
    if (!pg_verify_mbstr(database_encoding, text,
                         static_cast<int>(strlen(text)), true))
        return false;
    *out = DirectFunctionCall1(jsonb_in, CStringGetDatum(text));
    return true;
}

Datum inet_datum(const Sample &s) {
    char text[INET6_ADDRSTRLEN + 8];
    int family = s.client_family == 4 ? AF_INET : AF_INET6;
    if (inet_ntop(family, s.client_addr, text, sizeof(text)) == nullptr)
        return (Datum)0;
    return DirectFunctionCall1(inet_in, CStringGetDatum(text));
}

Datum ms(int64_t ns) {
    return Float8GetDatum(static_cast<double>(ns) / 1e6);
}

/* {"Lock": 500.0, "Timeout": 10.0}: the sampled wait time of each class
 * found waiting, in ms (ticks times the interval). */
Datum sampled_waits_jsonb(const Sample &s) {
    char json[kSampledWaitClasses * 40 + 8];
    size_t len = 0;
    json[len++] = '{';
    for (int c = 1; c < kSampledWaitClasses; c++) {
        if (s.sampled_wait_ticks[c] == 0)
            continue;
        double ms = static_cast<double>(s.sampled_wait_ticks[c]) *
                    s.wait_sample_interval_us / 1e3;
        len += snprintf(json + len, sizeof(json) - len, "%s\"%s\": %.3f",
                        len > 1 ? ", " : "", sampled_wait_class_name(c), ms);
    }
    snprintf(json + len, sizeof(json) - len, "}");
    return DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
}

/* Fills the 47 sample columns; `private_visible` says whether the caller may
 * see the text-like fields of this sample. */
void fill_sample_columns(const Sample &s, bool private_visible, Datum *v,
                         bool *n) {
    memset(n, 0, sizeof(bool) * kSampleColumns);
    int i = 0;
    v[i++] = Int64GetDatum(static_cast<int64_t>(s.seq));
    v[i++] = Int32GetDatum(s.pid);
    v[i++] = Int64GetDatum(static_cast<int64_t>(s.exec_id));
    v[i++] = Int64GetDatum(static_cast<int64_t>(s.parent_exec_id));
    v[i++] = Int32GetDatum(s.nesting_level);
    v[i++] = BoolGetDatum((s.flags & kFlagTopLevel) != 0);
    v[i++] = ObjectIdGetDatum(s.dbid);
    v[i++] = ObjectIdGetDatum(s.userid);
    char app_name[kAppNameBytes];
    memcpy(app_name, s.app_name, kAppNameBytes);
    app_name[kAppNameBytes - 1] = '\0';
    v[i++] = CStringGetTextDatum(app_name);
    /* client_addr */
    v[i] = (Datum)0;
    if (private_visible && s.client_family != 0)
        v[i] = inet_datum(s);
    n[i] = v[i] == (Datum)0;
    i++;
    /* tags */
    char json[kTagJsonBytes];
    n[i] = !(private_visible && tags_json(s, json, sizeof(json)) &&
             tags_jsonb(json, &v[i]));
    i++;
    /* another user's queryid is hidden, as pg_stat_statements hides it */
    v[i++] = Int64GetDatum(s.queryid);
    n[i - 1] = !private_visible;
    v[i++] = Int64GetDatum(static_cast<int64_t>(s.planid));
    n[i - 1] = s.planid == 0;
    v[i++] = CStringGetTextDatum(sample_cmd_name(s.cmd));
    v[i++] = TimestampTzGetDatum(s.start_ts);
    v[i++] = TimestampTzGetDatum(s.end_ts);
    v[i++] = ms(s.plan_time_ns);
    v[i++] = ms(s.exec_time_ns);
    v[i++] = Int64GetDatum(s.rows);
    v[i++] = Int64GetDatum(s.shared_blks_hit);
    v[i++] = Int64GetDatum(s.shared_blks_read);
    v[i++] = Int64GetDatum(s.shared_blks_dirtied);
    v[i++] = Int64GetDatum(s.shared_blks_written);
    v[i++] = Int64GetDatum(s.local_blks_hit);
    v[i++] = Int64GetDatum(s.local_blks_read);
    v[i++] = Int64GetDatum(s.local_blks_dirtied);
    v[i++] = Int64GetDatum(s.local_blks_written);
    v[i++] = Int64GetDatum(s.temp_blks_read);
    v[i++] = Int64GetDatum(s.temp_blks_written);
    v[i++] = ms(s.blk_read_time_ns);
    v[i++] = ms(s.blk_write_time_ns);
    v[i++] = ms(s.temp_blk_read_time_ns);
    v[i++] = ms(s.temp_blk_write_time_ns);
    v[i++] = Int64GetDatum(s.wal_records);
    v[i++] = Int64GetDatum(s.wal_fpi);
    v[i++] = Int64GetDatum(s.wal_bytes);
    v[i++] = Int64GetDatum(s.jit_functions);
    v[i++] = ms(s.jit_generation_time_ns);
    v[i++] = ms(s.jit_inlining_time_ns);
    v[i++] = ms(s.jit_optimization_time_ns);
    v[i++] = ms(s.jit_emission_time_ns);
    v[i++] = Int32GetDatum(s.parallel_workers_planned);
    v[i++] = Int32GetDatum(s.parallel_workers_launched);
    v[i++] = CStringGetTextDatum(unpack_sql_state(s.sqlstate));
    v[i++] = BoolGetDatum((s.flags & kFlagNodeActuals) != 0);
    /* the sampled waits: null when the sampler was off */
    n[i] = n[i + 1] = s.wait_sample_interval_us == 0;
    if (!n[i]) {
        v[i] = Float8GetDatum(s.wait_sample_interval_us / 1e3);
        v[i + 1] = sampled_waits_jsonb(s);
    }
    i += 2;
    Assert(i == kSampleColumns);
}

/* Query texts looked up once per (userid, dbid, queryid) within one call:
 * texts are kept per user and database. */
struct TextCacheKey {
    int64 queryid;
    Oid userid;
    Oid dbid;
};

struct TextCacheEntry {
    TextCacheKey key;
    char *text;
};

HTAB *make_text_cache() {
    HASHCTL ctl;
    memset(&ctl, 0, sizeof(ctl));
    ctl.keysize = sizeof(TextCacheKey);
    ctl.entrysize = sizeof(TextCacheEntry);
    ctl.hcxt = CurrentMemoryContext;
    return hash_create("pg_qprof query texts", 256, &ctl,
                       HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

char *cached_text(HTAB *cache, const Sample &sample) {
    TextCacheKey key;
    memset(&key, 0, sizeof(key));
    key.queryid = sample.queryid;
    key.userid = sample.userid;
    key.dbid = sample.dbid;
    bool found = false;
    auto *entry = static_cast<TextCacheEntry *>(
        hash_search(cache, &key, HASH_ENTER, &found));
    if (!found)
        entry->text =
            query_texts_lookup(sample.userid, sample.dbid, sample.queryid);
    return entry->text;
}

void check_read_args(int64 after_seq, int32 max_rows) {
    if (after_seq < 0 || max_rows < 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("after_seq and max_rows must not be negative")));
}

/* The first sequence number after `after_seq` the ring may still hold. */
uint64 first_seq_after(const RingStatus &st, int64 after_seq) {
    uint64 seq = static_cast<uint64>(after_seq) + 1;
    return seq < st.oldest_seq ? st.oldest_seq : seq;
}

/* Calls emit(sample) for the samples after `after_seq`, oldest first, at most
 * `max_rows`: stops at one still being written (never steps over it), skips
 * the lost ones (the reader sees the gap in seq). `emit` is a lambda
 * capturing by reference: nothing to destroy if PostgreSQL raises. */
template <typename Emit>
void read_after(const RingStatus &st, int64 after_seq, uint64 max_rows,
                Emit emit) {
    Sample sample;
    uint64 emitted = 0;
    for (uint64 seq = first_seq_after(st, after_seq);
         seq <= st.head_seq && emitted < max_rows; seq++) {
        ReadResult r = ring_read(seq, st.head_seq, &sample);
        if (r == ReadResult::NotReady)
            break;
        if (r == ReadResult::Lost)
            continue;
        emit(sample);
        emitted++;
    }
}

/* The row type the calling function returns. */
TupleDesc result_row_type(FunctionCallInfo fcinfo) {
    TupleDesc desc;
    if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
        elog(ERROR, "return type must be a row type");
    return desc;
}

/* Functions that tell where server memory lies are for superusers only. */
void require_superuser(const char *function) {
    if (!superuser())
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("only superusers may read %s", function)));
}

} // namespace

extern "C" Datum pg_qprof_read_samples(PG_FUNCTION_ARGS) {
    require_ring();
    require_read_all_stats("pg_qprof.read_samples");
    int64 after_seq = PG_GETARG_INT64(0);
    int32 max_rows = PG_GETARG_INT32(1);
    check_read_args(after_seq, max_rows);

    InitMaterializedSRF(fcinfo, 0);
    ReturnSetInfo *rsinfo =
        reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    Datum values[kSampleColumns];
    bool nulls[kSampleColumns];
    read_after(ring_status(), after_seq, static_cast<uint64>(max_rows),
               [&](const Sample &sample) {
                   fill_sample_columns(sample, true, values, nulls);
                   tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
                                        values, nulls);
               });
    return (Datum)0;
}

extern "C" Datum pg_qprof_ring_samples(PG_FUNCTION_ARGS) {
    require_ring();
    InitMaterializedSRF(fcinfo, 0);
    ReturnSetInfo *rsinfo =
        reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    bool read_all = can_read_all_stats();
    Oid me = GetUserId();
    HTAB *texts = make_text_cache();
    RingStatus st = ring_status();
    uint64 seq =
        st.oldest_seq > st.reset_seq ? st.oldest_seq : st.reset_seq + 1;
    Datum values[kSampleColumns + 1];
    bool nulls[kSampleColumns + 1];
    Sample sample;
    for (; seq <= st.head_seq; seq++) {
        if (ring_read(seq, st.head_seq, &sample) != ReadResult::Ok)
            continue;
        bool visible = read_all || sample.userid == me;
        fill_sample_columns(sample, visible, values, nulls);
        char *text = visible ? cached_text(texts, sample) : nullptr;
        values[kSampleColumns] = text ? CStringGetTextDatum(text) : (Datum)0;
        nulls[kSampleColumns] = text == nullptr;
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
    return (Datum)0;
}

extern "C" Datum pg_qprof_status(PG_FUNCTION_ARGS) {
    require_ring();
    TupleDesc desc = result_row_type(fcinfo);
    RingStatus st = ring_status();
    Datum v[12];
    bool n[12] = {false};
    v[0] = Int64GetDatum(static_cast<int64>(st.epoch));
    v[1] = Int64GetDatum(static_cast<int64>(st.capacity));
    v[2] = Int64GetDatum(static_cast<int64>(st.head_seq));
    v[3] = Int64GetDatum(static_cast<int64>(st.oldest_seq));
    v[4] = Int64GetDatum(static_cast<int64>(st.head_seq));
    v[5] = Int64GetDatum(static_cast<int64>(st.overwritten));
    v[6] = Int64GetDatum(static_cast<int64>(st.dropped));
    v[7] = Int64GetDatum(static_cast<int64>(st.skipped_by_sampling));
    v[8] = Int64GetDatum(static_cast<int64>(st.skipped_by_min_duration));
    v[9] = Int64GetDatum(static_cast<int64>(st.skipped_too_deep));
    v[10] = Int64GetDatum(static_cast<int64>(st.reset_seq));
    v[11] = TimestampTzGetDatum(st.reset_time);
    n[11] = st.reset_time == 0;
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, v, n)));
}

extern "C" Datum pg_qprof_reset(PG_FUNCTION_ARGS) {
    require_ring();
    require_read_all_stats("pg_qprof.reset");
    ring_reset();
    PG_RETURN_VOID();
}

extern "C" Datum pg_qprof_exec_word(PG_FUNCTION_ARGS) {
    require_superuser("pg_qprof.exec_word");
    TupleDesc desc = result_row_type(fcinfo);
    Datum v[3];
    bool n[3] = {false, false, false};
    v[0] = Int32GetDatum(PostmasterPid);
    v[1] = Int64GetDatum(
        static_cast<int64>(reinterpret_cast<uintptr_t>(&pg_qprof_running)));
    v[2] = CStringGetTextDatum(word_slot_map_path());
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, v, n)));
}

/* Where the ring lies in the postmaster's memory, for a collector that may
 * read that memory (root, or the server's OS user): superuser only, as the
 * samples read there are not filtered by the caller's rights. */
extern "C" Datum pg_qprof_ring_memory(PG_FUNCTION_ARGS) {
    require_ring();
    require_superuser("pg_qprof.ring_memory");
    TupleDesc desc = result_row_type(fcinfo);
    RingMemory m = ring_memory();
    Datum v[9];
    bool n[9] = {};
    v[0] = Int32GetDatum(PostmasterPid);
    v[1] = Int64GetDatum(static_cast<int64>(m.epoch));
    v[2] = Int64GetDatum(static_cast<int64>(m.capacity));
    v[3] = Int64GetDatum(static_cast<int64>(m.header_address));
    v[4] = Int64GetDatum(static_cast<int64>(m.head_address));
    v[5] = Int64GetDatum(static_cast<int64>(m.slots_address));
    v[6] = Int32GetDatum(static_cast<int32>(m.slot_bytes));
    v[7] = Int32GetDatum(static_cast<int32>(m.sample_offset));
    v[8] = Int32GetDatum(static_cast<int32>(kSampleFixedBytes));
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, v, n)));
}

extern "C" Datum pg_qprof_exclude_session(PG_FUNCTION_ARGS) {
    require_read_all_stats("pg_qprof.exclude_session");
    reader_session = true;
    PG_RETURN_VOID();
}

/* Each call builds, copies and sends a bytea of several megabytes. By
 * default glibc maps buffers that large afresh and unmaps them when freed,
 * so every call paid one page fault per 4 kB page (a third of the reader's
 * time). The reader's backend keeps them instead: at most a few batches of
 * memory, in that one backend. */
static void keep_large_buffers() {
    static bool done = false;
    if (done)
        return;
    mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
    done = true;
}

/* The collector's fast path: the same samples as read_samples, as one bytea
 * of raw Sample records (see PackedSamplesHeader) — no per-column datums. */
extern "C" Datum pg_qprof_read_samples_packed(PG_FUNCTION_ARGS) {
    require_ring();
    require_read_all_stats("pg_qprof.read_samples_packed");
    int64 after_seq = PG_GETARG_INT64(0);
    int32 max_rows = PG_GETARG_INT32(1);
    check_read_args(after_seq, max_rows);
    /* bounded answer: at most 50,000 samples (about 32 MB) a call */
    constexpr int32 kMaxPackedRows = 50000;
    if (max_rows > kMaxPackedRows)
        max_rows = kMaxPackedRows;

    keep_large_buffers();

    RingStatus st = ring_status();
    uint64 first = first_seq_after(st, after_seq);
    uint64 available = st.head_seq >= first ? st.head_seq - first + 1 : 0;
    uint64 room = available < static_cast<uint64>(max_rows)
                      ? available
                      : static_cast<uint64>(max_rows);
    size_t fixed = VARHDRSZ + sizeof(PackedSamplesHeader);
    /* room for the largest records; only the used bytes are touched */
    bytea *out = static_cast<bytea *>(palloc(fixed + room * sizeof(Sample)));
    auto *header = reinterpret_cast<PackedSamplesHeader *>(VARDATA(out));
    char *records = reinterpret_cast<char *>(header + 1);
    size_t used = 0;
    uint32 count = 0;
    /* straight from the ring into the answer: no copy in between */
    for (uint64 seq = first; seq <= st.head_seq && count < room; seq++) {
        size_t bytes = 0;
        ReadResult r =
            ring_read_used_bytes(seq, st.head_seq, records + used, &bytes);
        if (r == ReadResult::NotReady)
            break;
        if (r == ReadResult::Lost)
            continue;
        used += bytes;
        count++;
    }
    memcpy(header->magic, kPackedSamplesMagic, sizeof(header->magic));
    header->fixed_bytes = kSampleFixedBytes;
    header->count = count;
    header->reserved = 0;
    SET_VARSIZE(out, fixed + used);
    PG_RETURN_BYTEA_P(out);
}
