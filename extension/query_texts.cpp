/*
 * query_texts.cpp — the normalized text of each (userid, dbid, queryid),
 * stored once in a bounded shared-memory store (shared_store.h), keyed by a
 * hash of the three; the record keeps them, and a lookup whose record holds
 * another triple (a hash collision) finds nothing.
 *
 * Hot path: query_texts_remember() for a text already stored is one
 * lock-free probe of the shared index (a hash, one or two atomic loads).
 * Only an unseen text is normalized (lexer, palloc), its secrets masked
 * (utility statements), and inserted under the store's LWLock, held
 * exclusively for the copy only. Readers copy records out under the lock
 * held shared and convert them to their database's encoding after
 * releasing it.
 */
#include "query_texts.h"
#include "normalize.h"
#include "preload.h"
#include "secret_mask.h"
#include "shared_store.h"
#include "store_read.h"
#include "text_encoding.h"

extern "C" {
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "mb/pg_wchar.h"
#include "nodes/parsenodes.h"
#include "parser/parse_node.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/queryjumble.h"
#include "utils/timestamp.h"
}

#include <cstring>

namespace qprof {

namespace {

constexpr const char *kTrancheName = "pg_qprof_query_texts";

/* Settings (postmaster-only: they size shared memory). */
int max_query_texts = 5000;
int query_texts_size_kb = 2048;

/* Payload of one record of the store. */
struct QueryTextRecord {
    int64_t first_seen; /* TimestampTz */
    int64_t queryid;
    uint32_t dbid;     /* database where the statement ran */
    uint32_t userid;   /* user who ran it */
    int32_t encoding;  /* the database encoding the text is in */
    uint32_t text_len; /* bytes of text, without the NUL that follows */
    char text[1];      /* NUL-terminated */
};

struct QueryTextShared {
    LWLock *lock;
    std::atomic<uint64_t> truncated; /* texts cut to the longest allowed */
    SharedStore store;               /* last: its index and log follow */
};

QueryTextShared *shared = nullptr;

uint64_t log_bytes() {
    return uint64_t(query_texts_size_kb) * 1024;
}

size_t shared_size() {
    return offsetof(QueryTextShared, store) +
           store_shmem_size(max_query_texts, log_bytes(), true);
}

/* One text may take at most a quarter of the store, so that a huge
 * statement cannot flush every other text at once. */
int longest_text_bytes() {
    return int(log_bytes() / 4);
}

/* The store's key of a text: a hash of its user, database and queryid,
 * never 0 (the store's empty key). */
uint64_t text_key(uint32_t userid, uint32_t dbid, int64_t queryid) {
    uint64_t h = uint64_t(queryid) ^
                 ((uint64_t(userid) << 32 | dbid) * 0x9e3779b97f4a7c15ULL);
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h == 0 ? 1 : h;
}

bool record_is(const QueryTextRecord *rec, uint32_t userid, uint32_t dbid,
               int64_t queryid) {
    return rec->queryid == queryid && rec->userid == userid &&
           rec->dbid == dbid;
}

/* The text to store for a statement: normalized, cut to the longest text
 * the store keeps, its secrets masked. *clipped tells whether it was cut;
 * nullptr when the statement cannot be lexed (normalize.h). */
char *text_to_store(ParseState *pstate, Query *query, JumbleState *jstate,
                    int *len, bool *clipped) {
    int longest = longest_text_bytes();
    char *text =
        normalize_statement(pstate->p_sourcetext, query->stmt_location,
                            query->stmt_len, jstate, longest, len, clipped);
    if (text == nullptr)
        return nullptr;
    if (query->commandType == CMD_UTILITY) {
        text = mask_utility_secrets(query->utilityStmt, text, len, *clipped);
        if (*len > longest) {
            *len = pg_mbcliplen(text, *len, longest);
            text[*len] = '\0';
            *clipped = true;
        }
    }
    return text;
}

/* The slow path: normalize and insert a text not stored yet. */
void remember_new_text(uint64_t key, uint32_t userid, ParseState *pstate,
                       Query *query, JumbleState *jstate) {
    int len;
    bool clipped;
    char *text = text_to_store(pstate, query, jstate, &len, &clipped);
    if (text == nullptr)
        return;
    if (clipped)
        shared->truncated.fetch_add(1, std::memory_order_relaxed);
    TimestampTz now = GetCurrentTimestamp();

    LWLockAcquire(shared->lock, LW_EXCLUSIVE);
    if (store_find(&shared->store, key) == nullptr) {
        auto *rec = static_cast<QueryTextRecord *>(store_append(
            &shared->store, key, offsetof(QueryTextRecord, text) + len + 1));
        if (rec != nullptr) {
            rec->first_seen = now;
            rec->queryid = query->queryId;
            rec->dbid = MyDatabaseId;
            rec->userid = userid;
            rec->encoding = GetDatabaseEncoding();
            rec->text_len = len;
            memcpy(rec->text, text, len);
            rec->text[len] = '\0';
        }
    }
    LWLockRelease(shared->lock);
    pfree(text);
}

} // namespace

void query_texts_define_settings() {
    DefineCustomIntVariable(
        "pg_qprof.max_query_texts",
        "Maximum number of normalized query texts kept in shared memory.",
        "When full, the oldest stored text is evicted.", &max_query_texts, 5000,
        10, 1000000, PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pg_qprof.query_texts_size",
                            "Shared memory for normalized query texts.",
                            "When full, the oldest stored texts are evicted.",
                            &query_texts_size_kb, 2048, 64, 1024 * 1024,
                            PGC_POSTMASTER, GUC_UNIT_KB, nullptr, nullptr,
                            nullptr);
}

void query_texts_shmem_request() {
    RequestAddinShmemSpace(shared_size());
    RequestNamedLWLockTranche(kTrancheName, 1);
}

void query_texts_shmem_startup() {
    bool found;
    shared = static_cast<QueryTextShared *>(
        ShmemInitStruct("pg_qprof query texts", shared_size(), &found));
    if (!found) {
        shared->lock = &GetNamedLWLockTranche(kTrancheName)[0].lock;
        shared->truncated.store(0);
        store_init(&shared->store, max_query_texts, log_bytes(), true);
    }
}

void query_texts_remember(ParseState *pstate, Query *query,
                          JumbleState *jstate) {
    if (shared == nullptr || query->queryId == 0 ||
        pstate->p_sourcetext == nullptr)
        return;
    uint32_t userid = GetUserId();
    uint64_t key = text_key(userid, MyDatabaseId, query->queryId);
    if (store_probe(&shared->store, key) != nullptr)
        return;
    remember_new_text(key, userid, pstate, query, jstate);
}

char *query_texts_lookup(uint32_t userid, uint32_t dbid, int64_t queryid) {
    if (shared == nullptr || queryid == 0)
        return nullptr;
    char *copy = nullptr;
    int len = 0;
    int encoding = 0;
    LWLockAcquire(shared->lock, LW_SHARED);
    auto *rec = static_cast<QueryTextRecord *>(
        store_find(&shared->store, text_key(userid, dbid, queryid)));
    if (rec != nullptr && record_is(rec, userid, dbid, queryid)) {
        len = int(rec->text_len);
        encoding = rec->encoding;
        copy = pnstrdup(rec->text, len);
    }
    LWLockRelease(shared->lock);
    if (copy == nullptr)
        return nullptr;
    char *text = text_to_database_encoding(copy, len, encoding, &len);
    if (text != copy)
        pfree(copy);
    return text;
}

QueryTextCounters query_texts_counters() {
    QueryTextCounters c{};
    if (shared == nullptr)
        return c;
    c.store = store_figures(&shared->store);
    c.truncated = shared->truncated.load();
    return c;
}

} // namespace qprof

