/*
 * qprof report — capture files turned into answers, offline: where the
 * database time went and what to do first, for a terminal (100 columns),
 * as JSON (docs/report-json.md) or as one HTML page.
 */
#include "analysis.h"
#include "capture_format.h"
#include "capture_set.h"
#include "commands.h"
#include "errors.h"
#include "profile.h"
#include "report_json.h"
#include "report_selection.h"
#include "report_clickhouse.h"
#include "report_text.h"

#if __has_include("html_report.h")
#include "html_report.h"
#define QPROF_HAVE_HTML 1
#endif

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace qprof {

namespace {

const char *kReportUsage =
    "usage: qprof report CAPTURE... [--json] [--html FILE]\n"
    "                    [--since T] [--until T] [--route R] [--app A]\n"
    "                    [--db D] [--user OID] [--top N]\n"
    "                    [--group-by route|controller|app|user|db|tag:NAME]\n"
    "Reads capture files (files or folders; several servers and epochs may\n"
    "be mixed) and reports where the database time went and what to do\n"
    "first. Damaged files are reported and the rest is read.\n"
    "  --json        the report as JSON (docs/report-json.md) on stdout\n"
    "  --html FILE   also write the report as one self-contained HTML page\n"
    "  --since T, --until T   only executions that started in [since, until):\n"
    "                T is a UTC time (2026-12-07 08:00[:00], or with a T),\n"
    "                Unix seconds (@1796627936), or a duration before the\n"
    "                end of the capture (90s, 30m, 2h, 1d)\n"
    "  --route R, --app A     only executions tagged route R, of\n"
    "                application_name A\n"
    "  --db D        only database D (name or OID); --user OID only that role\n"
    "  --top N       rows per table (default 20)\n"
    "  --group-by G  the attribution the terminal shows (default route)\n"
    "       qprof report --clickhouse URL [--database DB] [--server S]...\n"
    "                    [--json] [--html FILE] [--since T] [--until T]\n"
    "                    [--route R] [--app A] [--db D] [--user OID]\n"
    "                    [--top N]\n"
    "                    [--group-by route|controller|app|user|db|tag:NAME]\n"
    "  --clickhouse URL  the report's main tables (summary, top statements,\n"
    "                routes, plan changes, N+1, errors by SQLSTATE, kernel\n"
    "                facts, where the time went, the insights of error\n"
    "                rates, N+1 and plan regressions; --html the page)\n"
    "                computed by ClickHouse over the samples `qprof export`\n"
    "                loaded (docs/clickhouse.md); a duration in --since is\n"
    "                before the newest sample there\n"
    "  --database DB default qprof\n"
    "  --server S    only the server with system identifier, label or\n"
    "                cluster_name S (repeatable)\n"
    "exit status: 0 ok, 1 usage, 2 ClickHouse refused or unreachable,\n"
    "             3 capture files unreadable, 4 no file could be read\n";

/* "30m" -> 1800e6 us; false when `text` is not a duration. */
bool parse_duration_us(const std::string &text, int64_t &us) {
    if (text.empty())
        return false;
    char *end = nullptr;
    errno = 0;
    double value = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || errno != 0 || value < 0)
        return false;
    std::string unit(end);
    double seconds;
    if (unit == "s")
        seconds = value;
    else if (unit == "m" || unit == "min")
        seconds = value * 60;
    else if (unit == "h")
        seconds = value * 3600;
    else if (unit == "d")
        seconds = value * 86400;
    else if (unit == "ms")
        seconds = value / 1000;
    else
        return false;
    us = static_cast<int64_t>(seconds * 1e6);
    return true;
}

/* "2026-12-07 08:00:00" (UTC), "2026-12-07T08:00Z", "@1796627936". */
bool parse_time_us(const std::string &text, int64_t &us) {
    if (!text.empty() && text[0] == '@') {
        char *end = nullptr;
        double seconds = std::strtod(text.c_str() + 1, &end);
        if (end == text.c_str() + 1 || *end != '\0')
            return false;
        us = static_cast<int64_t>(seconds * 1e6);
        return true;
    }
    struct tm tm;
    std::memset(&tm, 0, sizeof tm);
    std::string t = text;
    for (char &c : t)
        if (c == 'T')
            c = ' ';
    if (!t.empty() && t.back() == 'Z')
        t.pop_back();
    const char *rest = strptime(t.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
    if (rest == nullptr || *rest != '\0') {
        std::memset(&tm, 0, sizeof tm);
        rest = strptime(t.c_str(), "%Y-%m-%d %H:%M", &tm);
    }
    if (rest == nullptr || *rest != '\0') {
        std::memset(&tm, 0, sizeof tm);
        rest = strptime(t.c_str(), "%Y-%m-%d", &tm);
    }
    if (rest == nullptr || *rest != '\0')
        return false;
    us = static_cast<int64_t>(timegm(&tm)) * 1000000;
    return true;
}

struct TimeBound {
    bool given = false;
    bool relative = false;
    int64_t us = 0;
};

TimeBound parse_bound(const char *option, const std::string &text) {
    TimeBound b;
    b.given = true;
    if (parse_duration_us(text, b.us))
        b.relative = true;
    else if (!parse_time_us(text, b.us))
        throw UsageError(std::string(option) +
                         " takes a UTC time (2026-12-07 08:00:00), @UNIX "
                         "seconds or a duration (30m), not " +
                         text);
    return b;
}

} // namespace

void write_report_file(const std::string &path, const std::string &content) {
    FILE *f = fopen(path.c_str(), "w");
    if (f == nullptr)
        throw CaptureIoError(describe_errno("cannot write " + path, errno));
    size_t wrote = fwrite(content.data(), 1, content.size(), f);
    int close_status = fclose(f);
    if (wrote != content.size() || close_status != 0)
        throw CaptureIoError(describe_errno("cannot write " + path, errno));
}

int report_command(int argc, char **argv) {
    std::vector<std::string> paths;
    ProfileFilters filters;
    ReportOptions options;
    bool json = false;
    std::string html;
    TimeBound since, until;
    std::string clickhouse, database = "qprof";
    std::vector<std::string> servers;
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc)
                throw UsageError(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h") {
            fputs(kReportUsage, stdout);
            return kExitOk;
        } else if (arg == "--json") {
            json = true;
        } else if (arg == "--html") {
            html = next();
        } else if (arg == "--since") {
            since = parse_bound("--since", next());
        } else if (arg == "--until") {
            until = parse_bound("--until", next());
        } else if (arg == "--route") {
            filters.route = next();
        } else if (arg == "--app") {
            filters.app = next();
        } else if (arg == "--db") {
            filters.db = next();
        } else if (arg == "--user") {
            filters.user = next();
        } else if (arg == "--top") {
            std::string v = next();
            char *end = nullptr;
            long n = std::strtol(v.c_str(), &end, 10);
            if (end == v.c_str() || *end != '\0' || n < 1 || n > 100000)
                throw UsageError("--top takes a number from 1 to 100000");
            options.top = static_cast<size_t>(n);
        } else if (arg == "--group-by") {
            filters.group_by = next();
        } else if (arg == "--clickhouse") {
            clickhouse = next();
        } else if (arg == "--database") {
            database = next();
        } else if (arg == "--server") {
            servers.push_back(next());
        } else if (arg.size() > 1 && arg[0] == '-') {
            throw UsageError("unknown option " + arg);
        } else {
            paths.push_back(arg);
        }
    }
    if (!clickhouse.empty()) {
        if (!paths.empty())
            throw UsageError("--clickhouse reads no capture file");
        FleetFilters fleet;
        fleet.servers = servers;
        fleet.has_since = since.given;
        fleet.since_relative = since.relative;
        fleet.since_unix_us = since.us;
        fleet.has_until = until.given;
        fleet.until_relative = until.relative;
        fleet.until_unix_us = until.us;
        fleet.route = filters.route;
        fleet.app = filters.app;
        fleet.db = filters.db;
        if (!filters.user.empty()) {
            char *end = nullptr;
            unsigned long oid = std::strtoul(filters.user.c_str(), &end, 10);
            if (*end != '\0' || oid > UINT32_MAX)
                throw UsageError("--user takes a role's OID, not " +
                                 filters.user);
            fleet.has_user = true;
            fleet.user = static_cast<uint32_t>(oid);
        }
        fleet.top = options.top;
        fleet.group_by = filters.group_by;
        return report_from_clickhouse(clickhouse, database, fleet, json, html);
    }
    if (!servers.empty() || database != "qprof")
        throw UsageError("--server and --database go with --clickhouse");
    if (paths.empty())
        throw UsageError("report needs a capture file or folder");
