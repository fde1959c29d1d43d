/*
 * capture_reader_fuzz.cpp — libFuzzer target: any bytes, read as a capture
 * file through every entry point of capture_reader.h, and every sample
 * block and tag set decoded (by protobuf and by the reader's own decoders).
 * The reader must
 * never crash, never allocate beyond the format's limits, and keep its
 * promises: no record without a kind is visited, and nothing is visited from a
 * file without a valid header.
 */
#include "capture_format.h"
#include "capture_reader.h"
#include "sample_codec.h"

#include <cstdint>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>
#include <sys/mman.h>
#include <unistd.h>

namespace {

/* The input as a regular file (the reader maps files): one memory file,
 * rewritten for each input. */
const std::string &input_path() {
    static std::string path = [] {
        int fd = memfd_create("capture", 0);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        return "/proc/self/fd/" + std::to_string(fd);
    }();
    return path;
}

void write_input(const uint8_t *data, size_t size) {
    int fd = std::atoi(input_path().c_str() + 14);
    if (ftruncate(fd, 0) != 0 ||
        (size > 0 && pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)))
        abort();
}

/* A tag set as one string: its id and its tags sorted. */
std::string
tag_set_text(uint32_t id,
             std::vector<std::pair<std::string, std::string>> tags) {
    std::sort(tags.begin(), tags.end());
    std::string text = std::to_string(id);
    for (const auto &tag : tags)
        text += '\0' + tag.first + '\0' + tag.second;
    return text;
}
std::string tag_set_text(const qprof::capture::v1::TagSet &set) {
    return tag_set_text(set.id(), {set.tags().begin(), set.tags().end()});
}
std::string tag_set_text(const qprof::TagSetFields &set) {
    std::vector<std::pair<std::string, std::string>> tags;
    for (size_t i = 0; i < set.size(); ++i)
        tags.emplace_back(set.key(i), set.value(i));
    return tag_set_text(set.id(), tags);
}

void check(bool condition, const char *what) {
    if (!condition) {
        fprintf(stderr, "capture_reader_fuzz: %s\n", what);
        abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    namespace pb = qprof::capture::v1;
    write_input(data, size);

    bool first = true;
    uint64_t samples = 0;
    std::vector<std::string> tag_sets;
    qprof::ReadSummary summary = qprof::read_capture_file(
        input_path(), [&](const pb::Record &record, uint64_t frame_offset) {
            check(record.kind_case() != pb::Record::KIND_NOT_SET,
                  "a record with no kind was visited");
            check(frame_offset < size, "a frame offset past the end");
            if (first) {
                check(record.has_header() &&
                          record.header().format_version() >= 1 &&
                          record.header().format_version() <=
                              qprof::kFormatVersion,
                      "a record visited from a file without a valid header");
                first = false;
            }
            if (record.has_tag_set())
                tag_sets.push_back(tag_set_text(record.tag_set()));
            if (record.has_sample_block()) {
                qprof::decode_sample_block(
                    record.sample_block(),
                    [&](const qprof::DecodedSample &) { ++samples; });
                qprof::last_seq_of_block(record.sample_block());
            }
        });
    check(summary.file_bytes == size, "file_bytes is not the input's size");
    for (const qprof::ReadProblem &problem : summary.problems)
        check(problem.offset <= size, "a problem offset past the end");
    if (size == 0)
        check(summary.damaged(), "an empty file is not damage");

    /* the same file with its sample blocks and tag sets decoded by the
     * reader's own decoders (sample_fields.h, tag_set_fields.h): the same
     * samples and tag sets when neither reading finds damage */
    uint64_t decoded = 0;
    std::vector<std::string> decoded_tag_sets;
    qprof::ReadSummary by_samples = qprof::read_capture_file(
        input_path(),
        [&](const pb::Record &record, uint64_t) {
            /* a block or a tag set not written as the writer writes it
             * comes whole */
            if (record.has_sample_block())
                qprof::decode_sample_block(
                    record.sample_block(),
                    [&](const qprof::DecodedSample &) { ++decoded; });
            if (record.has_tag_set())
                decoded_tag_sets.push_back(tag_set_text(record.tag_set()));
        },
        [&](uint64_t, const qprof::DecodedSample *, size_t count, uint64_t) {
            decoded += count;
        },
        [&](const qprof::TagSetFields &set, uint64_t frame_offset) {
            check(frame_offset < size, "a frame offset past the end");
            decoded_tag_sets.push_back(tag_set_text(set));
        });
    if (!summary.damaged() && !by_samples.damaged()) {
        check(decoded == samples,
              "the reader's decoder and protobuf read other samples");
        check(decoded_tag_sets == tag_sets,
              "the reader's decoder and protobuf read other tag sets");
    }

    pb::Header header;
    qprof::read_capture_header(input_path(), header);
    uint64_t frames = 0;
    qprof::scan_capture_frames_backwards(
        input_path(),
        [](const pb::Record &record) {
            check(record.kind_case() != pb::Record::KIND_NOT_SET,
                  "a record with no kind was visited backwards");
        },
        [&](bool) { return ++frames < 64; });
    return 0;
}
