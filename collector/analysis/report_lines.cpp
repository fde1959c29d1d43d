#include "report_lines.h"
#include "analysis.h"
#include "one_line.h"
#include "wait_events.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace qprof {

/* Wraps `text`: the first line at most `first_width` columns, the others
 * indented by `indent` and at most kReportWidth in all. */
std::string report_wrap(const std::string &text, size_t first_width,
                        size_t indent) {
    std::string out, line, word;
    size_t width = first_width;
    auto flush_word = [&]() {
        if (word.empty())
            return;
        if (!line.empty() && line.size() + 1 + word.size() > width) {
            out += line + "\n" + std::string(indent, ' ');
            line.clear();
            width = kReportWidth - indent;
        }
        while (word.size() > width) {
            out += word.substr(0, width) + "\n" + std::string(indent, ' ');
            word = word.substr(width);
            width = kReportWidth - indent;
        }
        line += (line.empty() ? "" : " ") + word;
        word.clear();
    };
    for (char c : text) {
        if (c == ' ' || c == '\n' || c == '\t')
            flush_word();
        else
            word += c;
    }
    flush_word();
    return out + line;
}

std::string report_percent(double share) {
    char buf[16];
    snprintf(buf, sizeof buf, share >= 0.995 ? "%.0f%%" : "%.1f%%",
             share * 100);
    return buf;
}

