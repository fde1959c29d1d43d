/*
 * flat_index.h — a map from 64-bit keys to 32-bit indexes in one array
 * (open addressing, linear probing): what the aggregation looks up for
 * every sample, without the node allocations and scattered reads of
 * std::unordered_map.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace qprof {

class FlatIndex {
  public:
    static constexpr uint32_t kAbsent = UINT32_MAX;

    /* The index stored for `key`, or kAbsent. */
    uint32_t find(uint64_t key) const {
        if (slots_.empty())
            return kAbsent;
        for (size_t at = slot_of(key);; at = (at + 1) & mask_) {
            const Slot &s = slots_[at];
            if (s.index == kAbsent)
                return kAbsent;
            if (s.key == key)
                return s.index;
        }
    }

    /* Stores `index` for `key` (not present yet). */
    void insert(uint64_t key, uint32_t index) {
        if ((count_ + 1) * 4 > slots_.size() * 3)
            grow();
        place(key, index);
        ++count_;
    }

    size_t size() const { return count_; }

  private:
    struct Slot {
        uint64_t key = 0;
        uint32_t index = kAbsent;
    };

    size_t slot_of(uint64_t key) const {
        return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_) &
               mask_;
    }

    void place(uint64_t key, uint32_t index) {
        size_t at = slot_of(key);
        while (slots_[at].index != kAbsent)
            at = (at + 1) & mask_;
        slots_[at] = {key, index};
    }

    void grow() {
        std::vector<Slot> old;
        old.swap(slots_);
        size_t size = old.empty() ? 16 : old.size() * 2;
        slots_.assign(size, Slot());
        mask_ = size - 1;
        shift_ = 64;
        for (size_t s = size; s > 1; s >>= 1)
            --shift_;
        for (const Slot &s : old)
            if (s.index != kAbsent)
                place(s.key, s.index);
    }

    std::vector<Slot> slots_;
    size_t mask_ = 0;
    unsigned shift_ = 64;
    size_t count_ = 0;
};

} // namespace qprof
