/*
 * plan_store.cpp — each (queryid, planid) stored once with its EXPLAIN
 * VERBOSE text and JSON, its portable shape id, first and last seen.
 *
 * Per recorded execution (plans_capture_end): one lock-free probe of the
 * shared index (which marks the plan used) and, at most once per millisecond
 * per plan, a relaxed store of last_seen into the index slot (rare writes keep
 * the cache line shared between backends). first_seen and last_seen are the
 * start times of the client statements that first and last ran the plan (no
 * clock read). EXPLAIN, the shape id, a subtransaction and the LWLock are
 * only for a pair not seen before. Eviction: by use (shared_store.h).
 *
 * Capturing never fails the user's statement: EXPLAIN and the shape id look
 * names up in the catalogs, which can fail (an object dropped meanwhile, out
 * of memory), so they run in an internal subtransaction, as a PL/pgSQL
 * exception block does; a failure is rolled back, counted
 * (plans_capture_failed) and the plan is stored the next time it runs.
 */
#include "plan_capture.h"
#include "node_actuals.h"
#include "plan_shape.h"
#include "preload.h"
#include "shared_store.h"
#include "store_read.h"
#include "text_encoding.h"

extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "commands/explain.h"
#include "executor/execdesc.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "mb/pg_wchar.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"
}

#include <cstring>

