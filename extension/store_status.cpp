/*
 * store_status.cpp — pg_qprof.store_status(): the counters of the query
 * text store, the plan store and the node actuals, one row, for the
 * pg_qprof.status view.
 */
#include "node_actuals.h"
#include "plan_capture.h"
#include "query_texts.h"

extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
}

extern "C" {
PG_FUNCTION_INFO_V1(pg_qprof_store_status);
}

extern "C" Datum pg_qprof_store_status(PG_FUNCTION_ARGS) {
    TupleDesc tupdesc;
    if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("return type must be a row type")));
    qprof::QueryTextCounters t = qprof::query_texts_counters();
    qprof::PlanStoreCounters p = qprof::plan_store_counters();
    qprof::NodeActualsCounters a = qprof::node_actuals_counters();
    const uint64_t counters[] = {
        t.store.entries,
        t.store.max_entries,
        t.store.bytes_used,
        t.store.capacity_bytes,
        t.store.stored,
        t.store.evicted,
        t.truncated,
        t.store.too_large,
        p.store.entries,
        p.store.max_entries,
        p.store.bytes_used,
        p.store.capacity_bytes,
        p.store.stored,
        p.store.evicted,
        p.truncated,
        p.store.too_large,
        a.store.entries,
        a.store.bytes_used,
        a.store.capacity_bytes,
        a.store.stored,
        a.store.evicted,
        a.store.too_large,
        a.skipped_short,
        /* second chances, failed captures */
        t.store.moved,
        p.store.moved,
        p.capture_failed,
    };
    constexpr int n = sizeof(counters) / sizeof(counters[0]);
    if (tupdesc->natts != n)
        ereport(ERROR,
                (errcode(ERRCODE_DATATYPE_MISMATCH),
                 errmsg("pg_qprof.store_status() returns %d columns, the "
                        "library %d: reinstall the extension",
                        tupdesc->natts, n)));
    Datum values[n];
    bool nulls[n];
    for (int i = 0; i < n; i++) {
        values[i] = Int64GetDatum(int64(counters[i]));
        nulls[i] = false;
    }
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
