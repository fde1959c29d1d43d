#include "wait_insights.h"
#include "insights.h"

#include <algorithm>

namespace qprof {

namespace pb = capture::v1;

namespace {

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

    static WaitsOf waits_of(const Aggregate &g) {
        return {g.waits.totals(), g.calls, g.executions};
    }

    /* A share of the database time in the run queue: the server needs
     * more CPU or less work. */
    void cpu_saturation() {
        WaitsOf total = waits_of(p_.total);
        WaitShare queue = runqueue_share(total);
        if (!queue.enough() || !matters(queue.ns))
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
        double cpu_all = 0;
        for (uint32_t s : by_cpu)
            cpu_all += measure(s, true);
        auto listed = [&](const std::vector<uint32_t> &order) {
            std::vector<CpuStatement> out;
            for (size_t i = 0; i < order.size() && i < 3; ++i) {
                const WaitTotals *st =
                    p_.statements[order[i]].all.waits.totals();
                out.push_back({insight_statement(a_, order[i]), st->oncpu_ns,
                               st->runqueue_ns, st->elapsed_ns});
            }
            return out;
        };
        a_.insights.push_back(cpu_saturation_insight(
            total, queue, listed(by_cpu), listed(by_queue), cpu_all));
    }

    /* A statement waiting on heavyweight locks (Lock) or on LWLocks. */
    void lock_waits(uint32_t stmt, int cls) {
        const StatementStats &st = p_.statements[stmt];
        WaitsOf w = waits_of(st.all);
        WaitShare share = class_share(w, cls);
        if (!share.enough() || !matters(share.ns))
            return;
        LockHolders holders;
        if (cls == pb::WAIT_CLASS_LOCK)
            holders = holders_of(stmt);
        Insight in = lock_wait_insight(insight_statement(a_, stmt), w, cls,
                                       share, &holders);
        in.plans = st.plans;
        a_.insights.push_back(std::move(in));
    }

    /* The statements that may hold the locks `stmt` waited for. */
    LockHolders holders_of(uint32_t stmt) const {
        const LockWindows &lw = p_.lock_windows;
        LockHolders out;
        if (stmt < lw.waiters.size()) {
            out.matched_waits = lw.waiters[stmt].waits;
            out.waits_with_holders = lw.waiters[stmt].waits_with_candidates;
        }
        for (const LockWaitPair &pair : lw.pairs)
            if (pair.waiter == stmt)
                out.holders.push_back({insight_statement(a_, pair.holder),
                                       pair.waits, pair.holder});
        return out;
    }

    Analysis &a_;
    const Profile &p_;
};

} // namespace

void find_wait_insights(Analysis &a) {
    WaitInsightFinder(a).run();
}

bool waits_told_by_wait_insight(const Analysis &a, uint32_t stmt) {
    return waits_told_by_wait_insight(
        a.insights, static_cast<int>(stmt),
        a.profile.statements[stmt].all.waits.totals());
}

} // namespace qprof