namespace qprof {

namespace {

constexpr const char *kTrancheName = "pg_qprof_plans";

/* last_seen is refreshed when older than this (µs). */
constexpr int64_t kLastSeenResolutionUs = 1000;

int max_plans = 2000;
int plans_size_kb = 8192;

/* Payload of one record: the two EXPLAIN outputs follow, NUL-terminated. */
struct PlanRecord {
    int64_t queryid;
    uint64_t planid;
    uint64_t shape_id;
    int64_t first_seen; /* TimestampTz */
    uint32_t dbid;
    int32_t encoding; /* of the database the plan was explained in */
    uint32_t text_len;
    uint32_t json_len; /* 0: the JSON did not fit (see fit_plan) */
    char data[1];      /* text '\0' json '\0' */
};

struct PlanShared {
    LWLock *lock;
    std::atomic<uint64_t> truncated;      /* plans stored cut (see fit_plan) */
    std::atomic<uint64_t> capture_failed; /* EXPLAIN or shape id raised */
    SharedStore store;                    /* last: its index and log follow */
};

PlanShared *shared = nullptr;

uint64_t log_bytes() {
    return uint64_t(plans_size_kb) * 1024;
}

size_t shared_size() {
    return offsetof(PlanShared, store) +
           store_shmem_size(max_plans, log_bytes(), true);
}

/* The store key of a plan of a query: a plan id alone may serve several
 * queries (same shape, other filters), whose EXPLAIN texts differ. */
uint64_t plan_key(int64_t queryid, uint64_t planid) {
    uint64_t k = planid ^ (uint64_t(queryid) * 0x9e3779b97f4a7c15ULL);
    return k == 0 ? 1 : k;
}

/* EXPLAIN VERBOSE (costs on) of the executing plan, in format. */
StringInfo explain_plan(QueryDesc *queryDesc, ExplainFormat format) {
    ExplainState *es = NewExplainState();
    es->verbose = true;
    es->costs = true;
    es->format = format;
    /* the same document as EXPLAIN (FORMAT JSON): [ { "Plan": ... } ] */
    ExplainBeginOutput(es);
    ExplainOpenGroup("Query", nullptr, true, es);
    ExplainPrintPlan(es, queryDesc);
    ExplainCloseGroup("Query", nullptr, true, es);
    ExplainEndOutput(es);
    StringInfo str = es->str;
    while (str->len > 0 && str->data[str->len - 1] == '\n')
        str->data[--str->len] = '\0';
    return str;
}

/* One plan may take at most a quarter of the store. A bigger one is stored
 * anyway, cut: without its JSON, and its text cut at a line end if need be,
 * so that its id is known and EXPLAIN is not made again at every run.
 * Returns whether it was cut. */
bool fit_plan(StringInfo text, StringInfo json) {
    const int limit =
        int(log_bytes() / 4) - int(offsetof(PlanRecord, data)) - 2;
    if (text->len + json->len <= limit)
        return false;
    json->len = 0;
    json->data[0] = '\0';
    if (text->len > limit) {
        int len = pg_mbcliplen(text->data, text->len, limit);
        while (len > 0 && text->data[len - 1] != '\n')
            len--;
        text->len = len > 0 ? len - 1 : 0;
        text->data[text->len] = '\0';
    }
    return true;
}

bool plan_is_stored(uint64_t key) {
    LWLockAcquire(shared->lock, LW_SHARED);
    bool stored = store_find(&shared->store, key) != nullptr;
    LWLockRelease(shared->lock);
    return stored;
}

/* What a new plan is stored with. */
struct ExplainedPlan {
    StringInfo text;
    StringInfo json;
    uint64_t shape_id;
};

/* EXPLAIN (text and JSON, fitted to the store) and the shape id of the
 * executing plan, made in an internal subtransaction so that an error in
 * their catalog lookups is rolled back and discarded instead of failing the
 * user's statement. The caller's memory context and resource owner are
 * restored as PL/pgSQL's exception blocks restore them. Returns false when
 * it failed. The outputs live in the execution's memory, freed by
 * ExecutorEnd. */
bool explain_in_subtransaction(QueryDesc *queryDesc, ExplainedPlan *out) {
    MemoryContext caller_context = CurrentMemoryContext;
    ResourceOwner caller_owner = CurrentResourceOwner;
    volatile bool explained = false;
    BeginInternalSubTransaction(nullptr);
    PG_TRY();
    {
        MemoryContextSwitchTo(queryDesc->estate->es_query_cxt);
        out->text = explain_plan(queryDesc, EXPLAIN_FORMAT_TEXT);
        out->json = explain_plan(queryDesc, EXPLAIN_FORMAT_JSON);
        out->shape_id = plan_shape_id_of(queryDesc);
        if (fit_plan(out->text, out->json))
            shared->truncated.fetch_add(1, std::memory_order_relaxed);
        MemoryContextSwitchTo(caller_context);
        ReleaseCurrentSubTransaction();
        explained = true;
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller_context);
        FlushErrorState();
        RollbackAndReleaseCurrentSubTransaction();
    }
    PG_END_TRY();
    MemoryContextSwitchTo(caller_context);
    CurrentResourceOwner = caller_owner;
    return explained;
}

/* The slow path: a (queryid, planid) not in the store. */
void store_new_plan(QueryDesc *queryDesc, int64_t queryid, uint64_t planid,
                    uint64_t key, TimestampTz now) {
    /* A subtransaction needs a transaction in progress, not aborted (a
     * cursor may end while its transaction aborts) and not in parallel
     * mode: else the plan is stored the next time it runs. */
    if (!IsTransactionState() || IsInParallelMode())
        return;
    /* the lock-free probe may miss a key that is moving in the index */
    if (plan_is_stored(key))
        return;
    ExplainedPlan plan;
    if (!explain_in_subtransaction(queryDesc, &plan)) {
        shared->capture_failed.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    StringInfo text = plan.text;
    StringInfo json = plan.json;

    uint32_t payload =
        offsetof(PlanRecord, data) + text->len + 1 + json->len + 1;
    LWLockAcquire(shared->lock, LW_EXCLUSIVE);
    if (store_find(&shared->store, key) == nullptr) {
        auto *rec = static_cast<PlanRecord *>(
            store_append(&shared->store, key, payload));
        if (rec != nullptr) {
            rec->queryid = queryid;
            rec->planid = planid;
            rec->shape_id = plan.shape_id;
            rec->first_seen = now;
            rec->dbid = MyDatabaseId;
            rec->encoding = GetDatabaseEncoding();
            rec->text_len = text->len;
            rec->json_len = json->len;
            memcpy(rec->data, text->data, text->len + 1);
            memcpy(rec->data + text->len + 1, json->data, json->len + 1);
            StoreIndexSlot *slot = store_peek(&shared->store, key);
            if (slot != nullptr)
                slot->last_seen.store(now, std::memory_order_relaxed);
        }
    }
    LWLockRelease(shared->lock);
}

} // namespace

void plans_define_settings() {
    DefineCustomIntVariable(
        "pg_qprof.max_plans", "Maximum number of plans kept in shared memory.",
        "When full, a plan not used lately is evicted.", &max_plans, 2000, 10,
        1000000, PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "pg_qprof.plans_size",
        "Shared memory for stored plans (EXPLAIN text and JSON).",
        "When full, plans not used lately are evicted.", &plans_size_kb, 8192,
        64, 1024 * 1024, PGC_POSTMASTER, GUC_UNIT_KB, nullptr, nullptr,
        nullptr);
    node_actuals_define_settings();
}

void plans_shmem_request() {
    RequestAddinShmemSpace(shared_size());
    RequestNamedLWLockTranche(kTrancheName, 1);
    node_actuals_shmem_request();
}

void plans_shmem_startup() {
    bool found;
    shared = static_cast<PlanShared *>(
        ShmemInitStruct("pg_qprof plans", shared_size(), &found));
    if (!found) {
        shared->lock = &GetNamedLWLockTranche(kTrancheName)[0].lock;
        shared->truncated.store(0);
        shared->capture_failed.store(0);
        store_init(&shared->store, max_plans, log_bytes(), true);
    }
    node_actuals_shmem_startup();
}

bool plans_capture_end(QueryDesc *queryDesc, int64_t queryid, uint64_t planid,
                       uint64_t exec_id, bool instrumented,
                       double exec_time_ms) {
    if (shared == nullptr || planid == 0)
        return false;
    uint64_t key = plan_key(queryid, planid);
    /* The client statement's start: free to read, unlike a clock. */
    TimestampTz now = GetCurrentStatementStartTimestamp();
    StoreIndexSlot *slot = store_probe(&shared->store, key);
    if (slot != nullptr) {
        if (now - slot->last_seen.load(std::memory_order_relaxed) >=
            kLastSeenResolutionUs)
            slot->last_seen.store(now, std::memory_order_relaxed);
    } else {
        store_new_plan(queryDesc, queryid, planid, key, now);
    }
    if (!instrumented)
        return false;
    return node_actuals_keep(queryDesc, queryid, planid, exec_id, exec_time_ms);
}

PlanStoreCounters plan_store_counters() {
    PlanStoreCounters c{};
    if (shared == nullptr)
        return c;
    c.store = store_figures(&shared->store);
    c.truncated = shared->truncated.load();
    c.capture_failed = shared->capture_failed.load();
    return c;
}

} // namespace qprof

