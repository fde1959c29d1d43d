#include "fleet_text.h"
#include "fleet_insights.h"
#include "fleet_plan_changes.h"
#include "fleet_wait_totals.h"
#include "one_line.h"
#include "report_lines.h"
#include "report_selection.h"
#include "sqlstate.h"

#include <algorithm>

namespace qprof {

namespace {

class FleetText : ReportLines {
  public:
    FleetText(const FleetReport &r, const std::string &where, size_t top)
        : r_(r), where_(where), top_(top), insights_(fleet_insights(r)) {}

    std::string render() {
        summary();
        insights();
        top_statements();
        groups();
        changes();
        n_plus_one();
        errors();
        kernel();
        waits();
        return out_;
    }

  private:
    double share(double ns) const {
        return r_.total_ns > 0 ? ns / r_.total_ns : 0;
    }
    std::string key(uint32_t statement) const {
        return "s" + std::to_string(statement + 1);
    }
    std::string text_of(const FleetStatement &s) const {
        return s.text.empty()
                   ? "(no text; queryid " + std::to_string(s.queryid) + ")"
                   : s.text;
    }

    void summary() {
        line("qprof report: ClickHouse " + where_ + ", " +
             std::to_string(r_.servers.size()) + " server" +
             (r_.servers.size() == 1 ? "" : "s"));
        for (const FleetServer &s : r_.servers) {
            std::string version = s.version;
            size_t on = version.find(" on ");
            if (on != std::string::npos)
                version.resize(on);
            line("  " + std::to_string(s.server_id) + ": " + version +
                 (s.cluster_name.empty() ? "" : " (" + s.cluster_name + ")") +
                 (s.label.empty() ? "" : ", label " + s.label) + ", " +
                 std::to_string(s.epochs) + " epoch" +
                 (s.epochs == 1 ? "" : "s") + ", " +
                 human_count(static_cast<double>(s.samples)) + " samples");
        }
        if (r_.executions == 0) {
            line("no executions match");
            return;
        }
        line("  from " + report_utc(r_.first_unix_us) + " to " +
             report_utc(r_.last_unix_us) + " UTC (" +
             human_ms(static_cast<double>(r_.last_unix_us - r_.first_unix_us) /
                      1e3) +
             ")");
        line("  " + human_count(r_.calls) + " statements run, database time " +
             human_ms(r_.total_ns / 1e6) + ", " + human_count(r_.errors) +
             " failed (" +
             report_percent(r_.calls > 0 ? r_.errors / r_.calls : 0) + "), " +
             human_count(static_cast<double>(r_.statements_total)) +
             " distinct statements");
        if (r_.max_weight > 1)
            line("  SAMPLED: down to 1 in " + human_count(r_.max_weight) +
                 " statements recorded (pg_qprof.sample_rate); sums are "
                 "scaled up");
        uint64_t lost = 0, restarts = 0;
        for (const FleetServer &s : r_.servers) {
            lost += s.lost;
            restarts += s.epoch_changes;
        }
        if (lost > 0 || restarts > 0)
            line("  losses: " + human_count(static_cast<double>(lost)) +
                 " samples lost; " + std::to_string(restarts) +
                 " server restart" + (restarts == 1 ? "" : "s"));
        line(std::string("  kernel facts: ") +
             (r_.kernel_executions == 0
                  ? "none (BPF was off or unavailable)"
                  : "on " +
                        report_percent(
                            static_cast<double>(r_.kernel_executions) /
                            static_cast<double>(r_.executions)) +
                        " of executions"));
    }