#ifndef QPROF_HAVE_HTML
    if (!html.empty())
        throw UsageError("--html: this qprof was built without the HTML "
                         "renderer (collector/analysis/html_report.cpp); use "
                         "--json");
#endif

    CaptureSet set(paths);
    if (since.relative || until.relative) {
        int64_t end = set.last_sample_end_unix_us();
        if (since.relative)
            since.us = end - since.us;
        if (until.relative)
            until.us = end - until.us;
    }
    filters.has_since = since.given;
    filters.since_unix_us = since.us;
    filters.has_until = until.given;
    filters.until_unix_us = until.us;

    Profile profile = build_profile(set, filters);
    bool any_read = false;
    for (const CaptureFileStatus &f : set.files())
        if (f.status != CaptureFileStatus::Status::Unreadable &&
            f.status != CaptureFileStatus::Status::Duplicate)
            any_read = true;

    Analysis analysis(set, profile);
    analyze(analysis);
    options.generated_unix_us = unix_now_us();
    ReportSelection selection = select_for_report(analysis, options);

    std::string document;
    if (json || !html.empty())
        document = render_report_json(analysis, selection, options);
#ifdef QPROF_HAVE_HTML
    if (!html.empty())
        write_report_file(html, render_html(document));
#endif
    std::string out = json ? document + "\n"
                           : render_report_text(analysis, selection, options);
    fwrite(out.data(), 1, out.size(), stdout);
    if (!html.empty() && !json)
        printf("\nHTML report: %s\n", html.c_str());
    fflush(stdout);
    if (!any_read) {
        fprintf(stderr, "qprof report: no capture file could be read\n");
        return kExitDamaged;
    }
    return kExitOk;
}

} // namespace qprof
