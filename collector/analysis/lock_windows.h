/*
 * lock_windows.h — which statements may have held the heavyweight locks
 * that executions waited for (the Lock wait event class), derived from
 * time windows alone: the capture records how long an execution waited on
 * a lock, not which transaction held it.
 *
 * A lock an execution W of server S, database D waited on for L ns was
 * taken before the wait began (at the latest at W.end - L) and released
 * when the holder's transaction ended, as the wait ended (between
 * W.start + L and W.end). A candidate holder is an execution H of another
 * backend of S and D that
 *   - took row locks: INSERT, UPDATE, DELETE, MERGE, or a SELECT that
 *     wrote WAL (FOR UPDATE / FOR SHARE mark the rows);
 *   - began before the wait began, and is that backend's latest such
 *     execution, ended at most kLockLookbackUs before W began, and among
 *     the last kRecentWriters such executions of the capture (a bound on
 *     the work per wait);
 *   - and whose backend finished a statement (its COMMIT, or H itself when
 *     it committed alone) within the window in which the wait ended.
 * Table locks taken by utility statements (DDL, LOCK TABLE) are not seen.
 * Only executions with kernel facts or sampled waits take part (the waits
 * come from them).
 * Executions are seen in the capture's order, the order their samples were
 * written. On a loaded machine the holder's COMMIT may release the lock and
 * be switched out before it writes its sample, so the waiter's sample can
 * come first: a candidate backend that has not yet finished a statement in
 * the window is asked again at its next execution, which counts when it
 * began before the wait ended and ended at most kReleaseLagUs after the
 * waiter. A wait is counted once every candidate has answered, or at the
 * end of the capture.
 */
#pragma once

#include "flat_index.h"
#include "qprof.pb.h"
#include "sample_fields.h"

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace qprof {

/* A waiting statement and one candidate holder of its locks. */
struct LockWaitPair {
    uint32_t waiter = 0, holder = 0; /* statements (Profile::statements) */
    double waits = 0;                /* waiting executions, weighted */
    double lock_ns = 0;              /* their Lock class time */
};

/* Per waiting statement: its lock waits, and how many had a candidate. */
struct LockWaiterStats {
    double waits = 0, lock_ns = 0;
    double waits_with_candidates = 0;
};

/* Lock waits shorter than this are not matched (noise of the scheduler). */
constexpr uint64_t kMinMatchedLockWaitNs = 1000000;
/* How long before a wait began a holder's lock-taking statement may have
 * ended (a transaction kept open longer is not found). */
constexpr int64_t kLockLookbackUs = 60 * 1000000;
/* Tolerance of the windows: the samples' clock against the wait's. */
constexpr int64_t kLockWindowSlackUs = 2000;
/* How long after the waiter ended a releasing statement, written after the
 * waiter's sample, may end (it was switched out after releasing). */
constexpr int64_t kReleaseLagUs = 50000;

class LockWindows {
  public:
    /* One execution, in the capture's order. */
    struct Execution {
        uint32_t server = 0, dbid = 0, statement = 0;
        int32_t pid = 0;
        int64_t start_unix_us = 0, end_unix_us = 0;
        double weight = 1;
        bool takes_row_locks = false;
        uint64_t lock_wait_ns = 0; /* the Lock class's time */
    };
    void add(const Execution &e);
    /* The end of the capture: counts the waits still waiting for a
     * candidate's next execution. */
    void finish();

    /* Whether an execution takes row locks, from its sample. */
    static bool takes_row_locks(const SampleFields &s);
    /* Its Lock class time (0 without kernel facts). */
    static uint64_t lock_wait_ns(const SampleFields &s);

    /* waiting statement -> its waits (index = statement), filled as
     * executions come and complete after finish(); pairs by waiter, in no
     * order */
    std::vector<LockWaiterStats> waiters;
    std::vector<LockWaitPair> pairs;

  private:
    static constexpr size_t kRecentEnds = 8;
    static constexpr size_t kRecentWriters = 256;
    static constexpr size_t kMaxBackends = 1 << 16;
    static constexpr size_t kMaxPairs = 1 << 16;
    static constexpr size_t kMaxOpenWaits = 1 << 14;

    /* A wait some candidate backends have still to answer for. */
    struct OpenWait {
        uint32_t statement = 0;
        double weight = 1, lock_ns = 0;
        int64_t ended_from_us = 0, end_us = 0; /* the waiter's */
        std::vector<uint32_t> holders;         /* statements, no repeats */
        size_t unanswered = 0;                 /* backends */
    };
    /* An open wait a backend's next execution answers for. */
    struct Question {
        uint64_t wait = 0;   /* key of open_waits_ */
        uint32_t writer = 0; /* the backend's candidate statement */
    };
    struct Backend {
        uint32_t server = 0, dbid = 0;
        int32_t pid = 0;
        bool has_writer = false;
        uint32_t writer = 0; /* statement */
        int64_t writer_start_us = 0, writer_end_us = 0;
        int64_t ends_us[kRecentEnds] = {};
        size_t next_end = 0;
        std::vector<Question> questions;
    };
    void match(const Execution &w);
    void answer(Backend &b, const Execution &e);
    void count(const OpenWait &w);
    void count_open_waits();

    /* the backends by server << 32 | pid: found by every execution with
     * kernel facts, so in one array */
    std::vector<Backend> backends_;
    FlatIndex backend_of_key_;
    /* The backend of `key`, or null. */
    Backend *backend(uint64_t key) {
        uint32_t at = backend_of_key_.find(key);
        return at == FlatIndex::kAbsent ? nullptr : &backends_[at];
    }
    /* the backends of the last row-locking executions (a ring; a backend
     * may be there more than once) */
    std::vector<uint64_t> recent_writers_;
    size_t next_writer_ = 0;
    std::unordered_map<uint64_t, uint32_t> pair_index_;
    std::unordered_map<uint64_t, OpenWait> open_waits_;
    uint64_t next_wait_ = 0;
};

} // namespace qprof
