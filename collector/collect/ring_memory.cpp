#include "ring_memory.h"
#include "errors.h"
#include "host_pid.h"
#include "packed_samples.h"
#include "ring_slot.h"
#include "sample.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace qprof {

namespace {

/* As read_samples_packed: at most this many samples a read. */
constexpr int kMaxRows = 50000;

/* Where a copy paused for the test hook splits: the identity and query id
 * come from one half, the rows and tags from the other. */
constexpr size_t kCopySplit = offsetof(Sample, start_ts);

uint64_t number(const PgResult &r, int column) {
    return static_cast<uint64_t>(std::strtoll(r.value(0, column), nullptr, 10));
}

/* A word the server's backends write, read with acquire ordering: what is
 * read after it is not older than it. */
uint64_t load_acquire(const void *address) {
    return __atomic_load_n(static_cast<const uint64_t *>(address),
                           __ATOMIC_ACQUIRE);
}

/* Why this process may not open the postmaster's memory. */
RingMemoryUnavailable refused(int pid, int errnum) {
    return RingMemoryUnavailable(describe_errno(
        "this process may not open the postmaster's memory (pid " +
            std::to_string(pid) +
            "; root may: CAP_SYS_PTRACE with CAP_SYS_ADMIN or "
            "CAP_CHECKPOINT_RESTORE)",
        errnum));
}

/* The postmaster's shared mapping that holds `address`: its bounds and
 * file offset, from /proc/PID/maps. False when there is none. */
bool find_mapping(int pid, uintptr_t address, uintptr_t *start, uintptr_t *end,
                  uint64_t *offset) {
    std::string path = "/proc/" + std::to_string(pid) + "/maps";
    FILE *maps = fopen(path.c_str(), "re");
    if (!maps)
        throw refused(pid, errno);
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, maps)) {
        uintptr_t from, to;
        uint64_t file_offset;
        char perms[8];
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %" SCNx64, &from, &to,
                   perms, &file_offset) == 4 &&
            from <= address && address < to && perms[3] == 's') {
            *start = from;
            *end = to;
            *offset = file_offset;
            found = true;
        }
    }
    fclose(maps);
    return found;
}

} // namespace

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
    uint64_t epoch = number(r, 1);
    uintptr_t header_address = number(r, 3);
    std::unique_ptr<RingMemoryReader> reader(new RingMemoryReader());
    reader->capacity_ = number(r, 2);
    reader->slot_bytes_ = number(r, 6);
    reader->sample_offset_ = number(r, 7);
    uintptr_t head_address = number(r, 4);
    uintptr_t slots_address = number(r, 5);
    if (number(r, 8) != kSampleFixedBytes || reader->capacity_ == 0 ||
        reader->slot_bytes_ < reader->sample_offset_ + sizeof(Sample) ||
        reader->sample_offset_ < sizeof(uint64_t))
        throw RingMemoryUnavailable(
            "the ring's layout is not the one this collector was built with "
            "(extension and collector versions differ)");
    int pid;
    try {
        pid = host_pid_of(std::atoi(r.value(0, 0)),
                          std::strtoll(r.value(0, 9), nullptr, 10));
    } catch (const HostPidNotFound &e) {
        throw RingMemoryUnavailable(e.what());
    }

    /* The whole shared mapping that holds the ring, as the postmaster maps
     * it: its offsets are then aligned whatever its page size. */
    uintptr_t start = 0, end = 0;
    uint64_t file_offset = 0;
    uintptr_t ring_end =
        slots_address + reader->capacity_ * reader->slot_bytes_;
    if (!find_mapping(pid, header_address, &start, &end, &file_offset) ||
        ring_end > end)
        throw RingMemoryUnavailable(
            "no shared mapping of the postmaster (pid " + std::to_string(pid) +
            ") holds the ring where the server says");
    char name[64];
    snprintf(name, sizeof name, "/%d/map_files/%" PRIxPTR "-%" PRIxPTR, pid,
             start, end);
    int fd =
        ::open((std::string("/proc") + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw refused(pid, errno);
    void *map = mmap(nullptr, end - start, PROT_READ, MAP_SHARED, fd,
                     static_cast<off_t>(file_offset));
    int err = errno;
    close(fd);
    if (map == MAP_FAILED)
        throw RingMemoryUnavailable(
            describe_errno("cannot map the postmaster's memory", err));
    reader->map_ = static_cast<char *>(map);
    reader->map_length_ = end - start;
    reader->remote_start_ = start;
    reader->head_ =
        reinterpret_cast<const uint64_t *>(reader->local(head_address));
    reader->slots_ = reader->local(slots_address);
    if (load_acquire(reader->local(header_address)) != epoch)
        throw RingMemoryUnavailable(
            "the postmaster's memory does not hold the ring where the server "
            "says");
    if (const char *pause = getenv("QPROF_TEST_RING_PAUSE_MID_COPY_US"))
        reader->pause_mid_copy_us_ =
            static_cast<unsigned>(std::strtoul(pause, nullptr, 10));
    return reader;
}

RingMemoryReader::~RingMemoryReader() {
    if (map_)
        munmap(map_, map_length_);
}

void RingMemoryReader::read(uint64_t after_seq, int max_rows,
                            std::vector<SampleRow> &rows) {
    uint64_t head = load_acquire(head_);
    uint64_t oldest = head > capacity_ ? head - capacity_ + 1 : 1;
    uint64_t first = std::max(after_seq + 1, oldest);
    if (head < first || max_rows <= 0) {
        rows.clear();
        return;
    }
    uint64_t count =
        std::min<uint64_t>(head - first + 1, std::min(max_rows, kMaxRows));
    /* The rows of the last read are overwritten (sample_to_row sets every
     * field), not rebuilt: under load every read is a full batch. */
    if (rows.size() < count)
        rows.resize(count);
    size_t kept = 0;
    Sample sample;
    char *to = reinterpret_cast<char *>(&sample);
    for (uint64_t seq = first; seq < first + count; ++seq) {
        const char *slot = slots_ + ((seq - 1) % capacity_) * slot_bytes_;
        const char *from = slot + sample_offset_;
        uint64_t before = load_acquire(slot);
        /* the slot versions are the extension's (ring_slot.h): "complete"
         * only when no writer, not even a lapped one, is inside */
        SlotVerdict verdict = slot_verdict(before, seq);
        if (verdict == SlotVerdict::Complete) {
            memcpy(to, from, kCopySplit);
            if (pause_mid_copy_us_ != 0 && kept == 0)
                usleep(pause_mid_copy_us_);
            memcpy(to + kCopySplit, from + kCopySplit,
                   kSampleFixedBytes - kCopySplit);
            /* tags_len may be torn: bounded here, rejected below */
            size_t tags = std::min<size_t>(sample.tags_len, kTagBytes);
            memcpy(to + kSampleFixedBytes, from + kSampleFixedBytes, tags);
            std::atomic_thread_fence(std::memory_order_acquire);
            if (load_acquire(slot) != before)
                continue; /* rewritten while copied: lost */
            sample.tags_len = static_cast<uint16_t>(tags);
            sample_to_row(sample, rows[kept++]);
            continue;
        }
        if (verdict == SlotVerdict::Lost)
            continue; /* overwritten or dropped */
        break;        /* reserved, still being written: the next read has it */
    }
    rows.resize(kept);
}

} // namespace qprof