std::string report_utc(int64_t unix_us) {
    time_t t = static_cast<time_t>(unix_us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

void ReportLines::line(const std::string &text) {
    out_ += text.size() > kReportWidth ? one_line(text, kReportWidth) : text;
    out_ += '\n';
}

void ReportLines::heading(const std::string &text) {
    out_ += '\n';
    line(text);
    line(std::string(std::min(text.size(), kReportWidth), '-'));
}

std::string ReportLines::printf_line(const char *fmt, ...) {
    char buf[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(buf, sizeof buf, fmt, args);
    va_end(args);
    return buf;
}

void ReportLines::plan_change(const PlanChangeText &c) {
    line(c.statement_key + ": " + std::to_string(c.plans) + " plans; " +
         c.faster.key + " mean " + human_ms(c.faster.mean_ns / 1e6) + " (" +
         human_count(c.faster.calls) + " calls), " + c.slower.key + " mean " +
         human_ms(c.slower.mean_ns / 1e6) + " (" + human_count(c.slower.calls) +
         " calls), slower plan cost " + human_ms(c.extra_ns / 1e6) + " more");
    line("    " + one_line(c.statement_text, kReportWidth - 4));
    for (const PlanChangeText::Side *plan : {&c.faster, &c.slower}) {
        line("    " + plan->key +
             (plan == &c.slower ? " (slower):" : " (faster):"));
        const std::string &text = plan->text;
        size_t start = 0, lines = 0;
        while (start < text.size() && lines < 8) {
            size_t end = text.find('\n', start);
            if (end == std::string::npos)
                end = text.size();
            std::string l = text.substr(start, end - start);
            if (l.find("Output:") == std::string::npos) {
                line("      " + one_line(l, kReportWidth - 6));
                ++lines;
            }
            start = end + 1;
        }
    }
}

void ReportLines::requests_heading(const RequestsText &r) {
    heading("Executions per request (" + r.tag + "): N+1");
    line("  " + human_count(static_cast<double>(r.requests)) + " requests, " +
         (r.requests ? human_count(static_cast<double>(r.statements) /
                                   static_cast<double>(r.requests))
                     : std::string("0")) +
         " statements each on average, " +
         human_count(static_cast<double>(r.max_statements)) + " at most");
}

void ReportLines::n_plus_one(const NPlusOneText &n) {
    line(
        printf_line("  %-5s %9s  up to %s per request in %s requests, "
                    "route %s",
                    n.statement_key.c_str(), human_ms(n.total_ns / 1e6).c_str(),
                    human_count(static_cast<double>(n.max_per_request)).c_str(),
                    human_count(static_cast<double>(n.requests)).c_str(),
                    n.route.empty() ? "(none)" : n.route.c_str()));
    line("        e.g. request " + n.example_request);
}

namespace {

/* One row of "where the time went": shares of the elapsed time of the
 * executions with wait facts, and the largest wait event. */
std::string waits_row(const std::string &name, const WaitTotals &t,
                      uint64_t executions) {
    auto part = [&](double ns) {
        return t.elapsed_ns > 0 ? report_percent(ns / t.elapsed_ns)
                                : std::string("-");
    };
    /* sampled waits (no BPF) know the classes only */
    auto kernel_part = [&](double ns) {
        return t.sampled_only() ? std::string("-") : part(ns);
    };
    namespace pb = capture::v1;
    double lock = t.class_time(pb::WAIT_CLASS_LOCK);
    double lwlock = t.class_time(pb::WAIT_CLASS_LWLOCK);
    double io = t.class_time(pb::WAIT_CLASS_IO);
    double other = t.classes_ns() - lock - lwlock - io;
    std::string largest;
    std::vector<WaitEventSum> events = t.events_by_time();
    if (!events.empty() && events[0].ns > 0)
        largest = wait_event_name(events[0].event) + " " +
                  human_ms(events[0].ns / 1e6) + " x" +
                  human_count(events[0].count);
    char buf[256];
    snprintf(buf, sizeof buf, "%-5s %8s %5s %5s %5s %5s %5s %6s %5s %5s  ",
             one_line(name, 5).c_str(), human_ms(t.elapsed_ns / 1e6).c_str(),
             report_percent(executions ? static_cast<double>(t.executions) /
                                             static_cast<double>(executions)
                                       : 0)
                 .c_str(),
             kernel_part(t.oncpu_ns).c_str(),
             kernel_part(t.runqueue_ns).c_str(), part(io).c_str(),
             part(lock).c_str(), part(lwlock).c_str(), part(other).c_str(),
             kernel_part(t.no_event_ns()).c_str());
    std::string row = buf;
    return row + one_line(largest, kReportWidth - row.size());
}

} // namespace

void ReportLines::waits_section(const WaitsSectionText &s) {
    const WaitTotals &total = s.total;
    if (total.sampled_only())
        heading("Where the time went (wait event classes " +
                total.sampled_resolution() + "; no BPF)");
    else
        heading("Where the time went (kernel facts: CPU, run queue, wait "
                "events)");
    if (total.sampled_executions > 0 && !total.sampled_only())
        line("Of the executions with wait facts, " +
             human_count(static_cast<double>(total.sampled_executions)) +
             " have only waits " + total.sampled_resolution() +
             " by the extension (no BPF).");
    line("Shares of the elapsed time of the executions with wait facts "
         "(\"facts\": their share):");
    line("on the CPU, waiting for one (runq), off it by PostgreSQL wait "
         "event class, or with no");
    line("wait event (noevt). IO is the IO class (DataFileRead, WALSync"
         "...), not the kernel's I/O wait.");
    const char *columns = "  elapsed facts   CPU  runq    IO  Lock "
                          "LWLock other noevt  largest wait event";
    line(std::string("key  ") + columns);
    line(waits_row("all", total, s.total_executions));
    for (const WaitsRowText &r : s.statements)
        line(waits_row(r.key, *r.waits, r.executions));
    if (s.groups.empty())
        return;
    line("");
    line(printf_line("%-5s", s.dimension.substr(0, 5).c_str()) + columns);
    for (const WaitsRowText &r : s.groups)
        line(waits_row(r.key, *r.waits, r.executions));
    for (const WaitsRowText &r : s.groups)
        line("  " + r.key + " " + one_line(r.name, kReportWidth - 6));
}

const char *const kKernelColumns = "                  on CPU  I/O wait other "
                                   "wait storage rd  blk bytes  mostly";

namespace {

/* "I/O" or "wait" when it has half of the kernel's time, else "" */
const char *dominated_by(double oncpu_ns, double io_wait_ns,
                         double other_wait_ns) {
    double all = oncpu_ns + io_wait_ns + other_wait_ns;
    if (all <= 0)
        return "";
    if (io_wait_ns >= 0.5 * all)
        return "I/O";
    if (other_wait_ns >= 0.5 * all)
        return "wait";
    return "";
}

} // namespace

std::string kernel_row(const std::string &name, double oncpu_ns,
                       double io_wait_ns, double other_wait_ns,
                       double page_cache_misses, double block_bytes) {
    char buf[256];
    snprintf(buf, sizeof buf, "%-14s %9s %9s %10s %10s %9s %5s  ",
             one_line(name, 14).c_str(), human_ms(oncpu_ns / 1e6).c_str(),
             human_ms(io_wait_ns / 1e6).c_str(),
             human_ms(other_wait_ns / 1e6).c_str(),
             human_count(page_cache_misses).c_str(),
             human_bytes(block_bytes).c_str(),
             dominated_by(oncpu_ns, io_wait_ns, other_wait_ns));
    return buf;
}

void ReportLines::insights_section(const InsightsSectionText &section) {
    heading("What to do first (insights, by the database time each explains)");
    const std::vector<Insight> &insights = *section.insights;
    if (insights.empty()) {
        line("  nothing stands out");
        return;
    }
    size_t shown =
        std::min<size_t>(insights.size(), std::min<size_t>(section.top, 10));
    for (size_t i = 0; i < shown; ++i) {
        const Insight &in = insights[i];
        double share =
            section.total_ns > 0 ? in.db_time_ns / section.total_ns : 0;
        std::string head = printf_line("%zu. [%s, %s] ", i + 1, in.kind.c_str(),
                                       report_percent(share).c_str());
        std::string pad = i + 1 < 10 ? " " : "";
        out_ += pad +
                report_wrap(head + in.title, kReportWidth - pad.size(), 6) +
                "\n";
        std::string where;
        if (in.statement >= 0)
            where = section.statement_line(static_cast<uint32_t>(in.statement));
        if (!in.route.empty())
            where +=
                (where.empty() ? "" : "; ") + std::string("route ") + in.route;
        if (!where.empty())
            out_ += "      " + report_wrap(where, kReportWidth - 6, 8) + "\n";
        /* evidence[0] is the statement, told on the line above */
        for (size_t e = 1; e < in.evidence.size() && e < 4; ++e)
            out_ += "      " +
                    report_wrap(in.evidence[e], kReportWidth - 6, 8) + "\n";
        out_ +=
            "      -> " + report_wrap(in.action, kReportWidth - 9, 9) + "\n";
        if (!in.sql.empty())
            out_ +=
                "         " + report_wrap(in.sql, kReportWidth - 9, 9) + "\n";
    }
    if (insights.size() > shown)
        line("  ... " + std::to_string(insights.size() - shown) +
             " more in --json");
}

void ReportLines::ranking(const char *title,
                          const std::vector<std::string> &keys) {
    if (keys.empty())
        return;
    std::string shown;
    for (size_t i = 0; i < keys.size() && i < 8; ++i)
        shown += " " + keys[i];
    line(printf_line("  by %-24s", title) + shown);
}

} // namespace qprof
