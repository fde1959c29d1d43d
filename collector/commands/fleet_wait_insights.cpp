#include "fleet_wait_insights.h"
#include "fleet_plan_changes.h"
#include "fleet_wait_totals.h"
#include "wait_insight_rules.h"

#include <algorithm>

namespace qprof {

namespace pb = capture::v1;

namespace {

class FleetWaitInsights {
  public:
    FleetWaitInsights(const FleetReport &r, std::vector<Insight> &out)
        : r_(r), out_(out), first_key_(fleet_plan_keys(r)) {
        for (const FleetStatement &s : r.statements)
            totals_.push_back(fleet_wait_totals(s.waits));
        total_ = fleet_wait_totals(r.waits);
    }

    void run() {
        cpu_saturation();
        for (uint32_t i = 0; i < r_.statements.size(); ++i) {
            lock_waits(i, pb::WAIT_CLASS_LOCK);
            lock_waits(i, pb::WAIT_CLASS_LWLOCK);
        }
        for (uint32_t i = 0; i < r_.statements.size(); ++i)
            kernel_bound_of(i);
    }

  private:
    bool matters(double ns) const {
        return r_.total_ns > 0 && ns / r_.total_ns >= kMinInsightShare;
    }

    InsightStatement subject(uint32_t i) const {
        const FleetStatement &s = r_.statements[i];
        return {static_cast<int>(i),
                s.text,
                s.calls,
                s.total_ns,
                r_.total_ns > 0 ? s.toplevel_ns / r_.total_ns : 0,
                s.top_route};
    }

    std::vector<uint32_t> plans_of(uint32_t i) const {
        std::vector<uint32_t> plans;
        for (size_t p = 0; p < r_.statements[i].plans.size(); ++p)
            plans.push_back(static_cast<uint32_t>(first_key_[i] - 1 + p));
        return plans;
    }

    /* null when no execution had waits, as WaitBreakdown::totals() */
    const WaitTotals *waits(uint32_t i) const {
        return r_.statements[i].waits.executions > 0 ? &totals_[i] : nullptr;
    }

    WaitsOf waits_of(uint32_t i) const {
        const FleetStatement &s = r_.statements[i];
        return {waits(i), s.calls, s.executions};
    }

    void cpu_saturation() {
        WaitsOf total{r_.waits.executions > 0 ? &total_ : nullptr, r_.calls,
                      r_.executions};
        WaitShare queue = runqueue_share(total);
        if (!queue.enough() || !matters(queue.ns))
            return;
        /* the statements listed include the first by CPU and by run
         * queue of them all (FleetFilters::wait_listed) */
        std::vector<CpuStatement> by_cpu, by_queue;
        for (uint32_t i = 0; i < r_.statements.size(); ++i) {
            const WaitTotals *t = waits(i);
            if (t == nullptr)
                continue;
            CpuStatement c{subject(i), t->oncpu_ns, t->runqueue_ns,
                           t->elapsed_ns};
            if (t->oncpu_ns > 0)
                by_cpu.push_back(c);
            if (t->runqueue_ns > 0)
                by_queue.push_back(c);
        }
        if (by_cpu.empty())
            return;
        std::stable_sort(by_cpu.begin(), by_cpu.end(),
                         [](const CpuStatement &x, const CpuStatement &y) {
                             return x.oncpu_ns > y.oncpu_ns;
                         });
        std::stable_sort(by_queue.begin(), by_queue.end(),
                         [](const CpuStatement &x, const CpuStatement &y) {
                             return x.runqueue_ns > y.runqueue_ns;
                         });
        out_.push_back(cpu_saturation_insight(total, queue, by_cpu, by_queue,
                                              r_.statements_oncpu_ns));
    }

    void lock_waits(uint32_t i, int cls) {
        WaitsOf w = waits_of(i);
        WaitShare share = class_share(w, cls);
        if (!share.enough() || !matters(share.ns))
            return;
        const FleetStatement &s = r_.statements[i];
        LockHolders holders;
        holders.matched_waits = s.lock_matched_waits;
        holders.waits_with_holders = s.lock_waits_with_holders;
        for (const FleetLockHolder &h : s.lock_holders)
            holders.holders.push_back({subject(h.statement), h.waits, h.order});
        bool looked = cls == pb::WAIT_CLASS_LOCK && r_.lock_windows;
        Insight in = lock_wait_insight(subject(i), w, cls, share,
                                       looked ? &holders : nullptr);
        in.plans = plans_of(i);
        out_.push_back(std::move(in));
    }

    void kernel_bound_of(uint32_t i) {
        const FleetStatement &s = r_.statements[i];
        if (s.kernel_executions == 0 || !matters(s.total_ns))
            return;
        KernelFacts k{s.executions, s.kernel_executions, s.oncpu_ns,
                      s.io_wait_ns, s.other_wait_ns,     s.shared_blks_read};
        KernelBound bound = kernel_bound(k);
        if (bound == KernelBound::none ||
            (bound == KernelBound::wait &&
             waits_told_by_wait_insight(out_, static_cast<int>(i), waits(i))))
            return;
        Insight in = kernel_bound_insight(
            subject(i), k, bound, waits(i) ? main_wait_of(*waits(i)) : "");
        in.plans = plans_of(i);
        out_.push_back(std::move(in));
    }

    const FleetReport &r_;
    std::vector<Insight> &out_;
    std::vector<size_t> first_key_;
    std::vector<WaitTotals> totals_;
    WaitTotals total_;
};

} // namespace

void add_fleet_wait_insights(const FleetReport &r, std::vector<Insight> &out) {
    FleetWaitInsights(r, out).run();
}

} // namespace qprof
