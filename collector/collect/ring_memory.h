/*
 * ring_memory.h — reads the sample ring in the server's shared memory,
 * mapped read-only into the collector (through the postmaster's
 * /proc/PID/map_files entry): the collector's fast path where it may. No
 * backend then copies the samples out of the ring, no socket carries them,
 * and reading a sample costs what it costs a backend: a copy between two
 * reads of the slot's version (the ring's seqlock, extension/ring.cpp; the
 * versions are extension/ring_slot.h's).
 * pg_qprof.ring_memory() says where the ring lies; the samples read are
 * those pg_qprof.read_samples_packed would return.
 */
#pragma once

#include "pg_connection.h"
#include "sample_row.h"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace qprof {

/* The ring cannot be read from memory here; what() says why, in one line. */
struct RingMemoryUnavailable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class RingMemoryReader {
  public:
    /* Locates the ring of the server of `conn` and maps it. Throws
     * RingMemoryUnavailable when the extension has no
     * pg_qprof.ring_memory() (an older version), the role is not a
     * superuser, the postmaster is not a process of this machine, the
     * layout is not the one this collector was built with, or this process
     * may not open the postmaster's memory (root, with CAP_SYS_PTRACE and
     * CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE, may). */
    static std::unique_ptr<RingMemoryReader> open(PgConnection &conn);
    ~RingMemoryReader();
    RingMemoryReader(const RingMemoryReader &) = delete;
    RingMemoryReader &operator=(const RingMemoryReader &) = delete;

    /* Replaces `rows` with the samples after `after_seq`, oldest first, at
     * most `max_rows`: stops at one still being written, skips lost ones
     * (the gap in seq shows them). A server restart leaves this mapping on
     * the old ring, which no longer moves: the SQL connection notices. */
    void read(uint64_t after_seq, int max_rows, std::vector<SampleRow> &rows);

  private:
    RingMemoryReader() = default;
    /* The mapped address of the postmaster's `address`. */
    const char *local(uintptr_t address) const {
        return map_ + (address - remote_start_);
    }

    char *map_ = nullptr;
    size_t map_length_ = 0;
    uintptr_t remote_start_ = 0; /* the postmaster's address of map_ */
    uint64_t capacity_ = 0;
    const uint64_t *head_ = nullptr;
    const char *slots_ = nullptr;
    size_t slot_bytes_ = 0;
    size_t sample_offset_ = 0;
    /* Test only (QPROF_TEST_RING_PAUSE_MID_COPY_US): the first sample a
     * read copies is copied in two halves with this pause between them, so
     * that writers rewrite it during the copy and the version check, not
     * luck, must keep the torn copy out. 0 in normal use. */
    unsigned pause_mid_copy_us_ = 0;
};

} // namespace qprof
