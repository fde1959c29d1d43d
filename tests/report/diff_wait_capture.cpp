/*
 * diff_wait_capture — writes a small capture whose executions' time is
 * split as told (real capture files: capture_fixture.h), for the test of
 * what `qprof diff` says of where the time went and of the machine's load
 * (tests/t/183_diff_waits.pl):
 *   - 200 row locks (route /checkout), each its own request (a request_id
 *     tag, so that the route is compared per request): 1 ms on the CPU,
 *     --lock-us waiting on Lock:transactionid, --runqueue-us waiting for a
 *     CPU;
 *   - 200 CPU-bound statements (route /report): --oncpu-us on the CPU,
 *     --runqueue-us waiting for a CPU, 0.1 ms with no wait event;
 *   - 200 statements without kernel facts (route /health), 1 ms each;
 *   - with --io-us N, 200 reads (route /search): 0.5 ms on the CPU, N on
 *     IO:DataFileRead, --runqueue-us waiting for a CPU; the kernel's
 *     uninterruptible sleep (offcpu_io) is the read and the run queue
 *     after it, as the BPF programs count it.
 * Each part is its value times 0.5 to 1.5 (the same spread in every
 * capture), so that two captures of the same values are identical.
 *
 * usage: diff_wait_capture --out DIR --oncpu-us N --runqueue-us N
 *                          --lock-us N [--io-us N]
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

const Statement kForUpdate = {301,
                              "SELECT balance FROM accounts WHERE id = $1 "
                              "FOR UPDATE",
                              pb::CMD_SELECT, "/checkout"};
const Statement kBusy = {302, "SELECT sum(g) FROM generate_series($1, $2) g",
                         pb::CMD_SELECT, "/report"};
const Statement kHealth = {303, "SELECT $1", pb::CMD_SELECT, "/health"};
const Statement kRead = {304, "SELECT * FROM results WHERE job_id = $1",
                         pb::CMD_SELECT, "/search"};
constexpr uint32_t kIODataFileRead = 0x0A000011;

struct Parts {
    uint64_t oncpu_us = 0, runqueue_us = 0, lock_us = 0, io_us = 0;
};

class DiffWaitCapture {
  public:
    DiffWaitCapture(const std::string &out, const Parts &parts)
        : capture_(out, {"diff-waits", 7300000000000000183ull, "shop", "shop"}),
          parts_(parts) {}

    void run() {
        int64_t t = kBeginUs;
        for (int i = 0; i < 200; ++i) {
            uint64_t spread = 5 + i % 11; /* tenths */
            uint64_t runqueue = parts_.runqueue_us * 1000 * spread / 10;
            qprof::ExecIo waiter;
            waiter.oncpu_ns = 1 * kMs;
            waiter.runqueue_ns = runqueue;
            waiter.runqueue_waits = runqueue > 0;
            uint64_t lock = parts_.lock_us * 1000 * spread / 10;
            if (lock > 0)
                fixture::add_wait(waiter, fixture::kLockTransactionId, 1, lock);
            waiter.offcpu_other_ns = runqueue + lock;
            capture_.emit(kForUpdate, 101, t, 1 * kMs + runqueue + lock,
                          &waiter, 0, 0, "checkout-" + std::to_string(i));
            t += 10000;
            qprof::ExecIo busy;
            busy.oncpu_ns = parts_.oncpu_us * 1000 * spread / 10;
            busy.runqueue_ns = runqueue;
            busy.runqueue_waits = runqueue > 0;
            busy.wait_class_ns[0] = kMs / 10;
            busy.wait_class_count[0] = 1;
            busy.offcpu_other_ns = runqueue + kMs / 10;
            capture_.emit(kBusy, 102, t, busy.oncpu_ns + runqueue + kMs / 10,
                          &busy);
            t += 10000;
            capture_.emit(kHealth, 103, t, 1 * kMs, nullptr);
            t += 10000;
            if (parts_.io_us == 0)
                continue;
            qprof::ExecIo read;
            read.oncpu_ns = kMs / 2;
            read.runqueue_ns = runqueue;
            read.runqueue_waits = runqueue > 0;
            uint64_t io = parts_.io_us * 1000 * spread / 10;
            fixture::add_wait(read, kIODataFileRead, 1, io);
            read.offcpu_io_ns = io + runqueue;
            capture_.emit(kRead, 104, t, kMs / 2 + io + runqueue, &read);
            t += 10000;
        }
        uint64_t samples = capture_.finish();
        std::printf("diff_wait_capture: %llu samples\n",
                    static_cast<unsigned long long>(samples));
    }

  private:
    fixture::Capture capture_;
    Parts parts_;
};

} // namespace

int main(int argc, char **argv) {
    const char *usage = "usage: diff_wait_capture --out DIR --oncpu-us N "
                        "--runqueue-us N --lock-us N [--io-us N]\n";
    std::string out;
    Parts parts;
    for (int i = 1; i + 1 < argc; i += 2) {
        uint64_t value = std::strtoull(argv[i + 1], nullptr, 10);
        if (std::strcmp(argv[i], "--out") == 0)
            out = argv[i + 1];
        else if (std::strcmp(argv[i], "--oncpu-us") == 0)
            parts.oncpu_us = value;
        else if (std::strcmp(argv[i], "--runqueue-us") == 0)
            parts.runqueue_us = value;
        else if (std::strcmp(argv[i], "--lock-us") == 0)
            parts.lock_us = value;
        else if (std::strcmp(argv[i], "--io-us") == 0)
            parts.io_us = value;
        else
            out.clear();
    }
    if ((argc != 9 && argc != 11) || out.empty()) {
        std::fputs(usage, stderr);
        return 2;
    }
    try {
        DiffWaitCapture(out, parts).run();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "diff_wait_capture: %s\n", e.what());
        return 1;
    }
    return 0;
}
