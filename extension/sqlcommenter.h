/*
 * sqlcommenter.h — the request tags an application appends to its SQL
 * (a trailing comment such as  route='%2Fjobs',controller='JobList'  between
 * comment markers: the sqlcommenter convention).
 *
 * Finding the comment runs for recorded executions, so it only looks at the
 * two ends of the statement text. Parsing and URL-decoding run when a sample
 * is read, never on the hot path.
 */
#pragma once

#include <cstddef>
#include <string>

namespace qprof {

/* Locates a comment at the very end of the statement text [text, text+n)
 * (after trailing white space and semicolons) or at its very start. Sets
 * body/len to what lies between the comment markers and returns true when
 * there is one. */
bool find_sqlcommenter(const char *text, size_t n, const char **body,
                       size_t *len);

/* The statement's own text within a query string that may hold several:
 * PostgreSQL's stmt_location/stmt_len (len 0 = up to the end). */
inline size_t statement_text(const char *source, int location, int len,
                             const char **text) {
    if (source == nullptr) {
        *text = nullptr;
        return 0;
    }
    if (location < 0)
        location = 0;
    *text = source + location;
    return len > 0 ? static_cast<size_t>(len) : __builtin_strlen(*text);
}

/* Parses a comment body of key='value' pairs separated by commas, URL-decodes
 * keys and values and returns them as a JSON object text, valid UTF-8 with
 * no NUL: a pair whose key or value decodes to a NUL is dropped, bytes that
 * are not well-formed UTF-8 become U+FFFD. Returns false for anything
 * malformed or when no pair is left; the caller then shows no tags. A body
 * `truncated` to the sample's tag buffer keeps its complete pairs. Never
 * throws. */
bool sqlcommenter_to_json(const char *body, size_t len, bool truncated,
                          std::string *json);

/* The same JSON text written NUL-terminated into out[0, cap), for callers
 * built without exceptions that keep no std::string (the backend's SQL
 * functions). False when there are no tags or the text does not fit. Never
 * throws. */
bool sqlcommenter_to_json_buffer(const char *body, size_t len, bool truncated,
                                 char *out, size_t cap);

} // namespace qprof
