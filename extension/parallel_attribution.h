/*
 * parallel_attribution.h — kernel events of parallel workers go to their
 * leader's execution.
 *
 * A parallel worker is a process of its own: its reads and CPU time would
 * otherwise belong to no execution. Before a parallel plan or a utility
 * statement that may launch workers (CREATE INDEX, REINDEX, VACUUM) runs,
 * the leader publishes its execution word in a shared slot of its own; each
 * worker copies it into its word together with the leader's pid, and the
 * BPF programs key the worker's events by the leader.
 *
 * A worker that runs no executor plan (a parallel index build or vacuum)
 * never calls an executor hook: it adopts the execution while it restores
 * its leader's settings, from the assign hook of an internal setting the
 * leader keeps set in its session for that purpose.
 */
#pragma once

#include <cstddef>
#include <cstdint>

namespace qprof {

size_t parallel_attribution_shmem_size();
void parallel_attribution_shmem_startup();

/* The internal setting whose assign hook runs in every starting worker. */
void parallel_attribution_define_settings();

/* Leader: the execution word its workers are about to work for. Call it
 * before entering parallel mode (settings are frozen then). */
void parallel_leader_publish(uint64_t exec_id);

/* Worker: adopts the leader's execution (ExecutorStart) and lets it go
 * (ExecutorEnd). */
void parallel_worker_adopt();
void parallel_worker_release();

} // namespace qprof
