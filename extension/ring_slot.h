/*
 * ring_slot.h — the version word at the start of every slot of the sample
 * ring: how its writers (extension/ring.cpp) and its readers (the same file,
 * and the collector reading the server's memory) agree on what a slot holds.
 * No PostgreSQL header: the collector includes it.
 *
 * A version is seq * 4 + state, where seq is the last sequence number that
 * took the slot (claimed it, or found it taken and gave its sample up):
 *
 *   seq*4 + 0  sample seq is complete; no writer inside
 *   seq*4 + 1  the writer of seq is inside, writing it
 *   seq*4 + 2  seq was dropped; no writer inside
 *   seq*4 + 3  seq was dropped; an older writer, lapped, is still inside
 *
 * kSlotBusy says a writer is inside. A writer claims a slot only when that
 * bit is clear, so at most one writer is ever inside a slot, and a version
 * "complete" is never set while a stale writer could still be storing into
 * the sample.
 */
#pragma once

#include <cstdint>

namespace qprof {

constexpr uint64_t kSlotBusy = 1;    /* a writer is inside the slot */
constexpr uint64_t kSlotDropped = 2; /* the version's seq was dropped */
/* a writer finding kSlotBusy sets kSlotDropped by shifting it */
static_assert(kSlotDropped == kSlotBusy << 1, "the dropped bit follows busy");

constexpr uint64_t slot_version(uint64_t seq, uint64_t state) {
    return seq * 4 + state;
}

constexpr uint64_t slot_version_seq(uint64_t version) {
    return version >> 2;
}

/* What a reader of sample `seq` makes of its slot's version. */
enum class SlotVerdict {
    Complete, /* copy it, then check the version did not change */
    Lost,     /* overwritten or dropped: it will never be readable */
    NotReady, /* its writer has not finished (or not started) */
};

constexpr SlotVerdict slot_verdict(uint64_t version, uint64_t seq) {
    if (version == slot_version(seq, 0))
        return SlotVerdict::Complete;
    uint64_t owner = slot_version_seq(version);
    if (owner > seq || (owner == seq && (version & kSlotDropped) != 0))
        return SlotVerdict::Lost;
    return SlotVerdict::NotReady;
}

} // namespace qprof
