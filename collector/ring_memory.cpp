#include "ring_memory.h"
#include "errors.h"
#include "host_pid.h"
#include "packed_samples.h"
#include "sample.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace qprof {

namespace {

/* The ring's slot versions: seq * 4 + state (extension/ring.cpp). */
constexpr uint64_t kStateComplete = 0;
constexpr uint64_t kStateDropped = 2;

/* As read_samples_packed: at most this many samples a read. */
constexpr int kMaxRows = 50000;

uint64_t number(const PgResult &r, int column) {
    return static_cast<uint64_t>(std::strtoll(r.value(0, column), nullptr, 10));
}

} // namespace

bool RingMemoryReader::copy(uintptr_t address, void *to, size_t length) const {
    struct iovec local = {to, length};
    struct iovec remote = {reinterpret_cast<void *>(address), length};
    ssize_t got = process_vm_readv(pid_, &local, 1, &remote, 1, 0);
    if (got == static_cast<ssize_t>(length))
        return true;
    if (got >= 0)
        errno = EFAULT; /* a partial copy: the mapping is not what it was */
    return false;
}

void RingMemoryReader::lost(const std::string &what, int errnum) const {
    if (errnum == ESRCH)
        throw ConnectionLost("the postmaster (pid " + std::to_string(pid_) +
                             ") is gone");
    throw ConnectionLost(describe_errno(what, errnum));
}

std::unique_ptr<RingMemoryReader> RingMemoryReader::open(PgConnection &conn) {
    PgResult has = conn.exec(
        "SELECT to_regprocedure('pg_qprof.ring_memory()') IS NOT NULL, "
        "current_setting('is_superuser') = 'on'");
    if (has.text(0, 0) != "t")
        throw RingMemoryUnavailable(
            "the extension has no pg_qprof.ring_memory() (an older version)");
    if (has.text(0, 1) != "t")
        throw RingMemoryUnavailable("the role is not a superuser");
    PgResult r = conn.exec(
        "SELECT postmaster_pid, epoch, capacity, header_address, "
        "head_address, slots_address, slot_bytes, sample_offset, "
        "sample_fixed_bytes, "
        "(extract(epoch FROM pg_postmaster_start_time()) * 1e6)::bigint "
        "FROM pg_qprof.ring_memory()");
    std::unique_ptr<RingMemoryReader> reader(new RingMemoryReader());
    reader->epoch_ = number(r, 1);
    reader->capacity_ = number(r, 2);
    reader->header_address_ = number(r, 3);
    reader->head_address_ = number(r, 4);
    reader->slots_address_ = number(r, 5);
    reader->slot_bytes_ = number(r, 6);
    reader->sample_offset_ = number(r, 7);
    if (number(r, 8) != kSampleFixedBytes || reader->capacity_ == 0 ||
        reader->slot_bytes_ < reader->sample_offset_ + sizeof(Sample) ||
        reader->sample_offset_ < sizeof(uint64_t))
        throw RingMemoryUnavailable(
            "the ring's layout is not the one this collector was built with "
            "(extension and collector versions differ)");
    try {
        reader->pid_ = host_pid_of(std::atoi(r.value(0, 0)),
                                   std::strtoll(r.value(0, 9), nullptr, 10));
    } catch (const HostPidNotFound &e) {
        throw RingMemoryUnavailable(e.what());
    }
    uint64_t epoch = 0;
    if (!reader->copy(reader->header_address_, &epoch, sizeof epoch)) {
        int err = errno;
        throw RingMemoryUnavailable(describe_errno(
            "this process may not read the memory of the postmaster (pid " +
                std::to_string(reader->pid_) +
                "; run as root or as the server's OS user)",
            err));
    }
    if (epoch != reader->epoch_)
        throw RingMemoryUnavailable(
            "the postmaster's memory does not hold the ring where the server "
            "says");
    return reader;
}

void RingMemoryReader::read(uint64_t after_seq, int max_rows,
                            std::vector<SampleRow> &rows) {
    rows.clear();
    /* The epoch and the head in one call. */
    uint64_t epoch = 0, head = 0;
    struct iovec local[2] = {{&epoch, sizeof epoch}, {&head, sizeof head}};
    struct iovec remote[2] = {
        {reinterpret_cast<void *>(header_address_), sizeof epoch},
        {reinterpret_cast<void *>(head_address_), sizeof head}};
    if (process_vm_readv(pid_, local, 2, remote, 2, 0) !=
        static_cast<ssize_t>(sizeof epoch + sizeof head))
        lost("cannot read the ring's head from the postmaster's memory", errno);
    if (epoch != epoch_)
        throw ConnectionLost("the server's ring was created anew (restart)");

    uint64_t oldest = head > capacity_ ? head - capacity_ + 1 : 1;
    uint64_t first = std::max(after_seq + 1, oldest);
    if (head < first || max_rows <= 0)
        return;
    uint64_t count =
        std::min<uint64_t>(head - first + 1, std::min(max_rows, kMaxRows));

    /* The slots, in at most two pieces (the ring wraps). */
    slots_.resize(count * slot_bytes_);
    uint64_t index = (first - 1) % capacity_;
    uint64_t piece = std::min(count, capacity_ - index);
    if (!copy(slots_address_ + index * slot_bytes_, slots_.data(),
              piece * slot_bytes_) ||
        (piece < count &&
         !copy(slots_address_, slots_.data() + piece * slot_bytes_,
               (count - piece) * slot_bytes_)))
        lost("cannot read the ring from the postmaster's memory", errno);

    /* Their versions again, after: a slot whose version changed meanwhile
     * was being rewritten while copied (the seqlock of ring.cpp). */
    versions_.resize(count);
    std::vector<struct iovec> to(IOV_MAX), from(IOV_MAX);
    for (uint64_t done = 0; done < count;) {
        uint64_t n = std::min<uint64_t>(count - done, IOV_MAX);
        for (uint64_t k = 0; k < n; ++k) {
            uint64_t slot = (index + done + k) % capacity_;
            to[k] = {&versions_[done + k], sizeof(uint64_t)};
            from[k] = {
                reinterpret_cast<void *>(slots_address_ + slot * slot_bytes_),
                sizeof(uint64_t)};
        }
        if (process_vm_readv(pid_, to.data(), n, from.data(), n, 0) !=
            static_cast<ssize_t>(n * sizeof(uint64_t)))
            lost("cannot read the ring from the postmaster's memory", errno);
        done += n;
    }

    rows.resize(count);
    size_t kept = 0;
    Sample sample;
    for (uint64_t k = 0; k < count; ++k) {
        uint64_t seq = first + k;
        const char *slot = slots_.data() + k * slot_bytes_;
        uint64_t before;
        memcpy(&before, slot, sizeof before);
        if (before == seq * 4 + kStateComplete) {
            if (versions_[k] != before)
                continue; /* overwritten while copied: lost */
            memcpy(&sample, slot + sample_offset_, sizeof sample);
            if (sample.tags_len > kTagBytes)
                sample.tags_len = kTagBytes;
            sample_to_row(sample, rows[kept++]);
            continue;
        }
        if ((before >> 2) > seq || before == seq * 4 + kStateDropped)
            continue; /* overwritten or dropped: lost */
        break;        /* reserved, still being written: the next read has it */
    }
    rows.resize(kept);
}

} // namespace qprof
