#include "wait_insight_rules.h"
#include "one_line.h"
#include "wait_events.h"

#include <algorithm>
#include <cstdio>

namespace qprof {

namespace pb = capture::v1;

namespace {

constexpr size_t kListed = kWaitStatementsListed;
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
double coverage_scale(const WaitsOf &w) {
    return w.waits->calls > 0 ? std::max(1.0, w.calls / w.waits->calls) : 1;
}

std::string share_of_executions(const WaitsOf &w) {
    return human_percent(w.executions
                             ? static_cast<double>(w.waits->executions) /
                                   static_cast<double>(w.executions)
                             : 0) +
           " of its executions";
}

/* "0.51 s on CPU, 1.2 s run queue (340 waits), Lock 0.5 s, ..., over 12
 * executions with the split (100% of its executions)"; for waits sampled
 * without BPF, the classes only, at the sampler's resolution */
std::string breakdown_line(const WaitsOf &w) {
    const WaitTotals &t = *w.waits;
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
               " executions with sampled waits, " + share_of_executions(w) +
               ")";
    return out + " (over " + human_count(static_cast<double>(t.executions)) +
           " executions with wait facts, " + share_of_executions(w) + ")";
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

/* The next step of a statement waiting off the CPU, by its main wait
 * (main_wait_of; "" without the wait split). */
std::string wait_bound_action(const std::string &cause) {
    if (cause.compare(0, 8, "Timeout:") == 0)
        return "It sleeps or waits for a timeout (" + cause +
               ": pg_sleep, a lock or statement timeout's delay, "
               "VACUUM's cost delay): check that the wait is meant, and "
               "move it out of the database where it holds a connection.";
    if (cause.compare(0, 7, "Client:") == 0)
        return "It waits for the client (" + cause +
               "): the application is slow to send the next data or read "
               "the results, or the network is; look at the application "
               "side of this statement.";
    if (cause.compare(0, 4, "IPC:") == 0)
        return "It waits for other server processes (" + cause +
               ": parallel workers, replication, a synchronous standby): "
               "see the event in the documentation's wait event table.";
    if (cause == "no wait event")
        return "It is off the CPU with no wait event reported: page faults "
               "(memory pressure, a large working set) or a wait "
               "PostgreSQL does not report (an extension's).";
    return "It waits for something other than the CPU or storage: locks "
           "held by other sessions, the client, or sleeps. Look at pg_locks "
           "and wait_event while it runs.";
}

/* The first line of evidence of a statement (describe_statement's). */
std::string statement_line(const InsightStatement &s) {
    Insight scratch;
    describe_statement(scratch, s);
    return scratch.evidence[0];
}

/* The statements that may hold the locks waited for. */
void holders_evidence(Insight &in, const LockHolders &lh) {
    std::vector<const LockHolder *> found;
    for (const LockHolder &h : lh.holders)
        found.push_back(&h);
    std::sort(found.begin(), found.end(),
              [](const LockHolder *x, const LockHolder *y) {
                  return x->waits != y->waits ? x->waits > y->waits
                                              : x->order < y->order;
              });
    double waits = lh.matched_waits;
    in.fact("matched_waits", waits);
    in.fact("waits_with_holders", lh.waits_with_holders);
    if (found.empty()) {
        in.evidence.push_back(
            "the holders are unknown: no statement of another session "
            "took row locks before these waits began and finished as "
            "they ended (a table lock of DDL or LOCK TABLE, or a "
            "transaction open for more than a minute, is not seen)");
        return;
    }
    for (size_t i = 0; i < found.size() && i < kListed; ++i) {
        const LockHolder &h = *found[i];
        in.statements.push_back(static_cast<uint32_t>(h.statement.index));
        in.evidence.push_back(
            "may hold them: " + one_line(h.statement.text, 50) + " (" +
            human_count(h.waits) + " of " + human_count(waits) + " waits" +
            (h.statement.route.empty() ? "" : ", route " + h.statement.route) +
            ")");
    }
    in.evidence.push_back(
        "holders from time windows: statements of other sessions that "
        "took row locks before the wait began and whose session "
        "finished a statement (its commit) as the wait ended; the "
        "capture does not record lock owners");
}

} // namespace

WaitShare runqueue_share(const WaitsOf &total) {
    const WaitTotals *t = total.waits;
    if (t == nullptr || t->elapsed_ns <= 0)
        return {};
    return {t->runqueue_ns / t->elapsed_ns,
            t->runqueue_ns * coverage_scale(total)};
}

WaitShare class_share(const WaitsOf &statement, int wait_class) {
    const WaitTotals *t = statement.waits;
    if (t == nullptr || t->elapsed_ns <= 0)
        return {};
    double ns = t->class_time(wait_class);
    return {ns / t->elapsed_ns, ns * coverage_scale(statement)};
}

Insight cpu_saturation_insight(const WaitsOf &total, const WaitShare &queue,
                               const std::vector<CpuStatement> &by_cpu,
                               const std::vector<CpuStatement> &by_queue,
                               double cpu_all) {
    const WaitTotals *t = total.waits;
    Insight in;
    in.kind = "cpu_saturation";
    in.db_time_ns = queue.ns;
    in.statement = by_cpu[0].statement.index;
    in.route = by_cpu[0].statement.route;
    in.title = "Executions wait for a CPU: " + human_percent(queue.share) +
               " of their time in the run queue; the server needs more "
               "CPU or less work";
    in.evidence.push_back(statement_line(by_cpu[0].statement));
    in.evidence.push_back(
        human_ms(t->runqueue_ns / 1e6) + " in the run queue (" +
        human_count(t->runqueue_waits) + " waits) and " +
        human_ms(t->oncpu_ns / 1e6) + " on the CPU, of " +
        human_ms(t->elapsed_ns / 1e6) + " elapsed over " +
        human_count(static_cast<double>(t->executions)) +
        " top-level executions with wait facts (" +
        human_percent(total.executions
                          ? static_cast<double>(t->executions) /
                                static_cast<double>(total.executions)
                          : 0) +
        " of them)");
    for (size_t i = 0; i < by_cpu.size() && i < kListed; ++i) {
        const CpuStatement &s = by_cpu[i];
        if (i > 0 && s.oncpu_ns < kMinCpuShare * cpu_all)
            break;
        in.statements.push_back(static_cast<uint32_t>(s.statement.index));
        in.evidence.push_back(
            "burns CPU: " + one_line(s.statement.text, 50) + ": " +
            human_ms(s.oncpu_ns / 1e6) + " on the CPU (" +
            human_percent(cpu_all > 0 ? s.oncpu_ns / cpu_all : 0) +
            " of the CPU time), " + human_count(s.statement.calls) + " calls");
    }
    for (size_t i = 0; i < by_queue.size() && i < kListed; ++i) {
        const CpuStatement &s = by_queue[i];
        in.evidence.push_back(
            "waits for a CPU: " + one_line(s.statement.text, 50) + ": " +
            human_ms(s.runqueue_ns / 1e6) + " in the run queue, " +
            human_percent(s.elapsed_ns > 0 ? s.runqueue_ns / s.elapsed_ns : 0) +
            " of its time");
    }
    in.action = "The server needs more CPU or less work. Make the "
                "statements that burn the most CPU cheaper (their plans, "
                "fewer calls, a cache in the application), run fewer at "
                "once (a connection pool sized to the CPUs), or give the "
                "server more CPUs; check what else runs on the machine.";
    in.fact("runqueue_ms", t->runqueue_ns / 1e6);
    in.fact("runqueue_share", queue.share);
    in.fact("runqueue_waits", t->runqueue_waits);
    in.fact("oncpu_ms", t->oncpu_ns / 1e6);
    in.fact("wait_executions", static_cast<double>(t->executions));
    return in;
}

Insight lock_wait_insight(const InsightStatement &s, const WaitsOf &w,
                          int wait_class, const WaitShare &share,
                          const LockHolders *holders) {
    const WaitTotals &t = *w.waits;
    double ns = t.class_time(wait_class);
    bool heavy = wait_class == pb::WAIT_CLASS_LOCK;
    const WaitEventSum *top = top_event_of_class(t, wait_class);
    std::string event = top ? wait_event_name(top->event)
                            : std::string(heavy ? "Lock" : "LWLock");
    Insight in;
    in.kind = heavy ? "lock_wait" : "lwlock_wait";
    in.db_time_ns = share.ns;
    in.statement = s.index;
    in.route = s.route;
    in.title = std::string(heavy ? "Blocked on locks" : "Waits on LWLocks") +
               ": " + human_percent(share.share) + " of its time, mostly " +
               event;
    /* without BPF the share is the sampler's estimate */
    if (t.sampled_only())
        in.title += " (" + t.sampled_resolution() + ", no BPF)";
    in.evidence.push_back(statement_line(s));
    in.evidence.push_back(breakdown_line(w));
    if (top != nullptr)
        in.evidence.push_back(event + ": " + human_ms(top->ns / 1e6) + " in " +
                              human_count(top->count) + " waits");
    if (heavy && holders != nullptr)
        holders_evidence(in, *holders);
    else if (heavy)
        in.evidence.push_back("the holders were not looked for: the lock "
                              "windows were not computed");
    else
        in.evidence.push_back("the holders are unknown: an LWLock is held for "
                              "microseconds by whichever backend does that "
                              "work, not by one statement");
    in.action = heavy ? lock_action(event) : lwlock_action(event);
    in.fact(heavy ? "lock_wait_ms" : "lwlock_wait_ms", ns / 1e6);
    in.fact("wait_share", share.share);
    in.fact("top_event", event);
    in.fact("top_event_ms", top ? top->ns / 1e6 : 0);
    in.fact("top_event_waits", top ? top->count : 0);
    in.fact("sampled", t.sampled_only() ? "yes" : "no");
    if (t.sampled_executions > 0)
        in.fact("sample_interval_ms", t.max_interval_us / 1e3);
    return in;
}

KernelBound kernel_bound(const KernelFacts &k) {
    if (k.kernel_executions == 0)
        return KernelBound::none;
    double kernel_ns = k.oncpu_ns + k.io_wait_ns + k.other_wait_ns;
    if (kernel_ns <= 0)
        return KernelBound::none;
    double io = k.io_wait_ns / kernel_ns;
    double other = k.other_wait_ns / kernel_ns;
    if (io >= kWaitDominantShare)
        return k.shared_blks_read > 0 ? KernelBound::none /* storage_reads */
                                      : KernelBound::io;
    return other >= kWaitDominantShare ? KernelBound::wait : KernelBound::none;
}

Insight kernel_bound_insight(const InsightStatement &s, const KernelFacts &k,
                             KernelBound bound, const std::string &cause) {
    bool is_io = bound == KernelBound::io;
    double kernel_ns = k.oncpu_ns + k.io_wait_ns + k.other_wait_ns;
    Insight in;
    in.kind = is_io ? "io_bound" : "wait_bound";
    double scale = static_cast<double>(k.executions) /
                   static_cast<double>(k.kernel_executions);
    in.db_time_ns = (is_io ? k.io_wait_ns : k.other_wait_ns) * scale;
    describe_statement(in, s);
    in.title =
        std::string(is_io ? "I/O wait" : "Waiting off CPU") + " is " +
        human_percent((is_io ? k.io_wait_ns : k.other_wait_ns) / kernel_ns) +
        " of its time (kernel facts)" +
        (cause.empty() ? "" : ", mostly " + cause);
    in.evidence.push_back(
        "on CPU " + human_ms(k.oncpu_ns / 1e6) + ", I/O wait " +
        human_ms(k.io_wait_ns / 1e6) + ", other waits " +
        human_ms(k.other_wait_ns / 1e6) + " over " +
        human_count(static_cast<double>(k.kernel_executions)) +
        " executions with kernel facts");
    in.action = is_io ? "It waits for files other than table reads "
                        "(WAL flushes, temporary files): check "
                        "commit frequency and temporary file use."
                      : wait_bound_action(cause);
    in.fact("oncpu_ms", k.oncpu_ns / 1e6);
    in.fact("io_wait_ms", k.io_wait_ns / 1e6);
    in.fact("other_wait_ms", k.other_wait_ns / 1e6);
    if (!cause.empty())
        in.fact("main_wait", cause);
    return in;
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

bool waits_told_by_wait_insight(const std::vector<Insight> &insights, int index,
                                const WaitTotals *waits) {
    bool cpu = false;
    for (const Insight &in : insights) {
        if (in.kind == "cpu_saturation")
            cpu = true;
        if ((in.kind == "lock_wait" || in.kind == "lwlock_wait") &&
            in.statement == index)
            return true;
    }
    return cpu && waits != nullptr && main_wait_of(*waits) == "run queue";
}

} // namespace qprof
