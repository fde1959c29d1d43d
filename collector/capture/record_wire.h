/*
 * record_wire.h — the records the capture reader reads without protobuf:
 * a sample block (its samples are decoded one at a time by
 * sample_codec.h) and a tag set, each recognised in its wire format when
 * it is that field and nothing else, as the writer writes it.
 */
#pragma once

#include "capture_format.h"
#include "qprof.pb.h"

#include <cstddef>
#include <cstdint>

namespace qprof {

/* A record that is a sample block and nothing else, as the writer writes
 * it: the block's own fields, and where its samples are. */
struct BlockWire {
    uint64_t epoch = 0, first_seq = 0;
    int64_t base_start_unix_us = 0;
    const uint8_t *fields = nullptr; /* the SampleBlock message */
    size_t size = 0;
};

/* Field numbers and wire types of the records read without protobuf. */
constexpr uint64_t kRecordSampleBlockTag =
    (capture::v1::Record::kSampleBlockFieldNumber << 3) | 2;
constexpr uint64_t kRecordTagSetTag =
    (capture::v1::Record::kTagSetFieldNumber << 3) | 2;
constexpr uint32_t kBlockEpochTag =
    (capture::v1::SampleBlock::kEpochFieldNumber << 3);
constexpr uint32_t kBlockFirstSeqTag =
    (capture::v1::SampleBlock::kFirstSeqFieldNumber << 3);
constexpr uint32_t kBlockBaseStartTag =
    (capture::v1::SampleBlock::kBaseStartUnixUsFieldNumber << 3);
constexpr uint32_t kBlockSampleTag =
    (capture::v1::SampleBlock::kSamplesFieldNumber << 3) | 2;

/* read_varint, a one-byte varint (a sample's tag) read inline: twice a
 * sample in each of the two walks over a block below. */
inline bool varint_at(const uint8_t *data, size_t size, size_t &pos,
                      uint64_t &value) {
    if (pos < size && data[pos] < 0x80) {
        value = data[pos++];
        return true;
    }
    return read_varint(data, size, pos, value);
}

/* Calls `visit(bytes, size)` for each sample of a block found by
 * sample_block_wire. */
template <typename Visit>
void for_each_sample_wire(const BlockWire &block, Visit visit) {
    size_t pos = 0;
    while (pos < block.size) {
        uint64_t tag = 0, value = 0;
        varint_at(block.fields, block.size, pos, tag);
        varint_at(block.fields, block.size, pos, value);
        if (tag != kBlockSampleTag)
            continue;
        if (!visit(block.fields + pos, static_cast<size_t>(value)))
            return;
        pos += value;
    }
}

/* Whether `record` is one sample block field with only the fields a
 * SampleBlock has, in well-formed wire format; fills `block`. Any other
 * record (or anything unusual) is parsed whole by protobuf instead, which
 * judges it as it judges every record. */
bool sample_block_wire(const uint8_t *record, size_t size, BlockWire &block);

/* The TagSet message of `record` when it is one tag set field and nothing
 * else, as the writer writes it; false for any other record, which
 * protobuf parses instead. */
bool tag_set_wire(const uint8_t *record, size_t size, const uint8_t *&fields,
                  size_t &fields_size);

} // namespace qprof
