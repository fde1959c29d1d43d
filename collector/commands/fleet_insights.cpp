#include "fleet_insights.h"
#include "fleet_plan_changes.h"
#include "insight_rules.h"
#include "plan_tree.h"

namespace qprof {

std::vector<Insight> fleet_insights(const FleetReport &r) {
    auto matters = [&](double ns) {
        return r.total_ns > 0 && ns / r.total_ns >= kMinInsightShare;
    };
    std::vector<size_t> first_key = fleet_plan_keys(r);
    auto subject = [&](uint32_t i) {
        const FleetStatement &s = r.statements[i];
        return InsightStatement{static_cast<int>(i),
                                s.text,
                                s.calls,
                                s.total_ns,
                                r.total_ns > 0 ? s.toplevel_ns / r.total_ns : 0,
                                s.top_route};
    };
    auto plans_of = [&](uint32_t i) {
        std::vector<uint32_t> plans;
        for (size_t p = 0; p < r.statements[i].plans.size(); ++p)
            plans.push_back(static_cast<uint32_t>(first_key[i] - 1 + p));
        return plans;
    };
    std::vector<Insight> out;
    for (const FleetNPlusOne &n : r.n_plus_one) {
        if (!matters(n.total_ns))
            continue;
        NPlusOneFacts facts;
        facts.route = n.route;
        facts.request_tag = r.request_tag;
        facts.example_request = n.example_request;
        facts.requests = n.requests;
        facts.executions = n.executions;
        facts.max_per_request = n.max_per_request;
        facts.example_executions = n.max_per_request;
        facts.total_ns = n.total_ns;
        Insight in = n_plus_one_insight(subject(n.statement), facts);
        in.plans = plans_of(n.statement);
        out.push_back(std::move(in));
    }
    for (const FleetPlanChange &pc : fleet_plan_changes(r)) {
        const FleetStatement &s = r.statements[pc.statement];
        auto side = [&](uint32_t plan) {
            const FleetPlan &p = s.plans[plan];
            return PlanSide{nullptr, p.planid, p.calls,
                            p.calls > 0 ? p.total_ns / p.calls : 0,
                            p.first_unix_us};
        };
        PlanSide slower = side(pc.comparison.slower),
                 faster = side(pc.comparison.faster);
        if (!is_plan_regression(slower, faster) ||
            !matters(pc.comparison.extra_ns))
            continue;
        PlanTree slower_tree =
            parse_plan_json(s.plans[pc.comparison.slower].json);
        PlanTree faster_tree =
            parse_plan_json(s.plans[pc.comparison.faster].json);
        slower.tree = &slower_tree;
        faster.tree = &faster_tree;
        Insight in = plan_regression_insight(subject(pc.statement), slower,
                                             faster, pc.comparison.extra_ns);
        size_t first = first_key[pc.statement] - 1;
        in.plans = {static_cast<uint32_t>(first + pc.comparison.faster),
                    static_cast<uint32_t>(first + pc.comparison.slower)};
        out.push_back(std::move(in));
    }
    for (uint32_t i = 0; i < r.statements.size(); ++i) {
        const FleetStatement &s = r.statements[i];
        if (!has_error_rate(s.errors, s.calls))
            continue;
        Insight in =
            error_rate_insight(subject(i), s.errors, s.errors_by_sqlstate);
        in.plans = plans_of(i);
        out.push_back(std::move(in));
    }
    rank_insights(out);
    return out;
}

} // namespace qprof
