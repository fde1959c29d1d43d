/*
 * report_lines.h — what the terminal reports share, the report of files
 * (report_text.cpp) and the report from ClickHouse
 * (commands/fleet_text.cpp): lines cut to the report's width,
 * headings, shares and times, and the kernel facts' table row.
 */
#pragma once

#include "analysis.h"
#include "wait_breakdown.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace qprof {

constexpr size_t kReportWidth = 100;

/* "12.3%", "100%" */
std::string report_percent(double share);
/* Wraps `text`: the first line at most `first_width` columns, the others
 * indented by `indent` and at most kReportWidth in all. */
std::string report_wrap(const std::string &text, size_t first_width,
                        size_t indent);
/* "2026-12-07 13:40:23" (UTC) */
std::string report_utc(int64_t unix_us);

/* A statement whose plans changed, as the terminal shows it. */
struct PlanChangeText {
    struct Side {
        std::string key;
        double mean_ns, calls;
        const std::string &text; /* the plan's EXPLAIN text */
    };
    const std::string &statement_key, &statement_text;
    size_t plans;
    Side faster, slower;
    double extra_ns;
};

/* The requests of the N+1 section's first line. */
struct RequestsText {
    const std::string &tag; /* traceparent or request_id */
    uint64_t requests, statements, max_statements;
};

/* A statement run many times within single requests, as the terminal
 * shows it. */
struct NPlusOneText {
    const std::string &statement_key, &route; /* route: empty for none */
    double total_ns;
    uint64_t max_per_request, requests;
    const std::string &example_request;
};

/* A row of "Where the time went": a statement's or a group's waits, over
 * its `executions` (those with wait facts are waits->executions). */
struct WaitsRowText {
    std::string key;
    const WaitTotals *waits;
    uint64_t executions;
    std::string name; /* a group's, printed under its table */
};

/* The section "Where the time went": the top-level executions' waits, the
 * statements' (at most 10, those with waits) and the groups' of the
 * report's attribution. */
struct WaitsSectionText {
    const WaitTotals &total;
    uint64_t total_executions;
    std::vector<WaitsRowText> statements;
    std::string dimension; /* route, controller, ... */
    std::vector<WaitsRowText> groups;
};

/* A report's text, a line at a time. */
/* The insights section: the first `top` (at most 10) of `insights`, their
 * shares of `total_ns`; statement_line tells an insight's statement ("s1
 * SELECT ...: 12 calls, 3.4 ms each"). */
struct InsightsSectionText {
    const std::vector<Insight> *insights;
    size_t top;
    double total_ns;
    std::function<std::string(uint32_t)> statement_line;
};

class ReportLines {
  protected:
    /* `text` on one line, cut to kReportWidth */
    void line(const std::string &text);
    /* an empty line, `text` and a rule under it */
    void heading(const std::string &text);
    /* a plan change: its line, the statement's text, and the first
     * lines of the faster and the slower plan */
    void plan_change(const PlanChangeText &change);
    /* the N+1 section's heading and its line of requests */
    void requests_heading(const RequestsText &requests);
    /* an N+1 statement's two lines */
    void n_plus_one(const NPlusOneText &n);
    /* where the time went */
    void waits_section(const WaitsSectionText &section);
    /* what to do first */
    void insights_section(const InsightsSectionText &section);
    /* a ranking other than by total time under the top statements: its
     * title and the keys of its first 8 statements; nothing without any */
    void ranking(const char *title, const std::vector<std::string> &keys);
    static std::string printf_line(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));

    std::string out_;
};

/* The kernel facts' table: the columns after the name's, and a row (the
 * name in 14 columns, then on CPU, I/O wait, other wait, storage reads,
 * block bytes and what dominates). */
extern const char *const kKernelColumns;
std::string kernel_row(const std::string &name, double oncpu_ns,
                       double io_wait_ns, double other_wait_ns,
                       double page_cache_misses, double block_bytes);

} // namespace qprof
