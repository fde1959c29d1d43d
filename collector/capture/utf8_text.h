/*
 * utf8_text.h — capture files hold text in proto3 `string` fields, which a
 * reader refuses unless they are valid UTF-8. Texts come from the server in
 * UTF-8, but a SQL_ASCII database passes any bytes through: those bytes are
 * replaced by U+FFFD before a record is written, so that every capture the
 * collector writes can be read back.
 */
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

namespace qprof {

/* Whether `text` is well-formed UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF), as protobuf checks it. */
bool is_valid_utf8(std::string_view text);

/* The length of the longest prefix of `text` of at most `max_bytes` bytes
 * that does not end inside a character (an ill-formed byte counts as a
 * character of its own), for cutting text to a width. */
size_t utf8_prefix_length(std::string_view text, size_t max_bytes);

/* `text` with each ill-formed sequence replaced by U+FFFD. */
std::string replace_invalid_utf8(std::string_view text);

/* Whether every `string` field of `message` and of the messages inside it
 * (map keys and values too) is valid UTF-8. */
bool message_strings_valid(const google::protobuf::Message &message);

/* Makes every `string` field of `message` valid UTF-8 (replace_invalid_utf8
 * on each); returns the number of fields changed. */
size_t make_message_strings_valid(google::protobuf::Message &message);

} // namespace qprof
