/*
 * one_line.cpp — a statement's text on one line of a report or an insight.
 */
#include "one_line.h"

namespace qprof {

/* Text on one line, cut to `width` columns (UTF-8 aware enough: never
 * splits a multi-byte character). */
std::string one_line(const std::string &text, size_t width) {
    std::string out;
    size_t columns = 0;
    bool space = false;
    for (size_t i = 0; i < text.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
            space = !out.empty();
            continue;
        }
        size_t len = c < 0x80    ? 1
                     : c >= 0xF0 ? 4
                     : c >= 0xE0 ? 3
                     : c >= 0xC0 ? 2
                                 : 1;
        size_t need = (space ? 1 : 0) + 1;
        if (columns + need > width) {
            while (columns + 3 > width && !out.empty()) {
                /* drop whole characters */
                size_t cut = out.size() - 1;
                while (cut > 0 &&
                       (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80)
                    --cut;
                out.resize(cut);
                --columns;
            }
            return out + "...";
        }
        if (space) {
            out += ' ';
            ++columns;
        }
        space = false;
        out.append(text, i, len);
        i += len - 1;
        ++columns;
    }
    return out;
}

} // namespace qprof
