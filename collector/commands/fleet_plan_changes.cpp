#include "fleet_plan_changes.h"

namespace qprof {

std::vector<FleetPlanChange>
fleet_plan_changes(const FleetReport &r,
                   const std::vector<uint32_t> &statements) {
    std::vector<FleetPlanChange> out;
    for (uint32_t i : statements) {
        const std::vector<FleetPlan> &plans = r.statements[i].plans;
        if (plans.size() < 2)
            continue;
        std::vector<PlanOutcome> outcomes;
        for (const FleetPlan &p : plans)
            outcomes.push_back({p.first_unix_us, p.calls,
                                p.calls > 0 ? p.total_ns / p.calls : 0});
        out.push_back({i, compare_plans(outcomes)});
    }
    return out;
}

std::vector<size_t> fleet_plan_keys(const FleetReport &r) {
    std::vector<size_t> first;
    size_t next = 1;
    for (const FleetStatement &s : r.statements) {
        first.push_back(next);
        next += s.plans.size();
    }
    return first;
}

} // namespace qprof
