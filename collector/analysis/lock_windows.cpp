#include "lock_windows.h"

#include <algorithm>

namespace qprof {

namespace pb = capture::v1;

bool LockWindows::takes_row_locks(const pb::Sample &s) {
    switch (s.cmd()) {
    case pb::CMD_INSERT:
    case pb::CMD_UPDATE:
    case pb::CMD_DELETE:
    case pb::CMD_MERGE:
        return true;
    case pb::CMD_SELECT:
        return s.wal_records() > 0; /* FOR UPDATE / FOR SHARE */
    default:
        return false;
    }
}

uint64_t LockWindows::lock_wait_ns(const pb::Sample &s) {
    /* the kernel's exact waits, or else the extension's sampled ones */
    const auto &classes = s.has_io() && s.io().wait_classes_size() > 0
                              ? s.io().wait_classes()
                              : s.sampled_waits().classes();
    uint64_t ns = 0;
    for (const pb::WaitClassTime &c : classes)
        if (c.wait_class() == pb::WAIT_CLASS_LOCK)
            ns += c.ns();
    return ns;
}

void LockWindows::add(const Execution &e) {
    if (e.lock_wait_ns >= kMinMatchedLockWaitNs)
        match(e);
    uint64_t key =
        static_cast<uint64_t>(e.server) << 32 | static_cast<uint32_t>(e.pid);
    auto found = backends_.find(key);
    if (found == backends_.end()) {
        if (backends_.size() >= kMaxBackends) {
            backends_.clear(); /* bounded: forget the oldest windows */
            recent_writers_.clear();
        }
        found = backends_.emplace(key, Backend()).first;
        found->second.server = e.server;
        found->second.pid = e.pid;
    }
    Backend &b = found->second;
    b.dbid = e.dbid;
    if (e.takes_row_locks) {
        if (recent_writers_.size() < kRecentWriters)
            recent_writers_.push_back(key);
        else
            recent_writers_[next_writer_++ % kRecentWriters] = key;
        b.has_writer = true;
        b.writer = e.statement;
        b.writer_start_us = e.start_unix_us;
        b.writer_end_us = e.end_unix_us;
    }
    b.ends_us[b.next_end++ % kRecentEnds] = e.end_unix_us;
}

void LockWindows::match(const Execution &w) {
    int64_t wait_us = static_cast<int64_t>(w.lock_wait_ns / 1000);
    /* the wait began at the latest then, and ended within [ended_from,
     * w.end] */
    int64_t began_by = w.end_unix_us - wait_us + kLockWindowSlackUs;
    int64_t ended_from = w.start_unix_us + wait_us - kLockWindowSlackUs;
    int64_t ended_by = w.end_unix_us + kLockWindowSlackUs;
    if (waiters.size() <= w.statement)
        waiters.resize(w.statement + 1);
    LockWaiterStats &ws = waiters[w.statement];
    ws.waits += w.weight;
    ws.lock_ns += w.weight * static_cast<double>(w.lock_wait_ns);
    /* a statement run by several candidate backends counts once */
    std::vector<uint32_t> holders;
    for (uint64_t key : recent_writers_) {
        auto found = backends_.find(key);
        if (found == backends_.end()) /* forgotten */
            continue;
        const Backend &b = found->second;
        if (b.server != w.server || b.pid == w.pid || b.dbid != w.dbid ||
            !b.has_writer || b.writer_start_us > began_by ||
            b.writer_end_us < w.start_unix_us - kLockLookbackUs)
            continue;
        bool released = false;
        for (int64_t end : b.ends_us)
            if (end >= b.writer_end_us && end >= ended_from && end <= ended_by)
                released = true;
        if (released && std::find(holders.begin(), holders.end(), b.writer) ==
                            holders.end())
            holders.push_back(b.writer);
    }
    bool any = !holders.empty();
    for (uint32_t holder : holders) {
        uint64_t key = static_cast<uint64_t>(w.statement) << 32 | holder;
        auto found = pair_index_.find(key);
        if (found == pair_index_.end()) {
            if (pairs.size() >= kMaxPairs)
                continue;
            found =
                pair_index_.emplace(key, static_cast<uint32_t>(pairs.size()))
                    .first;
            LockWaitPair p;
            p.waiter = w.statement;
            p.holder = holder;
            pairs.push_back(p);
        }
        LockWaitPair &p = pairs[found->second];
        p.waits += w.weight;
        p.lock_ns += w.weight * static_cast<double>(w.lock_wait_ns);
    }
    if (any)
        ws.waits_with_candidates += w.weight;
}

} // namespace qprof
