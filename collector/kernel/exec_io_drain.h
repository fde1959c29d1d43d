/*
 * exec_io_drain.h — empties the programs' per-execution entry map
 * (bpf/qprof_io.bpf.c's exec_io) and adds each entry to its execution's
 * ExecIo, found in a batch of samples by BatchIndex.
 */
#pragma once

#include "bpf_attach.h"
#include "exec_io.h"
#include "qprof_io.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace qprof {

/* Positions of a batch's keys, so that a drain adds each kernel entry
 * straight to its sample: open addressing, built for each batch. */
class BatchIndex {
  public:
    void build(const std::vector<ExecKey> &keys) {
        size_t capacity = 64;
        shift_ = 58;
        while (capacity < keys.size() * 2) {
            capacity <<= 1;
            --shift_;
        }
        slots_.assign(capacity, Slot{});
        for (size_t i = 0; i < keys.size(); ++i) {
            size_t at = home(keys[i]);
            while (slots_[at].pos != kEmpty && !(slots_[at].key == keys[i]))
                at = (at + 1) & (slots_.size() - 1);
            if (slots_[at].pos == kEmpty)
                slots_[at] = Slot{keys[i], uint32_t(i)};
        }
    }

    /* The position of `key` in the batch, or -1. */
    int64_t find(const ExecKey &key) const {
        for (size_t at = home(key);; at = (at + 1) & (slots_.size() - 1)) {
            if (slots_[at].pos == kEmpty)
                return -1;
            if (slots_[at].key == key)
                return slots_[at].pos;
        }
    }

  private:
    static constexpr uint32_t kEmpty = UINT32_MAX;
    struct Slot {
        ExecKey key;
        uint32_t pos = kEmpty;
    };
    size_t home(const ExecKey &k) const {
        uint64_t mixed = (k.exec_id ^ (uint64_t(uint32_t(k.pid)) << 40)) *
                         0x9E3779B97F4A7C15ull;
        return size_t(mixed >> shift_);
    }
    std::vector<Slot> slots_;
    int shift_ = 58;
};

/* Entries are sums: what an execution's entry gathered in the kernel since
 * it was last drained adds to what was drained before. */
void add_exec_io(ExecIo &into, const qprof_exec_io &v);

/* Room for one lookup_and_delete_batch call, kept from one drain to the
 * next: allocating and zeroing it each time cost more than the drain. */
struct DrainBuffers {
    static constexpr uint32_t kChunk = 4096;
    std::vector<qprof_exec_key> keys = std::vector<qprof_exec_key>(kChunk);
    std::vector<qprof_exec_io> values = std::vector<qprof_exec_io>(kChunk);
};

/* Removes every entry of the map, calling `visit` for each, in batches of a
 * few thousand (a batch leaves the map as it is read). Throws
 * std::runtime_error when the kernel refuses. */
void drain_entries(int map_fd, DrainBuffers &buffers,
                   const std::function<void(const qprof_exec_key &,
                                            const qprof_exec_io &)> &visit);

} // namespace qprof
