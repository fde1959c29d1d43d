#include "insights.h"
#include "insight_rules.h"
#include "one_line.h"
#include "sqlstate.h"
#include "wait_insights.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

namespace qprof {

namespace pb = capture::v1;

namespace {

class InsightFinder {
  public:
    explicit InsightFinder(Analysis &a) : a_(a), p_(a.profile) {}

    void run() {
        missing_indexes();
        estimate_errors();
        spills();
        storage_reads();
        n_plus_one();
        plan_changes();
        error_rates();
        find_wait_insights(a_);
        waits();
        rank_insights(a_.insights);
    }

  private:
    bool matters(double ns) const { return a_.share(ns) >= kMinInsightShare; }

    /* A plan as the catalog insights take it. */
    InsightPlan insight_plan(uint32_t plan) {
        const PlanStats &ps = p_.plans[plan];
        return {plan, &a_.tree(plan), &ps.nodes, ps.all.total_ns};
    }

    /* The newest snapshot of the statement's database, the settings of
     * its server's first header. */
    InsightCatalog catalog_of(uint32_t stmt) const {
        const StatementStats &st = p_.statements[stmt];
        const CaptureServer &server = a_.set.servers()[st.server];
        return {server.catalog(st.dbid), &server.settings};
    }

    void missing_indexes() {
        MissingIndexes found;
        for (uint32_t plan = 0; plan < p_.plans.size(); ++plan) {
            const PlanStats &ps = p_.plans[plan];
            if (!matters(ps.all.total_ns))
                continue;
            found.check_plan(insight_statement(a_, ps.statement),
                             insight_plan(plan), catalog_of(ps.statement));
        }
        found.add_to(a_.insights);
    }

    void estimate_errors() {
        for (uint32_t plan = 0; plan < p_.plans.size(); ++plan) {
            const PlanStats &ps = p_.plans[plan];
            if (ps.actuals_executions == 0 || !matters(ps.all.total_ns))
                continue;
            Insight in;
            if (estimate_error_insight(insight_statement(a_, ps.statement),
                                       insight_plan(plan), in))
                a_.insights.push_back(std::move(in));
        }
    }

    void spills() {
        for (uint32_t stmt = 0; stmt < p_.statements.size(); ++stmt) {
            const StatementStats &st = p_.statements[stmt];
            if (st.all.temp_blks_written <= 0 || !matters(st.all.total_ns))
                continue;
            SpillFacts facts;
            facts.temp_blks_written = st.all.temp_blks_written;
            facts.max_temp_blks_written =
                static_cast<double>(st.max_temp_blks_written);
            std::vector<InsightPlan> plans;
            for (uint32_t plan : st.plans)
                plans.push_back(insight_plan(plan));
            a_.insights.push_back(spill_insight(
                insight_statement(a_, stmt), facts, plans, catalog_of(stmt)));
        }
    }

    void storage_reads() {
        for (uint32_t stmt = 0; stmt < p_.statements.size(); ++stmt) {
            const StatementStats &st = p_.statements[stmt];
            const Aggregate &g = st.all;
            if (!matters(g.total_ns) || g.shared_blks_read <= 0)
                continue;
            StorageFacts facts;
            facts.executions = g.executions;
            facts.kernel_executions = g.kernel_executions;
            facts.io_wait_ns = g.io_wait_ns;
            facts.blk_read_time_ns = g.blk_read_time_ns;
            facts.shared_blks_hit = g.shared_blks_hit;
            facts.shared_blks_read = g.shared_blks_read;
            std::vector<InsightPlan> plans;
            for (uint32_t plan : st.plans)
                plans.push_back(insight_plan(plan));
            Insight in;
            if (storage_reads_insight(insight_statement(a_, stmt), facts, plans,
                                      catalog_of(stmt), in))
                a_.insights.push_back(std::move(in));
        }
    }

    void n_plus_one() {
        for (const NPlusOne &n : p_.n_plus_one) {
            if (!matters(n.total_ns))
                continue;
            NPlusOneFacts facts;
            facts.route = n.route ? a_.set.string(n.route) : "";
            facts.request_tag = p_.request_tag;
            facts.example_request = n.example_request;
            facts.requests = n.requests;
            facts.executions = n.executions;
            facts.max_per_request = n.max_per_request;
            facts.example_executions = n.example_executions;
            facts.total_ns = n.total_ns;
            Insight in =
                n_plus_one_insight(insight_statement(a_, n.statement), facts);
            in.plans = p_.statements[n.statement].plans;
            a_.insights.push_back(std::move(in));
        }
    }

