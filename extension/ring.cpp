/*
 * ring.cpp — the shared-memory sample ring.
 *
 * Protocol (docs/ring.md). Every slot starts with a 64-bit version word,
 * seq * 4 + state (ring_slot.h): complete, being written, dropped, or
 * dropped while an older writer is still inside. A writer reserves seq with
 * one atomic fetch-add on the head, then takes slot (seq - 1) % capacity
 * with a compare-and-swap from any version of an older seq that has no
 * writer inside to "seq being written", stores the sample and publishes it
 * with a second compare-and-swap to "seq complete".
 *
 * No writer ever waits. A writer that finds a writer inside its slot (one
 * the ring lapped while it was preempted) gives its sample up: it swaps the
 * version to "seq dropped, writer inside" and counts the drop. The busy bit
 * stays set through any number of such drops, so nobody takes the slot, and
 * nobody can mark it complete, while the stale writer may still store into
 * it. When that writer finishes, its compare-and-swap to "complete" fails;
 * it clears the busy bit instead (the slot then reads "dropped") and its own
 * sample, out of the window since its slot was reached again, is counted
 * overwritten. Every seq is therefore, once its writer is done, readable,
 * overwritten or dropped, and counted once: a dropped seq that leaves the
 * window is counted when the next writer of its slot replaces its version,
 * and not as overwritten.
 *
 * A reader checks the version before and after copying the slot (seqlock):
 * a sample that changed under it is reported lost, never returned torn, and
 * a sample is "complete" only when no writer is inside its slot.
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
#include "ring_slot.h"
#include "settings.h"

namespace qprof {

namespace {

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
    /* dropped seqs whose version a later writer of their slot replaced:
     * they left the window and are not counted overwritten */
    pg_atomic_uint64 dropped_left_window;
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
    pg_atomic_init_u64(&ring->dropped_left_window, 0);
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

namespace {

/* The rare ends of a claim: the version replaced was a dropped seq (which
 * leaves the window now, counted once, as dropped), or this writer dropped
 * its own sample. True in the second case. */
bool count_drops(uint64_t replaced, uint64_t state) {
    if ((replaced & kSlotDropped) != 0)
        pg_atomic_fetch_add_u64(&ring->dropped_left_window, 1);
    if ((state & kSlotDropped) == 0)
        return false;
    pg_atomic_fetch_add_u64(&ring->dropped, 1);
    return true;
}

} // namespace

Sample *ring_begin_write(uint64_t *ticket) {
    uint64_t seq = pg_atomic_add_fetch_u64(&ring->head, 1);
    Slot *slot = &slots[(seq - 1) % ring->capacity];
    uint64_t version = pg_atomic_read_u64(&slot->version);
    uint64_t state;
    do {
        if (slot_version_seq(version) >= seq)
            return nullptr; /* lapped before it looked: counted overwritten */
        /* A writer inside is one the ring lapped: the slot is not ours. Give
         * our sample up (dropped) and keep the busy bit, so that no one
         * takes the slot before that writer has left. */
        state = kSlotBusy | (version & kSlotBusy) << 1;
    } while (!pg_atomic_compare_exchange_u64(&slot->version, &version,
                                             slot_version(seq, state)));
    if (unlikely(((version | state) & kSlotDropped) != 0) &&
        count_drops(version, state))
        return nullptr;
    /* the claim is visible before any store into the sample (on x86 this
     * only keeps the compiler from moving the stores) */
    pg_write_barrier();
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

/* This writer was lapped while inside its slot: the writers that came to it
 * since dropped their samples and left the busy bit set for it. Clear it so
 * that the next writer may take the slot; the version keeps the newest
 * dropped seq. Only those writers change the version meanwhile, each
 * keeping the bit set: this ends as soon as none comes between two looks. */
void leave_lapped_slot(Slot *slot, uint64_t version) {
    while ((version & kSlotBusy) != 0 &&
           !pg_atomic_compare_exchange_u64(&slot->version, &version,
                                           version & ~kSlotBusy)) {
    }
}

} // namespace

