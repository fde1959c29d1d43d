/*
 * sqlcommenter.cpp — locate and parse sqlcommenter tags. Pure C++, no
 * PostgreSQL calls, so it can be exercised on any input without risk.
 */
#include "sqlcommenter.h"

#include <cstring>
#include <new>

namespace qprof {

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

bool find_sqlcommenter(const char *text, size_t n, const char **body,
                       size_t *len) {
    if (text == nullptr)
        return false;

    /* Trailing comment: the convention, and what Django middlewares emit. */
    size_t end = n;
    while (end > 0 && (is_space(text[end - 1]) || text[end - 1] == ';'))
        end--;
    if (end >= 4 && text[end - 1] == '/' && text[end - 2] == '*') {
        size_t close = end - 2;
        /* the comment opens at the last opening marker before the closing one
         */
        for (size_t i = close; i >= 2; i--) {
            if (text[i - 2] == '/' && text[i - 1] == '*') {
                *body = text + i;
                *len = close - i;
                return true;
            }
        }
    }

    /* Leading comment, as some drivers prepend it. */
    size_t start = 0;
    while (start < n && is_space(text[start]))
        start++;
    if (start + 4 <= n && text[start] == '/' && text[start + 1] == '*') {
        for (size_t i = start + 2; i + 1 < n; i++) {
            if (text[i] == '*' && text[i + 1] == '/') {
                *body = text + start + 2;
                *len = i - (start + 2);
                return true;
            }
        }
    }
    return false;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* URL-decodes [s, s+n) into out; false on a bad %-escape. */
static bool url_decode(const char *s, size_t n, std::string *out) {
    out->clear();
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n)
                return false;
            int hi = hex_value(s[i + 1]);
            int lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            out->push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out->push_back(s[i]);
        }
    }
    return true;
}

/* Length of the well-formed UTF-8 sequence at s[i] (as PostgreSQL's
 * pg_utf8_islegal: no overlong forms, no surrogates, at most U+10FFFF), or 0
 * when the bytes there are not one. */
static size_t utf8_sequence_length(const std::string &s, size_t i) {
    auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = byte(i);
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (i + n > s.size() || byte(i + 1) < lo || byte(i + 1) > hi)
        return 0;
    for (size_t k = 2; k < n; k++)
        if (byte(i + k) < 0x80 || byte(i + k) > 0xBF)
            return 0;
    return n;
}

/* Makes a decoded key or value fit for JSON and for any reader: false when
 * it holds a NUL (no text type can carry one: the pair is dropped); bytes
 * that are not well-formed UTF-8 become U+FFFD, one per byte. */
static bool clean_text(std::string *s, std::string *scratch) {
    if (s->find('\0') != std::string::npos)
        return false;
    size_t i = 0;
    while (i < s->size() && static_cast<unsigned char>((*s)[i]) < 0x80)
        i++;
    if (i == s->size())
        return true; /* ASCII, the usual case */
    scratch->assign(*s, 0, i);
    while (i < s->size()) {
        size_t n = utf8_sequence_length(*s, i);
        if (n == 0) {
            scratch->append("\xEF\xBF\xBD");
            i++;
        } else {
            scratch->append(*s, i, n);
            i += n;
        }
    }
    s->swap(*scratch);
    return true;
}

static void append_json_string(std::string *json, const std::string &s) {
    static const char hex[] = "0123456789abcdef";
    json->push_back('"');
    for (unsigned char c : s) {
        switch (c) {
        case '"':
            json->append("\\\"");
            break;
        case '\\':
            json->append("\\\\");
            break;
        case '\n':
            json->append("\\n");
            break;
        case '\r':
            json->append("\\r");
            break;
        case '\t':
            json->append("\\t");
            break;
        default:
            if (c < 0x20) {
                json->append("\\u00");
                json->push_back(hex[c >> 4]);
                json->push_back(hex[c & 15]);
            } else {
                json->push_back(static_cast<char>(c));
            }
        }
    }
    json->push_back('"');
}

static bool is_key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
           c == '%';
}

/* A comment cut short (`truncated`) keeps the pairs that are complete. */
static bool parse_pairs(const char *body, size_t len, bool truncated,
                        std::string *json) {
    size_t i = 0;
    auto skip_spaces = [&]() {
        while (i < len && is_space(body[i]))
            i++;
    };
    std::string key, value, raw_value, scratch;
    int pairs = 0;
    /* pairs are appended only once whole, so json holds complete ones */
    auto stop = [&]() {
        if (!truncated || pairs == 0)
            return false;
        json->push_back('}');
        return true;
    };
    json->assign("{");
    skip_spaces();
    while (i < len) {
        size_t key_start = i;
        while (i < len && is_key_char(body[i]))
            i++;
        if (i == key_start)
            return stop();
        if (!url_decode(body + key_start, i - key_start, &key))
            return stop();
        skip_spaces();
        if (i >= len || body[i] != '=')
            return stop();
        i++;
        skip_spaces();
        if (i >= len || body[i] != '\'')
            return stop();
        i++;
        /* a value ends at the first quote not escaped with a backslash */
        raw_value.clear();
        bool closed = false;
        while (i < len) {
            char c = body[i];
            if (c == '\\' && i + 1 < len) {
                raw_value.push_back(body[i + 1]);
                i += 2;
                continue;
            }
            if (c == '\'') {
                closed = true;
                i++;
                break;
            }
            raw_value.push_back(c);
            i++;
        }
        if (!closed)
            return stop();
        if (!url_decode(raw_value.data(), raw_value.size(), &value))
            return stop();
        if (clean_text(&key, &scratch) && clean_text(&value, &scratch)) {
            if (pairs++ > 0)
                json->push_back(',');
            append_json_string(json, key);
            json->push_back(':');
            append_json_string(json, value);
        }
        skip_spaces();
        if (i < len) {
            if (body[i] != ',')
                return stop();
            i++;
            skip_spaces();
            if (i >= len)
                return stop(); /* dangling comma */
        }
    }
    json->push_back('}');
    return pairs > 0;
}

bool sqlcommenter_to_json(const char *body, size_t len, bool truncated,
                          std::string *json) {
    try {
        return parse_pairs(body, len, truncated, json);
    } catch (...) { /* bad_alloc, length_error: no tags rather than a throw */
        return false;
    }
}

bool sqlcommenter_to_json_buffer(const char *body, size_t len, bool truncated,
                                 char *out, size_t cap) {
    try {
        std::string json;
        if (!parse_pairs(body, len, truncated, &json) || json.size() >= cap)
            return false;
        memcpy(out, json.c_str(), json.size() + 1);
        return true;
    } catch (...) {
        return false;
    }
}

} // namespace qprof
