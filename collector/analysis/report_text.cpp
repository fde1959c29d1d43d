#include "report_text.h"
#include "one_line.h"
#include "sqlstate.h"
#include "wait_events.h"

#include <algorithm>
#include <cstdio>

namespace qprof {

namespace pb = capture::v1;

namespace {

class TextReport : ReportLines {
  public:
    TextReport(const Analysis &a, const ReportSelection &sel,
               const ReportOptions &o)
        : a_(a), p_(a.profile), sel_(sel), o_(o) {}

    std::string render() {
        summary();
        insights();
        top_statements();
        attribution();
        plan_changes();
        n_plus_one();
        errors();
        kernel();
        waits();
        inputs();
        return out_;
    }

  private:
    void summary() {
        size_t files = a_.set.files().size();
        size_t skipped = 0;
        for (const CaptureFileStatus &f : a_.set.files())
            if (f.status != CaptureFileStatus::Status::Ok)
                ++skipped;
        line("qprof report: " + std::to_string(files) + " capture file" +
             (files == 1 ? "" : "s") + ", " +
             std::to_string(a_.set.servers().size()) + " server" +
             (a_.set.servers().size() == 1 ? "" : "s"));
        for (const CaptureServer &s : a_.set.servers()) {
            std::string version = s.identity.version();
            size_t on = version.find(" on ");
            if (on != std::string::npos)
                version.resize(on);
            line("  " + s.key + ": " + version + ", system " +
                 std::to_string(s.identity.system_identifier()) +
                 (s.identity.cluster_name().empty()
                      ? ""
                      : " (" + s.identity.cluster_name() + ")") +
                 (s.label.empty() ? "" : ", label " + s.label) + ", " +
                 std::to_string(s.epochs.size()) + " epoch" +
                 (s.epochs.size() == 1 ? "" : "s"));
        }
        if (p_.samples_used == 0) {
            line("no executions match (" +
                 human_count(static_cast<double>(p_.samples_read)) + " read)");
        } else {
            double span =
                static_cast<double>(p_.last_unix_us - p_.first_unix_us);
            line("  from " + report_utc(p_.first_unix_us) + " to " +
                 report_utc(p_.last_unix_us) + " UTC (" + human_ms(span / 1e3) +
                 ")");
        }
        const Aggregate &t = p_.total;
        line("  " + human_count(t.calls) + " statements run, database time " +
             human_ms(t.total_ns / 1e6) + ", " + human_count(t.errors) +
             " failed (" +
             report_percent(t.calls > 0 ? t.errors / t.calls : 0) + "), " +
             human_count(static_cast<double>(p_.statements.size())) +
             " distinct statements");
        double scale = a_.sample_rate_scale();
        if (scale > 1)
            line("  SAMPLED: about 1 in " + human_count(scale) +
                 " statements recorded (pg_qprof.sample_rate); sums are "
                 "scaled up, estimates");
        uint64_t lost = p_.lost_overwritten + p_.lost_reset +
                        p_.lost_epoch_changed + p_.lost_unknown;
        if (lost > 0 || p_.epoch_changes > 0)
            line("  losses: " +
                 human_count(static_cast<double>(p_.lost_overwritten)) +
                 " overwritten in the ring, " +
                 human_count(static_cast<double>(p_.lost_reset)) + " reset, " +
                 human_count(static_cast<double>(p_.lost_epoch_changed)) +
                 " at restarts; " + std::to_string(p_.epoch_changes) +
                 " server restart" + (p_.epoch_changes == 1 ? "" : "s"));
        line(
            std::string("  kernel facts: ") +
            (t.kernel_executions == 0
                 ? "none (BPF was off or unavailable)"
                 : "on " +
                       report_percent(static_cast<double>(t.kernel_executions) /
                                      static_cast<double>(t.executions)) +
                       " of executions" +
                       (t.waits.totals()
                            ? ", the wait split on " +
                                  report_percent(
                                      static_cast<double>(
                                          t.waits.totals()->executions) /
                                      static_cast<double>(t.executions))
                            : std::string())) +
            "; per-node actuals: " +
            human_count(static_cast<double>(p_.actuals_executions)) +
            " executions");
        if (skipped > 0)
            line("  CAPTURE PROBLEMS: " + std::to_string(skipped) +
                 " file(s) damaged, truncated or unreadable: what was skipped "
                 "is listed at the end");
    }

    void insights() {
        insights_section(
            {&a_.insights, o_.top, p_.total.total_ns, [&](uint32_t stmt) {
                 const Aggregate &g = p_.statements[stmt].all;
                 return sel_.skey(stmt) + " " + one_line(a_.text_of(stmt), 50) +
                        ": " + human_count(g.calls) + " calls, " +
                        human_ms(g.mean_ns() / 1e6) + " each";
             }});
    }

