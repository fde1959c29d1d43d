/*
 * sample_key.h — a sample's identity in a capture set: its server (the
 * set's index), ring epoch and sequence number. The collector writes the
 * node actuals of an execution apart from its sample, before or after it;
 * the readers join the two on this key.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace qprof {

struct SampleKey {
    uint32_t server;
    uint64_t epoch, seq;
    bool operator==(const SampleKey &o) const {
        return server == o.server && epoch == o.epoch && seq == o.seq;
    }
};

struct SampleKeyHash {
    size_t operator()(const SampleKey &k) const {
        return std::hash<uint64_t>()((k.seq * 0x9E3779B97F4A7C15ull) ^ k.epoch ^
                                     k.server);
    }
};

} // namespace qprof
