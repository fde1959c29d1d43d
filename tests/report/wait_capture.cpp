/*
 * wait_capture — writes a small capture with known waits (real capture
 * files: capture_fixture.h), for the tests of what `qprof report` says of
 * them (tests/t/186_report_waits.pl):
 *   - 4 rounds of a row lock: backend 202 updates the row (route /pay),
 *     sleeps 0.5 s in its transaction and commits; backend 101's
 *     SELECT ... FOR UPDATE (route /checkout) waits 489 ms of its 493 ms
 *     on Lock:transactionid. In the last round the machine is loaded: the
 *     COMMIT is switched out before and after it releases the row, and
 *     its sample comes after the waiter's;
 *   - 6 backends run a CPU-bound statement at once (route /report): 1 s
 *     each, 330 ms on the CPU, 660 ms in the run queue (66 waits), 10 ms
 *     with no wait event;
 *   - 20 inserts (route /log) of 10 ms: 5 ms on the CPU, 4 ms on
 *     LWLock:WALWrite (2 waits), 1 ms on IO:WALWrite;
 *   - one statement without kernel facts (route /health).
 * Every time is exact, so the test checks the report's numbers.
 *
 * usage: wait_capture --out DIR
 */
#include "capture_fixture.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

namespace {

using fixture::add_wait;
using fixture::kBeginUs;
using fixture::kMs;
using fixture::Statement;
namespace pb = fixture::pb;

const Statement kUpdate = {101,
                           "UPDATE accounts SET balance = balance - $1 "
                           "WHERE id = $2",
                           pb::CMD_UPDATE, "/pay"};
const Statement kSleep = {102, "SELECT pg_sleep($1)", pb::CMD_SELECT, "/pay"};
const Statement kCommit = {103, "COMMIT", pb::CMD_UTILITY, "/pay"};
const Statement kForUpdate = {104,
                              "SELECT balance FROM accounts WHERE id = $1 "
                              "FOR UPDATE",
                              pb::CMD_SELECT, "/checkout"};
const Statement kBusy = {105, "SELECT sum(g) FROM generate_series($1, $2) g",
                         pb::CMD_SELECT, "/report"};
const Statement kInsert = {106, "INSERT INTO events (kind) VALUES ($1)",
                           pb::CMD_INSERT, "/log"};
const Statement kHealth = {107, "SELECT $1", pb::CMD_SELECT, "/health"};

class WaitCapture {
  public:
    explicit WaitCapture(const std::string &out)
        : capture_(out, {"waits", 7300000000000000029ull, "shop", "shop"}) {}

    void run() {
        for (int round = 0; round < 4; ++round)
            lock_round(kBeginUs + round * 2000000ll, round == 3);
        int64_t t = kBeginUs + 10000000;
        for (int32_t pid = 301; pid <= 306; ++pid) {
            qprof::ExecIo io;
            io.oncpu_ns = 330 * kMs;
            io.runqueue_ns = 660 * kMs;
            io.runqueue_waits = 66;
            io.wait_class_ns[0] = 10 * kMs;
            io.wait_class_count[0] = 3;
            io.offcpu_other_ns = 670 * kMs;
            capture_.emit(kBusy, pid, t, 1000 * kMs, &io);
        }
        t = kBeginUs + 12000000;
        for (int i = 0; i < 20; ++i) {
            qprof::ExecIo io;
            io.oncpu_ns = 5 * kMs;
            add_wait(io, fixture::kLWLockWALWrite, 2, 4 * kMs);
            add_wait(io, fixture::kIOWALWrite, 1, 1 * kMs);
            io.offcpu_io_ns = 1 * kMs;
            io.offcpu_other_ns = 4 * kMs;
            capture_.emit(kInsert, 401, t + i * 20000, 10 * kMs, &io, 1);
        }
        capture_.emit(kHealth, 501, kBeginUs + 13000000, 1 * kMs, nullptr);
        uint64_t samples = capture_.finish();
        std::printf("wait_capture: %llu samples\n",
                    static_cast<unsigned long long>(samples));
    }

  private:
    /* Backend 202 holds the row 0.5 s; backend 101 waits for it. Loaded:
     * the COMMIT runs from 509 to 521 ms, releasing the row at 509 ms, and
     * the waiter, from 20 to 513 ms, is written first. */
    void lock_round(int64_t t, bool loaded) {
        qprof::ExecIo update;
        update.oncpu_ns = 1 * kMs;
        capture_.emit(kUpdate, 202, t, 1 * kMs, &update, 1);
        qprof::ExecIo sleep;
        sleep.oncpu_ns = kMs / 10;
        add_wait(sleep, fixture::kTimeoutPgSleep, 1, 499 * kMs + 9 * kMs / 10);
        sleep.offcpu_other_ns = 499 * kMs + 9 * kMs / 10;
        capture_.emit(kSleep, 202, t + 1000, 500 * kMs, &sleep);
        qprof::ExecIo commit;
        commit.oncpu_ns = 1 * kMs;
        if (!loaded)
            capture_.emit(kCommit, 202, t + 501000, 1 * kMs, &commit, 1);
        qprof::ExecIo waiter;
        waiter.oncpu_ns = 2 * kMs;
        waiter.runqueue_ns = 1 * kMs;
        waiter.runqueue_waits = 1;
        add_wait(waiter, fixture::kLockTransactionId, 1, 489 * kMs);
        waiter.wait_class_ns[0] = 1 * kMs;
        waiter.wait_class_count[0] = 1;
        waiter.offcpu_other_ns = 491 * kMs;
        capture_.emit(kForUpdate, 101, t + (loaded ? 20000 : 10000), 493 * kMs,
                      &waiter, 1);
        if (loaded) {
            commit.wait_class_ns[0] = 11 * kMs; /* switched out */
            commit.wait_class_count[0] = 2;
            commit.offcpu_other_ns = 11 * kMs;
            capture_.emit(kCommit, 202, t + 509000, 12 * kMs, &commit, 1);
        }
    }

    fixture::Capture capture_;
};

} // namespace

int main(int argc, char **argv) {
    if (argc != 3 || std::strcmp(argv[1], "--out") != 0) {
        std::fprintf(stderr, "usage: wait_capture --out DIR\n");
        return 2;
    }
    try {
        WaitCapture(argv[2]).run();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "wait_capture: %s\n", e.what());
        return 1;
    }
    return 0;
}