/* ---- SQL: pg_qprof.stored_plans(), stored_plans(queryids, planids) ----- */

namespace {

constexpr int kPlanColumns = 8;

/* A (queryid, planid) pair asked for. */
struct PlanPair {
    int64 queryid;
    uint64_t planid;
};

int compare_pairs(const void *a, const void *b) {
    auto *x = static_cast<const PlanPair *>(a);
    auto *y = static_cast<const PlanPair *>(b);
    if (x->queryid != y->queryid)
        return x->queryid < y->queryid ? -1 : 1;
    return x->planid < y->planid ? -1 : x->planid > y->planid ? 1 : 0;
}

/* Builds the rows of the copied plans, after the store's lock is released;
 * with `pairs` (sorted), only the plans of those pairs, since two pairs may
 * share a key. */
void put_plan_rows(ReturnSetInfo *rsinfo, const qprof::StoreCopy *copies,
                   int count, const PlanPair *pairs, int npairs) {
    for (int i = 0; i < count; i++) {
        auto *rec = static_cast<const qprof::PlanRecord *>(copies[i].payload);
        PlanPair own = {rec->queryid, rec->planid};
        if (pairs != nullptr && bsearch(&own, pairs, npairs, sizeof(PlanPair),
                                        compare_pairs) == nullptr)
            continue;
        Datum values[kPlanColumns];
        bool nulls[kPlanColumns] = {false, false, false, false,
                                    false, false, false, false};
        values[0] = Int64GetDatum(int64(rec->planid));
        values[1] = Int64GetDatum(rec->queryid);
        values[2] = ObjectIdGetDatum(rec->dbid);
        values[3] = Int64GetDatum(int64(rec->shape_id));
        values[4] = TimestampTzGetDatum(rec->first_seen);
        values[5] = TimestampTzGetDatum(copies[i].last_seen);
        /* names in a plan are in its database's encoding: the reader's may
         * differ (defect 6 of issue 26) */
        int len = 0;
        char *text = qprof::text_to_database_encoding(
            const_cast<char *>(rec->data), int(rec->text_len), rec->encoding,
            &len);
        values[6] = PointerGetDatum(cstring_to_text_with_len(text, len));
        if (rec->json_len > 0) {
            char *json = qprof::text_to_database_encoding(
                const_cast<char *>(rec->data + rec->text_len + 1),
                int(rec->json_len), rec->encoding, &len);
            values[7] = PointerGetDatum(cstring_to_text_with_len(json, len));
        } else {
            nulls[7] = true;
        }
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
}

/* The elements of a one-dimensional bigint[] argument, a null as 0 (no
 * stored plan has id 0). */
int64 *bigint_elements(ArrayType *array, int *count) {
    if (ARR_NDIM(array) > 1)
        ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                        errmsg("pg_qprof.stored_plans() takes "
                               "one-dimensional arrays")));
    Datum *elements;
    bool *nulls;
    deconstruct_array(array, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
                      &elements, &nulls, count);
    int64 *values = static_cast<int64 *>(palloc(sizeof(int64) * (*count + 1)));
    for (int i = 0; i < *count; i++)
        values[i] = nulls[i] ? 0 : DatumGetInt64(elements[i]);
    return values;
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(pg_qprof_stored_plans);
PG_FUNCTION_INFO_V1(pg_qprof_stored_plans_by_id);
}

