#include "wait_insights.h"
#include "one_line.h"
#include "wait_events.h"

#include <algorithm>
#include <cstdio>

namespace qprof {

namespace pb = capture::v1;

namespace {

/* Statements named as burning the CPU, holding locks. */
constexpr size_t kListed = 3;
/* ...the CPU's burners, when they burn at least this share of it */
constexpr double kMinCpuShare = 0.01;

/* The largest event of a class (capture::v1::WaitClass), or null. */
const WaitEventSum *top_event_of_class(const WaitTotals &t, int cls) {
    const WaitEventSum *top = nullptr;
    for (const WaitEventSum &e : t.events)
        if (static_cast<int>(e.event >> 24) == cls &&
            (top == nullptr || e.ns > top->ns))
            top = &e;
    return top;
}

/* Executions a breakdown stands for against those it was taken over: the
 * factor that scales its times to every execution. */
double coverage_scale(const Aggregate &g, const WaitTotals &t) {
    return t.calls > 0 ? std::max(1.0, g.calls / t.calls) : 1;
}

std::string share_of_executions(const Aggregate &g, const WaitTotals &t) {
    return human_percent(g.executions ? static_cast<double>(t.executions) /
                                            static_cast<double>(g.executions)
                                      : 0) +
           " of its executions";
}

/* "0.51 s on CPU, 1.2 s run queue (340 waits), Lock 0.5 s, ..., over 12
 * executions with the split (100% of its executions)"; for waits sampled
 * without BPF, the classes only, at the sampler's resolution */
std::string breakdown_line(const Aggregate &g, const WaitTotals &t) {
    bool sampled = t.sampled_only();
    std::string out = human_ms(t.elapsed_ns / 1e6) + " elapsed";
    if (!sampled)
        out += ": on CPU " + human_ms(t.oncpu_ns / 1e6) + ", run queue " +
               human_ms(t.runqueue_ns / 1e6);
    std::vector<std::pair<double, int>> classes;
    for (size_t c = 1; c < kWaitClassSlots; ++c)
        if (t.class_ns[c] > 0)
            classes.emplace_back(t.class_ns[c], static_cast<int>(c));
    std::sort(classes.rbegin(), classes.rend());
    bool first = true;
    for (const auto &c : classes) {
        out += std::string(sampled && first ? ": " : ", ") +
               wait_class_label(c.second) + " " + human_ms(c.first / 1e6);
        first = false;
    }
    if (t.no_event_ns() > 0)
        out += ", no wait event " + human_ms(t.no_event_ns() / 1e6);
    if (sampled)
        return out + " (waits " + t.sampled_resolution() +
               " by the extension, without BPF: the CPU and run queue are "
               "unknown; over " +
               human_count(static_cast<double>(t.executions)) +
               " executions with sampled waits, " + share_of_executions(g, t) +
               ")";
    return out + " (over " + human_count(static_cast<double>(t.executions)) +
           " executions with wait facts, " + share_of_executions(g, t) + ")";
}

std::string lock_action(const std::string &event) {
    if (event == "Lock:transactionid" || event == "Lock:tuple")
        return "Another transaction holds the rows it writes or locks until "
               "that transaction ends: keep the transactions that lock these "
               "rows short (commit sooner; no sleeps, user input or slow "
               "calls inside them), take rows in one order, or use SKIP "
               "LOCKED / NOWAIT for queue-like tables. While it happens, "
               "pg_blocking_pids() in pg_stat_activity names the holder.";
    if (event == "Lock:relation")
        return "It waits for a table lock: DDL, LOCK TABLE, VACUUM FULL or "
               "REINDEX on the table blocks it (and queues everything behind "
               "them). Run those outside busy hours and with lock_timeout.";
    if (event == "Lock:advisory")
        return "It waits for an advisory lock the application takes: look at "
               "what holds it (pg_locks, locktype advisory) and for how long.";
    if (event == "Lock:extend")
        return "Sessions extend the same relation at once (bulk inserts): "
               "batch the inserts, or spread them over partitions.";
    return "It waits for heavyweight locks: pg_locks and pg_blocking_pids() "
           "show who holds them while it happens; keep the holders' "
           "transactions short.";
}

std::string lwlock_action(const std::string &event) {
    if (event == "LWLock:WALWrite" || event == "LWLock:WALInsert" ||
        event == "LWLock:WALBufMapping")
        return "Commits wait for the WAL to be written: fewer, larger "
               "transactions (batch the commits), faster storage for pg_wal, "
               "a larger wal_buffers, or synchronous_commit = off where "
               "losing the last transactions in a crash is acceptable.";
    if (event == "LWLock:BufferMapping" || event == "LWLock:BufferContent")
        return "Sessions contend for the same shared buffers: hot pages "
               "(a counter row, the right edge of an index) or a cache too "
               "small for the working set (shared_buffers).";
    if (event == "LWLock:LockManager" || event == "LWLock:LockFastPath")
        return "Statements take many locks at once (many partitions or "
               "indexes): prune partitions, fewer indexes, fewer concurrent "
               "sessions (a pooler).";
    return "It waits on a PostgreSQL internal lock (LWLock): see the event "
           "in the documentation's wait event table for what it protects.";
}

class WaitInsightFinder {
  public:
    explicit WaitInsightFinder(Analysis &a) : a_(a), p_(a.profile) {}

