/*
 * diff_drift_capture — writes a capture of one workload whose machine
 * drifts (real capture files: capture_fixture.h), for the test of what
 * `qprof diff` tells apart from that drift (tests/t/184_diff_drift.pl).
 *
 * The capture is 8 phases of 50 rounds; each phase the machine runs at
 * its own speed (a factor of the statements' time, as a minute of other
 * load on a shared runner does), one after the other:
 *   - a job update (route /jobs), 1 ms on the CPU times the phase's
 *     factor, with the kernel facts' wait split, about 10% of the time;
 *   - a job listing (route /jobs/list), 8 ms, its speed steady: the bulk
 *     of the time;
 *   - a health check (route /health), 0.2 ms, without kernel facts.
 * Each execution is its value times 0.5 to 1.5 (the same spread in every
 * capture). --phases picks the factors:
 *   base   0.6 1.5 0.8 1.2 0.7 1.6 0.9 1.1
 *   again  the same workload on a machine about 30% slower on the whole:
 *          0.9 1.9 1.0 1.6 0.9 2.1 1.2 1.4
 * --slower PCT makes the job update that much slower in every phase (a
 * real regression on top of the drift).
 *
 * usage: diff_drift_capture --out DIR --phases base|again --slower PCT
 */
#include "capture_fixture.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

namespace {

using fixture::kBeginUs;
using fixture::kMs;
using fixture::Statement;
namespace pb = fixture::pb;

const Statement kUpdate = {401,
                           "UPDATE jobs SET state = $1, health = $2 WHERE "
                           "id = $3",
                           pb::CMD_UPDATE, "/jobs"};
const Statement kList = {402,
                         "SELECT id, state FROM jobs ORDER BY submit_time "
                         "DESC LIMIT $1",
                         pb::CMD_SELECT, "/jobs/list"};
const Statement kHealth = {403, "SELECT $1", pb::CMD_SELECT, "/health"};

constexpr int kPhases = 8;
constexpr int kRounds = 50; /* a phase */
constexpr double kBase[kPhases] = {0.6, 1.5, 0.8, 1.2, 0.7, 1.6, 0.9, 1.1};
constexpr double kAgain[kPhases] = {0.9, 1.9, 1.0, 1.6, 0.9, 2.1, 1.2, 1.4};

class DriftCapture {
  public:
    DriftCapture(const std::string &out, const double *factors,
                 uint64_t slower_pct)
        : capture_(out, {"diff-drift", 7300000000000000184ull, "lab", "lab"}),
          factors_(factors), slower_pct_(slower_pct) {}

    void run() {
        int64_t t = kBeginUs;
        for (int phase = 0; phase < kPhases; ++phase) {
            for (int round = 0; round < kRounds; ++round) {
                int i = phase * kRounds + round;
                uint64_t spread = 5 + static_cast<uint64_t>(i % 11); /* /10 */
                double update_ns = 1.0 * kMs * factors_[phase] *
                                   (100 + slower_pct_) / 100 * spread / 10;
                qprof::ExecIo update;
                update.oncpu_ns = static_cast<uint64_t>(update_ns);
                capture_.emit(kUpdate, 101, t, update.oncpu_ns, &update);
                t += 20000;
                qprof::ExecIo list;
                list.oncpu_ns = 8 * kMs * spread / 10;
                capture_.emit(kList, 102, t, list.oncpu_ns, &list);
                t += 20000;
                capture_.emit(kHealth, 103, t, kMs / 5 * spread / 10, nullptr);
                t += 20000;
            }
        }
        uint64_t samples = capture_.finish();
        std::printf("diff_drift_capture: %llu samples\n",
                    static_cast<unsigned long long>(samples));
    }

  private:
    fixture::Capture capture_;
    const double *factors_;
    uint64_t slower_pct_;
};

} // namespace

int main(int argc, char **argv) {
    const char *usage = "usage: diff_drift_capture --out DIR --phases "
                        "base|again --slower PCT\n";
    std::string out;
    const double *factors = nullptr;
    uint64_t slower_pct = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--out") == 0)
            out = argv[i + 1];
        else if (std::strcmp(argv[i], "--phases") == 0)
            factors = std::strcmp(argv[i + 1], "base") == 0    ? kBase
                      : std::strcmp(argv[i + 1], "again") == 0 ? kAgain
                                                               : nullptr;
        else if (std::strcmp(argv[i], "--slower") == 0)
            slower_pct = std::strtoull(argv[i + 1], nullptr, 10);
        else
            out.clear();
    }
    if (argc != 7 || out.empty() || factors == nullptr) {
        std::fputs(usage, stderr);
        return 2;
    }
    try {
        DriftCapture(out, factors, slower_pct).run();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "diff_drift_capture: %s\n", e.what());
        return 1;
    }
    return 0;
}
