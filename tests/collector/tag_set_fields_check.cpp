/*
 * tag_set_fields_check.cpp — the reader's own decoder of TagSet
 * (collector/capture/tag_set_fields.h) against protobuf's generated parser
 * of the Record it comes in: the same id and tags from the tag sets the
 * collector writes, from tag sets with fields this reader does not know,
 * from hostile ones (a key given many times, thousands of keys), and from
 * hundreds of thousands of damaged ones, which it must refuse exactly when
 * protobuf refuses them. One "ok"/"not ok" line a check (CheckProgram.pm).
 */
#include "tag_set_fields.h"

#include <google/protobuf/stubs/logging.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace pb = qprof::capture::v1;
using qprof::TagSetFields;

namespace {

void report(bool ok, const std::string &what) {
    printf("%s %s\n", ok ? "ok" : "not ok", what.c_str());
}

std::string varint(uint64_t v) {
    std::string out;
    while (v >= 0x80) {
        out += static_cast<char>(v | 0x80);
        v >>= 7;
    }
    out += static_cast<char>(v);
    return out;
}
std::string tag(uint32_t number, uint32_t type) {
    return varint(static_cast<uint64_t>(number) << 3 | type);
}
std::string field(uint32_t number, const std::string &bytes) {
    return tag(number, 2) + varint(bytes.size()) + bytes;
}

/* What differs between the decoder's tag set and protobuf's ("" when
 * nothing). */
std::string difference(const TagSetFields &f, const pb::TagSet &m) {
    if (f.id() != m.id())
        return "id";
    if (f.size() != m.tags().size())
        return "number of tags (" + std::to_string(f.size()) + " against " +
               std::to_string(m.tags().size()) + ")";
    for (size_t i = 0; i < f.size(); ++i) {
        auto found = m.tags().find(std::string(f.key(i)));
        if (found == m.tags().end())
            return "key " + std::string(f.key(i));
        if (found->second != f.value(i))
            return "value of " + std::string(f.key(i));
    }
    return "";
}

/* Protobuf's reading of a TagSet's bytes, as the reader's fallback reads
 * it: inside its Record. */
bool parse(const std::string &bytes, pb::TagSet &out) {
    pb::Record record;
    if (!record.ParseFromString(field(pb::Record::kTagSetFieldNumber, bytes)))
        return false;
    out = record.tag_set();
    return true;
}

bool decode(const std::string &bytes, TagSetFields &fields) {
    return qprof::decode_tag_set_fields(
        reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size(), fields);
}

/* Tag sets as the collector writes them: a request's, an empty one, empty
 * keys and values, text beyond ASCII, and a large id. */
std::vector<std::string> written_tag_sets() {
    std::vector<pb::TagSet> sets(4);
    sets[0].set_id(12);
    (*sets[0].mutable_tags())["route"] = "/api/orders/:id";
    (*sets[0].mutable_tags())["controller"] = "orders";
    (*sets[0].mutable_tags())["traceparent"] =
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    sets[1].set_id(1);
    sets[2].set_id(4000000000u);
    (*sets[2].mutable_tags())[""] = "";
    (*sets[2].mutable_tags())["empty"] = "";
    (*sets[2].mutable_tags())["ünïcödé"] = "値";
    (*sets[3].mutable_tags())["request_id"] = std::string(300, 'r');
    std::vector<std::string> bytes;
    for (const pb::TagSet &set : sets)
        bytes.push_back(set.SerializeAsString());
    return bytes;
}

/* Unknown fields of every wire type, as a newer collector could add. */
std::string unknown_fields() {
    return tag(100, 0) + varint(1ull << 50) + tag(101, 1) +
           std::string(8, '\x11') + field(102, "abc") + tag(103, 3) +
           tag(1, 0) + varint(5) + tag(2, 3) + tag(2, 4) + tag(103, 4) +
           tag(104, 5) + std::string(4, '\x22');
}

/* What the writer does not write but protobuf reads: unknown fields in the
 * set and in its entries, known fields of another wire type, a key given
 * twice (the last value is kept), entries with the value first, the key
 * or value given twice in one entry, or missing. */
std::string newer_tag_set(const std::string &base) {
    std::string entry1 = unknown_fields() + field(2, "v1") + tag(1, 0) +
                         varint(7) + field(1, "k1");
    std::string entry2 = field(1, "k1") + field(2, "first") + field(2, "v2");
    std::string entry3 = field(1, "dropped") + field(1, "k3");
    std::string entry4 = field(2, "no key");
    return base + unknown_fields() + field(2, entry1) + tag(1, 5) +
           std::string(4, '\x07') + field(2, entry2) + field(2, entry3) +
           field(2, entry4) + tag(2, 0) + varint(3) + field(2, "");
}

struct Random {
    uint64_t state;
    uint64_t next() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    }
    size_t below(size_t n) { return n == 0 ? 0 : next() % n; }
};

