/*
 * diff_text.cpp — qprof diff for a terminal, within 100 columns: what
 * regressed first, with its route and plan change, then the rest.
 */
#include "diff.h"
#include "analysis.h"
#include "report_lines.h"
#include "utf8_text.h"
#include "wait_events.h"

#include <cmath>
#include <cstdio>

namespace qprof {

namespace {

constexpr size_t kWidth = 100;

std::string ms(double v) {
    if (v >= 10000)
        return format_number("%.1f s", v / 1000);
    if (v >= 100)
        return format_number("%.0f ms", v);
    if (v >= 1)
        return format_number("%.1f ms", v);
    return format_number("%.3f ms", v);
}

std::string p_value(double p) {
    if (p < 1e-6)
        return "<1e-6";
    return format_number(p < 0.001 ? "%.0e" : "%.3f", p);
}

std::string change(double median_ratio) {
    if (median_ratio <= 0)
        return "";
    double pct = (median_ratio - 1) * 100;
    if (std::fabs(pct) >= 10000)
        return format_number("x%.0f", median_ratio);
    return format_number("%+.0f%%", pct);
}

const char *work_name(const std::string &measure) {
    if (measure == "rows_per_call")
        return "rows";
    if (measure == "shared_blks_accessed_per_call")
        return "shared blocks accessed";
    if (measure == "shared_blks_read_per_call")
        return "shared blocks read";
    if (measure == "io_wait_ms_per_call")
        return "I/O wait (ms)";
    return "errors";
}

bool any_significant(const std::vector<WorkChange> &changes) {
    for (const WorkChange &c : changes)
        if (c.significant)
            return true;
    return false;
}

/* Rows whose details are worth their lines. */
bool worth_details(const DiffRow &r) {
    return r.verdict != DiffVerdict::Unchanged || r.raw_verdict != r.verdict ||
           r.within_drift || any_significant(r.work) ||
           any_significant(r.waits.parts);
}

/* `text` on one line of at most `width` bytes: line breaks and tabs made
 * spaces (the columns of the table are spaces, kept), cut with "..." when
 * longer, never inside a UTF-8 character. */
std::string one_line(const std::string &text, size_t width) {
    std::string out;
    for (char c : text)
        out += (c == '\n' || c == '\t' || c == '\r') ? ' ' : c;
    if (out.size() > width)
        out = out.substr(0, utf8_prefix_length(out, width - 3)) + "...";
    return out;
}

/* A time as the report writes it, "-" when unknown. */
std::string utc(int64_t unix_us) {
    return unix_us == 0 ? "-" : report_utc(unix_us);
}

void line(std::string &out, const std::string &text) {
    out += one_line(text, kWidth);
    out += '\n';
}

/* Items joined by two spaces into lines of the terminal's width, the
 * first after `lead`, the others indented as deep. */
void wrapped(std::string &out, const std::string &lead,
             const std::vector<std::string> &items) {
    std::string current = lead;
    bool empty = true;
    for (const std::string &item : items) {
        if (!empty && current.size() + 2 + item.size() > kWidth) {
            line(out, current);
            current = std::string(lead.size(), ' ');
            empty = true;
        }
        current += (empty ? "" : "  ") + item;
        empty = false;
    }
    if (!empty)
        line(out, current);
}

/* The latency the verdict is over: less the run queue where known. */
std::string head(const DiffRow &r) {
    char buf[160];
    bool per_request = r.unit == DiffUnit::Request;
    const LoadIndependentLatency &li = r.less_runqueue;
    std::string before =
        li.present ? ms(li.p50_base_ms)
        : r.base.present
            ? ms(per_request ? r.base.request_p50_ms : r.base.p50_ms)
            : "-";
    std::string after =
        li.present ? ms(li.p50_new_ms)
        : r.fresh.present
            ? ms(per_request ? r.fresh.request_p50_ms : r.fresh.p50_ms)
            : "-";
    const RankTest &test = li.present ? li.test : r.test;
    snprintf(buf, sizeof buf, "%-10s %10s %10s %8s %7s %6llu/%-6llu %5.1f%%  ",
             verdict_name(r.verdict), before.c_str(), after.c_str(),
             change(li.present ? li.median_ratio : r.median_ratio).c_str(),
             r.base.present && r.fresh.present ? p_value(test.p_value).c_str()
                                               : "",
             static_cast<unsigned long long>(test.n_base),
             static_cast<unsigned long long>(test.n_new),
             100 * std::max(r.base.share, r.fresh.share));
    std::string s = buf;
    std::string name = r.name;
    if (li.present)
        name = "~ " + name;
    if (r.kind == "route" && !per_request)
        name = "* " + name;
    return s + one_line(name, kWidth > s.size() ? kWidth - s.size() : 10);
}

/* A row judged without its run-queue time: the raw latency, kept. */
void raw_latency(std::string &out, const DiffRow &r) {
    bool per_request = r.unit == DiffUnit::Request;
    char buf[200];
    snprintf(buf, sizeof buf,
             "    with run-queue time: p50 %s -> %s %s (p %s), %s on it",
             ms(per_request ? r.base.request_p50_ms : r.base.p50_ms).c_str(),
             ms(per_request ? r.fresh.request_p50_ms : r.fresh.p50_ms).c_str(),
             change(r.median_ratio).c_str(), p_value(r.test.p_value).c_str(),
             verdict_name(r.raw_verdict));
    line(out, buf);
}

/* A change the executions' test found and the batches did not: the
 * captures' own drift, with the batches' figures. */
void drift(std::string &out, const DiffRow &r) {
    const BatchTest &b =
        r.less_runqueue.present ? r.less_runqueue.batches : r.batches;
    const char *unit = r.unit == DiffUnit::Request ? "requests" : "executions";
    char buf[200];
    snprintf(buf, sizeof buf,
             "    within the captures' own drift: %zu/%zu batches of %llu/%llu "
             "%s, %s (t %.1f, p %s)",
             b.batches_base, b.batches_new,
             static_cast<unsigned long long>(b.batch_size_base),
             static_cast<unsigned long long>(b.batch_size_new), unit,
             change(b.ratio).c_str(), b.t, p_value(b.p_value).c_str());
    line(out, buf);
}

/* Where the time of a call went on each side, what changed and what grew
 * (with the wait split on both sides). */
void wait_details(std::string &out, const DiffRow &r) {
    const WaitComparison &w = r.waits;
    std::vector<std::string> items;
    for (size_t i = 0; i < w.parts.size(); ++i) {
        const WorkChange &c = w.parts[i];
        if (c.base < 0.0005 && c.fresh < 0.0005)
            continue; /* a part neither side has */
        items.push_back(std::string(wait_part_label(static_cast<WaitPart>(i))) +
                        " " + format_number("%.3g", c.base) + " -> " +
                        format_number("%.3g", c.fresh));
    }
    wrapped(out, "    time a call (ms): ", items);
    for (size_t i = 0; i < w.parts.size(); ++i) {
        const WorkChange &c = w.parts[i];
        if (!c.significant)
            continue;
        char buf[200];
        snprintf(buf, sizeof buf,
                 "    wait changed: %s %.3f -> %.3f ms a call (p %s)",
                 wait_part_label(static_cast<WaitPart>(i)), c.base, c.fresh,
                 p_value(c.p_value).c_str());
        line(out, buf);
    }
    if (!w.grew || w.change_ms <= 0)
        return;
    std::string what =
        w.grew_event != 0
            ? ms(w.grew_event_ms) + " " + wait_event_name(w.grew_event)
            : ms(w.grew_ms) + " " + wait_part_label(w.grew_part);
    line(out, "    +" + ms(w.change_ms) + " a call, of which " + what);
}

void details(std::string &out, const DiffRow &r) {
    const DiffSide &b = r.base, &n = r.fresh;
    if (r.name.size() > 27)
        line(out, "    " + r.name);
    if (r.kind == "statement" && !r.route.empty())
        line(out,
             "    route " + r.route + "   key " + r.key +
                 (r.matched_by.empty() ? "" : " (by " + r.matched_by + ")"));
    char buf[200];
    snprintf(buf, sizeof buf, "    %smean %s -> %s  p95 %s -> %s  p99 %s -> %s",
             r.kind == "route" ? "per execution: " : "", ms(b.mean_ms).c_str(),
             ms(n.mean_ms).c_str(), ms(b.p95_ms).c_str(), ms(n.p95_ms).c_str(),
             ms(b.p99_ms).c_str(), ms(n.p99_ms).c_str());
    line(out, buf);
    snprintf(buf, sizeof buf,
             "    calls %.0f -> %.0f  total %s -> %s  rows/call %.1f -> %.1f  "
             "errors %.1f%% -> %.1f%%",
             b.calls, n.calls, ms(b.total_ms).c_str(), ms(n.total_ms).c_str(),
             b.rows_per_call, n.rows_per_call, 100 * b.error_rate,
             100 * n.error_rate);
    line(out, buf);
    snprintf(buf, sizeof buf,
             "    per call: blks read %.1f -> %.1f  hit %.1f -> %.1f  "
             "io wait %s -> %s",
             b.blks_read_per_call, n.blks_read_per_call, b.blks_hit_per_call,
             n.blks_hit_per_call, ms(b.io_wait_ms_per_call).c_str(),
             ms(n.io_wait_ms_per_call).c_str());
    line(out, buf);
    if (r.kind == "route" && (b.requests > 0 || n.requests > 0)) {
        snprintf(buf, sizeof buf,
                 "    per request: mean %s -> %s  p95 %s -> %s  p99 %s -> %s",
                 ms(b.ms_per_request).c_str(), ms(n.ms_per_request).c_str(),
                 ms(b.request_p95_ms).c_str(), ms(n.request_p95_ms).c_str(),
                 ms(b.request_p99_ms).c_str(), ms(n.request_p99_ms).c_str());
        line(out, buf);
        snprintf(buf, sizeof buf,
                 "    requests %llu -> %llu  executions a request %.2f -> "
                 "%.2f",
                 static_cast<unsigned long long>(b.requests),
                 static_cast<unsigned long long>(n.requests),
                 b.calls_per_request, n.calls_per_request);
        line(out, buf);
    } else if (b.calls_per_request > 0 || n.calls_per_request > 0) {
        snprintf(buf, sizeof buf,
                 "    per request: calls %.2f -> %.2f  time %s -> %s",
                 b.calls_per_request, n.calls_per_request,
                 ms(b.ms_per_request).c_str(), ms(n.ms_per_request).c_str());
        line(out, buf);
    }
    if (r.within_drift)
        drift(out, r);
    if (r.less_runqueue.present)
        raw_latency(out, r);
    if (r.waits.present)
        wait_details(out, r);
    for (const WorkChange &c : r.work) {
        if (!c.significant)
            continue;
        bool rate = c.measure == "error_rate";
        snprintf(buf, sizeof buf,
                 rate ? "    work changed: %s %.1f%% -> %.1f%% (p %s)"
                      : "    work changed: %s %.1f -> %.1f a call (p %s)",
                 work_name(c.measure), rate ? 100 * c.base : c.base,
                 rate ? 100 * c.fresh : c.fresh, p_value(c.p_value).c_str());
        line(out, buf);
    }
    if (r.plan_changed) {
        snprintf(buf, sizeof buf, "    plan changed: cost %.2f -> %.2f",
                 r.plan_base.cost, r.plan_new.cost);
        line(out, buf);
        auto plan_lines = [&](const char *label, const std::string &text) {
            size_t start = 0, shown = 0;
            while (start < text.size() && shown < 4) {
                size_t end = text.find('\n', start);
                if (end == std::string::npos)
                    end = text.size();
                line(out, std::string(shown ? "            " : label) +
                              text.substr(start, end - start));
                start = end + 1;
                ++shown;
            }
        };
        plan_lines("    before: ", r.plan_base.text);
        plan_lines("    after:  ", r.plan_new.text);
    }
}

void table(std::string &out, const char *title, const char *units,
           const std::vector<DiffRow> &rows, size_t top) {
    out += "\n";
    line(out, title);
    line(out,
         std::string("verdict        p50 base    p50 new   change       p  ") +
             units + "  share  name");
    size_t shown = 0;
    for (const DiffRow &r : rows) {
        if (shown++ >= top)
            break;
        line(out, head(r));
        if (worth_details(r))
            details(out, r);
    }
    if (rows.size() > top)
        line(out, "    (" + std::to_string(rows.size() - top) +
                      " more; --top N or --json)");
}

std::string input_line(const char *name, const DiffInput &in) {
    char buf[200];
    snprintf(buf, sizeof buf, "%s %llu executions, %s database time, %s .. %s",
             name, static_cast<unsigned long long>(in.executions),
             ms(in.total_ms).c_str(), utc(in.first_unix_us).c_str(),
             utc(in.last_unix_us).c_str());
    std::string s = buf;
    if (in.requests)
        s += ", " + std::to_string(in.requests) + " requests";
    return s;
}

} // namespace

std::string render_diff_text(const DiffResult &d) {
    std::string out;
    line(out, "qprof diff");
    line(out, input_line("BASE", d.base));
    line(out, input_line("NEW ", d.fresh));
    line(out, d.same_server ? "same server: statements matched by queryid"
                            : "different servers: statements matched by "
                              "normalized text and plan shape");
    for (const auto &n : d.base.notices)
        line(out, "BASE notice: " + n);
    for (const auto &n : d.fresh.notices)
        line(out, "NEW notice: " + n);
    char buf[200];
    snprintf(buf, sizeof buf,
             "significant: Mann-Whitney U p < %g, median changed by more "
             "than %g%% and %g ms",
             d.options.alpha,
             d.options.fail_on
                 ? std::min(d.options.fail_on_pct, d.options.min_change_pct)
                 : d.options.min_change_pct,
             d.options.min_delta_ms);
    line(out, buf);
    snprintf(buf, sizeof buf,
             "  and beyond each capture's own drift: batches of consecutive "
             "executions, Welch t p < %g",
             d.options.alpha);
    line(out, buf);
    if (d.within_drift_rows > 0) {
        snprintf(buf, sizeof buf,
                 "  %zu row(s) whose executions' test alone found a change "
                 "are within that drift: unchanged",
                 d.within_drift_rows);
        line(out, buf);
    }
    if (d.load_independent_rows > 0) {
        snprintf(buf, sizeof buf,
                 "~ judged on the latency less its run-queue time (the "
                 "machine's load): %zu row(s),",
                 d.load_independent_rows);
        line(out, buf);
        snprintf(buf, sizeof buf,
                 "  both captures with the wait split (BPF); %zu verdict(s) "
                 "differ from the raw latency's",
                 d.load_changed_verdicts);
        line(out, buf);
    }
    table(out, "Statements (per execution)", "executions", d.statements,
          d.options.top);
    table(out,
          "Routes (per request of the route: its statements' time in one "
          "request; * per execution)",
          "  requests", d.routes, d.options.top);
    out += "\n";
    if (d.options.fail_on) {
        size_t failing = 0;
        for (const auto *rows : {&d.statements, &d.routes})
            for (const DiffRow &r : *rows)
                failing += r.fails;
        snprintf(buf, sizeof buf, "--fail-on %g%% (min share %g%%): %s",
                 d.options.fail_on_pct, d.options.min_share_pct,
                 d.failed ? "FAILED" : "passed");
        std::string s = buf;
        if (d.failed)
            s += ", " + std::to_string(failing) +
                 " statement(s)/route(s) regressed significantly";
        if (d.load_independent_rows > 0)
            s += " (~: less run-queue time)";
        line(out, s);
    }
    return out;
}

} // namespace qprof