/* ---- SQL: pg_qprof.query_texts() ---------------------------------------- */

namespace {

/* A record copied out of the store; text is nullptr when the reader may not
 * see it. */
struct TextRow {
    int64_t queryid;
    int64_t first_seen;
    uint32_t dbid;
    uint32_t userid;
    int32_t encoding;
    int text_len;
    char *text;
};

struct TextRows {
    TextRow *rows;
    int count;
    int allocated;
    bool read_all; /* the reader may see every user's texts */
    Oid reader;
};

/* Whether the calling role may see every user's texts. */
bool reader_sees_all(Oid reader) {
    return superuser() || has_privs_of_role(reader, ROLE_PG_READ_ALL_STATS);
}

/* Under the store's lock: copies one record, its text only if visible. */
void copy_text_row(uint64_t, const void *payload, uint32_t, void *arg) {
    auto *out = static_cast<TextRows *>(arg);
    auto *rec = static_cast<const qprof::QueryTextRecord *>(payload);
    if (out->count == out->allocated) {
        out->allocated *= 2;
        out->rows = static_cast<TextRow *>(
            repalloc(out->rows, sizeof(TextRow) * out->allocated));
    }
    TextRow *row = &out->rows[out->count++];
    row->queryid = rec->queryid;
    row->first_seen = rec->first_seen;
    row->dbid = rec->dbid;
    row->userid = rec->userid;
    row->encoding = rec->encoding;
    row->text_len = int(rec->text_len);
    row->text = out->read_all || rec->userid == out->reader
                    ? pnstrdup(rec->text, rec->text_len)
                    : nullptr;
}

/* One row of the view; another user's queryid and text are hidden, as
 * pg_stat_statements hides them. */
void put_text_row(ReturnSetInfo *rsinfo, const TextRow &row) {
    Datum values[5];
    bool nulls[5] = {false, false, false, false, false};
    values[0] = Int64GetDatum(row.queryid);
    nulls[0] = row.text == nullptr;
    values[1] = ObjectIdGetDatum(row.dbid);
    values[2] = ObjectIdGetDatum(row.userid);
    values[3] = TimestampTzGetDatum(row.first_seen);
    if (row.text != nullptr) {
        int len;
        char *text = qprof::text_to_database_encoding(row.text, row.text_len,
                                                      row.encoding, &len);
        values[4] = PointerGetDatum(cstring_to_text_with_len(text, len));
    } else {
        values[4] = CStringGetTextDatum("<insufficient privilege>");
    }
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(pg_qprof_query_texts);
}

/* Every stored text, oldest first: the caller's own texts, and everyone's
 * for superusers and roles with the privileges of pg_read_all_stats. */
extern "C" Datum pg_qprof_query_texts(PG_FUNCTION_ARGS) {
    InitMaterializedSRF(fcinfo, 0);
    qprof::require_preloaded(qprof::shared != nullptr);
    TextRows rows;
    rows.count = 0;
    rows.allocated = 64;
    rows.rows =
        static_cast<TextRow *>(palloc(sizeof(TextRow) * rows.allocated));
    rows.reader = GetUserId();
    rows.read_all =
        superuser() || has_privs_of_role(rows.reader, ROLE_PG_READ_ALL_STATS);
    LWLockAcquire(qprof::shared->lock, LW_SHARED);
    qprof::store_for_each(&qprof::shared->store, copy_text_row, &rows);
    LWLockRelease(qprof::shared->lock);
    auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    for (int i = 0; i < rows.count; i++)
        put_text_row(rsinfo, rows.rows[i]);
    return (Datum)0;
}

/* ---- SQL: pg_qprof.query_texts(userids, dbids, queryids) ---------------- */

namespace {

/* The elements of a by-value array (any dimensions, read in order). */
void array_values(ArrayType *array, Oid type, int16 len, char align,
                  Datum **values, bool **nulls, int *count) {
    if (ARR_ELEMTYPE(array) != type)
        ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                        errmsg("pg_qprof.query_texts() got an array of the "
                               "wrong type")));
    deconstruct_array(array, type, len, true, align, values, nulls, count);
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(pg_qprof_query_texts_by_id);
}