    void run() {
        cpu_saturation();
        for (uint32_t stmt = 0; stmt < p_.statements.size(); ++stmt) {
            lock_waits(stmt, pb::WAIT_CLASS_LOCK);
            lock_waits(stmt, pb::WAIT_CLASS_LWLOCK);
        }
    }

  private:
    bool matters(double ns) const { return a_.share(ns) >= kMinInsightShare; }

    std::string statement_line(uint32_t stmt) const {
        const StatementStats &st = p_.statements[stmt];
        std::string route = a_.top_group_of(stmt, Dimension::Route);
        return "statement " + one_line(a_.text_of(stmt), 60) + ": " +
               human_count(st.all.calls) + " calls, " +
               human_ms(st.all.total_ns / 1e6) + " in all (" +
               human_percent(a_.share(st.toplevel_ns)) +
               " of the database time), " + human_ms(st.all.mean_ns() / 1e6) +
               " each" + (route.empty() ? "" : ", mostly from route " + route);
    }

    /* A share of the database time in the run queue: the server needs
     * more CPU or less work. */
    void cpu_saturation() {
        const WaitTotals *t = p_.total.waits.totals();
        if (t == nullptr || t->elapsed_ns <= 0)
            return;
        double share = t->runqueue_ns / t->elapsed_ns;
        double scaled = t->runqueue_ns * coverage_scale(p_.total, *t);
        if (share < kWaitInsightShare || !matters(scaled))
            return;
        /* the statements that burn the most CPU, and those that waited
         * most for it (each statement's executions, nested ones too) */
        std::vector<uint32_t> by_cpu, by_queue;
        for (uint32_t s = 0; s < p_.statements.size(); ++s) {
            const WaitTotals *st = p_.statements[s].all.waits.totals();
            if (st == nullptr)
                continue;
            if (st->oncpu_ns > 0)
                by_cpu.push_back(s);
            if (st->runqueue_ns > 0)
                by_queue.push_back(s);
        }
        auto measure = [&](uint32_t s, bool cpu) {
            const WaitTotals *st = p_.statements[s].all.waits.totals();
            return cpu ? st->oncpu_ns : st->runqueue_ns;
        };
        std::sort(by_cpu.begin(), by_cpu.end(), [&](uint32_t x, uint32_t y) {
            return measure(x, true) > measure(y, true);
        });
        std::sort(by_queue.begin(), by_queue.end(),
                  [&](uint32_t x, uint32_t y) {
                      return measure(x, false) > measure(y, false);
                  });
        if (by_cpu.empty())
            return;
        Insight in;
        in.kind = "cpu_saturation";
        in.db_time_ns = scaled;
        in.statement = static_cast<int>(by_cpu[0]);
        in.route = a_.top_group_of(by_cpu[0], Dimension::Route);
        in.title = "Executions wait for a CPU: " + human_percent(share) +
                   " of their time in the run queue; the server needs more "
                   "CPU or less work";
        in.evidence.push_back(statement_line(by_cpu[0]));
        in.evidence.push_back(
            human_ms(t->runqueue_ns / 1e6) + " in the run queue (" +
            human_count(t->runqueue_waits) + " waits) and " +
            human_ms(t->oncpu_ns / 1e6) + " on the CPU, of " +
            human_ms(t->elapsed_ns / 1e6) + " elapsed over " +
            human_count(static_cast<double>(t->executions)) +
            " top-level executions with wait facts (" +
            human_percent(p_.total.executions
                              ? static_cast<double>(t->executions) /
                                    static_cast<double>(p_.total.executions)
                              : 0) +
            " of them)");
        double cpu_all = 0;
        for (uint32_t s : by_cpu)
            cpu_all += measure(s, true);
        for (size_t i = 0; i < by_cpu.size() && i < kListed; ++i) {
            uint32_t s = by_cpu[i];
            if (i > 0 && measure(s, true) < kMinCpuShare * cpu_all)
                break;
            in.statements.push_back(s);
            in.evidence.push_back(
                "burns CPU: " + one_line(a_.text_of(s), 50) + ": " +
                human_ms(measure(s, true) / 1e6) + " on the CPU (" +
                human_percent(cpu_all > 0 ? measure(s, true) / cpu_all : 0) +
                " of the CPU time), " +
                human_count(p_.statements[s].all.calls) + " calls");
        }
        for (size_t i = 0; i < by_queue.size() && i < kListed; ++i) {
            uint32_t s = by_queue[i];
            const WaitTotals *st = p_.statements[s].all.waits.totals();
            in.evidence.push_back(
                "waits for a CPU: " + one_line(a_.text_of(s), 50) + ": " +
                human_ms(st->runqueue_ns / 1e6) + " in the run queue, " +
                human_percent(
                    st->elapsed_ns > 0 ? st->runqueue_ns / st->elapsed_ns : 0) +
                " of its time");
        }
        in.action = "The server needs more CPU or less work. Make the "
                    "statements that burn the most CPU cheaper (their plans, "
                    "fewer calls, a cache in the application), run fewer at "
                    "once (a connection pool sized to the CPUs), or give the "
                    "server more CPUs; check what else runs on the machine.";
        in.fact("runqueue_ms", t->runqueue_ns / 1e6);
        in.fact("runqueue_share", share);
        in.fact("runqueue_waits", t->runqueue_waits);
        in.fact("oncpu_ms", t->oncpu_ns / 1e6);
        in.fact("wait_executions", static_cast<double>(t->executions));
        a_.insights.push_back(std::move(in));
    }

