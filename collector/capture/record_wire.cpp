#include "record_wire.h"

namespace qprof {

bool sample_block_wire(const uint8_t *record, size_t size, BlockWire &block) {
    size_t pos = 0;
    uint64_t tag = 0, length = 0;
    if (!read_varint(record, size, pos, tag) || tag != kRecordSampleBlockTag ||
        !read_varint(record, size, pos, length) || length != size - pos)
        return false;
    block.fields = record + pos;
    block.size = static_cast<size_t>(length);
    pos = 0;
    while (pos < block.size) {
        uint64_t value = 0;
        if (!varint_at(block.fields, block.size, pos, tag) ||
            !varint_at(block.fields, block.size, pos, value))
            return false;
        switch (tag) {
        case kBlockEpochTag:
            block.epoch = value;
            break;
        case kBlockFirstSeqTag:
            block.first_seq = value;
            break;
        case kBlockBaseStartTag:
            block.base_start_unix_us = static_cast<int64_t>(value);
            break;
        case kBlockSampleTag:
            if (value > block.size - pos)
                return false;
            pos += value;
            break;
        default:
            return false;
        }
    }
    return true;
}

/* The TagSet message of `record` when it is one tag set field and nothing
 * else, as the writer writes it; false for any other record, which
 * protobuf parses instead. */
bool tag_set_wire(const uint8_t *record, size_t size, const uint8_t *&fields,
                  size_t &fields_size) {
    size_t pos = 0;
    uint64_t tag = 0, length = 0;
    if (!read_varint(record, size, pos, tag) || tag != kRecordTagSetTag ||
        !read_varint(record, size, pos, length) || length != size - pos)
        return false;
    fields = record + pos;
    fields_size = static_cast<size_t>(length);
    return true;
}

} // namespace qprof
