/*
 * io_wait_capture — writes a small capture with a known I/O wait (real
 * capture files: capture_fixture.h), for the test of what `qprof diff`
 * says of a change of I/O wait (tests/t/182_diff_io_wait.pl), which needs
 * kernel facts that a test without BPF cannot record:
 *   - 220 reads (route /blob), each 1 ms on the CPU and an I/O wait of
 *     --io-wait-us times 0.5 to 1.5 (the same spread in every capture);
 *   - 220 statements without kernel facts (route /health), 1 ms each.
 *
 * usage: io_wait_capture --out DIR --io-wait-us N
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

const Statement kRead = {201, "SELECT payload FROM blobs WHERE id = $1",
                         pb::CMD_SELECT, "/blob"};
const Statement kHealth = {202, "SELECT $1", pb::CMD_SELECT, "/health"};

class IoWaitCapture {
  public:
    IoWaitCapture(const std::string &out, uint64_t io_wait_us)
        : capture_(out, {"io-wait", 7300000000000000182ull, "blobs", "blobs"}),
          io_wait_us_(io_wait_us) {}

    void run() {
        int64_t t = kBeginUs;
        for (int i = 0; i < 220; ++i) {
            uint64_t io_wait_ns = io_wait_us_ * 1000 * (5 + i % 11) / 10;
            qprof::ExecIo io;
            io.oncpu_ns = 1 * kMs;
            io.offcpu_io_ns = io_wait_ns;
            capture_.emit(kRead, 101, t, 1 * kMs + io_wait_ns, &io, 0, 4);
            t += 10000;
            capture_.emit(kHealth, 102, t, 1 * kMs, nullptr, 0, 4);
            t += 10000;
        }
        uint64_t samples = capture_.finish();
        std::printf("io_wait_capture: %llu samples\n",
                    static_cast<unsigned long long>(samples));
    }

  private:
    fixture::Capture capture_;
    uint64_t io_wait_us_;
};

} // namespace

int main(int argc, char **argv) {
    if (argc != 5 || std::strcmp(argv[1], "--out") != 0 ||
        std::strcmp(argv[3], "--io-wait-us") != 0) {
        std::fprintf(stderr,
                     "usage: io_wait_capture --out DIR --io-wait-us N\n");
        return 2;
    }
    try {
        IoWaitCapture(argv[2], std::strtoull(argv[4], nullptr, 10)).run();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "io_wait_capture: %s\n", e.what());
        return 1;
    }
    return 0;
}
