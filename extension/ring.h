/*
 * ring.h — the shared-memory sample ring (DESIGN.md contract 2).
 *
 * Fixed size, multi-producer, lock-free. Writers never wait; a reader never
 * returns a torn or mixed sample (a slot is never handed to a new writer
 * while a lapped one may still store into it); when the ring is full the
 * oldest samples are overwritten, and every sequence number that can no
 * longer be read is counted once, as overwritten or as dropped. The
 * protocol is in ring.cpp and docs/ring.md, the slot versions in
 * ring_slot.h.
 */
#pragma once

#include <cstdint>

#include "sample.h"

namespace qprof {

/* Shared memory: size for shmem_request_hook, create or attach from
 * shmem_startup_hook (AddinShmemInitLock held). */
size_t ring_shmem_size();
void ring_shmem_startup();
bool ring_ready();

/* Writer side. ring_begin_write reserves the next sequence number and
 * returns the slot's sample to fill (its seq is set), or nullptr when a
 * writer the ring lapped is still inside the slot (the sample is then
 * dropped and counted) or this one was lapped before it reached the slot.
 * ring_end_write publishes it. Nothing in between may fail: a writer that
 * never ends keeps its slot (every later writer of it drops its sample,
 * counted) until shared memory is created again. */
Sample *ring_begin_write(uint64_t *ticket);
void ring_end_write(uint64_t ticket);

/* Per-backend counters of executions that were not recorded. */
void ring_count_skipped_by_sampling();
void ring_count_skipped_by_min_duration();
/* an execution not recorded because too many were open in its backend */
void ring_count_skipped_too_deep();

/* Reader side. */
enum class ReadResult { Ok, Lost, NotReady };
/* Copies sample `seq` into *out if it is still in the ring and complete.
 * `head` is a head_seq read before (RingStatus): every writer bumps the
 * ring's head, so a reader going through thousands of samples reads it
 * once, not once each. */
ReadResult ring_read(uint64_t seq, uint64_t head, Sample *out);
/* The same, copying only the sample's used bytes (sample_used_bytes) to
 * `out`, which need not be aligned and has room for a whole Sample; their
 * number goes to *bytes. */
ReadResult ring_read_used_bytes(uint64_t seq, uint64_t head, char *out,
                                size_t *bytes);

struct RingStatus {
    uint64_t epoch;
    uint64_t capacity;
    uint64_t head_seq;   /* last reserved sequence number */
    uint64_t oldest_seq; /* first sequence number still in the ring */
    uint64_t overwritten;
    uint64_t dropped;
    uint64_t skipped_by_sampling;
    uint64_t skipped_by_min_duration;
    uint64_t skipped_too_deep;
    uint64_t reset_seq;
    int64_t reset_time; /* TimestampTz, 0 = never */
};
RingStatus ring_status();

/* Where the ring lies in the server's shared memory, at the same address in
 * the postmaster and every backend: for a collector that reads it from the
 * postmaster's memory with the reader's protocol above (the version word at
 * the start of each slot, judged with ring_slot.h, then the sample) instead
 * of through SQL. */
struct RingMemory {
    uint64_t epoch;
    uint64_t capacity;
    uintptr_t header_address; /* the epoch, a uint64 */
    uintptr_t head_address;   /* head_seq, a uint64 */
    uintptr_t
        slots_address; /* slot 0; sample seq is in slot (seq-1) % capacity */
    uint32_t slot_bytes;
    uint32_t sample_offset; /* of the Sample in its slot; the version is at 0 */
};
RingMemory ring_memory();

/* Hides the samples now in the ring from the views and zeroes the counters
 * the views show; sequence numbers stay monotonic for the collector. Safe
 * to call from several backends at once. */
void ring_reset();

} // namespace qprof
