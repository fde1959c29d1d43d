#include "json_text.h"

#include <cstdio>
#include <stdexcept>

namespace qprof {

void append_json_string(std::string &out, const std::string &text) {
    out.push_back('"');
    for (unsigned char c : text) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (c < 0x20) {
                char escape[8];
                snprintf(escape, sizeof escape, "\\u%04x", c);
                out += escape;
            } else {
                out.push_back(static_cast<char>(c));
            }
        }
    }
    out.push_back('"');
}

namespace {

class FlatJsonParser {
  public:
    explicit FlatJsonParser(const std::string &json) : s_(json) {}

    bool parse(std::map<std::string, std::string> &out) {
        skip_space();
        if (!take('{'))
            return false;
        skip_space();
        if (take('}'))
            return at_end();
        for (;;) {
            std::string key, value;
            skip_space();
            if (!string(key))
                return false;
            skip_space();
            if (!take(':'))
                return false;
            skip_space();
            if (peek() == '"') {
                if (!string(value))
                    return false;
            } else if (!raw_value(value)) {
                return false;
            }
            out[key] = value;
            skip_space();
            if (take('}'))
                return at_end();
            if (!take(','))
                return false;
        }
    }

  private:
    char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
    bool take(char c) {
        if (peek() != c)
            return false;
        ++pos_;
        return true;
    }
    void skip_space() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' ||
                                    s_[pos_] == '\t' || s_[pos_] == '\r'))
            ++pos_;
    }
    bool at_end() {
        skip_space();
        return pos_ == s_.size();
    }

    /* A JSON string; \u escapes become UTF-8. */
    bool string(std::string &out) {
        if (!take('"'))
            return false;
        while (pos_ < s_.size()) {
            char c = s_[pos_++];
            if (c == '"')
                return true;
            if (c != '\\') {
                out.push_back(c);
                continue;
            }
            if (pos_ >= s_.size())
                return false;
            char e = s_[pos_++];
            switch (e) {
            case 'n':
                out.push_back('\n');
                break;
            case 't':
                out.push_back('\t');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 'b':
                out.push_back('\b');
                break;
            case 'f':
                out.push_back('\f');
                break;
            case 'u': {
                if (pos_ + 4 > s_.size())
                    return false;
                unsigned code = static_cast<unsigned>(
                    std::stoul(s_.substr(pos_, 4), nullptr, 16));
                pos_ += 4;
                append_utf8(out, code);
                break;
            }
            default:
                out.push_back(e);
            }
        }
        return false;
    }

    /* A number, literal, or nested value kept as its text. */
    bool raw_value(std::string &out) {
        size_t start = pos_;
        int depth = 0;
        bool quoted = false;
        while (pos_ < s_.size()) {
            char c = s_[pos_];
            if (quoted) {
                if (c == '\\')
                    ++pos_;
                else if (c == '"')
                    quoted = false;
            } else if (c == '"') {
                quoted = true;
            } else if (c == '{' || c == '[') {
                ++depth;
            } else if (c == '}' || c == ']') {
                if (depth == 0)
                    break;
                --depth;
            } else if (c == ',' && depth == 0) {
                break;
            }
            ++pos_;
        }
        out = s_.substr(start, pos_ - start);
        while (!out.empty() && out.back() == ' ')
            out.pop_back();
        return !out.empty();
    }

    static void append_utf8(std::string &out, unsigned code) {
        if (code < 0x80) {
            out.push_back(static_cast<char>(code));
        } else if (code < 0x800) {
            out.push_back(static_cast<char>(0xc0 | (code >> 6)));
            out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
        } else {
            out.push_back(static_cast<char>(0xe0 | (code >> 12)));
            out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
        }
    }

    const std::string &s_;
    size_t pos_ = 0;
};

} // namespace

bool parse_flat_json_object(const std::string &json,
                            std::map<std::string, std::string> &out) {
    try {
        return FlatJsonParser(json).parse(out);
    } catch (const std::exception &) { /* a bad \u escape */
        return false;
    }
}

} // namespace qprof