    /* A statement waiting on heavyweight locks (Lock) or on LWLocks. */
    void lock_waits(uint32_t stmt, int cls) {
        const StatementStats &st = p_.statements[stmt];
        const WaitTotals *t = st.all.waits.totals();
        if (t == nullptr || t->elapsed_ns <= 0)
            return;
        double ns = t->class_time(cls);
        double share = ns / t->elapsed_ns;
        double scaled = ns * coverage_scale(st.all, *t);
        if (share < kWaitInsightShare || !matters(scaled))
            return;
        bool heavy = cls == pb::WAIT_CLASS_LOCK;
        const WaitEventSum *top = top_event_of_class(*t, cls);
        std::string event = top ? wait_event_name(top->event)
                                : std::string(heavy ? "Lock" : "LWLock");
        Insight in;
        in.kind = heavy ? "lock_wait" : "lwlock_wait";
        in.db_time_ns = scaled;
        in.statement = static_cast<int>(stmt);
        in.route = a_.top_group_of(stmt, Dimension::Route);
        in.plans = st.plans;
        in.title =
            std::string(heavy ? "Blocked on locks" : "Waits on LWLocks") +
            ": " + human_percent(share) + " of its time, mostly " + event;
        /* without BPF the share is the sampler's estimate */
        if (t->sampled_only())
            in.title += " (" + t->sampled_resolution() + ", no BPF)";
        in.evidence.push_back(statement_line(stmt));
        in.evidence.push_back(breakdown_line(st.all, *t));
        if (top != nullptr)
            in.evidence.push_back(event + ": " + human_ms(top->ns / 1e6) +
                                  " in " + human_count(top->count) + " waits");
        if (heavy)
            holders(in, stmt);
        else
            in.evidence.push_back(
                "the holders are unknown: an LWLock is held for "
                "microseconds by whichever backend does that work, not by "
                "one statement");
        in.action = heavy ? lock_action(event) : lwlock_action(event);
        in.fact(heavy ? "lock_wait_ms" : "lwlock_wait_ms", ns / 1e6);
        in.fact("wait_share", share);
        in.fact("top_event", event);
        in.fact("top_event_ms", top ? top->ns / 1e6 : 0);
        in.fact("top_event_waits", top ? top->count : 0);
        in.fact("sampled", t->sampled_only() ? "yes" : "no");
        if (t->sampled_executions > 0)
            in.fact("sample_interval_ms", t->max_interval_us / 1e3);
        a_.insights.push_back(std::move(in));
    }

