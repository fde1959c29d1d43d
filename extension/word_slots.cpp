/*
 * word_slots.cpp — moves the execution word into the word slot map
 * (word_slots.h).
 *
 * The map is a BPF array that backends may map (BPF_F_MMAPABLE): a
 * backend opens the pinned file (BPF_OBJ_GET needs no privilege, only the
 * file's permissions, which give it to the server's OS user), maps the
 * whole array, copies its word into slot PGPROC number + 1, and only then
 * marks its own word with the map's token and the slot: a program that
 * reads the marked word knows to read the slot from then on.
 */
#include "word_slots.h"

#include <cstdio>
#include <cstring>
#include <ctime>

#include <linux/bpf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

extern "C" {
#include "postgres.h"

#include "access/xlog.h"
#include "postmaster/postmaster.h"
#include "storage/proc.h"
}

extern "C" {
QprofRunningWord *qprof_word = &pg_qprof_running;
}

namespace qprof {

namespace {

/* Slot 0 of the map (struct qprof_slot_map_header in bpf/qprof_io.h). */
struct SlotMapHeader {
    uint64_t magic;
    uint64_t token;
    uint32_t slots;
    uint32_t pad;
    uint64_t unused[5];
};
static_assert(sizeof(SlotMapHeader) == sizeof(QprofRunningWord),
              "the header fills slot 0");
constexpr uint64_t kSlotMapMagic = 0x31534c5357505100ull;

/* The directory the collector mounts a BPF file system on (whose names
 * may not have dots). */
constexpr const char *kSlotMapDirectory = "/run/pg_qprof";

char slot_map_path[128];

/* The map mapped now: its pinned file, and the mapping. */
dev_t mapped_dev = 0;
ino_t mapped_ino = 0;
void *mapping = nullptr;
size_t mapping_bytes = 0;
time_t next_look = 0;

long bpf_call(int cmd, union bpf_attr *attr) {
    return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* The pinned map, opened and mapped read-write; nullptr when it is not a
 * word slot map holding slot `slot`. */
void *map_pinned(uint32_t slot, size_t *bytes) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.pathname = reinterpret_cast<uint64_t>(word_slot_map_path());
    int fd = static_cast<int>(bpf_call(BPF_OBJ_GET, &attr));
    if (fd < 0)
        return nullptr;
    struct bpf_map_info info;
    memset(&info, 0, sizeof(info));
    memset(&attr, 0, sizeof(attr));
    attr.info.bpf_fd = static_cast<uint32_t>(fd);
    attr.info.info_len = sizeof(info);
    attr.info.info = reinterpret_cast<uint64_t>(&info);
    void *p = MAP_FAILED;
    if (bpf_call(BPF_OBJ_GET_INFO_BY_FD, &attr) == 0 &&
        info.type == BPF_MAP_TYPE_ARRAY &&
        info.value_size == sizeof(QprofRunningWord) &&
        (info.map_flags & BPF_F_MMAPABLE) && slot < info.max_entries) {
        size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        *bytes = (size_t(info.max_entries) * info.value_size + page - 1) /
                 page * page;
        p = mmap(nullptr, *bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    }
    close(fd);
    if (p == MAP_FAILED)
        return nullptr;
    const SlotMapHeader *header = static_cast<const SlotMapHeader *>(p);
    if (header->magic != kSlotMapMagic || header->token == 0 ||
        header->slots * sizeof(QprofRunningWord) > *bytes) {
        munmap(p, *bytes);
        return nullptr;
    }
    return p;
}

void move_word_to_slot(const struct stat &pinned) {
    uint32_t slot = static_cast<uint32_t>(MyProc->pgprocno) + 1;
    size_t bytes = 0;
    void *p = map_pinned(slot, &bytes);
    if (p == nullptr)
        return;
    uint64_t token = static_cast<const SlotMapHeader *>(p)->token;
    QprofRunningWord *word = static_cast<QprofRunningWord *>(p) + slot;
    memcpy(static_cast<void *>(word),
           const_cast<QprofRunningWord *>(qprof_word), sizeof(*word));
    word->slot_token = 0;
    word->slot = 0;
    /* The slot holds the word before the word says so. */
    std::atomic_signal_fence(std::memory_order_seq_cst);
    qprof_word = word;
    pg_qprof_running.slot = slot;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    pg_qprof_running.slot_token = token;
    if (mapping != nullptr)
        munmap(mapping, mapping_bytes);
    mapping = p;
    mapping_bytes = bytes;
    mapped_dev = pinned.st_dev;
    mapped_ino = pinned.st_ino;
}

} // namespace

const char *word_slot_map_path() {
    if (slot_map_path[0] == '\0')
        snprintf(slot_map_path, sizeof(slot_map_path), "%s/words-%llu-%d",
                 kSlotMapDirectory,
                 static_cast<unsigned long long>(GetSystemIdentifier()),
                 PostPortNumber);
    return slot_map_path;
}

void word_slots_follow() {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    if (now.tv_sec < next_look || MyProc == nullptr)
        return;
    next_look = now.tv_sec + 1;
    struct stat pinned;
    if (stat(word_slot_map_path(), &pinned) != 0)
        return; /* none pinned: the one mapped, if any, stays */
    if (mapping != nullptr && pinned.st_dev == mapped_dev &&
        pinned.st_ino == mapped_ino)
        return;
    move_word_to_slot(pinned);
}

} // namespace qprof
