/*
 * ring_protocol_test.cpp — the sample ring's protocol (extension/ring.cpp),
 * driven outside the server: ring.cpp is compiled as it is, with the few
 * PostgreSQL symbols it uses defined below, over a 16-slot ring in process
 * memory. Threads stand for backends.
 *
 * Prints one line per check, "ok NAME" or "not ok NAME: why", and exits 1
 * when a check failed (tests/t/08_ring_protocol.pl runs it). With
 * "--write N" it only writes N samples, one thread, for
 * tests/bench/ring_instructions.sh to count the writer's instructions.
 *
 * The lapped writer is reproduced deterministically: a writer holds its
 * slot (between ring_begin_write and ring_end_write, as a backend preempted
 * in fill_identity does) while others go round the ring; then it stores its
 * fields and leaves. Every sample a reader accepts must be whole: all its
 * fields written by the writer of its seq.
 */
extern "C" {
#include "postgres.h"

#include "access/twophase.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"
}

#include "ring.h"
#include "settings.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

/* --- what ring.cpp needs from the server --------------------------------- */

extern "C" {
PGPROC *MyProc = nullptr;
int MaxBackends = 8;
int max_prepared_xacts = 0;

void *ShmemInitStruct(const char *name, Size size, bool *foundPtr) {
    (void)name;
    size_t rounded = (size + 63) / 64 * 64;
    void *memory = aligned_alloc(64, rounded);
    if (memory == nullptr)
        abort();
    memset(memory, 0, rounded);
    *foundPtr = false;
    return memory;
}

TimestampTz GetCurrentTimestamp(void) {
    static std::atomic<int64_t> now{1};
    return now.fetch_add(1);
}
}

namespace qprof {
Settings settings;
}

/* --- checks -------------------------------------------------------------- */

using namespace qprof;