/* A damaged copy of `bytes`: bytes changed, cut, inserted or repeated. */
std::string damaged(const std::string &bytes, Random &random) {
    std::string out = bytes;
    size_t changes = 1 + random.below(3);
    for (size_t i = 0; i < changes; ++i) {
        size_t at = random.below(out.size() + 1);
        switch (random.below(6)) {
        case 0:
        case 1:
            if (at < out.size())
                out[at] = static_cast<char>(random.next());
            break;
        case 2:
            if (at < out.size())
                out[at] = static_cast<char>(out[at] ^ (1u << random.below(8)));
            break;
        case 3:
            out.resize(at);
            break;
        case 4:
            out.insert(at, 1, static_cast<char>(random.next()));
            break;
        default: {
            size_t from = random.below(out.size() + 1);
            size_t n = random.below(out.size() - from + 1);
            out.insert(at, out.substr(from, n));
            break;
        }
        }
    }
    return out;
}

/* Both readings of `bytes`: "" when they agree. */
std::string compare(const std::string &bytes, TagSetFields &fields,
                    bool &parsed) {
    pb::TagSet m;
    parsed = parse(bytes, m);
    bool decoded = decode(bytes, fields);
    if (parsed != decoded)
        return parsed ? "protobuf reads it, the decoder refuses it"
                      : "protobuf refuses it, the decoder reads it";
    return parsed ? difference(fields, m) : "";
}

} // namespace

int main() {
    /* protobuf logs each string that is not UTF-8 */
    google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char *,
                                       int, const std::string &) {});
    std::vector<std::string> written = written_tag_sets();
    TagSetFields reused;
    bool parsed = false;

    /* 1. the tag sets the collector writes, into one reused TagSetFields */
    std::string why;
    for (int round = 0; round < 2; ++round)
        for (const std::string &bytes : written) {
            std::string diff = compare(bytes, reused, parsed);
            if (why.empty() && (!diff.empty() || !parsed))
                why = parsed ? diff : "a written tag set does not decode";
        }
    report(why.empty(), "written tag sets decode as protobuf parses them, "
                        "reused one after the other" +
                            (why.empty() ? "" : ": " + why));

    /* 2. what protobuf reads beyond what the writer writes */
    why.clear();
    for (const std::string &base : written) {
        std::string diff = compare(newer_tag_set(base), reused, parsed);
        if (why.empty() && (!diff.empty() || !parsed))
            why = parsed ? diff : "such a tag set does not decode";
    }
    report(why.empty(), "unknown fields skipped, a key given twice keeps its "
                        "last value, entries without key or value read" +
                            (why.empty() ? "" : ": " + why));

    /* 3. thousands of keys, some given twice (searched through a hash
     * table), then a small set into the same TagSetFields */
    {
        std::string bytes = tag(1, 0) + varint(9);
        for (int i = 0; i < 5000; ++i)
            bytes += field(2, field(1, "key" + std::to_string(i % 3000)) +
                                  field(2, "value" + std::to_string(i)));
        std::string large = compare(bytes, reused, parsed);
        size_t tags = reused.size();
        std::string small = compare(written[0], reused, parsed);
        report(large.empty() && tags == 3000 && small.empty(),
               "5,000 entries of 3,000 keys read as protobuf reads them (" +
                   std::to_string(tags) + " tags), then a small set" +
                   (large.empty() ? "" : ": " + large) +
                   (small.empty() ? "" : ": " + small));
    }

    /* 4. damaged tag sets: refused exactly when protobuf refuses them, the
     * same tags when both read them */
    Random random{0x9e3779b97f4a7c15ull};
    uint64_t refused = 0, read = 0, disagree = 0;
    std::string first;
    for (int i = 0; i < 300000; ++i) {
        const std::string &base = written[random.below(written.size())];
        std::string bytes =
            damaged(i % 4 == 0 ? newer_tag_set(base) : base, random);
        std::string diff = compare(bytes, reused, parsed);
        if (!diff.empty() && disagree++ == 0)
            first = diff;
        (parsed ? read : refused)++;
    }
    report(disagree == 0 && refused > 10000 && read > 10000,
           "300,000 damaged tag sets: " + std::to_string(refused) +
               " refused, " + std::to_string(read) + " read, as protobuf does" +
               (disagree ? " (" + std::to_string(disagree) +
                               " disagree, first: " + first + ")"
                         : ""));

    /* 5. keys and values that are not UTF-8 are refused, as by protobuf,
     * even when a later one would replace them */
    {
        std::string bad_key = field(2, field(1, "\xc3\x28") + field(2, "v"));
        std::string bad_value =
            field(2, field(1, "k") + field(2, "\xff") + field(2, "fine"));
        pb::TagSet m;
        TagSetFields f;
        report(!parse(bad_key, m) && !decode(bad_key, f) &&
                   !parse(bad_value, m) && !decode(bad_value, f),
               "a key or value that is not UTF-8 is refused");
    }
    return 0;
}
