/*
 * node_actuals.h — per-node actuals of sampled executions (the auto_explain
 * use case, kept as data): internal to plan capture.
 *
 * Settings: pg_qprof.analyze_sample_rate (share of recorded executions run
 * with instrumentation), pg_qprof.analyze_min_duration (keep only those at
 * least this long), pg_qprof.analyze_timing (per-node time, off by default:
 * timing every node costs two clock reads per row), pg_qprof.node_actuals_size
 * (shared memory). Eviction: oldest kept execution first.
 */
#pragma once

#include <cstdint>

#include "shared_store.h"

struct QueryDesc;

namespace qprof {

void node_actuals_define_settings();
void node_actuals_shmem_request();
void node_actuals_shmem_startup();

/* At ExecutorEnd of an instrumented execution: copies the per-node actuals
 * into shared memory under (MyProcPid, exec_id) unless it ran shorter than
 * analyze_min_duration. Returns whether they were kept. May ereport. */
bool node_actuals_keep(QueryDesc *queryDesc, int64_t queryid, uint64_t planid,
                       uint64_t exec_id, double exec_time_ms);

struct NodeActualsCounters {
    StoreFigures store; /* store.stored: executions whose actuals were kept */
    uint64_t skipped_short;
};
NodeActualsCounters node_actuals_counters();

} // namespace qprof
