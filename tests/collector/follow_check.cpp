/*
 * follow_check.cpp — a capture file read as it grows
 * (CaptureSet::read_appended, what `qprof collect --clickhouse` does with
 * the file it writes): the capture file given (argv[1], written by the
 * collector) is copied a frame at a time into a new file, each frame first
 * half written then whole, and the copy read after each write. The samples
 * seen over all the readings must be those of one reading of the whole
 * file, in order, with the same statement texts, plans and tags (defined in
 * earlier frames: the definitions are kept between readings); none of a
 * half-written frame until it is whole; and each reading reads only what
 * was added since the frames read before (the bytes read stay within the
 * file's size and the halves read twice). One "ok"/"not ok" line a check
 * (CheckProgram.pm).
 */
#include "capture_set.h"

#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace qprof;

namespace {

void report(bool ok, const std::string &what) {
    printf("%s %s\n", ok ? "ok" : "not ok", what.c_str());
}

/* Each sample as a line: its identity and what its references resolve
 * to. */
class SampleLines : public CaptureVisitor {
  public:
    explicit SampleLines(const CaptureSet &set) : set_(set) {}
    void sample(const ResolvedSample &r) override {
        const DecodedSample &d = *r.decoded;
        std::string line = std::to_string(d.epoch) + "/" +
                           std::to_string(d.seq) +
                           " app=" + set_.string(r.application_name);
        if (r.statement_text != 0)
            line += " text=" + set_.texts()[r.statement_text - 1].text;
        if (r.plan != 0)
            line += " plan=" +
                    std::to_string(set_.plans()[r.plan - 1].plan.planid());
        if (r.tags != nullptr)
            for (const auto &tag : r.tags->tags)
                line += " " + set_.string(tag.first) + "=" +
                        set_.string(tag.second);
        lines.push_back(line);
        if (r.tags != nullptr)
            ++tagged;
    }
    std::vector<std::string> lines;
    size_t tagged = 0;

  private:
    const CaptureSet &set_;
};

void write_file(const std::string &path, const std::string &bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: follow_check CAPTURE_FILE WORK_DIR\n");
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
    std::vector<size_t> frame_ends;
    for (size_t at = 0; at < bytes.size();) {
        size_t size =
            ZSTD_findFrameCompressedSize(bytes.data() + at, bytes.size() - at);
        if (ZSTD_isError(size))
            break;
        at += size;
        frame_ends.push_back(at);
    }

    CaptureSet whole_set({argv[1]});
    SampleLines whole(whole_set);
    whole_set.read(whole);

    std::string copy = std::string(argv[2]) + "/growing.qprof";
    write_file(copy, "");
    CaptureSet set({copy});
    SampleLines followed(set);
    uint64_t read = 0, halves = 0, largest_frame = 0, largest_read = 0;
    bool half_seen = false, truncated_said = true;
    size_t previous_end = 0;
    for (size_t end : frame_ends) {
        size_t half = previous_end + (end - previous_end) / 2;
        size_t seen = followed.lines.size();
        write_file(copy, bytes.substr(0, half));
        uint64_t bytes_read = set.read_appended(followed);
        read += bytes_read;
        halves += half - previous_end;
        largest_read = std::max(largest_read, bytes_read);
        if (followed.lines.size() != seen)
            half_seen = true;
        if (half > previous_end &&
            set.files()[0].status != CaptureFileStatus::Status::Truncated)
            truncated_said = false;
        write_file(copy, bytes.substr(0, end));
        bytes_read = set.read_appended(followed);
        read += bytes_read;
        largest_read = std::max(largest_read, bytes_read);
        largest_frame = std::max<uint64_t>(largest_frame, end - previous_end);
        previous_end = end;
    }

    report(frame_ends.size() >= 20 && whole.lines.size() >= 1000 &&
               whole.tagged * 2 >= whole.lines.size(),
           "the capture has " + std::to_string(frame_ends.size()) +
               " frames and " + std::to_string(whole.lines.size()) +
               " samples, " + std::to_string(whole.tagged) + " tagged");
    report(followed.lines == whole.lines,
           "read as it grows, the samples are those of the whole file, in "
           "order, each once, with their texts, plans and tags (" +
               std::to_string(followed.lines.size()) + " against " +
               std::to_string(whole.lines.size()) + ")");
    report(!half_seen, "no sample of a half-written frame is read before "
                       "the frame is whole");
    report(truncated_said,
           "a half-written frame at the end is a truncated tail");
    report(read <= bytes.size() + halves,
           "each reading reads what was added since the frames read: " +
               std::to_string(read) + " bytes read for a file of " +
               std::to_string(bytes.size()) +
               " (halves read twice: " + std::to_string(halves) + ")");
    report(largest_read <= largest_frame,
           "no reading reads more than a frame here (" +
               std::to_string(largest_read) +
               " bytes at most, the largest "
               "frame " +
               std::to_string(largest_frame) + ")");
    /* bytes past what the writer made durable are not read */
    CaptureSet limited({argv[1]});
    SampleLines some(limited);
    size_t limit = frame_ends.size() / 2;
    limited.read_appended(some, frame_ends[limit - 1] + 1);
    uint64_t rest = limited.read_appended(some);
    report(some.lines == whole.lines &&
               rest == bytes.size() - frame_ends[limit - 1],
           "a limit in the middle of the file: the frames past it are read "
           "by the next reading, from where the first stopped");
    return 0;
}