namespace {

int failures = 0;

void check(bool passed, const std::string &name, const std::string &why) {
    if (passed) {
        printf("ok %s\n", name.c_str());
    } else {
        printf("not ok %s: %s\n", name.c_str(), why.c_str());
        failures++;
    }
    fflush(stdout);
}

std::string num(uint64_t n) {
    return std::to_string(n);
}

/* The fields a writer stores, all derived from `who` (the seq it was
 * given). Split in two halves as a backend fills a sample: the identity
 * (fill_identity), then the work counters. */
void store_identity(Sample *s, uint64_t who) {
    s->exec_id = who;
    s->pid = static_cast<int32_t>(who * 7 + 1);
    s->queryid = static_cast<int64_t>(who ^ 0x5a5a5a5aULL);
    snprintf(s->app_name, sizeof s->app_name, "writer %llu",
             static_cast<unsigned long long>(who));
}

void store_work(Sample *s, uint64_t who) {
    s->rows = static_cast<int64_t>(who * 3);
    s->exec_time_ns = static_cast<int64_t>(who * 11);
    s->wal_bytes = static_cast<int64_t>(who * 13);
}

/* Whether every field of `s` was stored by the writer of s->seq. */
bool whole(const Sample &s) {
    Sample expected{};
    store_identity(&expected, s.seq);
    store_work(&expected, s.seq);
    return s.exec_id == expected.exec_id && s.pid == expected.pid &&
           s.queryid == expected.queryid &&
           strcmp(s.app_name, expected.app_name) == 0 &&
           s.rows == expected.rows && s.exec_time_ns == expected.exec_time_ns &&
           s.wal_bytes == expected.wal_bytes;
}

std::string describe(const Sample &s) {
    return "seq " + num(s.seq) + " has exec_id " + num(s.exec_id) +
           ", app_name '" + s.app_name + "', rows " +
           num(static_cast<uint64_t>(s.rows));
}

/* One whole write. False when the ring gave no slot. */
bool write_sample() {
    uint64_t ticket = 0;
    Sample *s = ring_begin_write(&ticket);
    if (s == nullptr)
        return false;
    store_identity(s, ticket);
    store_work(s, ticket);
    ring_end_write(ticket);
    return true;
}

/* What a reader finds now in the window: whole samples, mixed ones (the
 * first kept in *mixed), lost and not-ready seqs. */
struct Scan {
    uint64_t whole = 0, mixed = 0, lost = 0, not_ready = 0;
    std::string first_mixed;
};

Scan scan_window() {
    Scan scan;
    RingStatus st = ring_status();
    Sample s;
    for (uint64_t seq = st.oldest_seq; seq <= st.head_seq; seq++) {
        switch (ring_read(seq, st.head_seq, &s)) {
        case ReadResult::Ok:
            if (whole(s)) {
                scan.whole++;
            } else if (scan.mixed++ == 0) {
                scan.first_mixed = describe(s);
            }
            break;
        case ReadResult::Lost:
            scan.lost++;
            break;
        case ReadResult::NotReady:
            scan.not_ready++;
            break;
        }
    }
    return scan;
}

/* With no writer inside: every seq ever reserved is readable, overwritten
 * or dropped, and counted as exactly one of them. */
void check_accounting(const std::string &name) {
    RingStatus st = ring_status();
    Scan scan = scan_window();
    check(scan.not_ready == 0, name + ": no seq left unfinished",
          num(scan.not_ready) + " seqs read as still being written");
    check(scan.whole + st.overwritten + st.dropped == st.head_seq,
          name + ": readable + overwritten + dropped = written",
          num(scan.whole) + " + " + num(st.overwritten) + " + " +
              num(st.dropped) + " != " + num(st.head_seq));
}

/* A writer takes its slot and stays inside while the others lap the ring
 * `laps` times, then stores its fields and leaves; then the ring goes round
 * once more. Nothing a reader accepts may mix the two writers' fields. */
void lapped_writer(int laps) {
    std::string name = "writer held over " + std::to_string(laps) + " laps";
    RingStatus before = ring_status();
    uint64_t capacity = before.capacity;
    uint64_t held = 0;
    Sample *slot = ring_begin_write(&held);
    check(slot != nullptr, name + ": the held writer gets a slot",
          "ring_begin_write returned null");
    if (slot == nullptr)
        return;
    uint64_t refused = 0;
    for (uint64_t i = 0; i < laps * capacity; i++)
        if (!write_sample())
            refused++;
    /* the held writer resumes: it stores into what it believes its sample */
    store_identity(slot, held);
    store_work(slot, held);
    ring_end_write(held);

    Scan scan = scan_window();
    check(scan.mixed == 0, name + ": no sample mixes two writers",
          scan.first_mixed);
    check(refused == static_cast<uint64_t>(laps),
          name + ": each writer that reached the held slot gave its sample up",
          num(refused) + " of " + std::to_string(laps) + " refused");
    RingStatus after = ring_status();
    check(after.dropped - before.dropped == static_cast<uint64_t>(laps),
          name + ": every sample given up is counted dropped",
          num(after.dropped - before.dropped) + " counted");
    Sample s;
    uint64_t last_at_slot = held + laps * capacity;
    ReadResult r = ring_read(last_at_slot, after.head_seq, &s);
    check(r == ReadResult::Lost,
          name + ": the newest seq of the held slot reads as lost",
          r == ReadResult::Ok ? describe(s) : "not ready");

    /* the slot is free again once the held writer left */
    for (uint64_t i = 0; i < capacity; i++)
        write_sample();
    r = ring_read(last_at_slot + capacity, ring_status().head_seq, &s);
    check(r == ReadResult::Ok && whole(s),
          name + ": the next writer of that slot takes it and publishes",
          r == ReadResult::Ok ? describe(s) : "not readable");
    check_accounting(name);
}

/* Writers preempted in the middle of their sample (a yield or a sleep
 * between the identity and the work counters) while others go round a
 * 16-slot ring many times, and a reader reads all along. */
void concurrent_writers() {
    const std::string name = "concurrent writers, some preempted mid-sample";
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> mixed{0}, accepted{0};
    std::string first_mixed;
    std::vector<std::thread> writers;
    for (int w = 0; w < 3; w++)
        writers.emplace_back([&stop, w] {
            for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); i++) {
                uint64_t ticket = 0;
                Sample *s = ring_begin_write(&ticket);
                if (s == nullptr)
                    continue;
                store_identity(s, ticket);
                if (i % 64 == static_cast<uint64_t>(w))
                    std::this_thread::sleep_for(std::chrono::microseconds(50));
                else if (i % 8 == 0)
                    std::this_thread::yield();
                store_work(s, ticket);
                ring_end_write(ticket);
            }
        });
    std::thread reader([&] {
        Sample s;
        while (!stop.load(std::memory_order_relaxed)) {
            RingStatus st = ring_status();
            for (uint64_t seq = st.oldest_seq; seq <= st.head_seq; seq++) {
                if (ring_read(seq, st.head_seq, &s) != ReadResult::Ok)
                    continue;
                accepted++;
                if (!whole(s) && mixed++ == 0)
                    first_mixed = describe(s);
            }
        }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    stop = true;
    for (auto &t : writers)
        t.join();
    reader.join();
    Scan scan = scan_window();
    check(accepted > 1000, name + ": the reader read while they wrote",
          num(accepted) + " samples read");
    check(mixed == 0 && scan.mixed == 0,
          name + ": no sample a reader accepts mixes two writers",
          num(mixed) + " mixed during the run (" + first_mixed + "), " +
              num(scan.mixed) + " after");
    check(ring_status().dropped > 0, name + ": writers were lapped",
          "no sample was dropped: the test did not reach its case");
    check_accounting(name);
}

/* pg_qprof.reset called from several backends at once, while one counts
 * skipped executions and writes samples and another reads the status: no
 * count may go negative (a huge unsigned number) and reset_seq never goes
 * back. */
void concurrent_resets() {
    const std::string name = "resets racing resets";
    static PGPROC counting_backend; /* pgprocno 0: its counters */
    MyProc = &counting_backend;
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> counted{0};
    std::thread counter([&] {
        while (!stop.load(std::memory_order_relaxed)) {
            ring_count_skipped_by_sampling();
            counted.fetch_add(1);
            write_sample();
        }
    });
    std::vector<std::thread> resetters;
    for (int r = 0; r < 2; r++)
        resetters.emplace_back([&] {
            while (!stop.load(std::memory_order_relaxed))
                ring_reset();
        });
    uint64_t reads = 0, too_large = 0, seq_back = 0, worst = 0;
    uint64_t last_reset_seq = 0;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (std::chrono::steady_clock::now() < until) {
        RingStatus st = ring_status();
        uint64_t bound = counted.load() + 1; /* one bumped, not yet added */
        reads++;
        if (st.skipped_by_sampling > bound || st.dropped > st.head_seq) {
            too_large++;
            worst = std::max(worst, st.skipped_by_sampling);
        }
        if (st.reset_seq < last_reset_seq)
            seq_back++;
        last_reset_seq = st.reset_seq;
    }
    stop = true;
    counter.join();
    for (auto &t : resetters)
        t.join();
    MyProc = nullptr;
    check(too_large == 0, name + ": no count since the reset goes negative",
          num(too_large) + " of " + num(reads) +
              " status reads above what was counted (skipped " + num(worst) +
              ")");
    check(seq_back == 0, name + ": reset_seq never moves back",
          num(seq_back) + " of " + num(reads) + " status reads");
    ring_reset();
    RingStatus st = ring_status();
    check(st.skipped_by_sampling == 0 && st.dropped == 0 &&
              st.reset_seq == st.head_seq,
          name + ": a reset alone zeroes the counts",
          "skipped " + num(st.skipped_by_sampling) + ", dropped " +
              num(st.dropped) + ", reset_seq " + num(st.reset_seq) +
              " of head " + num(st.head_seq));
}

} // namespace

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--write") == 0) {
        settings.ring_size_mb = 16; /* the default: slots miss the cache */
        ring_shmem_startup();
        for (long i = atol(argv[2]); i > 0; i--)
            write_sample();
        return 0;
    }
    settings.ring_size_mb = 0; /* the smallest ring: 16 slots */
    ring_shmem_startup();
    check(ring_status().capacity == 16, "a 16-slot ring",
          num(ring_status().capacity) + " slots");
    for (uint64_t i = 0; i < 40; i++)
        write_sample();
    check_accounting("a full ring, no writer lapped");
    lapped_writer(2);
    lapped_writer(5);
    concurrent_writers();
    concurrent_resets();
    return failures == 0 ? 0 : 1;
}