/* Every stored plan, from the oldest end of the store. */
extern "C" Datum pg_qprof_stored_plans(PG_FUNCTION_ARGS) {
    InitMaterializedSRF(fcinfo, 0);
    qprof::require_preloaded(qprof::shared != nullptr);
    qprof::StoreCopy *copies;
    int count = qprof::store_copy_matching(
        &qprof::shared->store, qprof::shared->lock, nullptr, nullptr, &copies);
    put_plan_rows(reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo), copies,
                  count, nullptr, 0);
    return (Datum)0;
}

/* The stored plans of the pairs (queryids[i], planids[i]): one lookup in
 * the store's index per pair, for the collector (which knows both ids of
 * every sample), instead of a copy of the whole store. The arrays must have
 * the same length; a pair with a null matches nothing. */
extern "C" Datum pg_qprof_stored_plans_by_id(PG_FUNCTION_ARGS) {
    InitMaterializedSRF(fcinfo, 0);
    qprof::require_preloaded(qprof::shared != nullptr);
    int pairs, planid_count;
    int64 *queryids = bigint_elements(PG_GETARG_ARRAYTYPE_P(0), &pairs);
    int64 *planids = bigint_elements(PG_GETARG_ARRAYTYPE_P(1), &planid_count);
    if (pairs != planid_count)
        ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                        errmsg("pg_qprof.stored_plans() needs as many "
                               "planids as queryids")));
    uint64_t *keys =
        static_cast<uint64_t *>(palloc(sizeof(uint64_t) * (pairs + 1)));
    auto *wanted =
        static_cast<PlanPair *>(palloc(sizeof(PlanPair) * (pairs + 1)));
    for (int i = 0; i < pairs; i++) {
        keys[i] = qprof::plan_key(queryids[i], uint64_t(planids[i]));
        wanted[i] = {queryids[i], uint64_t(planids[i])};
    }
    qsort(wanted, pairs, sizeof(PlanPair), compare_pairs);
    qprof::StoreCopy *copies;
    int count = qprof::store_copy_keys(
        &qprof::shared->store, qprof::shared->lock, keys, pairs, &copies);
    put_plan_rows(reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo), copies,
                  count, wanted, pairs);
    return (Datum)0;
}
