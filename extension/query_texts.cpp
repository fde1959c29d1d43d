/*
 * query_texts.cpp — the normalized text of each queryid, stored once in a
 * bounded shared-memory store (shared_store.h: FIFO eviction).
 *
 * Hot path: query_texts_remember() for a queryid already stored is one
 * lock-free probe of the shared index (a hash, one or two atomic loads).
 * Only an unseen queryid is normalized (lexer, palloc) and inserted under
 * the store's LWLock, held exclusively for the copy only.
 */
#include "query_texts.h"
#include "normalize.h"
#include "preload.h"
#include "shared_store.h"

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "mb/pg_wchar.h"
#include "nodes/parsenodes.h"
#include "parser/parse_node.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
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
    uint32_t dbid;      /* database where it was first seen */
    uint32_t userid;    /* user who first ran it */
    uint32_t text_len;  /* bytes of text, without the NUL that follows */
    char text[1];       /* NUL-terminated */
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

/* The slow path: normalize and insert the text of an unseen queryid. */
void remember_new_text(uint64_t key, ParseState *pstate, Query *query,
                       JumbleState *jstate) {
    int len;
    char *text = normalize_statement(pstate->p_sourcetext, query->stmt_location,
                                     query->stmt_len, jstate, &len);
    if (len > longest_text_bytes()) {
        len = pg_mbcliplen(text, len, longest_text_bytes());
        shared->truncated.fetch_add(1, std::memory_order_relaxed);
    }
    TimestampTz now = GetCurrentTimestamp();

    LWLockAcquire(shared->lock, LW_EXCLUSIVE);
    if (store_find(&shared->store, key) == nullptr) {
        auto *rec = static_cast<QueryTextRecord *>(store_append(
            &shared->store, key, offsetof(QueryTextRecord, text) + len + 1));
        if (rec != nullptr) {
            rec->first_seen = now;
            rec->dbid = MyDatabaseId;
            rec->userid = GetUserId();
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
    uint64_t key = uint64_t(query->queryId);
    if (shared == nullptr || key == 0 || pstate->p_sourcetext == nullptr)
        return;
    if (store_probe(&shared->store, key) != nullptr)
        return;
    remember_new_text(key, pstate, query, jstate);
}

char *query_texts_lookup(int64_t queryid) {
    if (shared == nullptr || queryid == 0)
        return nullptr;
    char *copy = nullptr;
    LWLockAcquire(shared->lock, LW_SHARED);
    auto *rec = static_cast<QueryTextRecord *>(
        store_find(&shared->store, uint64_t(queryid)));
    if (rec != nullptr)
        copy = pnstrdup(rec->text, rec->text_len);
    LWLockRelease(shared->lock);
    return copy;
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

void put_query_text_row(uint64_t key, const void *payload, uint32_t,
                        void *arg) {
    auto *rsinfo = static_cast<ReturnSetInfo *>(arg);
    auto *rec = static_cast<const qprof::QueryTextRecord *>(payload);
    Datum values[5];
    bool nulls[5] = {false, false, false, false, false};
    values[0] = Int64GetDatum(int64(key));
    values[1] = ObjectIdGetDatum(rec->dbid);
    values[2] = ObjectIdGetDatum(rec->userid);
    values[3] = TimestampTzGetDatum(rec->first_seen);
    values[4] =
        PointerGetDatum(cstring_to_text_with_len(rec->text, rec->text_len));
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(pg_qprof_query_texts);
}

/* Every stored text, oldest first. */
extern "C" Datum pg_qprof_query_texts(PG_FUNCTION_ARGS) {
    InitMaterializedSRF(fcinfo, 0);
    qprof::require_preloaded(qprof::shared != nullptr);
    LWLockAcquire(qprof::shared->lock, LW_SHARED);
    qprof::store_for_each(&qprof::shared->store, put_query_text_row,
                          fcinfo->resultinfo);
    LWLockRelease(qprof::shared->lock);
    return (Datum)0;
}