void ring_end_write(uint64_t seq) {
    uint64_t index = (seq - 1) % ring->capacity;
    Slot *slot = &slots[index];
    uint64_t expected = slot_version(seq, kSlotBusy);
    /* the compare-and-swap is a full barrier: the sample is visible first */
    if (unlikely(!pg_atomic_compare_exchange_u64(&slot->version, &expected,
                                                 slot_version(seq, 0))))
        leave_lapped_slot(slot, expected);
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
    SlotVerdict verdict = slot_verdict(before, seq);
    if (verdict == SlotVerdict::Complete) {
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
    if (verdict == SlotVerdict::Lost)
        return ReadResult::Lost;
    return ReadResult::NotReady; /* reserved, still being written */
}

ReadResult ring_read(uint64_t seq, uint64_t head, Sample *out) {
    /* the used bytes are a prefix of the struct: the tags land in place */
    size_t bytes;
    return ring_read_used_bytes(seq, head, reinterpret_cast<char *>(out),
                                &bytes);
}

namespace {

/* total - part, for a part read before its total (a reset base, the drops
 * that left the window): never negative then, and the guard keeps a view
 * from ever showing 2^64 - 1 should that not hold. */
uint64_t saturating_sub(uint64_t total, uint64_t part) {
    return total > part ? total - part : 0;
}

/* Moves a reset base forward to `total`, never back: of two resets racing,
 * the one that read the larger total wins, whichever stores last. */
void advance_base(pg_atomic_uint64 *base, uint64_t total) {
    uint64_t seen = pg_atomic_read_u64(base);
    while (seen < total &&
           !pg_atomic_compare_exchange_u64(base, &seen, total)) {
    }
}

struct SkipTotals {
    uint64_t sampling = 0, min_duration = 0, too_deep = 0;
};

SkipTotals skip_totals() {
    SkipTotals t;
    for (uint32_t i = 0; i < ring->num_counters; i++) {
        t.sampling += pg_atomic_read_u64(&counters[i].skipped_by_sampling);
        t.min_duration +=
            pg_atomic_read_u64(&counters[i].skipped_by_min_duration);
        t.too_deep += pg_atomic_read_u64(&counters[i].skipped_too_deep);
    }
    return t;
}

} // namespace

RingStatus ring_status() {
    RingStatus st{};
    st.epoch = ring->epoch;
    st.capacity = ring->capacity;
    /* The reset bases and the drops that left the window are read before
     * what they are taken from: every total read after is at least as large
     * (the head was bumped before a writer replaced a dropped version). */
    uint64_t base_sampling =
        pg_atomic_read_u64(&ring->reset_skipped_by_sampling);
    uint64_t base_min_duration =
        pg_atomic_read_u64(&ring->reset_skipped_by_min_duration);
    uint64_t base_too_deep = pg_atomic_read_u64(&ring->reset_skipped_too_deep);
    uint64_t base_dropped = pg_atomic_read_u64(&ring->reset_dropped);
    uint64_t dropped_left = pg_atomic_read_u64(&ring->dropped_left_window);
    pg_read_barrier();
    st.head_seq = pg_atomic_read_u64(&ring->head);
    uint64_t out_of_window =
        st.head_seq > st.capacity ? st.head_seq - st.capacity : 0;
    st.oldest_seq = out_of_window + 1;
    /* a dropped seq is counted once, as dropped, also out of the window */
    st.overwritten = saturating_sub(out_of_window, dropped_left);
    st.dropped =
        saturating_sub(pg_atomic_read_u64(&ring->dropped), base_dropped);
    st.reset_seq = pg_atomic_read_u64(&ring->reset_seq);
    st.reset_time = static_cast<int64_t>(pg_atomic_read_u64(&ring->reset_time));
    SkipTotals skipped = skip_totals();
    st.skipped_by_sampling = saturating_sub(skipped.sampling, base_sampling);
    st.skipped_by_min_duration =
        saturating_sub(skipped.min_duration, base_min_duration);
    st.skipped_too_deep = saturating_sub(skipped.too_deep, base_too_deep);
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
    /* Bases are set to totals, not moved by what a status read showed, and
     * only forward: resets racing each other (or a status read) can neither
     * count a skip twice nor push a base past its total. */
    SkipTotals skipped = skip_totals();
    advance_base(&ring->reset_skipped_by_sampling, skipped.sampling);
    advance_base(&ring->reset_skipped_by_min_duration, skipped.min_duration);
    advance_base(&ring->reset_skipped_too_deep, skipped.too_deep);
    advance_base(&ring->reset_dropped, pg_atomic_read_u64(&ring->dropped));
    advance_base(&ring->reset_seq, pg_atomic_read_u64(&ring->head));
    pg_atomic_write_u64(&ring->reset_time,
                        static_cast<uint64_t>(GetCurrentTimestamp()));
}

} // namespace qprof
