/*
 * report_json.cpp — the report's JSON document in its order, with its
 * filters and inputs; the other sections are written by the files named in
 * report_json_document.h. docs/report-json.md.
 */
#include "report_json.h"
#include "report_json_document.h"

namespace qprof {

std::string JsonReport::render() {
    w_.begin_object();
    w_.field("schema_version", kReportSchemaVersion);
    w_.field("generator", std::string("qprof report ") + kCollectorVersion);
    w_.field("generated_unix_us", o_.generated_unix_us);
    filters();
    inputs();
    summary();
    insights();
    statements();
    w_.field("statements_total", static_cast<uint64_t>(p_.statements.size()));
    statement_index();
    rankings();
    plans();
    plan_changes();
    hotspots();
    attribution();
    requests();
    errors();
    timeseries();
    heatmap();
    w_.key("latency_buckets_ms").begin_array();
    for (double b : LatencyHistogram::coarse_bounds_ms())
        w_.value(b);
    w_.null().end_array();
    w_.end_object();
    return w_.str();
}

void JsonReport::filters() {
    const ProfileFilters &f = p_.filters;
    w_.key("filters").begin_object();
    w_.key("since_unix_us");
    f.has_since ? w_.value(f.since_unix_us) : w_.null();
    w_.key("until_unix_us");
    f.has_until ? w_.value(f.until_unix_us) : w_.null();
    w_.key("route").string_or_null(f.route);
    w_.key("app").string_or_null(f.app);
    w_.key("db").string_or_null(f.db);
    w_.key("user").string_or_null(f.user);
    w_.field("top", static_cast<uint64_t>(o_.top));
    w_.field("group_by", p_.primary().name);
    w_.end_object();
}

void JsonReport::inputs() {
    w_.key("inputs").begin_object();
    w_.key("files").begin_array();
    uint64_t unresolved = 0;
    for (const CaptureFileStatus &f : a_.set.files()) {
        w_.begin_object();
        w_.field("path", f.path);
        w_.field("bytes", f.bytes);
        w_.field("status", status_name(f.status));
        w_.key("server");
        if (f.server >= 0)
            w_.value(a_.set.servers()[f.server].key);
        else
            w_.null();
        w_.field("samples", f.samples);
        w_.key("problems").begin_array();
        for (const auto &problem : f.problems) {
            w_.begin_object();
            w_.field("kind", problem_kind_name(problem.kind));
            w_.field("offset", problem.offset);
            w_.field("what", problem.what);
            w_.end_object();
        }
        w_.end_array();
        w_.end_object();
        unresolved += f.samples_unresolved;
    }
    w_.end_array();
    w_.field("samples_read", p_.samples_read);
    w_.field("samples_used", p_.samples_used);
    w_.field("samples_filtered_out", p_.samples_filtered_out);
    w_.field("samples_unresolved", unresolved);
    w_.end_object();
}

std::string render_report_json(const Analysis &analysis,
                               const ReportSelection &selection,
                               const ReportOptions &options) {
    return JsonReport(analysis, selection, options).render();
}

} // namespace qprof
