/*
 * ring_memory.h — reads the sample ring straight from the postmaster's
 * memory (process_vm_readv), the collector's fast path where it may: no
 * backend copies the samples out of the ring and no socket carries them.
 * The ring is at the same address in the postmaster and every backend
 * (pg_qprof.ring_memory() says where); the samples read are those
 * pg_qprof.read_samples_packed would return.
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
    /* Locates the ring of the server of `conn` and reads its header once.
     * Throws RingMemoryUnavailable when the extension has no
     * pg_qprof.ring_memory() (an older version), the role is not a
     * superuser, the postmaster is not a process of this machine, the
     * layout is not the one this collector was built with, or this process
     * may not read the postmaster's memory (neither root nor the server's
     * OS user). */
    static std::unique_ptr<RingMemoryReader> open(PgConnection &conn);

    /* Replaces `rows` with the samples after `after_seq`, oldest first, at
     * most `max_rows`: stops at one still being written, skips lost ones
     * (the gap in seq shows them). Throws ConnectionLost when the
     * postmaster is gone or its ring was created anew (a restart). */
    void read(uint64_t after_seq, int max_rows, std::vector<SampleRow> &rows);

    int host_postmaster_pid() const { return pid_; }

  private:
    RingMemoryReader() = default;
    /* Copies `length` bytes at the postmaster's `address`; false with errno
     * set when the kernel refuses. */
    bool copy(uintptr_t address, void *to, size_t length) const;
    [[noreturn]] void lost(const std::string &what, int errnum) const;

    int pid_ = 0;
    uint64_t epoch_ = 0;
    uint64_t capacity_ = 0;
    uintptr_t header_address_ = 0;
    uintptr_t head_address_ = 0;
    uintptr_t slots_address_ = 0;
    size_t slot_bytes_ = 0;
    size_t sample_offset_ = 0;
    std::vector<char> slots_;        /* the slots of one read, as copied */
    std::vector<uint64_t> versions_; /* their versions, read again after */
};

} // namespace qprof