/* The texts of the triples (userids[i], dbids[i], queryids[i]) that the
 * caller may see: one lookup in the store's index per triple, for the
 * collector (which knows the three of every sample), instead of a copy of
 * the whole store. The arrays must have the same length; a triple with a
 * null matches nothing. */
extern "C" Datum pg_qprof_query_texts_by_id(PG_FUNCTION_ARGS) {
    InitMaterializedSRF(fcinfo, 0);
    qprof::require_preloaded(qprof::shared != nullptr);
    Datum *users, *dbs, *queryids;
    bool *user_nulls, *db_nulls, *queryid_nulls;
    int n_users, n_dbs, n_queryids;
    array_values(PG_GETARG_ARRAYTYPE_P(0), OIDOID, sizeof(Oid), TYPALIGN_INT,
                 &users, &user_nulls, &n_users);
    array_values(PG_GETARG_ARRAYTYPE_P(1), OIDOID, sizeof(Oid), TYPALIGN_INT,
                 &dbs, &db_nulls, &n_dbs);
    array_values(PG_GETARG_ARRAYTYPE_P(2), INT8OID, sizeof(int64),
                 TYPALIGN_DOUBLE, &queryids, &queryid_nulls, &n_queryids);
    if (n_users != n_dbs || n_users != n_queryids)
        ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                        errmsg("pg_qprof.query_texts() needs as many userids, "
                               "dbids and queryids")));

    uint64_t *keys =
        static_cast<uint64_t *>(palloc(sizeof(uint64_t) * (n_users + 1)));
    int nkeys = 0;
    for (int i = 0; i < n_users; i++)
        if (!user_nulls[i] && !db_nulls[i] && !queryid_nulls[i])
            keys[nkeys++] = qprof::text_key(DatumGetObjectId(users[i]),
                                            DatumGetObjectId(dbs[i]),
                                            DatumGetInt64(queryids[i]));
    qprof::StoreCopy *copies;
    int count = qprof::store_copy_keys(
        &qprof::shared->store, qprof::shared->lock, keys, nkeys, &copies);

    /* A hash collision could give the record of another triple: it is still
     * a real text with its own ids, shown under the same rule. */
    Oid reader = GetUserId();
    bool read_all = reader_sees_all(reader);
    auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    for (int i = 0; i < count; i++) {
        auto *rec =
            static_cast<const qprof::QueryTextRecord *>(copies[i].payload);
        if (!read_all && rec->userid != reader)
            continue;
        TextRow row = {rec->queryid,
                       rec->first_seen,
                       rec->dbid,
                       rec->userid,
                       rec->encoding,
                       int(rec->text_len),
                       const_cast<char *>(rec->text)};
        put_text_row(rsinfo, row);
    }
    return (Datum)0;
}
