/*
 * The terminal layout is report_text.cpp's for the sections ClickHouse
 * answers (summary, top statements, time by route or another attribution,
 * plan changes, errors by SQLSTATE, kernel facts by statement and by
 * group); statements are keyed s1, s2... by total time, their plans p1,
 * p2... in that order.
 */
#include "report_clickhouse.h"
#include "analysis.h"
#include "capture_format.h"
#include "html_report.h"
#include "insight_rules.h"
#include "json_writer.h"
#include "node_hotspots.h"
#include "one_line.h"
#include "report_json.h"
#include "report_lines.h"
#include "sqlstate.h"

#include <algorithm>
#include <cstdio>

namespace qprof {

namespace {

/* A listed statement whose plans changed, compared as the report of files
 * compares them (compare_plans). */
struct FleetPlanChange {
    uint32_t statement;
    PlanComparison comparison;
};

std::vector<FleetPlanChange> plan_changes(const FleetReport &r) {
    std::vector<FleetPlanChange> out;
    for (uint32_t i : r.plan_changes) {
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

/* Plans are keyed p1, p2... in the order of their statements' keys, as in
 * the report of files: the key number of each statement's first plan. */
std::vector<size_t> first_plan_keys(const FleetReport &r) {
    std::vector<size_t> first;
    size_t next = 1;
    for (const FleetStatement &s : r.statements) {
        first.push_back(next);
        next += s.plans.size();
    }
    return first;
}

/* The insights whose inputs ClickHouse answers, by the report's rules
 * (insight_rules.h), ranked as the report ranks them: the error rates of
 * the statements listed, the N+1 statements, the plan regressions of the
 * plan changes. Plans are numbered as keyed (p1 is 0). */
std::vector<Insight> fleet_insights(const FleetReport &r) {
    auto matters = [&](double ns) {
        return r.total_ns > 0 && ns / r.total_ns >= kMinInsightShare;
    };
    std::vector<size_t> first_key = first_plan_keys(r);
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
    for (const FleetPlanChange &pc : plan_changes(r)) {
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

/* The report's WaitTotals of waits ClickHouse summed: the same rows and
 * JSON as the report of files. */
WaitTotals wait_totals(const FleetWaits &f) {
    WaitTotals t;
    t.executions = f.executions;
    t.sampled_executions = f.sampled_executions;
    t.min_interval_us = f.min_interval_us;
    t.max_interval_us = f.max_interval_us;
    t.calls = f.calls;
    t.elapsed_ns = f.elapsed_ns;
    t.oncpu_ns = f.oncpu_ns;
    t.runqueue_ns = f.runqueue_ns;
    t.runqueue_waits = f.runqueue_waits;
    t.io_wait_ns = f.io_wait_ns;
    for (size_t slot = 0; slot < kWaitClassSlots && slot < kFleetWaitClassSlots;
         ++slot) {
        t.class_ns[slot] = f.class_ns[slot];
        t.class_count[slot] = f.class_count[slot];
    }
    t.other_events_ns = f.other_events_ns;
    t.other_events_count = f.other_events_count;
    for (const FleetWaitEvent &e : f.events) /* largest first */
        t.add_event(e.event, e.ns, e.count);
    return t;
}

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
    }

    void groups() {
        heading("Database time by " + r_.group_by);
        line(printf_line("%-32s %9s %6s %8s %8s %8s %6s  %s",
                         r_.group_by.c_str(), "total", "share", "calls", "mean",
                         "p95", "errors", "top statements"));
        double sum = 0;
        for (const FleetGroup &g : r_.groups) {
            sum += g.total_ns;
            std::string tops;
            for (uint32_t s : g.top_statements)
                tops += (tops.empty() ? "" : " ") + key(s);
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
        if (r_.groups_total > r_.groups.size())
            line("... " + std::to_string(r_.groups_total - r_.groups.size()) +
                 " more groups, " + human_ms((r_.total_ns - sum) / 1e6));
    }

    void changes() {
        std::vector<FleetPlanChange> changes = plan_changes(r_);
        if (changes.empty())
            return;
        std::vector<size_t> first_key = first_plan_keys(r_);
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
        for (const FleetGroup &g : r_.groups) {
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
        WaitTotals total = wait_totals(r_.waits);
        std::vector<WaitTotals> rows;
        rows.reserve(r_.top_statements + r_.groups.size());
        WaitsSectionText section{total, r_.executions, {}, r_.group_by, {}};
        size_t most = std::min<size_t>(r_.top_statements, 10);
        for (uint32_t i = 0; i < r_.top_statements; ++i) {
            const FleetStatement &s = r_.statements[i];
            if (s.waits.executions == 0)
                continue;
            if (section.statements.size() >= most)
                break;
            rows.push_back(wait_totals(s.waits));
            section.statements.push_back(
                {key(i), &rows.back(), s.executions, ""});
        }
        for (const FleetGroup &g : r_.groups) {
            if (g.waits.executions == 0 || section.groups.size() >= 10)
                continue;
            rows.push_back(wait_totals(g.waits));
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

/* `waits` as the report's JSON writes them, null without any. */
void waits_json(JsonWriter &w, const FleetWaits &waits) {
    if (waits.executions == 0) {
        w.null();
        return;
    }
    WaitTotals totals = wait_totals(waits);
    report_waits_json(w, &totals);
}

/* A statement's or group's kernel facts, null without them, with their
 * waits; without kernel facts, the waits the extension sampled. */
template <typename T> void kernel_json(JsonWriter &w, const T &g) {
    w.key("kernel");
    if (g.kernel_executions == 0) {
        w.null();
    } else {
        w.begin_object();
        w.field("executions", g.kernel_executions);
        w.field("oncpu_ms", g.oncpu_ns / 1e6);
        w.field("io_wait_ms", g.io_wait_ns / 1e6);
        w.field("other_wait_ms", g.other_wait_ns / 1e6);
        w.field("page_cache_misses", g.page_cache_misses);
        w.field("block_bytes", g.block_bytes);
        w.key("waits");
        waits_json(w, g.waits);
        w.end_object();
    }
    w.key("sampled_waits");
    if (g.kernel_executions == 0)
        waits_json(w, g.waits);
    else
        w.null();
}

/* The grid of the report of files (TimeGrid) over the same starts. */
TimelineSpec timeline_spec() {
    TimelineSpec spec;
    spec.interval_width_us = [](int64_t first_start_us, int64_t last_start_us) {
        TimeGrid grid;
        grid.interval_of(first_start_us);
        grid.interval_of(last_start_us);
        return grid.width_us();
    };
    spec.coarse_bounds_ms = LatencyHistogram::coarse_bounds_ms();
    spec.series_shown = kSeriesShown;
    return spec;
}

void series_json(JsonWriter &w, const std::vector<double> &values,
                 double divisor) {
    w.begin_array();
    for (double v : values)
        w.value(v / divisor);
    w.end_array();
}

/* `timeseries` and `heatmap` as in the report's JSON (docs/report-json.md). */
void timeline_json(JsonWriter &w, const FleetReport &r) {
    const FleetTimeline &tl = r.timeline;
    w.key("timeseries").begin_object();
    w.key("start_unix_us");
    tl.intervals ? w.value(tl.first * tl.width_us) : w.null();
    w.field("interval_s", static_cast<double>(tl.width_us) / 1e6);
    w.field("intervals", tl.intervals);
    w.key("db_time_ms");
    series_json(w, tl.db_time_ns, 1e6);
    w.key("executions").begin_array();
    for (double v : tl.executions)
        w.value(static_cast<uint64_t>(v + 0.5));
    w.end_array();
    w.key("errors");
    series_json(w, tl.errors, 1);
    w.key("series").begin_array();
    std::vector<double> other = tl.db_time_ns;
    for (size_t i = 0; i < tl.statements.size(); ++i) {
        const std::vector<double> &v = tl.statements[i];
        for (size_t t = 0; t < v.size() && t < other.size(); ++t)
            other[t] = std::max(0.0, other[t] - v[t]);
        w.begin_object();
        w.field("kind", "statement");
        w.field("key", "s" + std::to_string(i + 1));
        std::string label = r.statements[i].text;
        if (label.size() > 80)
            label = label.substr(0, 77) + "...";
        w.field("label", label);
        w.key("db_time_ms");
        series_json(w, v, 1e6);
        w.end_object();
    }
    w.begin_object();
    w.field("kind", "other");
    w.field("key", "other");
    w.field("label", "other statements");
    w.key("db_time_ms");
    series_json(w, other, 1e6);
    w.end_object();
    for (size_t g = 0; g < tl.groups.size(); ++g) {
        w.begin_object();
        w.field("kind", "route");
        w.field("key", r.group_by + ":" + r.groups[g].name);
        w.field("label", r.groups[g].name);
        w.key("db_time_ms");
        series_json(w, tl.groups[g], 1e6);
        w.end_object();
    }
    w.end_array();
    w.end_object();
    w.key("heatmap").begin_object();
    w.key("start_unix_us");
    tl.intervals ? w.value(tl.first * tl.width_us) : w.null();
    w.field("interval_s", static_cast<double>(tl.width_us) / 1e6);
    w.key("counts").begin_array();
    for (const std::vector<double> &counts : tl.heatmap) {
        w.begin_array();
        for (double v : counts)
            w.value(static_cast<uint64_t>(v + 0.5));
        w.end_array();
    }
    w.end_array();
    w.end_object();
}

/* `requests` as in the report's JSON: the requests and the N+1
 * statements. */
void requests_json(JsonWriter &w, const FleetReport &r) {
    w.key("requests").begin_object();
    w.key("tag").string_or_null(r.request_tag);
    w.field("requests", r.requests);
    w.key("statements_per_request").begin_object();
    w.field("mean", r.requests ? static_cast<double>(r.request_statements) /
                                     static_cast<double>(r.requests)
                               : 0.0);
    w.field("max", r.max_request_statements);
    w.end_object();
    w.key("n_plus_one").begin_array();
    for (const FleetNPlusOne &n : r.n_plus_one) {
        w.begin_object();
        w.field("statement", "s" + std::to_string(n.statement + 1));
        w.key("route").string_or_null(n.route);
        w.field("requests", n.requests);
        w.field("executions", n.executions);
        w.field("max_per_request", n.max_per_request);
        w.field("mean_per_request", static_cast<double>(n.executions) /
                                        static_cast<double>(n.requests));
        w.field("example_request", n.example_request);
        w.field("example_executions", n.max_per_request);
        w.field("total_ms", n.total_ns / 1e6);
        w.field("share", r.total_ns > 0 ? n.total_ns / r.total_ns : 0.0);
        w.end_object();
    }
    w.end_array();
    w.end_object();
}

/* `node_hotspots` as in the report's JSON, by the report's writer. */
void hotspots_json(JsonWriter &w, const FleetReport &r) {
    std::vector<NodeHotspot> spots;
    for (const FleetHotspot &h : r.node_hotspots) {
        NodeHotspot s;
        s.node_type = h.node_type;
        s.relation = h.relation;
        s.index = h.index;
        s.executions = h.executions;
        s.loops = h.loops;
        s.actual_rows = h.actual_rows;
        s.rows_removed_by_filter = h.rows_removed_by_filter;
        s.total_time_ms = h.total_time_ms;
        s.timed = h.timed;
        s.shared_blks_read = h.shared_blks_read;
        s.temp_blks_written = h.temp_blks_written;
        s.max_estimate_factor = h.max_estimate_factor;
        s.statements = h.statements;
        spots.push_back(std::move(s));
    }
    node_hotspots_json(w, spots, spots.size(), [](uint32_t statement) {
        return "s" + std::to_string(statement + 1);
    });
}

/* The parts of the report of files ClickHouse does not answer yet: the
 * page says so where it would draw them. */
const char *const kNotAvailable[] = {"inputs", "histogram", "plan_tree"};

double share(const FleetReport &r, double ns) {
    return r.total_ns > 0 ? ns / r.total_ns : 0.0;
}

/* The report's JSON field names, for the parts ClickHouse answers, and
 * what the page draws (docs/report-json.md). */
std::string render_json(const FleetReport &r, const std::string &where,
                        size_t top) {
    JsonWriter w;
    w.begin_object();
    w.field("schema_version", kReportSchemaVersion);
    w.field("generator",
            std::string("qprof report --clickhouse ") + kCollectorVersion);
    w.field("generated_unix_us", unix_now_us());
    w.field("source", "clickhouse");
    w.field("clickhouse", where);
    /* what the report of files has and ClickHouse does not answer yet */
    w.key("not_available").begin_array();
    for (const char *part : kNotAvailable)
        w.value(part);
    w.end_array();
    w.key("summary").begin_object();
    w.key("servers").begin_array();
    for (const FleetServer &s : r.servers) {
        w.begin_object();
        w.field("key", std::to_string(s.server_id));
        w.field("system_identifier", std::to_string(s.server_id));
        w.field("label", s.label);
        w.field("cluster_name", s.cluster_name);
        w.field("version", s.version);
        w.field("host", s.host);
        w.field("epochs", s.epochs);
        w.field("executions", s.samples);
        w.field("lost", s.lost);
        w.field("epoch_changes", s.epoch_changes);
        w.end_object();
    }
    w.end_array();
    w.field("executions", r.executions);
    w.field("calls", r.calls);
    w.field("db_time_ms", r.total_ns / 1e6);
    w.field("errors", r.errors);
    w.field("statements", r.statements_total);
    w.key("start_unix_us");
    r.executions ? w.value(r.first_unix_us) : w.null();
    w.key("end_unix_us");
    r.executions ? w.value(r.last_unix_us) : w.null();
    w.field("duration_s",
            r.executions
                ? static_cast<double>(r.last_unix_us - r.first_unix_us) / 1e6
                : 0.0);
    w.key("sampling").begin_object();
    w.field("sample_rate", r.max_weight > 0 ? 1 / r.max_weight : 1.0);
    w.field("scale", r.max_weight);
    w.field("scaled", r.max_weight > 1);
    w.end_object();
    uint64_t overwritten = 0, reset = 0, epoch_changed = 0, lost = 0,
             epoch_changes = 0;
    for (const FleetServer &s : r.servers) {
        overwritten += s.lost_overwritten;
        reset += s.lost_reset;
        epoch_changed += s.lost_epoch_changed;
        lost += s.lost;
        epoch_changes += s.epoch_changes;
    }
    w.key("losses").begin_object();
    w.field("overwritten", overwritten);
    w.field("reset", reset);
    w.field("epoch_changed", epoch_changed);
    w.field("unknown", lost - overwritten - reset - epoch_changed);
    w.field("epoch_changes", epoch_changes);
    w.end_object();
    w.field("kernel_executions", r.kernel_executions);
    auto of_executions = [&](uint64_t n) {
        return r.executions
                   ? static_cast<double>(n) / static_cast<double>(r.executions)
                   : 0.0;
    };
    w.key("kernel").begin_object();
    w.field("present", r.kernel_executions > 0);
    w.field("executions", r.kernel_executions);
    w.field("share", of_executions(r.kernel_executions));
    w.field("wait_executions", r.waits.executions);
    w.field("wait_share", of_executions(r.waits.executions));
    w.key("waits");
    waits_json(w, r.waits);
    w.end_object();
    w.key("node_actuals").begin_object();
    w.field("executions", r.actuals_executions);
    w.end_object();
    w.end_object();
    std::vector<size_t> first_key = first_plan_keys(r);
    w.key("statements").begin_array();
    double running = 0;
    for (uint32_t i = 0; i < r.statements.size(); ++i) {
        const FleetStatement &s = r.statements[i];
        w.begin_object();
        w.field("key", "s" + std::to_string(i + 1));
        /* the statements after the top are those other sections name */
        w.field("rank", i + 1);
        w.field("server", std::to_string(s.server_id));
        w.field("share", share(r, s.toplevel_ns));
        w.key("cumulative_share");
        if (i < r.top_statements) {
            running += s.toplevel_ns;
            w.value(share(r, running));
        } else {
            w.null();
        }
        w.field("system_identifier", std::to_string(s.server_id));
        w.field("queryid", std::to_string(s.queryid));
        w.field("dbid", s.dbid);
        w.field("database", s.database);
        w.field("text", s.text);
        w.field("cmd", s.cmd);
        w.field("executions", s.executions);
        w.field("calls", s.calls);
        w.field("errors", s.errors);
        w.field("total_ms", s.total_ns / 1e6);
        w.field("mean_ms", s.calls > 0 ? s.total_ns / s.calls / 1e6 : 0.0);
        w.field("p50_ms", s.p50_ns / 1e6);
        w.field("p95_ms", s.p95_ns / 1e6);
        w.field("p99_ms", s.p99_ns / 1e6);
        w.field("rows", s.rows);
        w.field("shared_blks_read", s.shared_blks_read);
        w.key("plans").begin_array();
        for (size_t p = 0; p < s.plans.size(); ++p) {
            const FleetPlan &plan = s.plans[p];
            w.begin_object();
            w.field("key", "p" + std::to_string(first_key[i] + p));
            w.field("planid", std::to_string(plan.planid));
            w.field("shape_id", std::to_string(plan.shape_id));
            w.field("text", plan.text);
            w.field("first_unix_us", plan.first_unix_us);
            w.field("last_unix_us", plan.last_unix_us);
            w.field("executions", plan.executions);
            w.field("calls", plan.calls);
            w.field("total_ms", plan.total_ns / 1e6);
            w.field("mean_ms",
                    plan.calls > 0 ? plan.total_ns / plan.calls / 1e6 : 0.0);
            w.end_object();
        }
        w.end_array();
        /* its routes (top-level executions), and its errors */
        w.key("routes").begin_array();
        for (const FleetStatementRoute &route : s.routes) {
            w.begin_object();
            w.field("name", route.name);
            w.field("calls", route.calls);
            w.field("total_ms", route.total_ns / 1e6);
            w.end_object();
        }
        w.end_array();
        w.key("errors_by_sqlstate").begin_array();
        for (const auto &e : s.errors_by_sqlstate) {
            w.begin_object();
            w.field("sqlstate", e.first);
            w.field("name", sqlstate_name(e.first));
            w.field("count", e.second);
            w.end_object();
        }
        w.end_array();
        kernel_json(w, s);
        w.end_object();
    }
    w.end_array();
    w.field("statements_total", r.statements_total);
    w.key("plan_changes").begin_array();
    for (const FleetPlanChange &pc : plan_changes(r)) {
        size_t first = first_key[pc.statement];
        w.begin_object();
        w.field("statement", "s" + std::to_string(pc.statement + 1));
        w.key("plans").begin_array();
        for (uint32_t p : pc.comparison.order)
            w.value("p" + std::to_string(first + p));
        w.end_array();
        w.field("slower_plan",
                "p" + std::to_string(first + pc.comparison.slower));
        w.field("faster_plan",
                "p" + std::to_string(first + pc.comparison.faster));
        w.field("extra_ms", pc.comparison.extra_ns / 1e6);
        w.field("changed_unix_us", pc.comparison.changed_unix_us);
        w.end_object();
    }
    w.end_array();
    w.key("attribution").begin_object();
    w.field("group_by", r.group_by);
    w.field("groups_total", r.groups_total);
    w.key("groups").begin_array();
    for (const FleetGroup &g : r.groups) {
        w.begin_object();
        w.field("name", g.name);
        w.field("calls", g.calls);
        w.field("total_ms", g.total_ns / 1e6);
        w.field("p95_ms", g.p95_ns / 1e6);
        w.field("errors", g.errors);
        kernel_json(w, g);
        w.end_object();
    }
    w.end_array();
    /* the report's layout of the attribution, which the page draws */
    w.key("dimensions").begin_array();
    w.begin_object();
    w.field("dimension", r.group_by);
    w.field("groups_total", r.groups_total);
    w.key("groups").begin_array();
    for (const FleetGroup &g : r.groups) {
        w.begin_object();
        w.field("name", g.name);
        w.field("tagged", g.name != "(none)");
        w.field("share", share(r, g.total_ns));
        w.field("executions", g.executions);
        w.field("calls", g.calls);
        w.field("errors", g.errors);
        w.field("total_ms", g.total_ns / 1e6);
        w.field("mean_ms", g.calls > 0 ? g.total_ns / g.calls / 1e6 : 0.0);
        w.field("p95_ms", g.p95_ns / 1e6);
        kernel_json(w, g);
        w.key("top_statements").begin_array();
        for (size_t k = 0; k < g.top_statements.size(); ++k) {
            double ns = g.top_statement_ns[k];
            w.begin_object();
            w.field("statement", "s" + std::to_string(g.top_statements[k] + 1));
            w.field("total_ms", ns / 1e6);
            w.field("share", g.total_ns > 0 ? ns / g.total_ns : 0.0);
            w.end_object();
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.end_object();
    w.end_array();
    w.end_object();
    requests_json(w, r);
    hotspots_json(w, r);
    InsightKeys keys;
    keys.statement = [](uint32_t s) { return "s" + std::to_string(s + 1); };
    keys.plan = [](uint32_t p) { return "p" + std::to_string(p + 1); };
    insights_json(w, fleet_insights(r), top, r.total_ns, keys);
    w.key("errors").begin_array();
    for (const FleetError &e : r.errors_by_sqlstate) {
        w.begin_object();
        w.field("sqlstate", e.sqlstate);
        w.field("name", sqlstate_name(e.sqlstate));
        w.field("class", sqlstate_class_name(e.sqlstate));
        w.field("timeout", sqlstate_is_timeout(e.sqlstate));
        w.field("cancel", sqlstate_is_cancel(e.sqlstate));
        w.field("count", e.count);
        /* the statement that failed most that way, when listed */
        w.key("statements").begin_array();
        for (uint32_t i = 0; i < r.statements.size(); ++i)
            if (r.statements[i].server_id == e.server_id &&
                r.statements[i].queryid == e.queryid) {
                w.begin_object();
                w.field("statement", "s" + std::to_string(i + 1));
                w.end_object();
                break;
            }
        w.end_array();
        w.field("executions", e.executions);
        w.field("top_system_identifier", std::to_string(e.server_id));
        w.field("top_queryid", std::to_string(e.queryid));
        w.end_object();
    }
    w.end_array();
    timeline_json(w, r);
    w.key("latency_buckets_ms").begin_array();
    for (double b : LatencyHistogram::coarse_bounds_ms())
        w.value(b);
    w.null().end_array();
    w.end_object();
    return w.str();
}

} // namespace

int report_from_clickhouse(const std::string &url, const std::string &database,
                           const FleetFilters &filters, bool json,
                           const std::string &html) {
    ClickHouseClient client(url, database);
    TimelineSpec spec = timeline_spec();
    FleetFilters asked = filters;
    asked.n_plus_one_min_executions = kNPlusOneMinExecutions;
    asked.error_rate_min_errors = kErrorRateMinErrors;
    asked.error_rate_min_share = kErrorRateMinShare;
    asked.routes_per_statement = kTopPerGroup;
    bool document = json || !html.empty();
    FleetReport report =
        query_fleet_report(client, asked, document ? &spec : nullptr);
    std::string out;
    if (document)
        out = render_json(report, client.where(), filters.top);
    if (!html.empty())
        write_report_file(html, render_html(out));
    out = json ? out + "\n"
               : FleetText(report, client.where(), filters.top).render();
    fwrite(out.data(), 1, out.size(), stdout);
    if (!html.empty() && !json)
        printf("\nHTML report: %s\n", html.c_str());
    fflush(stdout);
    return kExitOk;
}

} // namespace qprof
