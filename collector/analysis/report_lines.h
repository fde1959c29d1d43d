/*
 * report_lines.h — what the terminal reports share, the report of files
 * (report_text.cpp) and the report from ClickHouse
 * (commands/report_clickhouse.cpp): lines cut to the report's width,
 * headings, shares and times, and the kernel facts' table row.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace qprof {

constexpr size_t kReportWidth = 100;

/* "12.3%", "100%" */
std::string report_percent(double share);
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

/* A report's text, a line at a time. */
class ReportLines {
  protected:
    /* `text` on one line, cut to kReportWidth */
    void line(const std::string &text);
    /* an empty line, `text` and a rule under it */
    void heading(const std::string &text);
    /* a plan change: its line, the statement's text, and the first
     * lines of the faster and the slower plan */
    void plan_change(const PlanChangeText &change);
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
