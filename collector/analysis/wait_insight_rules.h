/*
 * wait_insight_rules.h — the insights of where execution time went, as
 * rules on plain inputs (the pattern of insight_rules.h): executions
 * waiting for a CPU (cpu_saturation), statements waiting on heavyweight
 * locks (lock_wait, with the statements that may hold them) and on
 * LWLocks (lwlock_wait), and statements whose kernel facts are mostly I/O
 * wait (io_bound) or other waits (wait_bound). The report of files fills
 * the inputs from its Profile (wait_insights.cpp, insights.cpp), `qprof
 * report --clickhouse` from ClickHouse's sums, so that both say the same
 * thing of the same captures.
 */
#pragma once

#include "analysis.h"
#include "insight_rules.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qprof {

/* Statements named as burning the CPU, waiting for it, holding locks. */
constexpr size_t kWaitStatementsListed = 3;
/* Below this share of their elapsed time, waits make no insight. */
constexpr double kWaitInsightShare = 0.1;
/* A statement whose kernel time is at least this share waiting. */
constexpr double kWaitDominantShare = 0.5;

/* The wait split of a set of executions (null when none had it) and the
 * counts of the aggregate it was taken over. */
struct WaitsOf {
    const WaitTotals *waits = nullptr;
    double calls = 0;        /* every execution, weighted */
    uint64_t executions = 0; /* recorded */
};

/* A share of the elapsed time of the executions with the split, and the
 * time it stands for over every execution. */
struct WaitShare {
    double share = 0, ns = 0;
    /* at least kWaitInsightShare; whether `ns` matters is the caller's
     * kMinInsightShare */
    bool enough() const { return share >= kWaitInsightShare; }
};
/* The run queue's share (cpu_saturation), of the top-level executions. */
WaitShare runqueue_share(const WaitsOf &total);
/* The share of a wait class (capture::v1::WaitClass: Lock, LWLock). */
WaitShare class_share(const WaitsOf &statement, int wait_class);

/* cpu_saturation: a statement with its CPU and run queue (every execution,
 * nested ones too). */
struct CpuStatement {
    InsightStatement statement;
    double oncpu_ns = 0, runqueue_ns = 0, elapsed_ns = 0;
};
/* `by_cpu`: the statements with CPU time, the most first (at least the
 * first 3; not empty), `by_queue` those with run queue time, the most
 * first (at least the first 3); `cpu_all`: the CPU time of every
 * statement. */
Insight cpu_saturation_insight(const WaitsOf &total, const WaitShare &queue,
                               const std::vector<CpuStatement> &by_cpu,
                               const std::vector<CpuStatement> &by_queue,
                               double cpu_all);

/* A statement that may hold the locks another waited for (lock_windows.h):
 * its waits, and `order`, its place in the source's order of statements,
 * which ranks holders of as many waits. */
struct LockHolder {
    InsightStatement statement;
    double waits = 0;
    uint64_t order = 0;
};
struct LockHolders {
    double matched_waits = 0, waits_with_holders = 0;
    std::vector<LockHolder> holders; /* in no order */
};
/* lock_wait (Lock) or lwlock_wait (LWLock); `holders` for a Lock, null
 * when they were not looked for. */
Insight lock_wait_insight(const InsightStatement &s, const WaitsOf &w,
                          int wait_class, const WaitShare &share,
                          const LockHolders *holders);

/* io_bound and wait_bound: a statement's kernel facts (executions with
 * them, their sums) against its executions. */
struct KernelFacts {
    uint64_t executions = 0, kernel_executions = 0;
    double oncpu_ns = 0, io_wait_ns = 0, other_wait_ns = 0;
    double shared_blks_read = 0;
};
enum class KernelBound { none, io, wait };
/* At least kWaitDominantShare of its kernel time in I/O wait (io: not when it
 * reads storage, which storage_reads tells) or in other waits (wait:
 * unless a wait insight already tells why, waits_told_by_wait_insight). */
KernelBound kernel_bound(const KernelFacts &k);
/* `cause`: main_wait_of its split, "" without one. */
Insight kernel_bound_insight(const InsightStatement &s, const KernelFacts &k,
                             KernelBound bound, const std::string &cause);

/* Whether `insights` already tell why statement `index`, of the split
 * `waits`, waits (its Lock or LWLock waits, or the run queue when the CPU
 * insight was found), so that wait_bound does not tell it twice. */
bool waits_told_by_wait_insight(const std::vector<Insight> &insights, int index,
                                const WaitTotals *waits);

/* The largest part of a statement's off-CPU time ("run queue",
 * "Lock:transactionid", "Timeout:PgSleep", "no wait event"...), or "". */
std::string main_wait_of(const WaitTotals &totals);

} // namespace qprof
