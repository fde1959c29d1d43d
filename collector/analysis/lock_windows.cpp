#include "lock_windows.h"

#include <algorithm>

namespace qprof {

namespace pb = capture::v1;

bool LockWindows::takes_row_locks(const SampleFields &s) {
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

uint64_t LockWindows::lock_wait_ns(const SampleFields &s) {
    /* the kernel's exact waits, or else the extension's sampled ones */
    const auto &classes = s.has_io() && s.io().wait_classes_size() > 0
                              ? s.io().wait_classes()
                              : s.sampled_waits().classes();
    uint64_t ns = 0;
    for (const WaitClassFields &c : classes)
        if (c.wait_class() == pb::WAIT_CLASS_LOCK)
            ns += c.ns();
    return ns;
}

void LockWindows::add(const Execution &e) {
    if (e.lock_wait_ns >= kMinMatchedLockWaitNs)
        match(e);
    uint64_t key =
        static_cast<uint64_t>(e.server) << 32 | static_cast<uint32_t>(e.pid);
    Backend *known = backend(key);
    if (known == nullptr) {
        if (backends_.size() >= kMaxBackends) {
            count_open_waits(); /* bounded: forget the oldest windows */
            backends_.clear();
            backend_of_key_ = FlatIndex();
            recent_writers_.clear();
        }
        backend_of_key_.insert(key, static_cast<uint32_t>(backends_.size()));
        known = &backends_.emplace_back();
        known->server = e.server;
        known->pid = e.pid;
    }
    Backend &b = *known;
    answer(b, e);
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
    if (open_waits_.size() >= kMaxOpenWaits)
        count_open_waits(); /* bounded: no more waiting for answers */
    OpenWait open;
    open.statement = w.statement;
    open.weight = w.weight;
    open.lock_ns = w.weight * static_cast<double>(w.lock_wait_ns);
    open.ended_from_us = ended_from;
    open.end_us = w.end_unix_us;
    std::vector<Backend *> unanswered;
    for (uint64_t key : recent_writers_) {
        Backend *found = backend(key);
        if (found == nullptr) /* forgotten */
            continue;
        Backend &b = *found;
        if (b.server != w.server || b.pid == w.pid || b.dbid != w.dbid ||
            !b.has_writer || b.writer_start_us > began_by ||
            b.writer_end_us < w.start_unix_us - kLockLookbackUs)
            continue;
        bool released = false, ended_later = false;
        for (int64_t end : b.ends_us) {
            if (end >= b.writer_end_us && end >= ended_from && end <= ended_by)
                released = true;
            ended_later = ended_later || end > ended_by;
        }
        /* a statement run by several candidate backends counts once */
        if (released && std::find(open.holders.begin(), open.holders.end(),
                                  b.writer) == open.holders.end())
            open.holders.push_back(b.writer);
        else if (!released && !ended_later &&
                 std::find(unanswered.begin(), unanswered.end(), &b) ==
                     unanswered.end())
            unanswered.push_back(&b); /* its release may not be written yet */
    }
    if (unanswered.empty()) {
        count(open);
        return;
    }
    uint64_t id = next_wait_++;
    for (Backend *b : unanswered)
        b->questions.push_back({id, b->writer});
    open.unanswered = unanswered.size();
    open_waits_.emplace(id, std::move(open));
}

void LockWindows::answer(Backend &b, const Execution &e) {
    for (const Question &q : b.questions) {
        auto found = open_waits_.find(q.wait);
        if (found == open_waits_.end()) /* counted already */
            continue;
        OpenWait &w = found->second;
        if (e.start_unix_us <= w.end_us + kLockWindowSlackUs &&
            e.end_unix_us >= w.ended_from_us &&
            e.end_unix_us <= w.end_us + kReleaseLagUs &&
            std::find(w.holders.begin(), w.holders.end(), q.writer) ==
                w.holders.end())
            w.holders.push_back(q.writer);
        if (--w.unanswered == 0) {
            count(w);
            open_waits_.erase(found);
        }
    }
    b.questions.clear();
}

void LockWindows::count(const OpenWait &w) {
    for (uint32_t holder : w.holders) {
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
        p.lock_ns += w.lock_ns;
    }
    if (!w.holders.empty())
        waiters[w.statement].waits_with_candidates += w.weight;
}

void LockWindows::count_open_waits() {
    /* in the order the waits came: the same capture gives the same pairs */
    std::vector<std::pair<uint64_t, const OpenWait *>> open;
    open.reserve(open_waits_.size());
    for (const auto &entry : open_waits_)
        open.emplace_back(entry.first, &entry.second);
    std::sort(open.begin(), open.end());
    for (const auto &entry : open)
        count(*entry.second);
    open_waits_.clear();
    for (Backend &b : backends_)
        b.questions.clear();
}

void LockWindows::finish() {
    count_open_waits();
}

} // namespace qprof