    void top_statements() {
        heading("Top statements by total time");
        line("key      total  share   cum    calls     mean      p95      p99  "
             "text");
        double running = 0;
        size_t shown = std::min(sel_.by_total.size(), o_.top);
        for (size_t i = 0; i < shown; ++i) {
            uint32_t stmt = sel_.by_total[i];
            const StatementStats &st = p_.statements[stmt];
            const Aggregate &g = st.all;
            running += st.toplevel_ns;
            std::string row = printf_line(
                "%-5s %8s %6s %5s %8s %8s %8s %8s  ", sel_.skey(stmt).c_str(),
                human_ms(g.total_ns / 1e6).c_str(),
                report_percent(a_.share(st.toplevel_ns)).c_str(),
                report_percent(a_.share(running)).c_str(),
                human_count(g.calls).c_str(),
                human_ms(g.mean_ns() / 1e6).c_str(),
                human_ms(g.latency.quantile_ns(0.95) / 1e6).c_str(),
                human_ms(g.latency.quantile_ns(0.99) / 1e6).c_str());
            std::string text = a_.text_of(stmt);
            if (text.empty())
                text = "(no text; queryid " + std::to_string(st.queryid) + ")";
            line(row + one_line(text, kReportWidth - row.size()));
        }
        if (p_.statements.size() > shown)
            line(
                "... " +
                human_count(static_cast<double>(p_.statements.size() - shown)) +
                " more statements (--top N, --json)");
        /* the other rankings: the first few of each, by key */
        for (const Ranking &r : sel_.rankings) {
            if (std::string(r.name) == "total_time")
                continue;
            std::vector<std::string> keys;
            for (size_t i = 0; i < r.statements.size() && i < 8; ++i)
                keys.push_back(sel_.skey(r.statements[i]));
            ranking(r.title, keys);
        }
    }

    void attribution() {
        const DimensionStats &dim = p_.primary();
        heading("Database time by " + dim.name);
        line(printf_line("%-32s %9s %6s %8s %8s %8s %6s  %s", dim.name.c_str(),
                         "total", "share", "calls", "mean", "p95", "errors",
                         "top statements"));
        double sum = 0;
        for (uint32_t g : sel_.groups[p_.group_by]) {
            const GroupStats &group = dim.groups[g];
            sum += group.all.total_ns;
            std::string tops;
            for (size_t i = 0; i < dim.by_group[g].size() && i < 3; ++i)
                tops += (tops.empty() ? "" : " ") +
                        sel_.skey(dim.by_group[g][i].first);
            line(printf_line(
                "%-32s %9s %6s %8s %8s %8s %6s  %s",
                one_line(group.name, 32).c_str(),
                human_ms(group.all.total_ns / 1e6).c_str(),
                report_percent(a_.share(group.all.total_ns)).c_str(),
                human_count(group.all.calls).c_str(),
                human_ms(group.all.mean_ns() / 1e6).c_str(),
                human_ms(group.all.latency.quantile_ns(0.95) / 1e6).c_str(),
                human_count(group.all.errors).c_str(), tops.c_str()));
        }
        if (dim.groups.size() > sel_.groups[p_.group_by].size())
            line("... " +
                 std::to_string(dim.groups.size() -
                                sel_.groups[p_.group_by].size()) +
                 " more groups, " + human_ms((p_.total.total_ns - sum) / 1e6));
    }

    void plan_changes() {
        if (a_.plan_changes.empty())
            return;
        heading("Plan changes");
        size_t shown = 0;
        for (const PlanChange &pc : a_.plan_changes) {
            if (shown++ >= o_.top)
                break;
            auto side = [&](uint32_t plan) {
                const PlanStats &ps = p_.plans[plan];
                return PlanChangeText::Side{
                    sel_.pkey(plan), ps.all.mean_ns(), ps.all.calls,
                    a_.set.plans()[ps.definition - 1].plan.plan_text()};
            };
            plan_change({sel_.skey(pc.statement), a_.text_of(pc.statement),
                         pc.plans.size(), side(pc.faster), side(pc.slower),
                         pc.extra_ns});
        }
    }

    void n_plus_one() {
        if (p_.n_plus_one.empty())
            return;
        requests_heading({p_.request_tag, p_.requests, p_.request_statements,
                          p_.max_request_statements});
        std::vector<const NPlusOne *> list = n_plus_one_by_time(p_);
        for (size_t i = 0; i < list.size() && i < o_.top; ++i) {
            const NPlusOne &n = *list[i];
            static const std::string none;
            ReportLines::n_plus_one({sel_.skey(n.statement),
                                     n.route ? a_.set.string(n.route) : none,
                                     n.total_ns, n.max_per_request, n.requests,
                                     n.example_request});
        }
    }

