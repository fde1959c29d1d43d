/*
 * wait_sampler.h — waits by wait event class without BPF (issue 29).
 *
 * PostgreSQL 15 has no hook on its waits, but every backend publishes the
 * wait it is in (PGPROC wait_event_info) around each one. A background
 * worker looks at every PGPROC at a fixed interval
 * (pg_qprof.wait_sample_interval) and, for each backend it finds waiting,
 * adds ticks to that backend's counter of the wait's class, in shared
 * memory indexed by pgprocno. Only the worker writes the counters (plain
 * relaxed stores); a backend reads its own when an execution opens and
 * when it closes, and the sample carries the difference: a few loads, no
 * lock, nothing a backend can wait on.
 */
#pragma once

#include <cstddef>
#include <cstdint>

#include "sample.h"

namespace qprof {

size_t wait_sampler_shmem_size();
void wait_sampler_shmem_startup();
/* Defines pg_qprof.wait_sample_interval. */
void wait_sampler_define_settings();
/* Registers the sampling worker (from _PG_init, while preloading). */
void wait_sampler_register();

/* The interval the worker samples at now, in µs: 0 when sampling is off or
 * the worker does not run. */
uint32_t wait_sample_interval_us();

/* Reads the sampler's header and this backend's counters once, at the
 * backend's first execution, before that execution's window opens (the
 * planner hook takes its start after next_exec_id). A backend's first touch
 * of a page of shared memory takes a page fault, and the first in a 2 MB
 * region it has not used yet also builds a page table: 35-450 µs on the
 * development machines (docs/overhead.md). Taken at the first read, between
 * the planning and the start of the execution, that time was in neither,
 * and the BPF programs credited it to every session's first statement. */
void wait_sampler_backend_attach();

/* This backend's ticks per wait event class (sample.h), for the
 * difference an execution's sample carries. False when the backend has no
 * counters (not a regular backend, shared memory not there). */
bool wait_ticks_read(uint32_t ticks[kSampledWaitClasses]);

} // namespace qprof
