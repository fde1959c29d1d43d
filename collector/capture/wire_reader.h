/*
 * wire_reader.h — reading protobuf's wire format by hand, as protobuf's
 * parser reads it (the decoders written for the format: sample_fields.h,
 * tag_set_fields.h): every read bounded by its message's end, unknown
 * fields skipped by their wire type (groups included), and refused what
 * protobuf refuses (a varint, length or tag past the end, field number 0,
 * wire types 6 and 7, an end-group tag outside its group, nesting deeper
 * than protobuf's limit).
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace qprof {
namespace wire {
/* Internal linkage: each decoder's file has its own copy, which the
 * compiler inlines into its fields' readers as it did when this was
 * sample_fields.cpp's alone (external linkage costed the sample decoder a
 * quarter more instructions). */
namespace {

/* protobuf's default recursion limit: messages and groups inside others */
constexpr int kMaxDepth = 100;

enum WireType : uint32_t {
    kVarint = 0,
    kFixed64 = 1,
    kLengthDelimited = 2,
    kStartGroup = 3,
    kEndGroup = 4,
    kFixed32 = 5,
};

/* A message's bytes, read front to back; every read is bounded by its
 * end. */
struct Wire {
    const uint8_t *p;
    const uint8_t *end;

    bool varint(uint64_t &value) {
        /* most fields: one byte */
        if (p < end && *p < 0x80) {
            value = *p++;
            return true;
        }
        if (end - p >= 10) { /* the longest varint is within: no bound */
            uint64_t result = *p++ & 0x7f;
            for (int shift = 7; shift < 70; shift += 7) {
                uint64_t byte = *p++;
                result |= (byte & 0x7f) << shift;
                if (byte < 0x80) {
                    value = result;
                    return true;
                }
            }
            return false;
        }
        value = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            if (p >= end)
                return false;
            uint8_t byte = *p++;
            value |= static_cast<uint64_t>(byte & 0x7f) << shift;
            if ((byte & 0x80) == 0)
                return true;
        }
        return false;
    }
    /* A tag: field number (not 0) and wire type. As protobuf reads it: at
     * most 5 bytes, what goes past 32 bits dropped. */
    bool tag(uint32_t &number, uint32_t &type) {
        uint32_t t = 0;
        if (end - p >= 2 && p[0] < 0x80) { /* fields 1 to 15 */
            t = *p++;
        } else if (end - p >= 2 && p[1] < 0x80) { /* 16 to 2047 */
            t = (p[0] & 0x7fu) | static_cast<uint32_t>(p[1]) << 7;
            p += 2;
        } else {
            for (int i = 0;; ++i) {
                if (i == 5 || p >= end)
                    return false;
                uint8_t byte = *p++;
                t |= static_cast<uint32_t>(byte & 0x7f) << (7 * i);
                if ((byte & 0x80) == 0)
                    break;
            }
        }
        number = t >> 3;
        type = t & 7;
        return number != 0;
    }
    /* A length-delimited field's bytes. */
    bool bytes(Wire &inside) {
        uint64_t length;
        if (!varint(length) || length > static_cast<uint64_t>(end - p) ||
            length > INT32_MAX)
            return false;
        inside = {p, p + length};
        p += length;
        return true;
    }
    bool skip(size_t n) {
        if (static_cast<size_t>(end - p) < n)
            return false;
        p += n;
        return true;
    }
    /* Skips the value of a field the reader does not know (or knows with
     * another wire type, as protobuf does): an end-group tag outside its
     * group, or wire types 6 and 7, are refused. */
    bool skip_field(uint32_t number, uint32_t type, int depth) {
        uint64_t ignored;
        Wire inside;
        switch (type) {
        case kVarint:
            return varint(ignored);
        case kFixed64:
            return skip(8);
        case kLengthDelimited:
            return bytes(inside);
        case kFixed32:
            return skip(4);
        case kStartGroup:
            return skip_group(number, depth + 1);
        default:
            return false;
        }
    }
    bool skip_group(uint32_t group, int depth) {
        if (depth > kMaxDepth)
            return false;
        uint32_t number, type;
        while (p < end) {
            if (!tag(number, type))
                return false;
            if (type == kEndGroup)
                return number == group;
            if (!skip_field(number, type, depth))
                return false;
        }
        return false; /* the group is not closed */
    }
};

/* Reads a message's fields: `known(number, type, wire)` reads a field it
 * knows and returns 1, 0 when it does not know it (skipped), -1 when it
 * does not decode. */
template <typename Known> bool read_message(Wire w, int depth, Known known) {
    if (depth > kMaxDepth)
        return false;
    uint32_t number, type;
    while (w.p < w.end) {
        if (!w.tag(number, type))
            return false;
        int read = known(number, type, w);
        if (read < 0)
            return false;
        if (read == 0 && !w.skip_field(number, type, depth))
            return false;
    }
    return true;
}

/* A length-delimited field's bytes as text (not checked). */
inline std::string_view text_of(const Wire &inside) {
    return {reinterpret_cast<const char *>(inside.p),
            static_cast<size_t>(inside.end - inside.p)};
}

} // namespace
} // namespace wire
} // namespace qprof
