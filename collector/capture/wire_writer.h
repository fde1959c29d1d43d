/*
 * wire_writer.h — the protobuf wire format, written by hand into a buffer
 * the caller sized. The collector encodes each sample this way, without
 * building a message and sizing it (a third of its CPU time went there);
 * qprof.proto stays the schema and readers use the generated code.
 *
 * The *_field calls follow proto3: a scalar without explicit presence is
 * written only when it is not zero, as the generated code does; fields must
 * be written in field-number order for the same bytes.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace qprof {

class WireWriter {
  public:
    explicit WireWriter(char *buffer) : start_(buffer), p_(buffer) {}

    size_t size() const { return static_cast<size_t>(p_ - start_); }
    const char *data() const { return start_; }

    void varint(uint64_t value) {
        while (value >= 0x80) {
            *p_++ = static_cast<char>((value & 0x7f) | 0x80);
            value >>= 7;
        }
        *p_++ = static_cast<char>(value);
    }

    /* uint32, uint64, enum, bool */
    void uint_field(uint32_t field, uint64_t value) {
        if (value != 0)
            present_uint_field(field, value);
    }
    /* the same with explicit presence (proto3 `optional`): always written */
    void present_uint_field(uint32_t field, uint64_t value) {
        tag(field, kVarint);
        varint(value);
    }
    /* int32, int64: two's complement, 10 bytes when negative */
    void int_field(uint32_t field, int64_t value) {
        uint_field(field, static_cast<uint64_t>(value));
    }
    /* sint32, sint64: zigzag */
    void sint_field(uint32_t field, int64_t value) {
        uint_field(field, (static_cast<uint64_t>(value) << 1) ^
                              static_cast<uint64_t>(value >> 63));
    }
    void string_field(uint32_t field, const char *bytes, size_t length) {
        /* a string without explicit presence: omitted when empty */
        if (length == 0)
            return;
        tag(field, kLengthDelimited);
        varint(length);
        memcpy(p_, bytes, length);
        p_ += length;
    }
    /* An embedded message, already encoded: written even when empty (a
     * message field has presence). */
    void message_field(uint32_t field, const WireWriter &message) {
        tag(field, kLengthDelimited);
        varint(message.size());
        memcpy(p_, message.data(), message.size());
        p_ += message.size();
    }

  private:
    static constexpr uint32_t kVarint = 0;
    static constexpr uint32_t kLengthDelimited = 2;

    void tag(uint32_t field, uint32_t wire_type) {
        varint((static_cast<uint64_t>(field) << 3) | wire_type);
    }

    char *start_;
    char *p_;
};

} // namespace qprof