    void top_statements() {
        heading("Top statements by total time");
        line("key      total  share   cum    calls     mean      p95      p99  "
             "text");
        double running = 0;
        for (uint32_t i = 0; i < r_.top_statements; ++i) {
            const FleetStatement &s = r_.statements[i];
            running += s.toplevel_ns;
            std::string row = printf_line(
                "%-5s %8s %6s %5s %8s %8s %8s %8s  ", key(i).c_str(),
                human_ms(s.total_ns / 1e6).c_str(),
                report_percent(share(s.toplevel_ns)).c_str(),
                report_percent(share(running)).c_str(),
                human_count(s.calls).c_str(),
                human_ms(s.calls > 0 ? s.total_ns / s.calls / 1e6 : 0).c_str(),
                human_ms(s.p95_ns / 1e6).c_str(),
                human_ms(s.p99_ns / 1e6).c_str());
            line(row + one_line(text_of(s), kReportWidth - row.size()));
        }
        if (r_.statements_total > r_.top_statements)
            line("... " +
                 human_count(static_cast<double>(r_.statements_total -
                                                 r_.top_statements)) +
                 " more statements (--top N, --json)");
        /* the other rankings: the first few of each, by key */
        for (const FleetRanking &r : r_.rankings) {
            if (r.name == "total_time")
                continue;
            std::vector<std::string> keys;
            for (uint32_t s : r.statements)
                keys.push_back(key(s));
            ranking(ranking_title(r.name), keys);
        }
    }

    void groups() {
        heading("Database time by " + r_.group_by);
        line(printf_line("%-32s %9s %6s %8s %8s %8s %6s  %s",
                         r_.group_by.c_str(), "total", "share", "calls", "mean",
                         "p95", "errors", "top statements"));
        double sum = 0;
        const FleetDimension &dim = r_.primary();
        for (const FleetGroup &g : dim.groups) {
            sum += g.total_ns;
            /* three, as the report of files prints them */
            std::string tops;
            for (size_t i = 0; i < g.top_statements.size() && i < 3; ++i)
                tops += (tops.empty() ? "" : " ") + key(g.top_statements[i]);
            line(printf_line(
                "%-32s %9s %6s %8s %8s %8s %6s  %s",
                one_line(g.name, 32).c_str(),
                human_ms(g.total_ns / 1e6).c_str(),
                report_percent(share(g.total_ns)).c_str(),
                human_count(g.calls).c_str(),
                human_ms(g.calls > 0 ? g.total_ns / g.calls / 1e6 : 0).c_str(),
                human_ms(g.p95_ns / 1e6).c_str(), human_count(g.errors).c_str(),
                tops.c_str()));
        }
        if (dim.groups_total > dim.groups.size())
            line("... " + std::to_string(dim.groups_total - dim.groups.size()) +
                 " more groups, " + human_ms((r_.total_ns - sum) / 1e6));
    }

    void changes() {
        std::vector<FleetPlanChange> changes =
            fleet_plan_changes(r_, r_.plan_changes);
        if (changes.empty())
            return;
        std::vector<size_t> first_key = fleet_plan_keys(r_);
        heading("Plan changes");
        for (const FleetPlanChange &pc : changes) {
            const FleetStatement &s = r_.statements[pc.statement];
            auto side = [&](uint32_t plan) {
                const FleetPlan &p = s.plans[plan];
                return PlanChangeText::Side{
                    "p" + std::to_string(first_key[pc.statement] + plan),
                    p.calls > 0 ? p.total_ns / p.calls : 0, p.calls, p.text};
            };
            plan_change({key(pc.statement), text_of(s), s.plans.size(),
                         side(pc.comparison.faster), side(pc.comparison.slower),
                         pc.comparison.extra_ns});
        }
    }

    void n_plus_one() {
        if (r_.n_plus_one.empty())
            return;
        requests_heading({r_.request_tag, r_.requests, r_.request_statements,
                          r_.max_request_statements});
        for (const FleetNPlusOne &n : r_.n_plus_one)
            ReportLines::n_plus_one({key(n.statement), n.route, n.total_ns,
                                     n.max_per_request, n.requests,
                                     n.example_request});
    }

