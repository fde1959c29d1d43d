/*
 * tag_set_fields.h — a TagSet record of qprof.proto (a request's
 * sqlcommenter tags) read straight from the wire format instead of through
 * protobuf's map parser: its id and its tags, keys and values in one text,
 * nothing allocated once a TagSetFields has been reused for a few sets.
 * It reads what protobuf reads: a key given twice keeps its last value, a
 * map entry without its key or value has an empty one, unknown fields are
 * skipped; it refuses what protobuf refuses (see wire_reader.h, and a key
 * or value that is not UTF-8).
 */
#pragma once

#include "qprof.pb.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qprof {

class TagSetFields {
  public:
    uint32_t id() const { return id_; }
    size_t size() const { return tags_.size(); }
    /* The tags in the order their keys first came on the wire (protobuf's
     * map has no order of its own). */
    std::string_view key(size_t i) const {
        return {text_.data() + tags_[i].key_at, tags_[i].key_size};
    }
    std::string_view value(size_t i) const {
        return {text_.data() + tags_[i].value_at, tags_[i].value_size};
    }

    /* The same set from protobuf's message (a record read by protobuf). */
    void assign(const capture::v1::TagSet &set);

  private:
    friend class TagSetFieldsDecoder;
    struct Tag {
        size_t key_at, key_size, value_at, value_size;
    };
    void clear();
    /* Sets `key` to `value`, replacing the value of a key already there. */
    void put(std::string_view key, std::string_view value);

    uint32_t id_ = 0;
    std::vector<Tag> tags_;
    std::string text_; /* keys and values, one after the other */
    /* the tags by key, once a set has too many to search them in turn
     * (only a hostile file's); its keys point into text_, which is made
     * large enough for the whole message first and so does not move */
    std::unordered_map<std::string_view, size_t> index_;
};

/* Reads the encoded TagSet message `data`, the tag_set field of a Record
 * (its depth counts for protobuf's nesting limit), into `out` (all of it
 * replaced) as protobuf's parser would; false, with `out` unspecified,
 * when protobuf's parser would refuse it. */
bool decode_tag_set_fields(const uint8_t *data, size_t size, TagSetFields &out);

} // namespace qprof