    /* The statements that may hold the locks `stmt` waited for. */
    void holders(Insight &in, uint32_t stmt) {
        const LockWindows &lw = p_.lock_windows;
        const LockWaiterStats *ws =
            stmt < lw.waiters.size() ? &lw.waiters[stmt] : nullptr;
        std::vector<const LockWaitPair *> found;
        for (const LockWaitPair &pair : lw.pairs)
            if (pair.waiter == stmt)
                found.push_back(&pair);
        std::sort(found.begin(), found.end(),
                  [](const LockWaitPair *x, const LockWaitPair *y) {
                      return x->waits != y->waits ? x->waits > y->waits
                                                  : x->holder < y->holder;
                  });
        double waits = ws ? ws->waits : 0;
        in.fact("matched_waits", waits);
        in.fact("waits_with_holders", ws ? ws->waits_with_candidates : 0);
        if (found.empty()) {
            in.evidence.push_back(
                "the holders are unknown: no statement of another session "
                "took row locks before these waits began and finished as "
                "they ended (a table lock of DDL or LOCK TABLE, or a "
                "transaction open for more than a minute, is not seen)");
            return;
        }
        for (size_t i = 0; i < found.size() && i < kListed; ++i) {
            const LockWaitPair &pair = *found[i];
            in.statements.push_back(pair.holder);
            in.evidence.push_back(
                "may hold them: " + one_line(a_.text_of(pair.holder), 50) +
                " (" + human_count(pair.waits) + " of " + human_count(waits) +
                " waits" +
                (a_.top_group_of(pair.holder, Dimension::Route).empty()
                     ? ""
                     : ", route " +
                           a_.top_group_of(pair.holder, Dimension::Route)) +
                ")");
        }
        in.evidence.push_back(
            "holders from time windows: statements of other sessions that "
            "took row locks before the wait began and whose session "
            "finished a statement (its commit) as the wait ended; the "
            "capture does not record lock owners");
    }

    Analysis &a_;
    const Profile &p_;
};

} // namespace

void find_wait_insights(Analysis &a) {
    WaitInsightFinder(a).run();
}

std::string main_wait_of(const WaitTotals &t) {
    double best = t.runqueue_ns;
    std::string name = best > 0 ? "run queue" : "";
    for (const WaitEventSum &e : t.events)
        if (e.ns > best) {
            best = e.ns;
            name = wait_event_name(e.event);
        }
    if (t.no_event_ns() > best)
        name = "no wait event";
    /* sampled waits know their classes only */
    for (size_t c = 1; c < kWaitClassSlots && t.events.empty(); ++c)
        if (t.class_ns[c] > best) {
            best = t.class_ns[c];
            name = wait_class_label(static_cast<int>(c));
        }
    return name;
}

bool waits_told_by_wait_insight(const Analysis &a, uint32_t stmt) {
    bool cpu = false;
    for (const Insight &in : a.insights) {
        if (in.kind == "cpu_saturation")
            cpu = true;
        if ((in.kind == "lock_wait" || in.kind == "lwlock_wait") &&
            in.statement == static_cast<int>(stmt))
            return true;
    }
    const WaitTotals *t = a.profile.statements[stmt].all.waits.totals();
    return cpu && t != nullptr && main_wait_of(*t) == "run queue";
}

} // namespace qprof