    void errors() {
        if (r_.errors_by_sqlstate.empty())
            return;
        heading("Errors by SQLSTATE");
        for (const FleetError &e : r_.errors_by_sqlstate) {
            std::string flag =
                sqlstate_is_timeout(e.sqlstate) ? " (timeout or cancel)" : "";
            std::string top;
            for (uint32_t i = 0; i < r_.statements.size(); ++i)
                if (r_.statements[i].server_id == e.server_id &&
                    r_.statements[i].queryid == e.queryid)
                    top = key(i);
            line(printf_line("  %s %-32s %8s", e.sqlstate.c_str(),
                             (sqlstate_name(e.sqlstate) + flag).c_str(),
                             human_count(e.count).c_str()) +
                 "  mostly " + top + " " + one_line(e.text, 40));
        }
    }

    template <typename T>
    static std::string kernel_row(const std::string &name, const T &g) {
        return qprof::kernel_row(name, g.oncpu_ns, g.io_wait_ns,
                                 g.other_wait_ns, g.page_cache_misses,
                                 g.block_bytes);
    }

    void kernel() {
        if (r_.kernel_executions == 0)
            return;
        const char *columns = kKernelColumns;
        heading("Kernel facts by statement (over its executions with them)");
        line(std::string("key") + (columns + 3) + "  text");
        size_t shown = 0;
        for (uint32_t i : r_.kernel_statements) {
            if (shown++ >= 10)
                break;
            const FleetStatement &s = r_.statements[i];
            std::string row = kernel_row(key(i), s);
            line(row + one_line(text_of(s), kReportWidth - row.size()));
        }
        const std::string &dim = r_.group_by;
        heading("Kernel facts by " + dim);
        line(dim + (columns + std::min<size_t>(dim.size(), 14)));
        for (const FleetGroup &g : r_.primary().groups) {
            if (g.kernel_executions == 0)
                continue;
            std::string row = kernel_row(g.name, g);
            if (g.name.size() > 14)
                row += one_line(g.name, kReportWidth - row.size());
            line(row);
        }
    }

    /* where the time went, as the report of files shows it */
    void waits() {
        if (r_.waits.executions == 0)
            return;
        WaitTotals total = fleet_wait_totals(r_.waits);
        std::vector<WaitTotals> rows;
        rows.reserve(r_.top_statements + r_.primary().groups.size());
        WaitsSectionText section{total, r_.executions, {}, r_.group_by, {}};
        size_t most = std::min<size_t>(r_.top_statements, 10);
        for (uint32_t i = 0; i < r_.top_statements; ++i) {
            const FleetStatement &s = r_.statements[i];
            if (s.waits.executions == 0)
                continue;
            if (section.statements.size() >= most)
                break;
            rows.push_back(fleet_wait_totals(s.waits));
            section.statements.push_back(
                {key(i), &rows.back(), s.executions, ""});
        }
        for (const FleetGroup &g : r_.primary().groups) {
            if (g.waits.executions == 0 || section.groups.size() >= 10)
                continue;
            rows.push_back(fleet_wait_totals(g.waits));
            section.groups.push_back(
                {"g" + std::to_string(section.groups.size() + 1), &rows.back(),
                 g.executions, g.name});
        }
        waits_section(section);
    }

    void insights() {
        insights_section(
            {&insights_, top_, r_.total_ns, [&](uint32_t i) {
                 const FleetStatement &s = r_.statements[i];
                 return key(i) + " " + one_line(s.text, 50) + ": " +
                        human_count(s.calls) + " calls, " +
                        human_ms(s.calls > 0 ? s.total_ns / s.calls / 1e6 : 0) +
                        " each";
             }});
    }

    const FleetReport &r_;
    std::string where_;
    size_t top_;
    std::vector<Insight> insights_;
};

} // namespace

std::string fleet_text(const FleetReport &r, const std::string &where,
                       size_t top) {
    return FleetText(r, where, top).render();
}

} // namespace qprof