    PlanSide plan_side(uint32_t plan) const {
        const PlanStats &ps = p_.plans[plan];
        return {nullptr, a_.set.plans()[ps.definition - 1].plan.planid(),
                ps.all.calls, ps.all.mean_ns(), ps.first_unix_us};
    }

    void plan_changes() {
        for (uint32_t stmt = 0; stmt < p_.statements.size(); ++stmt) {
            const StatementStats &st = p_.statements[stmt];
            if (st.plans.size() < 2)
                continue;
            std::vector<PlanOutcome> outcomes;
            for (uint32_t plan : st.plans)
                outcomes.push_back({p_.plans[plan].first_unix_us,
                                    p_.plans[plan].all.calls,
                                    p_.plans[plan].all.mean_ns()});
            PlanComparison c = compare_plans(outcomes);
            PlanChange pc;
            pc.statement = stmt;
            for (uint32_t i : c.order)
                pc.plans.push_back(st.plans[i]);
            pc.slower = st.plans[c.slower];
            pc.faster = st.plans[c.faster];
            pc.extra_ns = c.extra_ns;
            pc.changed_unix_us = c.changed_unix_us;
            a_.plan_changes.push_back(pc);
            PlanSide slower = plan_side(pc.slower),
                     faster = plan_side(pc.faster);
            if (!is_plan_regression(slower, faster) || !matters(pc.extra_ns))
                continue;
            /* parsed only now: parsing every plan would cost */
            slower.tree = &a_.tree(pc.slower);
            faster.tree = &a_.tree(pc.faster);
            Insight in = plan_regression_insight(insight_statement(a_, stmt),
                                                 slower, faster, pc.extra_ns);
            in.plans = {pc.faster, pc.slower};
            /* an index the faster plan used that the catalog lacks now */
            add_dropped_index(in, a_.tree(pc.faster), catalog_of(stmt));
            a_.insights.push_back(std::move(in));
        }
    }

    void error_rates() {
        for (uint32_t stmt = 0; stmt < p_.statements.size(); ++stmt) {
            const StatementStats &st = p_.statements[stmt];
            if (!has_error_rate(st.all.errors, st.all.calls))
                continue;
            Insight in = error_rate_insight(insight_statement(a_, stmt),
                                            st.all.errors, st.errors);
            in.plans = st.plans;
            a_.insights.push_back(std::move(in));
        }
    }

    void waits() {
        for (uint32_t stmt = 0; stmt < p_.statements.size(); ++stmt) {
            const StatementStats &st = p_.statements[stmt];
            const Aggregate &g = st.all;
            if (g.kernel_executions == 0 || !matters(g.total_ns))
                continue;
            KernelFacts k{g.executions,    g.kernel_executions,
                          g.oncpu_ns,      g.io_wait_ns,
                          g.other_wait_ns, g.shared_blks_read};
            KernelBound bound = kernel_bound(k);
            if (bound == KernelBound::none ||
                (bound == KernelBound::wait &&
                 waits_told_by_wait_insight(a_, stmt)))
                continue; /* told as lock_wait, lwlock_wait, cpu_saturation */
            const WaitTotals *split = g.waits.totals();
            Insight in =
                kernel_bound_insight(insight_statement(a_, stmt), k, bound,
                                     split ? main_wait_of(*split) : "");
            in.plans = st.plans;
            a_.insights.push_back(std::move(in));
        }
    }

    Analysis &a_;
    const Profile &p_;
};

} // namespace

InsightStatement insight_statement(const Analysis &a, uint32_t stmt) {
    const StatementStats &st = a.profile.statements[stmt];
    return {static_cast<int>(stmt),
            a.text_of(stmt),
            st.all.calls,
            st.all.total_ns,
            a.share(st.toplevel_ns),
            a.top_group_of(stmt, Dimension::Route)};
}

void find_insights(Analysis &a) {
    InsightFinder(a).run();
}

} // namespace qprof
