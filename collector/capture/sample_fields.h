/*
 * sample_fields.h — a Sample of qprof.proto (with its IoStats and
 * SampledWaits) as flat fields, read straight from the wire format
 * (decode_sample_fields) instead of through protobuf's generated parser:
 * no message objects, nothing allocated once a SampleFields has been
 * reused for a few samples. The accessors are the generated classes' (same
 * names, same types, the same defaults when a field is absent), so the
 * analysis reads a sample the same way whichever way it was parsed.
 */
#pragma once

#include "qprof.pb.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qprof {

/* A repeated field's elements. */
template <typename T> class FieldSpan {
  public:
    FieldSpan(const T *begin, size_t size) : begin_(begin), size_(size) {}
    const T *begin() const { return begin_; }
    const T *end() const { return begin_ + size_; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    const T &operator[](size_t i) const { return begin_[i]; }

  private:
    const T *begin_;
    size_t size_;
};

/* Each scalar field is kept as its raw varint, in a slot numbered as the
 * field, and converted as the generated accessor converts it. */
namespace field_value {
inline uint64_t u64(uint64_t raw) {
    return raw;
}
inline uint32_t u32(uint64_t raw) {
    return static_cast<uint32_t>(raw);
}
inline int32_t i32(uint64_t raw) {
    return static_cast<int32_t>(static_cast<uint32_t>(raw));
}
inline int64_t i64(uint64_t raw) {
    return static_cast<int64_t>(raw);
}
inline int64_t s64(uint64_t raw) { /* zigzag */
    return static_cast<int64_t>(raw >> 1) ^ -static_cast<int64_t>(raw & 1);
}
inline bool boolean(uint64_t raw) {
    return raw != 0;
}
} // namespace field_value

struct WaitClassFields {
    uint64_t raw[4] = {}; /* wait_class = 1, ns = 2, count = 3 */

    capture::v1::WaitClass wait_class() const {
        return static_cast<capture::v1::WaitClass>(field_value::i32(raw[1]));
    }
    uint64_t ns() const { return raw[2]; }
    uint64_t count() const { return raw[3]; }
};

struct WaitEventFields {
    uint64_t raw[5] = {}; /* wait_event_info = 1, ns = 3, count = 4 */
    /* name = 2: in the sample's text (SampleFields points it there) */
    const char *name_data = nullptr;
    size_t name_at = 0, name_size = 0;

    uint32_t wait_event_info() const { return field_value::u32(raw[1]); }
    std::string_view name() const { return {name_data, name_size}; }
    uint64_t ns() const { return raw[3]; }
    uint64_t count() const { return raw[4]; }
};

/* X(name, number, conversion) of IoStats' scalar fields. */
#define QPROF_IO_SCALARS(X)                                                    \
    X(read_syscalls, 1, u64)                                                   \
    X(read_bytes, 2, u64)                                                      \
    X(read_latency_ns, 3, u64)                                                 \
    X(write_syscalls, 4, u64)                                                  \
    X(write_bytes, 5, u64)                                                     \
    X(write_latency_ns, 6, u64)                                                \
    X(fsync_calls, 7, u64)                                                     \
    X(fsync_latency_ns, 8, u64)                                                \
    X(page_cache_misses, 9, u64)                                               \
    X(readahead_pages, 10, u64)                                                \
    X(block_requests, 11, u64)                                                 \
    X(block_bytes, 12, u64)                                                    \
    X(block_latency_ns, 13, u64)                                               \
    X(offcpu_io_wait_ns, 14, u64)                                              \
    X(offcpu_other_ns, 15, u64)                                                \
    X(oncpu_ns, 16, u64)                                                       \
    X(runqueue_ns, 17, u64)                                                    \
    X(runqueue_waits, 18, u64)                                                 \
    X(other_wait_events_ns, 21, u64)                                           \
    X(other_wait_events_count, 22, u64)                                        \
    X(offcpu_no_wait_event_ns, 23, u64)                                        \
    X(offcpu_no_wait_event_count, 24, u64)

struct IoFields {
    static constexpr uint32_t kWaitClassesField = 19;
    static constexpr uint32_t kWaitEventsField = 20;
    static constexpr uint32_t kFields = 24;

    uint64_t raw[kFields + 1] = {};
    uint32_t present = 0; /* bit n: field n was on the wire */
    std::vector<WaitClassFields> wait_classes_;
    std::vector<WaitEventFields> wait_events_;

#define QPROF_IO_ACCESSOR(name, number, conversion)                            \
    auto name() const {                                                        \
        return field_value::conversion(raw[number]);                           \
    }
    QPROF_IO_SCALARS(QPROF_IO_ACCESSOR)
#undef QPROF_IO_ACCESSOR
    /* the optional ones: read and write system calls */
    bool has_read_syscalls() const {
        return present & (1u << 1);
    }
    bool has_read_bytes() const {
        return present & (1u << 2);
    }
    bool has_read_latency_ns() const {
        return present & (1u << 3);
    }
    bool has_write_syscalls() const {
        return present & (1u << 4);
    }
    bool has_write_bytes() const {
        return present & (1u << 5);
    }
    bool has_write_latency_ns() const {
        return present & (1u << 6);
    }
    bool has_fsync_calls() const {
        return present & (1u << 7);
    }
    bool has_fsync_latency_ns() const {
        return present & (1u << 8);
    }

    FieldSpan<WaitClassFields> wait_classes() const {
        return {wait_classes_.data(), wait_classes_.size()};
    }
    int wait_classes_size() const {
        return static_cast<int>(wait_classes_.size());
    }
    FieldSpan<WaitEventFields> wait_events() const {
        return {wait_events_.data(), wait_events_.size()};
    }
    int wait_events_size() const {
        return static_cast<int>(wait_events_.size());
    }

    /* Back to no field, keeping what the lists allocated (unless a
     * damaged sample made them large). */
    void clear();
};

struct SampledWaitsFields {
    uint64_t raw[2] = {}; /* interval_us = 1 */
    std::vector<WaitClassFields> classes_;

    uint32_t interval_us() const { return field_value::u32(raw[1]); }
    FieldSpan<WaitClassFields> classes() const {
        return {classes_.data(), classes_.size()};
    }
    int classes_size() const { return static_cast<int>(classes_.size()); }
    void clear();
};

/* X(name, number, conversion) of Sample's scalar fields. */
#define QPROF_SAMPLE_SCALARS(X)                                                \
    X(seq_skip, 1, u64)                                                        \
    X(pid, 2, i32)                                                             \
    X(exec_id_delta, 3, s64)                                                   \
    X(parent_exec_distance, 4, s64)                                            \
    X(nesting_level, 5, u32)                                                   \
    X(toplevel, 6, boolean)                                                    \
    X(has_node_actuals, 7, boolean)                                            \
    X(dbid, 8, u32)                                                            \
    X(userid, 9, u32)                                                          \
    X(application_name_id, 10, u32)                                            \
    X(client_addr_id, 11, u32)                                                 \
    X(tag_set_id, 12, u32)                                                     \
    X(query_ref, 13, u32)                                                      \
    X(plan_ref, 14, u32)                                                       \
    X(start_delta_us, 16, s64)                                                 \
    X(duration_us, 17, u64)                                                    \
    X(plan_time_ns, 18, u64)                                                   \
    X(exec_time_ns, 19, u64)                                                   \
    X(rows, 20, u64)                                                           \
    X(shared_blks_hit, 21, u64)                                                \
    X(shared_blks_read, 22, u64)                                               \
    X(shared_blks_dirtied, 23, u64)                                            \
    X(shared_blks_written, 24, u64)                                            \
    X(local_blks_hit, 25, u64)                                                 \
    X(local_blks_read, 26, u64)                                                \
    X(local_blks_dirtied, 27, u64)                                             \
    X(local_blks_written, 28, u64)                                             \
    X(temp_blks_read, 29, u64)                                                 \
    X(temp_blks_written, 30, u64)                                              \
    X(blk_read_time_ns, 31, u64)                                               \
    X(blk_write_time_ns, 32, u64)                                              \
    X(temp_blk_read_time_ns, 33, u64)                                          \
    X(temp_blk_write_time_ns, 34, u64)                                         \
    X(wal_records, 35, u64)                                                    \
    X(wal_fpi, 36, u64)                                                        \
    X(wal_bytes, 37, u64)                                                      \
    X(jit_functions, 38, u64)                                                  \
    X(jit_generation_time_ns, 39, u64)                                         \
    X(jit_inlining_time_ns, 40, u64)                                           \
    X(jit_optimization_time_ns, 41, u64)                                       \
    X(jit_emission_time_ns, 42, u64)                                           \
    X(parallel_workers_planned, 43, u32)                                       \
    X(parallel_workers_launched, 44, u32)

class SampleFields {
  public:
    static constexpr uint32_t kCmdField = 15;
    static constexpr uint32_t kSqlstateField = 45;
    static constexpr uint32_t kIoField = 46;
    static constexpr uint32_t kSampledWaitsField = 47;
    /* the scalar fields are 1 to 44 */
    static constexpr uint32_t kScalarFields = 44;

    SampleFields() = default;
    /* a copy's names point into its own text */
    SampleFields(const SampleFields &o) : f_(o.f_) { point_names(); }
    SampleFields &operator=(const SampleFields &o) {
        f_ = o.f_;
        point_names();
        return *this;
    }

#define QPROF_SAMPLE_ACCESSOR(name, number, conversion)                        \
    auto name() const {                                                        \
        return field_value::conversion(f_.raw[number]);                        \
    }
    QPROF_SAMPLE_SCALARS(QPROF_SAMPLE_ACCESSOR)
#undef QPROF_SAMPLE_ACCESSOR
    capture::v1::CmdType cmd() const {
        return static_cast<capture::v1::CmdType>(
            field_value::i32(f_.raw[kCmdField]));
    }
    const std::string &sqlstate() const {
        return f_.sqlstate;
    }
    bool has_io() const {
        return f_.has_io;
    }
    const IoFields &io() const {
        return f_.io;
    }
    bool has_sampled_waits() const {
        return f_.has_sampled_waits;
    }
    const SampledWaitsFields &sampled_waits() const {
        return f_.sampled_waits;
    }

  private:
    friend class SampleFieldsDecoder;

    void point_names() {
        for (WaitEventFields &e : f_.io.wait_events_)
            e.name_data = f_.text.data() + e.name_at;
    }

    struct Fields {
        uint64_t raw[kScalarFields + 1] = {};
        std::string sqlstate;
        bool has_io = false, has_sampled_waits = false;
        IoFields io;
        SampledWaitsFields sampled_waits;
        std::string text; /* the wait events' names, one after the other */
    } f_;
};

/* Reads the encoded Sample message `data` into `out` (all of it replaced)
 * as protobuf's parser would, unknown fields skipped by their wire type;
 * false, with `out` unspecified, when protobuf's parser would refuse it
 * (a varint or length past the end, a wire type that does not exist, a
 * group not closed, a string that is not UTF-8...). */
bool decode_sample_fields(const uint8_t *data, size_t size, SampleFields &out);

} // namespace qprof
