#include "sample_fields.h"
#include "utf8_text.h"
#include "wire_reader.h"

#include <cstring>

namespace qprof {

namespace pb = capture::v1;

/* The field numbers above are qprof.proto's: checked against the
 * generated code. */
namespace {
/* the generated constants are CamelCase: the names are spelled out */
static_assert(pb::Sample::kSeqSkipFieldNumber == 1);
static_assert(pb::Sample::kPidFieldNumber == 2);
static_assert(pb::Sample::kExecIdDeltaFieldNumber == 3);
static_assert(pb::Sample::kParentExecDistanceFieldNumber == 4);
static_assert(pb::Sample::kToplevelFieldNumber == 6);
static_assert(pb::Sample::kDbidFieldNumber == 8);
static_assert(pb::Sample::kPlanRefFieldNumber == 14);
static_assert(pb::Sample::kCmdFieldNumber == SampleFields::kCmdField);
static_assert(pb::Sample::kStartDeltaUsFieldNumber == 16);
static_assert(pb::Sample::kPlanTimeNsFieldNumber == 18);
static_assert(pb::Sample::kRowsFieldNumber == 20);
static_assert(pb::Sample::kWalBytesFieldNumber == 37);
static_assert(pb::Sample::kParallelWorkersLaunchedFieldNumber ==
              SampleFields::kScalarFields);
static_assert(pb::Sample::kSqlstateFieldNumber == SampleFields::kSqlstateField);
static_assert(pb::Sample::kIoFieldNumber == SampleFields::kIoField);
static_assert(pb::Sample::kSampledWaitsFieldNumber ==
              SampleFields::kSampledWaitsField);
static_assert(pb::IoStats::kReadSyscallsFieldNumber == 1);
static_assert(pb::IoStats::kFsyncLatencyNsFieldNumber == 8);
static_assert(pb::IoStats::kOncpuNsFieldNumber == 16);
static_assert(pb::IoStats::kRunqueueWaitsFieldNumber == 18);
static_assert(pb::IoStats::kWaitClassesFieldNumber ==
              IoFields::kWaitClassesField);
static_assert(pb::IoStats::kWaitEventsFieldNumber ==
              IoFields::kWaitEventsField);
static_assert(pb::IoStats::kOffcpuNoWaitEventCountFieldNumber ==
              IoFields::kFields);
static_assert(pb::SampledWaits::kIntervalUsFieldNumber == 1);
static_assert(pb::SampledWaits::kClassesFieldNumber == 2);
static_assert(pb::WaitClassTime::kWaitClassFieldNumber == 1);
static_assert(pb::WaitClassTime::kNsFieldNumber == 2);
static_assert(pb::WaitClassTime::kCountFieldNumber == 3);
static_assert(pb::WaitEventTime::kWaitEventInfoFieldNumber == 1);
static_assert(pb::WaitEventTime::kNameFieldNumber == 2);
static_assert(pb::WaitEventTime::kNsFieldNumber == 3);
static_assert(pb::WaitEventTime::kCountFieldNumber == 4);
} // namespace

using namespace wire;

namespace {

/* Lists longer than this (only damaged or hostile samples have them) give
 * their memory back when cleared, so that reused samples stay small. */
constexpr size_t kKeptListCapacity = 64;
constexpr size_t kKeptTextCapacity = 4096;

template <typename T> void clear_list(std::vector<T> &list) {
    if (list.capacity() > kKeptListCapacity)
        std::vector<T>().swap(list);
    else
        list.clear();
}

bool read_wait_class(Wire w, int depth, WaitClassFields &c) {
    return read_message(w, depth, [&](uint32_t n, uint32_t t, Wire &in) {
        if (t != kVarint || n > 3)
            return 0;
        return in.varint(c.raw[n]) ? 1 : -1;
    });
}

/* Reads the varint fields of `fields` (bit n: field n, below 64) that
 * begin a message, as the writer writes a sample's and its kernel facts',
 * into raw[n] (bit n of `present` set), until another field or the last
 * 16 bytes: while more are left no tag (2 bytes here) or varint (10 at
 * most) can run past the end, so the bounds are checked once a field.
 * false when a varint does not end within 10 bytes (protobuf refuses it);
 * the rest is read the general way. */
template <size_t N>
bool read_leading_varints(Wire &w, uint64_t (&raw)[N], uint64_t fields,
                          uint32_t &present) {
    while (w.end - w.p >= 16) {
        const uint8_t *p = w.p;
        uint32_t t = p[0];
        if (t < 0x80) {
            p += 1;
        } else if (p[1] < 0x80) {
            t = (t & 0x7fu) | static_cast<uint32_t>(p[1]) << 7;
            p += 2;
        } else {
            return true;
        }
        uint32_t number = t >> 3;
        if ((t & 7) != kVarint || number >= N || !(fields >> number & 1))
            return true;
        uint64_t value = *p++;
        if (value >= 0x80) {
            value &= 0x7f;
            for (int shift = 7;; shift += 7) {
                if (shift == 70)
                    return false;
                uint64_t byte = *p++;
                value |= (byte & 0x7f) << shift;
                if (byte < 0x80)
                    break;
            }
        }
        raw[number] = value;
        present |= 1u << (number & 31);
        w.p = p;
    }
    return true;
}

/* Bits 1 to `last`. */
constexpr uint64_t fields_up_to(uint32_t last) {
    return ((uint64_t(1) << (last + 1)) - 1) & ~uint64_t(1);
}
constexpr uint64_t kSampleVarints = fields_up_to(SampleFields::kScalarFields);
constexpr uint64_t kIoVarints = fields_up_to(IoFields::kFields) &
                                ~(uint64_t(1) << IoFields::kWaitClassesField) &
                                ~(uint64_t(1) << IoFields::kWaitEventsField);
static_assert(SampleFields::kScalarFields < 63 && IoFields::kFields < 32);

} // namespace

class SampleFieldsDecoder {
  public:
    explicit SampleFieldsDecoder(SampleFields &out)
        : out_(out.f_), fields_(out) {}

