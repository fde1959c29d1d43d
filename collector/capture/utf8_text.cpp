#include "utf8_text.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>

namespace qprof {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

namespace {

/* Length of the well-formed sequence at text[pos], 0 when ill-formed
 * (Unicode 15, table 3-7). */
size_t utf8_sequence_length(std::string_view text, size_t pos) {
    auto byte = [&](size_t i) -> unsigned {
        return pos + i < text.size()
                   ? static_cast<unsigned char>(text[pos + i])
                   : 0x100; /* past the end: matches no range */
    };
    unsigned b0 = byte(0);
    if (b0 < 0x80)
        return 1;
    auto in = [](unsigned b, unsigned lo, unsigned hi) {
        return b >= lo && b <= hi;
    };
    if (in(b0, 0xc2, 0xdf))
        return in(byte(1), 0x80, 0xbf) ? 2 : 0;
    if (in(b0, 0xe0, 0xef)) {
        unsigned lo = b0 == 0xe0 ? 0xa0 : 0x80;
        unsigned hi = b0 == 0xed ? 0x9f : 0xbf; /* no surrogates */
        return in(byte(1), lo, hi) && in(byte(2), 0x80, 0xbf) ? 3 : 0;
    }
    if (in(b0, 0xf0, 0xf4)) {
        unsigned lo = b0 == 0xf0 ? 0x90 : 0x80;
        unsigned hi = b0 == 0xf4 ? 0x8f : 0xbf; /* up to U+10FFFF */
        return in(byte(1), lo, hi) && in(byte(2), 0x80, 0xbf) &&
                       in(byte(3), 0x80, 0xbf)
                   ? 4
                   : 0;
    }
    return 0;
}

const std::string &string_value(const Message &message,
                                const FieldDescriptor *field, int index,
                                std::string &scratch) {
    const Reflection *refl = message.GetReflection();
    return index < 0 ? refl->GetStringReference(message, field, &scratch)
                     : refl->GetRepeatedStringReference(message, field, index,
                                                        &scratch);
}

/* How many values `field` of `message` has (a singular field 0 or 1). */
int values_of(const Message &message, const FieldDescriptor *field) {
    const Reflection *refl = message.GetReflection();
    if (field->is_repeated())
        return refl->FieldSize(message, field);
    return refl->HasField(message, field) ? 1 : 0;
}

/* Calls on_string(message, field, index) for every string value of
 * `message` and of the messages inside it (index -1: a singular field). */
template <typename OnString>
void visit_strings(const Message &message, OnString &on_string) {
    const google::protobuf::Descriptor *desc = message.GetDescriptor();
    const Reflection *refl = message.GetReflection();
    for (int i = 0; i < desc->field_count(); ++i) {
        const FieldDescriptor *field = desc->field(i);
        bool repeated = field->is_repeated();
        int n = values_of(message, field);
        for (int j = 0; j < n; ++j) {
            if (field->type() == FieldDescriptor::TYPE_STRING)
                on_string(message, field, repeated ? j : -1);
            else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE)
                visit_strings(repeated
                                  ? refl->GetRepeatedMessage(message, field, j)
                                  : refl->GetMessage(message, field),
                              on_string);
        }
    }
}

/* The same walk through the mutable accessors (a map's entries must be
 * changed through them, or the map keeps its old values). */
size_t fix_strings(Message &message) {
    const google::protobuf::Descriptor *desc = message.GetDescriptor();
    const Reflection *refl = message.GetReflection();
    size_t changed = 0;
    std::string scratch;
    for (int i = 0; i < desc->field_count(); ++i) {
        const FieldDescriptor *field = desc->field(i);
        bool repeated = field->is_repeated();
        int n = values_of(message, field);
        for (int j = 0; j < n; ++j) {
            if (field->type() == FieldDescriptor::TYPE_STRING) {
                int index = repeated ? j : -1;
                const std::string &value =
                    string_value(message, field, index, scratch);
                if (is_valid_utf8(value))
                    continue;
                std::string fixed = replace_invalid_utf8(value);
                if (repeated)
                    refl->SetRepeatedString(&message, field, j,
                                            std::move(fixed));
                else
                    refl->SetString(&message, field, std::move(fixed));
                ++changed;
            } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
                changed += fix_strings(
                    repeated ? *refl->MutableRepeatedMessage(&message, field, j)
                             : *refl->MutableMessage(&message, field));
            }
        }
    }
    return changed;
}

} // namespace

bool is_valid_utf8(std::string_view text) {
    size_t pos = 0;
    while (pos < text.size()) {
        /* ASCII runs, the common case, a byte at a time without the
         * table */
        if (static_cast<unsigned char>(text[pos]) < 0x80) {
            ++pos;
            continue;
        }
        size_t length = utf8_sequence_length(text, pos);
        if (length == 0)
            return false;
        pos += length;
    }
    return true;
}

size_t utf8_prefix_length(std::string_view text, size_t max_bytes) {
    size_t pos = 0;
    while (pos < text.size()) {
        size_t length = std::max<size_t>(utf8_sequence_length(text, pos), 1);
        if (length > max_bytes - pos)
            break;
        pos += length;
    }
    return pos;
}

std::string replace_invalid_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 8);
    size_t pos = 0;
    while (pos < text.size()) {
        size_t length = utf8_sequence_length(text, pos);
        if (length == 0) {
            out += "\xef\xbf\xbd"; /* U+FFFD, one per ill-formed byte */
            ++pos;
        } else {
            out.append(text.data() + pos, length);
            pos += length;
        }
    }
    return out;
}

bool message_strings_valid(const Message &message) {
    bool valid = true;
    std::string scratch;
    auto check = [&](const Message &m, const FieldDescriptor *field,
                     int index) {
        if (valid && !is_valid_utf8(string_value(m, field, index, scratch)))
            valid = false;
    };
    visit_strings(message, check);
    return valid;
}

size_t make_message_strings_valid(Message &message) {
    return fix_strings(message);
}

} // namespace qprof
