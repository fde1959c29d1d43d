/*
 * plan_capture.h — plan identity, the plan store and per-node actuals
 * (DESIGN.md contract 3), called by the executor hooks.
 *
 * The plan store keeps one entry per (queryid, planid): EXPLAIN VERBOSE as
 * text and JSON, made only the first time the pair is seen. Settings:
 * pg_qprof.max_plans, pg_qprof.plans_size; eviction: by use (a plan not run
 * since the eviction hand last passed goes first), stored again when next
 * seen. Node actuals: see node_actuals.h.
 *
 * None of the functions called from the executor hooks raises an error:
 * a failed capture is counted, never the user's statement's failure.
 */
#pragma once

#include <cstdint>

#include "shared_store.h"

struct QueryDesc;

namespace qprof {

/* Registers the pg_qprof.* settings of the plan store and of the node
 * actuals; from _PG_init, before the shared memory is requested. */
void plans_define_settings();

/* Shared memory for the plan store and the node actuals. */
void plans_shmem_request();
void plans_shmem_startup();

/* Before standard_ExecutorStart of an execution that will be recorded:
 * decides (analyze_sample_rate) whether it runs with instrumentation and
 * sets queryDesc->instrument_options accordingly. Returns that decision.
 * Never raises. */
bool node_actuals_begin(QueryDesc *queryDesc);

/* Hash of the plan's shape (node types, join types, scanned relations and
 * indexes, tree structure); no catalog access, no allocation, cheap. Never
 * raises. */
uint64_t plan_id_of(const QueryDesc *queryDesc);

/* At ExecutorEnd, before standard_ExecutorEnd, for a recorded execution:
 * stores the plan the first time its planid is seen, and the per-node
 * actuals when `instrumented` and analyze_min_duration allow. Returns true
 * when actuals were kept for (MyProcPid, exec_id).
 * Does not raise: storing a new plan runs in an internal subtransaction
 * whose failure is rolled back and counted (plans_capture_failed); it is
 * skipped when no subtransaction can start (transaction aborted, parallel
 * mode). The only errors left are BeginInternalSubTransaction()'s own (out
 * of memory, 2^32 subtransactions) on that rare path. */
bool plans_capture_end(QueryDesc *queryDesc, int64_t queryid, uint64_t planid,
                       uint64_t exec_id, bool instrumented,
                       double exec_time_ms);

/* Counters of the plan store, for pg_qprof.store_status(). */
struct PlanStoreCounters {
    StoreFigures store;
    uint64_t truncated;
    uint64_t capture_failed; /* new plans not stored: their capture raised */
};
PlanStoreCounters plan_store_counters();

} // namespace qprof
