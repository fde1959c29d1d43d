/*
 * parallel_attribution.h — kernel events of parallel workers go to their
 * leader's execution.
 *
 * A parallel worker is a process of its own: its reads and CPU time would
 * otherwise belong to no execution. Before a parallel plan runs, the leader
 * publishes its execution word in a shared slot of its own; each worker,
 * as it starts the plan, copies it into its word together with the
 * leader's pid, and the BPF programs key the worker's events by the leader.
 */
#pragma once

#include <cstddef>
#include <cstdint>

namespace qprof {

size_t parallel_attribution_shmem_size();
void parallel_attribution_shmem_startup();

/* Leader: the execution word its workers are about to work for. */
void parallel_leader_publish(uint64_t exec_id);

/* Worker: adopts the leader's execution (ExecutorStart) and lets it go
 * (ExecutorEnd). */
void parallel_worker_adopt();
void parallel_worker_release();

} // namespace qprof
