/*
 * json_text.h — the little JSON the collector needs: quoting strings for
 * `qprof dump`, and reading the flat tag objects the extension returns.
 */
#pragma once

#include <map>
#include <string>

namespace qprof {

/* Appends `text` as a quoted JSON string (UTF-8 kept, controls escaped). */
void append_json_string(std::string &out, const std::string &text);

/* Parses {"key": "value", ...}; non-string values are kept as their JSON
 * text. False when `json` is not such an object. */
bool parse_flat_json_object(const std::string &json,
                            std::map<std::string, std::string> &out);

} // namespace qprof
