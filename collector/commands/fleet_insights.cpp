#include "fleet_insights.h"
#include "fleet_plan_changes.h"
#include "fleet_plan_nodes.h"
#include "fleet_wait_insights.h"
#include "insight_rules.h"
#include "plan_tree.h"

#include <algorithm>

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
    /* the catalog of a listed statement's database: its snapshot as of the
     * period, with the settings it carries */
    auto catalog_of = [&](uint32_t i) {
        int c = r.statements[i].catalog;
        if (c < 0)
            return InsightCatalog{};
        const FleetCatalog &fc = r.catalogs[static_cast<size_t>(c)];
        return InsightCatalog{&fc.snapshot, &fc.settings};
    };
    /* each plan's tree with its per-node actuals, made once */
    std::vector<std::vector<std::vector<NodeTotals>>> nodes(
        r.statements.size());
    std::vector<std::vector<PlanTree>> trees(r.statements.size());
    auto insight_plans = [&](uint32_t i) {
        const FleetStatement &s = r.statements[i];
        if (trees[i].empty())
            for (const FleetPlan &p : s.plans) {
                nodes[i].push_back(fleet_node_totals(p));
                trees[i].push_back(fleet_plan_tree(p, nodes[i].back()));
            }
        std::vector<InsightPlan> plans;
        for (size_t p = 0; p < s.plans.size(); ++p)
            plans.push_back({static_cast<uint32_t>(first_key[i] - 1 + p),
                             &trees[i][p], &nodes[i][p], s.plans[p].total_ns});
        return plans;
    };
    std::vector<Insight> out;
    /* in the order the report of files finds them (ties keep it) */
    /* the plans that matter in the order they first ran, as the report of
     * files reads them (which statement a missing index describes may
     * depend on it) */
    std::vector<std::pair<int64_t, std::pair<uint32_t, size_t>>> by_start;
    for (uint32_t i = 0; i < r.statements.size(); ++i)
        for (size_t p = 0; p < r.statements[i].plans.size(); ++p)
            if (matters(r.statements[i].plans[p].total_ns))
                by_start.push_back(
                    {r.statements[i].plans[p].first_unix_us, {i, p}});
    std::stable_sort(
        by_start.begin(), by_start.end(),
        [](const auto &a, const auto &b) { return a.first < b.first; });
    MissingIndexes missing;
    for (const auto &entry : by_start) {
        uint32_t i = entry.second.first;
        missing.check_plan(subject(i), insight_plans(i)[entry.second.second],
                           catalog_of(i));
    }
    missing.add_to(out);
    /* the estimate errors of the same plans, in the same order */
    for (const auto &entry : by_start) {
        uint32_t i = entry.second.first;
        size_t p = entry.second.second;
        if (r.statements[i].plans[p].actuals_executions == 0)
            continue;
        Insight in;
        if (estimate_error_insight(subject(i), insight_plans(i)[p], in))
            out.push_back(std::move(in));
    }
    for (uint32_t i = 0; i < r.statements.size(); ++i) {
        const FleetStatement &s = r.statements[i];
        if (s.temp_blks_written <= 0 || !matters(s.total_ns))
            continue;
        SpillFacts facts;
        facts.temp_blks_written = s.temp_blks_written;
        facts.max_temp_blks_written = s.max_temp_blks_written;
        out.push_back(
            spill_insight(subject(i), facts, insight_plans(i), catalog_of(i)));
    }
    for (uint32_t i = 0; i < r.statements.size(); ++i) {
        const FleetStatement &s = r.statements[i];
        if (!matters(s.total_ns) || s.shared_blks_read <= 0)
            continue;
        StorageFacts facts;
        facts.executions = s.executions;
        facts.kernel_executions = s.kernel_executions;
        facts.io_wait_ns = s.io_wait_ns;
        facts.blk_read_time_ns = s.blk_read_time_ns;
        facts.shared_blks_hit = s.shared_blks_hit;
        facts.shared_blks_read = s.shared_blks_read;
        Insight in;
        if (storage_reads_insight(subject(i), facts, insight_plans(i),
                                  catalog_of(i), in))
            out.push_back(std::move(in));
    }
    for (const FleetNPlusOne &n : r.n_plus_one_insights) {
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
    /* the plan changes of every statement listed, as the report of files
     * looks at every statement (the section lists the first --top) */
    std::vector<uint32_t> listed(r.statements.size());
    for (uint32_t i = 0; i < listed.size(); ++i)
        listed[i] = i;
    std::vector<FleetPlanChange> changes = fleet_plan_changes(r, listed);
    for (const FleetPlanChange &pc : changes) {
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
        add_dropped_index(in, faster_tree, catalog_of(pc.statement));
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
    add_fleet_wait_insights(r, out);
    rank_insights(out);
    return out;
}

std::vector<bool> fleet_insight_statements(const FleetReport &r) {
    std::vector<bool> about(r.statements.size(), false);
    /* plans are keyed in the order of their statements */
    std::vector<size_t> first_key = fleet_plan_keys(r);
    auto owner_of = [&](uint32_t plan) {
        size_t key = plan + 1;
        auto after = std::upper_bound(first_key.begin(), first_key.end(), key);
        return static_cast<size_t>(after - first_key.begin()) - 1;
    };
    for (const Insight &in : fleet_insights(r)) {
        if (in.statement >= 0 &&
            static_cast<size_t>(in.statement) < about.size())
            about[static_cast<size_t>(in.statement)] = true;
        for (uint32_t s : in.statements)
            if (s < about.size())
                about[s] = true;
        for (uint32_t plan : in.plans) {
            size_t s = owner_of(plan);
            if (s < about.size())
                about[s] = true;
        }
    }
    return about;
}

} // namespace qprof
