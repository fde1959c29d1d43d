/*
 * sqlcommenter_fuzz.cpp — libFuzzer target for the extension's sqlcommenter
 * parser (extension/sqlcommenter.h), as the backend and the collector call
 * it: find the comment of a statement text, then turn its body into JSON.
 * Besides not crashing, what it returns must hold: the body lies inside the
 * text, and the JSON is a flat object of valid UTF-8 with no NUL, which the
 * collector's own reader parses.
 */
#include "json_text.h"
#include "sqlcommenter.h"
#include "utf8_text.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

namespace {

void check(bool condition, const char *what) {
    if (!condition) {
        fprintf(stderr, "sqlcommenter_fuzz: %s\n", what);
        abort();
    }
}

void check_json(const std::string &json) {
    check(json.find('\0') == std::string::npos, "JSON with a NUL");
    check(qprof::is_valid_utf8(json), "JSON that is not valid UTF-8");
    std::map<std::string, std::string> tags;
    check(qprof::parse_flat_json_object(json, tags),
          "JSON that is not a flat object");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* the first byte picks "truncated"; the rest is the statement text */
    bool truncated = size > 0 && (data[0] & 1);
    const char *text = reinterpret_cast<const char *>(data) + (size > 0);
    size_t n = size > 0 ? size - 1 : 0;

    const char *body = nullptr;
    size_t len = 0;
    if (qprof::find_sqlcommenter(text, n, &body, &len))
        check(body >= text && len <= n &&
                  static_cast<size_t>(body - text) <= n - len,
              "a comment body outside the text");

    /* the parser on the comment found, and on the whole input as a body */
    std::string json;
    if (body != nullptr &&
        qprof::sqlcommenter_to_json(body, len, truncated, &json))
        check_json(json);
    json.clear();
    if (qprof::sqlcommenter_to_json(text, n, truncated, &json))
        check_json(json);
    return 0;
}
