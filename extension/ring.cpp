/*
 * ring.cpp — the shared-memory sample ring.
 *
 * Protocol. Every slot has a 64-bit version word: seq * 4 + state, where
 * state is 0 (sample `seq` complete), 1 (being written for `seq`) or
 * 2 (`seq` was dropped). A writer reserves seq with one atomic fetch-add on
 * the head, then claims slot (seq - 1) % capacity with a compare-and-swap
 * from any complete older version to "writing", copies the sample in and
 * publishes it with a second compare-and-swap to "complete".
 *
 * No writer ever waits. If the slot is still being written for an older
 * sequence number (that writer was preempted while the ring went round),
 * the newer writer marks the slot dropped for its own seq and gives up; the
 * older writer's final compare-and-swap then fails and its sample, already
 * out of the window, is counted as overwritten. Every seq is therefore
 * either readable, overwritten (seq <= head - capacity) or dropped.
 *
 * A reader checks the version before and after copying the slot (seqlock):
 * a sample that changed under it is reported lost, never returned torn.
 */
#include "ring.h"

#include <cstring>

extern "C" {
#include "postgres.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"
}

#include "procs.h"
#include "settings.h"

namespace qprof {

namespace {

constexpr uint64_t kStateComplete = 0;
constexpr uint64_t kStateWriting = 1;
constexpr uint64_t kStateDropped = 2;

struct alignas(64) Slot {
    pg_atomic_uint64 version;
    Sample sample;
};

/* Counters owned by one backend (indexed by pgprocno): written without
 * atomic read-modify-write, summed by readers. */
struct alignas(64) BackendCounters {
    pg_atomic_uint64 skipped_by_sampling;
    pg_atomic_uint64 skipped_by_min_duration;
    pg_atomic_uint64 skipped_too_deep;
};

struct RingHeader {
    uint64_t epoch;
    uint64_t capacity;
    uint32_t num_counters;
    alignas(64) pg_atomic_uint64 head; /* last reserved seq */
    alignas(64) pg_atomic_uint64 dropped;
    pg_atomic_uint64 reset_seq;
    pg_atomic_uint64 reset_time;
    pg_atomic_uint64 reset_skipped_by_sampling;
    pg_atomic_uint64 reset_skipped_by_min_duration;
    pg_atomic_uint64 reset_skipped_too_deep;
    pg_atomic_uint64 reset_dropped;
};

RingHeader *ring = nullptr;
BackendCounters *counters = nullptr;
Slot *slots = nullptr;

size_t header_bytes() {
    return TYPEALIGN(64, sizeof(RingHeader));
}

uint32_t counter_count() {
    return pgproc_count();
}

size_t counters_bytes() {
    return TYPEALIGN(64, sizeof(BackendCounters) * counter_count());
}

uint64_t slot_count() {
    size_t total = static_cast<size_t>(settings.ring_size_mb) * 1024 * 1024;
    size_t fixed = header_bytes() + counters_bytes();
    if (total <= fixed + 16 * sizeof(Slot))
        return 16;
    return (total - fixed) / sizeof(Slot);
}

BackendCounters *my_counters() {
    if (counters == nullptr || MyProc == nullptr)
        return nullptr;
    uint32_t index = static_cast<uint32_t>(MyProc->pgprocno);
    if (index >= ring->num_counters)
        return nullptr;
    return &counters[index];
}

void bump(pg_atomic_uint64 *counter) {
    /* single writer: a plain store is enough and costs no bus lock */
    pg_atomic_write_u64(counter, pg_atomic_read_u64(counter) + 1);
}

} // namespace

size_t ring_shmem_size() {
    return header_bytes() + counters_bytes() + slot_count() * sizeof(Slot);
}

void ring_shmem_startup() {
    bool found = false;
    char *base = static_cast<char *>(
        ShmemInitStruct("pg_qprof ring", ring_shmem_size(), &found));
    ring = reinterpret_cast<RingHeader *>(base);
    counters = reinterpret_cast<BackendCounters *>(base + header_bytes());
    slots = reinterpret_cast<Slot *>(base + header_bytes() + counters_bytes());
    if (found)
        return;

    /* A new epoch each time shared memory is created: server start and
     * crash recovery both come through here. */
    ring->epoch = static_cast<uint64_t>(GetCurrentTimestamp());
    ring->capacity = slot_count();
    ring->num_counters = counter_count();
    pg_atomic_init_u64(&ring->head, 0);
    pg_atomic_init_u64(&ring->dropped, 0);
    pg_atomic_init_u64(&ring->reset_seq, 0);
    pg_atomic_init_u64(&ring->reset_time, 0);
    pg_atomic_init_u64(&ring->reset_skipped_by_sampling, 0);
    pg_atomic_init_u64(&ring->reset_skipped_by_min_duration, 0);
    pg_atomic_init_u64(&ring->reset_skipped_too_deep, 0);
    pg_atomic_init_u64(&ring->reset_dropped, 0);
    for (uint32_t i = 0; i < ring->num_counters; i++) {
        pg_atomic_init_u64(&counters[i].skipped_by_sampling, 0);
        pg_atomic_init_u64(&counters[i].skipped_by_min_duration, 0);
        pg_atomic_init_u64(&counters[i].skipped_too_deep, 0);
    }
    for (uint64_t i = 0; i < ring->capacity; i++)
        pg_atomic_init_u64(&slots[i].version, 0);
}

bool ring_ready() {
    return ring != nullptr;
}

Sample *ring_begin_write(uint64_t *ticket) {
    uint64_t seq = pg_atomic_add_fetch_u64(&ring->head, 1);
    Slot *slot = &slots[(seq - 1) % ring->capacity];
    uint64_t version = pg_atomic_read_u64(&slot->version);
    for (;;) {
        uint64_t owner = version >> 2;
        if (owner >= seq)
            return nullptr; /* lapped before we started: overwritten */
        if ((version & 3) == kStateWriting) {
            /* a lapped writer still copies into this slot: give up ours */
            if (pg_atomic_compare_exchange_u64(&slot->version, &version,
                                               seq * 4 + kStateDropped)) {
                pg_atomic_fetch_add_u64(&ring->dropped, 1);
                return nullptr;
            }
            continue;
        }
        if (pg_atomic_compare_exchange_u64(&slot->version, &version,
                                           seq * 4 + kStateWriting))
            break;
    }
    *ticket = seq;
    slot->sample.seq = seq;
    return &slot->sample;
}

namespace {

/* This backend's previous sequence number: the distance to it predicts
 * the next one, whose slot can then be fetched ahead. */
uint64_t previous_seq = 0;

/* The ring is written as a stream larger than the CPU caches, so the first
 * touch of a slot misses. Ask now for the slot this backend will likely get
 * next, ready for writing, while it has other work to do; a wrong guess
 * costs a line fetched for nothing. `index` is the slot of `seq`. */
void prefetch_predicted_slot(uint64_t seq, uint64_t index) {
    uint64_t stride = seq > previous_seq ? seq - previous_seq : 1;
    previous_seq = seq;
    if (stride >= ring->capacity)
        return;
    index += stride;
    if (index >= ring->capacity)
        index -= ring->capacity;
    const char *next = reinterpret_cast<const char *>(&slots[index]);
    for (size_t offset = 0; offset < offsetof(Slot, sample) + kSampleFixedBytes;
         offset += 64)
        __builtin_prefetch(next + offset, 1, 3);
}

} // namespace

void ring_end_write(uint64_t seq) {
    uint64_t index = (seq - 1) % ring->capacity;
    Slot *slot = &slots[index];
    uint64_t expected = seq * 4 + kStateWriting;
    /* the compare-and-swap is a full barrier: the sample is visible first */
    (void)pg_atomic_compare_exchange_u64(&slot->version, &expected,
                                         seq * 4 + kStateComplete);
    prefetch_predicted_slot(seq, index);
}

void ring_count_skipped_by_sampling() {
    if (BackendCounters *c = my_counters())
        bump(&c->skipped_by_sampling);
}

void ring_count_skipped_by_min_duration() {
    if (BackendCounters *c = my_counters())
        bump(&c->skipped_by_min_duration);
}

void ring_count_skipped_too_deep() {
    if (BackendCounters *c = my_counters())
        bump(&c->skipped_too_deep);
}

ReadResult ring_read_used_bytes(uint64_t seq, uint64_t head, char *out,
                                size_t *bytes) {
    /* a stale head is safe: an overwritten slot fails the version check */
    if (seq == 0 || seq > head)
        return ReadResult::NotReady;
    if (head >= ring->capacity && seq <= head - ring->capacity)
        return ReadResult::Lost;
    Slot *slot = &slots[(seq - 1) % ring->capacity];
    uint64_t before = pg_atomic_read_u64(&slot->version);
    pg_read_barrier();
    if (before == seq * 4 + kStateComplete) {
        const char *from = reinterpret_cast<const char *>(&slot->sample);
        memcpy(out, from, kSampleFixedBytes);
        /* tags_len may be torn here: it is bounded, and the version check
         * below rejects the copy then */
        uint16_t tags_len;
        memcpy(&tags_len, out + offsetof(Sample, tags_len), sizeof tags_len);
        size_t tag_bytes = tags_len <= kTagBytes ? tags_len : kTagBytes;
        memcpy(out + kSampleFixedBytes, from + kSampleFixedBytes, tag_bytes);
        pg_read_barrier();
        uint64_t after = pg_atomic_read_u64(&slot->version);
        *bytes = kSampleFixedBytes + tag_bytes;
        return after == before ? ReadResult::Ok : ReadResult::Lost;
    }
    if ((before >> 2) > seq || before == seq * 4 + kStateDropped)
        return ReadResult::Lost;
    return ReadResult::NotReady; /* reserved, still being written */
}

ReadResult ring_read(uint64_t seq, uint64_t head, Sample *out) {
    /* the used bytes are a prefix of the struct: the tags land in place */
    size_t bytes;
    return ring_read_used_bytes(seq, head, reinterpret_cast<char *>(out),
                                &bytes);
}

RingStatus ring_status() {
    RingStatus st{};
    st.epoch = ring->epoch;
    st.capacity = ring->capacity;
    st.head_seq = pg_atomic_read_u64(&ring->head);
    st.overwritten = st.head_seq > st.capacity ? st.head_seq - st.capacity : 0;
    st.oldest_seq = st.overwritten + 1;
    st.reset_seq = pg_atomic_read_u64(&ring->reset_seq);
    st.reset_time = static_cast<int64_t>(pg_atomic_read_u64(&ring->reset_time));
    uint64_t sampling = 0, min_duration = 0, too_deep = 0;
    for (uint32_t i = 0; i < ring->num_counters; i++) {
        sampling += pg_atomic_read_u64(&counters[i].skipped_by_sampling);
        min_duration +=
            pg_atomic_read_u64(&counters[i].skipped_by_min_duration);
        too_deep += pg_atomic_read_u64(&counters[i].skipped_too_deep);
    }
    st.dropped = pg_atomic_read_u64(&ring->dropped) -
                 pg_atomic_read_u64(&ring->reset_dropped);
    st.skipped_by_sampling =
        sampling - pg_atomic_read_u64(&ring->reset_skipped_by_sampling);
    st.skipped_by_min_duration =
        min_duration - pg_atomic_read_u64(&ring->reset_skipped_by_min_duration);
    st.skipped_too_deep =
        too_deep - pg_atomic_read_u64(&ring->reset_skipped_too_deep);
    return st;
}

RingMemory ring_memory() {
    RingMemory m{};
    m.epoch = ring->epoch;
    m.capacity = ring->capacity;
    m.header_address = reinterpret_cast<uintptr_t>(&ring->epoch);
    m.head_address = reinterpret_cast<uintptr_t>(&ring->head);
    m.slots_address = reinterpret_cast<uintptr_t>(slots);
    m.slot_bytes = sizeof(Slot);
    m.sample_offset = offsetof(Slot, sample);
    static_assert(offsetof(Slot, version) == 0, "the version leads the slot");
    static_assert(offsetof(RingHeader, epoch) == 0, "the epoch leads");
    return m;
}

void ring_reset() {
    RingStatus st = ring_status();
    pg_atomic_write_u64(&ring->reset_skipped_by_sampling,
                        pg_atomic_read_u64(&ring->reset_skipped_by_sampling) +
                            st.skipped_by_sampling);
    pg_atomic_write_u64(
        &ring->reset_skipped_by_min_duration,
        pg_atomic_read_u64(&ring->reset_skipped_by_min_duration) +
            st.skipped_by_min_duration);
    pg_atomic_write_u64(&ring->reset_skipped_too_deep,
                        pg_atomic_read_u64(&ring->reset_skipped_too_deep) +
                            st.skipped_too_deep);
    pg_atomic_write_u64(&ring->reset_dropped,
                        pg_atomic_read_u64(&ring->dropped));
    pg_atomic_write_u64(&ring->reset_seq, st.head_seq);
    pg_atomic_write_u64(&ring->reset_time,
                        static_cast<uint64_t>(GetCurrentTimestamp()));
}

} // namespace qprof