    void errors() {
        if (p_.errors.empty())
            return;
        heading("Errors by SQLSTATE");
        for (const ErrorStats *e : errors_by_count(p_)) {
            uint32_t top = 0;
            double most = -1;
            for (const auto &s : e->statements)
                if (s.second > most) {
                    most = s.second;
                    top = s.first;
                }
            std::string flag =
                sqlstate_is_timeout(e->sqlstate) ? " (timeout or cancel)" : "";
            line(printf_line("  %s %-32s %8s", e->sqlstate.c_str(),
                             (sqlstate_name(e->sqlstate) + flag).c_str(),
                             human_count(e->count).c_str()) +
                 "  mostly " +
                 (sel_.statement_key[top] >= 0 ? sel_.skey(top) : "") + " " +
                 one_line(a_.text_of(top), 40));
        }
    }

    /* "I/O" or "wait" when that is half or more of the kernel's time. */
    std::string kernel_row(const std::string &name, const Aggregate &g) {
        return qprof::kernel_row(name, g.oncpu_ns, g.io_wait_ns,
                                 g.other_wait_ns, g.page_cache_misses,
                                 g.block_bytes);
    }

    void kernel() {
        if (p_.total.kernel_executions == 0)
            return;
        const char *columns = kKernelColumns;
        heading("Kernel facts by statement (over its executions with them)");
        line(std::string("key") + (columns + 3) + "  text");
        size_t shown = 0;
        for (uint32_t stmt : sel_.by_total) {
            const Aggregate &g = p_.statements[stmt].all;
            if (g.kernel_executions == 0)
                continue;
            if (shown++ >= std::min<size_t>(o_.top, 10))
                break;
            std::string row = kernel_row(sel_.skey(stmt), g);
            line(row + one_line(a_.text_of(stmt), kReportWidth - row.size()));
        }
        const DimensionStats &dim = p_.primary();
        heading("Kernel facts by " + dim.name);
        line(dim.name + (columns + std::min<size_t>(dim.name.size(), 14)));
        for (uint32_t g : sel_.groups[p_.group_by]) {
            const GroupStats &group = dim.groups[g];
            if (group.all.kernel_executions == 0)
                continue;
            std::string row = kernel_row(group.name, group.all);
            if (group.name.size() > 14)
                row += one_line(group.name, kReportWidth - row.size());
            line(row);
        }
    }

    void waits() {
        const WaitTotals *total = p_.total.waits.totals();
        if (total == nullptr)
            return;
        WaitsSectionText section{*total, p_.total.executions, {}, {}, {}};
        for (uint32_t stmt : sel_.by_total) {
            const Aggregate &g = p_.statements[stmt].all;
            if (g.waits.totals() == nullptr)
                continue;
            if (section.statements.size() >= std::min<size_t>(o_.top, 10))
                break;
            section.statements.push_back(
                {sel_.skey(stmt), g.waits.totals(), g.executions, ""});
        }
        const DimensionStats &dim = p_.primary();
        section.dimension = dim.name;
        for (uint32_t g : sel_.groups[p_.group_by]) {
            const Aggregate &all = dim.groups[g].all;
            if (all.waits.totals() != nullptr &&
                section.groups.size() < std::min<size_t>(o_.top, 10))
                section.groups.push_back(
                    {"g" + std::to_string(section.groups.size() + 1),
                     all.waits.totals(), all.executions, dim.groups[g].name});
        }
        waits_section(section);
    }

    void inputs() {
        bool any = false;
        for (const CaptureFileStatus &f : a_.set.files()) {
            if (f.problems.empty() && f.status == CaptureFileStatus::Status::Ok)
                continue;
            if (!any)
                heading("Capture files: what was skipped");
            any = true;
            out_ += report_wrap(
                        std::string(status_name(f.status)) + ": " + f.path +
                            " (" + human_count(static_cast<double>(f.samples)) +
                            " samples read)",
                        kReportWidth, 6) +
                    "\n";
            if (f.status == CaptureFileStatus::Status::Duplicate)
                line("    named twice: read once");
            for (const auto &p : f.problems)
                out_ +=
                    "    " +
                    report_wrap(std::string(problem_kind_name(p.kind)) +
                                    " at offset " + std::to_string(p.offset) +
                                    ": " + p.what,
                                kReportWidth - 6, 6) +
                    "\n";
            if (f.samples_unresolved)
                line("    " +
                     human_count(static_cast<double>(f.samples_unresolved)) +
                     " samples skipped: undefined references");
        }
    }

    const Analysis &a_;
    const Profile &p_;
    const ReportSelection &sel_;
    const ReportOptions &o_;
};

} // namespace

std::string render_report_text(const Analysis &analysis,
                               const ReportSelection &selection,
                               const ReportOptions &options) {
    return TextReport(analysis, selection, options).render();
}

} // namespace qprof