    bool sample(Wire w) {
        clear();
        uint32_t ignored = 0;
        if (!read_leading_varints(w, out_.raw, kSampleVarints, ignored))
            return false;
        /* the sample's strings, placed as they come; names of wait events
         * point into it once it no longer moves */
        bool read =
            read_message(w, 0, [&](uint32_t n, uint32_t t, Wire &in) -> int {
                if (t == kVarint && n <= SampleFields::kScalarFields)
                    return in.varint(out_.raw[n]) ? 1 : -1;
                if (t != kLengthDelimited)
                    return 0;
                Wire inside;
                if (n == SampleFields::kSqlstateField) {
                    if (!in.bytes(inside))
                        return -1;
                    return sqlstate(inside) ? 1 : -1;
                }
                if (n == SampleFields::kIoField) {
                    out_.has_io = true;
                    return in.bytes(inside) && io(inside) ? 1 : -1;
                }
                if (n == SampleFields::kSampledWaitsField) {
                    out_.has_sampled_waits = true;
                    return in.bytes(inside) && sampled_waits(inside) ? 1 : -1;
                }
                return 0;
            });
        if (!read)
            return false;
        fields_.point_names();
        return true;
    }

  private:
    bool sqlstate(Wire inside) {
        std::string_view bytes(reinterpret_cast<const char *>(inside.p),
                               static_cast<size_t>(inside.end - inside.p));
        if (!is_valid_utf8(bytes))
            return false;
        out_.sqlstate.assign(bytes.data(), bytes.size());
        return true;
    }

    /* Appends a string field's bytes to the sample's text (UTF-8, as
     * proto3 requires of a string). */
    bool text(Wire inside, size_t &at, size_t &size) {
        std::string_view bytes(reinterpret_cast<const char *>(inside.p),
                               static_cast<size_t>(inside.end - inside.p));
        if (!is_valid_utf8(bytes))
            return false;
        at = out_.text.size();
        size = bytes.size();
        out_.text.append(bytes);
        return true;
    }

    bool io(Wire w) {
        IoFields &io = out_.io;
        if (!read_leading_varints(w, io.raw, kIoVarints, io.present))
            return false;
        return read_message(w, 1, [&](uint32_t n, uint32_t t, Wire &in) -> int {
            if (t == kVarint && n <= IoFields::kFields &&
                n != IoFields::kWaitClassesField &&
                n != IoFields::kWaitEventsField) {
                io.present |= 1u << n;
                return in.varint(io.raw[n]) ? 1 : -1;
            }
            if (t != kLengthDelimited)
                return 0;
            Wire inside;
            if (n == IoFields::kWaitClassesField) {
                io.wait_classes_.emplace_back();
                return in.bytes(inside) &&
                               read_wait_class(inside, 2,
                                               io.wait_classes_.back())
                           ? 1
                           : -1;
            }
            if (n == IoFields::kWaitEventsField) {
                io.wait_events_.emplace_back();
                return in.bytes(inside) && wait_event(inside) ? 1 : -1;
            }
            return 0;
        });
    }

    bool wait_event(Wire w) {
        WaitEventFields &e = out_.io.wait_events_.back();
        return read_message(w, 2, [&](uint32_t n, uint32_t t, Wire &in) -> int {
            if (t == kVarint && n <= 4 && n != 2)
                return in.varint(e.raw[n]) ? 1 : -1;
            if (t == kLengthDelimited && n == 2) {
                Wire inside;
                return in.bytes(inside) && text(inside, e.name_at, e.name_size)
                           ? 1
                           : -1;
            }
            return 0;
        });
    }

    bool sampled_waits(Wire w) {
        SampledWaitsFields &waits = out_.sampled_waits;
        return read_message(w, 1, [&](uint32_t n, uint32_t t, Wire &in) -> int {
            if (t == kVarint && n == 1)
                return in.varint(waits.raw[1]) ? 1 : -1;
            if (t == kLengthDelimited && n == 2) {
                waits.classes_.emplace_back();
                Wire inside;
                return in.bytes(inside) &&
                               read_wait_class(inside, 2, waits.classes_.back())
                           ? 1
                           : -1;
            }
            return 0;
        });
    }

    void clear() {
        std::memset(out_.raw, 0, sizeof out_.raw);
        if (out_.sqlstate.capacity() > kKeptTextCapacity)
            std::string().swap(out_.sqlstate);
        else
            out_.sqlstate.clear();
        out_.has_io = out_.has_sampled_waits = false;
        out_.io.clear();
        out_.sampled_waits.clear();
        if (out_.text.capacity() > kKeptTextCapacity)
            std::string().swap(out_.text);
        else
            out_.text.clear();
    }

    SampleFields::Fields &out_;
    SampleFields &fields_;
};

void IoFields::clear() {
    std::memset(raw, 0, sizeof raw);
    present = 0;
    clear_list(wait_classes_);
    clear_list(wait_events_);
}

void SampledWaitsFields::clear() {
    raw[0] = raw[1] = 0;
    clear_list(classes_);
}

bool decode_sample_fields(const uint8_t *data, size_t size, SampleFields &out) {
    SampleFieldsDecoder decoder(out);
    return decoder.sample(Wire{data, data + size});
}

} // namespace qprof
