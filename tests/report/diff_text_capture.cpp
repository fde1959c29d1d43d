/*
 * diff_text_capture — writes a capture of statements whose texts have
 * multi-byte UTF-8 characters where `qprof diff` cuts a statement's text
 * to fit its terminal line (real capture files: capture_fixture.h), for
 * tests/t/189_diff_text_utf8.pl. Each text is an ASCII prefix of 0 to 3
 * bytes' more, then a run of one character of 2, 3 or 4 bytes: whatever
 * the width left for the text, some of them would be cut inside a
 * character by a cut that counts bytes.
 *   - 12 statements, 40 executions each, 1 ms each.
 *
 * usage: diff_text_capture --out DIR
 */
#include "capture_fixture.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace {

using fixture::kBeginUs;
using fixture::kMs;
namespace pb = fixture::pb;

/* "SELECT '" and `pad` x's, then `count` times `character`. */
std::string text_of(size_t pad, const char *character, size_t count) {
    std::string text = "SELECT " + std::string(pad, 'x') + "'";
    for (size_t i = 0; i < count; ++i)
        text += character;
    return text + "' FROM t";
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 3 || std::strcmp(argv[1], "--out") != 0) {
        std::fprintf(stderr, "usage: diff_text_capture --out DIR\n");
        return 2;
    }
    try {
        /* é (2 bytes), € (3 bytes), 𝄞 (4 bytes) */
        const char *kCharacters[] = {"\xc3\xa9", "\xe2\x82\xac",
                                     "\xf0\x9d\x84\x9e"};
        std::vector<std::string> texts;
        for (const char *character : kCharacters)
            for (size_t pad = 0; pad < 4; ++pad)
                texts.push_back(text_of(pad, character, 30));
        fixture::Capture capture(
            argv[2], {"diff-text", 7300000000000000189ull, "shop", "shop"});
        int64_t t = kBeginUs;
        for (int i = 0; i < 40; ++i)
            for (size_t s = 0; s < texts.size(); ++s) {
                fixture::Statement statement = {static_cast<int64_t>(1890 + s),
                                                texts[s].c_str(),
                                                pb::CMD_SELECT, "/text"};
                capture.emit(statement, 100 + static_cast<int32_t>(s), t,
                             1 * kMs, nullptr);
                t += 2000;
            }
        uint64_t samples = capture.finish();
        std::printf("diff_text_capture: %llu samples\n",
                    static_cast<unsigned long long>(samples));
    } catch (const std::exception &e) {
        std::fprintf(stderr, "diff_text_capture: %s\n", e.what());
        return 1;
    }
    return 0;
}
