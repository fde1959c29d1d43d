#include "tag_set_fields.h"
#include "utf8_text.h"
#include "wire_reader.h"

namespace qprof {

namespace pb = capture::v1;
using namespace wire;

namespace {
/* the field numbers below are qprof.proto's */
constexpr uint32_t kIdField = 1, kTagsField = 2;
constexpr uint32_t kKeyField = 1, kValueField = 2;
static_assert(pb::TagSet::kIdFieldNumber == kIdField);
static_assert(pb::TagSet::kTagsFieldNumber == kTagsField);

/* Sets larger than this are searched through a hash table. */
constexpr size_t kSearchedInTurn = 16;
/* A text larger than this (only a hostile set's) is given back when the
 * set is reused. */
constexpr size_t kKeptTextCapacity = 4096;
constexpr size_t kKeptTags = 64;
/* a TagSet is a Record's field: one level deep */
constexpr int kTagSetDepth = 1;
} // namespace

class TagSetFieldsDecoder {
  public:
    explicit TagSetFieldsDecoder(TagSetFields &out) : out_(out) {}

    bool tag_set(Wire w) {
        out_.clear();
        out_.text_.reserve(static_cast<size_t>(w.end - w.p));
        return read_message(
            w, kTagSetDepth, [&](uint32_t n, uint32_t t, Wire &in) -> int {
                if (n == kIdField && t == kVarint) {
                    uint64_t id;
                    if (!in.varint(id))
                        return -1;
                    out_.id_ = static_cast<uint32_t>(id);
                    return 1;
                }
                if (n == kTagsField && t == kLengthDelimited) {
                    Wire entry;
                    return in.bytes(entry) && tag(entry) ? 1 : -1;
                }
                return 0;
            });
    }

  private:
    /* One map entry: its last key and last value (empty when absent), each
     * UTF-8 as proto3 requires of a string. */
    bool tag(Wire w) {
        std::string_view key, value;
        bool read = read_message(
            w, kTagSetDepth + 1, [&](uint32_t n, uint32_t t, Wire &in) -> int {
                if ((n != kKeyField && n != kValueField) ||
                    t != kLengthDelimited)
                    return 0;
                Wire inside;
                if (!in.bytes(inside) || !is_valid_utf8(text_of(inside)))
                    return -1;
                (n == kKeyField ? key : value) = text_of(inside);
                return 1;
            });
        if (!read)
            return false;
        out_.put(key, value);
        return true;
    }

    TagSetFields &out_;
};

void TagSetFields::clear() {
    id_ = 0;
    if (tags_.capacity() > kKeptTags)
        std::vector<Tag>().swap(tags_);
    else
        tags_.clear();
    if (text_.capacity() > kKeptTextCapacity)
        std::string().swap(text_);
    else
        text_.clear();
    if (!index_.empty())
        std::unordered_map<std::string_view, size_t>().swap(index_);
}

void TagSetFields::put(std::string_view key, std::string_view value) {
    size_t found = tags_.size();
    if (tags_.size() <= kSearchedInTurn) {
        for (size_t i = 0; i < tags_.size(); ++i)
            if (this->key(i) == key) {
                found = i;
                break;
            }
    } else {
        if (index_.empty())
            for (size_t i = 0; i < tags_.size(); ++i)
                index_.emplace(this->key(i), i);
        auto it = index_.find(key);
        if (it != index_.end())
            found = it->second;
    }
    if (found == tags_.size()) {
        tags_.push_back({text_.size(), key.size(), 0, 0});
        text_.append(key);
        if (!index_.empty())
            index_.emplace(this->key(found), found);
    }
    tags_[found].value_at = text_.size();
    tags_[found].value_size = value.size();
    text_.append(value);
}

void TagSetFields::assign(const pb::TagSet &set) {
    clear();
    size_t bytes = 0;
    for (const auto &tag : set.tags())
        bytes += tag.first.size() + tag.second.size();
    text_.reserve(bytes);
    id_ = set.id();
    for (const auto &tag : set.tags())
        put(tag.first, tag.second);
}

bool decode_tag_set_fields(const uint8_t *data, size_t size,
                           TagSetFields &out) {
    TagSetFieldsDecoder decoder(out);
    return decoder.tag_set(Wire{data, data + size});
}

} // namespace qprof
