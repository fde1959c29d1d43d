/*
 * follow_replay — what a streaming pass of `qprof collect --clickhouse`
 * reads, replayed on a capture file without PostgreSQL or ClickHouse
 * (tests/bench/follow_replay.sh): the file is copied into a new one a
 * frame at a time, as the collector writes it, and after each frame a
 * pass reads it as the export thread does, with each of the two readers:
 *   - "again": the file from its start to its last durable frame, its
 *     rows up to those sent before skipped (the reading of fd867dc: a
 *     new CaptureSet each pass);
 *   - "appended": only the frames added since the pass before, the
 *     file's definitions kept (CaptureSet::read_appended).
 * Both resolve every sample (texts, plans, tag sets), as the exporter
 * does, and must see the same samples. Prints the CPU time (the process's,
 * the reader's parsing thread included) of all passes, of the passes over
 * each tenth of the file, and of a pass over the last tenth (the mean).
 *
 * usage: follow_replay CAPTURE_FILE WORK_DIR again|appended
 */
#include "capture_set.h"

#include <zstd.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace qprof;

namespace {

double cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

/* What an exporter does with a sample but the row: its references, and
 * the samples already sent skipped. */
class Resolver : public CaptureVisitor {
  public:
    void sample(const ResolvedSample &r) override {
        if (produced++ < skip)
            return;
        checksum += r.decoded->seq + r.statement_text + r.plan +
                    (r.tags != nullptr ? r.tags->tags.size() : 0);
        ++sent;
    }
    uint64_t produced = 0, skip = 0, sent = 0, checksum = 0;
};

} // namespace

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr,
                "usage: follow_replay CAPTURE_FILE WORK_DIR again|appended\n");
        return 2;
    }
    std::string mode = argv[3];
    bool appended = mode == "appended";
    if (!appended && mode != "again") {
        fprintf(stderr, "follow_replay: again or appended, not %s\n",
                mode.c_str());
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
    std::string copy = std::string(argv[2]) + "/followed.qprof";
    std::ofstream out(copy, std::ios::binary | std::ios::trunc);
    CaptureSet followed({copy});
    Resolver appended_resolver;
    uint64_t sent = 0, checksum = 0;
    double total = 0;
    std::vector<double> tenths(10, 0);
    size_t last_tenth_passes = 0;
    size_t written = 0;
    for (size_t i = 0; i < frame_ends.size(); ++i) {
        out.write(bytes.data() + written,
                  static_cast<std::streamsize>(frame_ends[i] - written));
        out.flush();
        written = frame_ends[i];
        double start = cpu_seconds();
        if (appended) {
            followed.read_appended(appended_resolver, written);
            sent = appended_resolver.sent;
            checksum = appended_resolver.checksum;
        } else {
            CaptureSet set({copy});
            Resolver again;
            again.skip = sent;
            set.read(again);
            sent += again.sent;
            checksum += again.checksum;
        }
        double pass = cpu_seconds() - start;
        total += pass;
        size_t tenth = i * 10 / frame_ends.size();
        tenths[tenth] += pass;
        if (tenth == 9)
            ++last_tenth_passes;
    }
    printf("%s: %zu frames, %.1f MiB, %llu samples (checksum %llu); CPU of "
           "the passes %.3f s, a pass over the last tenth %.2f ms; by tenth "
           "of the file (s):",
           mode.c_str(), frame_ends.size(), bytes.size() / 1048576.0,
           static_cast<unsigned long long>(sent),
           static_cast<unsigned long long>(checksum), total,
           last_tenth_passes ? tenths[9] / last_tenth_passes * 1e3 : 0.0);
    for (double t : tenths)
        printf(" %.3f", t);
    printf("\n");
    return 0;
}
