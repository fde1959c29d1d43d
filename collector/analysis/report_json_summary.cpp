/*
 * report_json_summary.cpp — the report's first sections: the summary of
 * the capture (its servers, totals, sampling settings, losses, what the
 * kernel and the wait sampler saw) and the insights. docs/report-json.md.
 */
#include "report_json_document.h"
#include "insight_rules.h"

#include <algorithm>
#include <cstdlib>

namespace qprof {

namespace pb = capture::v1;

void JsonReport::summary() {
    w_.key("summary").begin_object();
    w_.key("start_unix_us");
    p_.samples_used ? w_.value(p_.first_unix_us) : w_.null();
    w_.key("end_unix_us");
    p_.samples_used ? w_.value(p_.last_unix_us) : w_.null();
    w_.field("duration_s",
             p_.samples_used
                 ? static_cast<double>(p_.last_unix_us - p_.first_unix_us) / 1e6
                 : 0.0);
    w_.key("servers").begin_array();
    for (const CaptureServer &s : a_.set.servers()) {
        const pb::ServerIdentity &id = s.identity;
        w_.begin_object();
        w_.field("key", s.key);
        w_.field("system_identifier", std::to_string(id.system_identifier()));
        w_.field("version", id.version());
        w_.field("version_num", id.version_num());
        w_.field("cluster_name", id.cluster_name());
        w_.field("host", id.host());
        w_.field("port", id.port());
        w_.field("database", id.database());
        w_.field("label", s.label);
        w_.key("epochs").begin_array();
        for (uint64_t e : s.epochs)
            w_.value(e);
        w_.end_array();
        w_.field("executions", s.samples);
        w_.end_object();
    }
    w_.end_array();
    w_.field("executions", p_.total.executions);
    w_.field("calls", p_.total.calls);
    w_.field("db_time_ms", p_.total.total_ns / 1e6);
    w_.field("errors", p_.total.errors);
    w_.field("statements", static_cast<uint64_t>(p_.statements.size()));
    sampling();
    w_.key("losses").begin_object();
    w_.field("overwritten", p_.lost_overwritten);
    w_.field("reset", p_.lost_reset);
    w_.field("epoch_changed", p_.lost_epoch_changed);
    w_.field("unknown", p_.lost_unknown);
    w_.field("epoch_changes", p_.epoch_changes);
    w_.end_object();
    w_.key("kernel").begin_object();
    w_.field("present", p_.total.kernel_executions > 0);
    w_.field("executions", p_.total.kernel_executions);
    w_.field("share", p_.total.executions
                          ? static_cast<double>(p_.total.kernel_executions) /
                                static_cast<double>(p_.total.executions)
                          : 0.0);
    bool syscalls = false;
    for (const CaptureServer &s : a_.set.servers())
        syscalls = syscalls || s.collector.syscall_stats();
    w_.field("syscalls", syscalls);
    const WaitTotals *wt = p_.total.waits.totals();
    w_.field("wait_executions", wt ? wt->executions : uint64_t(0));
    w_.field("wait_share", p_.total.executions && wt
                               ? static_cast<double>(wt->executions) /
                                     static_cast<double>(p_.total.executions)
                               : 0.0);
    w_.key("waits");
    report_waits_json(w_, wt);
    w_.end_object();
    w_.key("node_actuals").begin_object();
    w_.field("executions", p_.actuals_executions);
    w_.end_object();
    w_.key("notices").begin_array();
    for (const std::string &n : p_.notices)
        w_.value(n);
    w_.end_array();
    w_.end_object();
}

void JsonReport::sampling() {
    double rate = 1, min_duration = 0, analyze = 0;
    std::string track;
    bool mixed = false;
    const auto &servers = a_.set.servers();
    for (size_t i = 0; i < servers.size(); ++i) {
        const CaptureServer &s = servers[i];
        double r = s.sample_rate;
        double md = std::atof(s.setting("pg_qprof.min_duration").c_str());
        double an =
            std::atof(s.setting("pg_qprof.analyze_sample_rate").c_str());
        if (i > 0 && (r != rate || md != min_duration))
            mixed = true;
        mixed = mixed || s.sample_rate_mixed;
        rate = i == 0 ? r : std::min(rate, r);
        min_duration = std::max(min_duration, md);
        analyze = std::max(analyze, an);
        if (track.empty())
            track = s.setting("pg_qprof.track");
    }
    std::string note;
    if (rate < 1)
        note = "pg_qprof.sample_rate = " + std::to_string(rate).substr(0, 6) +
               ": one top-level statement in " +
               std::to_string(static_cast<int>(1 / rate + 0.5)) +
               " was recorded; sums are scaled up to estimate the "
               "server's totals, percentiles come from the recorded "
               "executions";
    if (min_duration > 0)
        note += std::string(note.empty() ? "" : "; ") +
                "executions shorter than " + human_ms(min_duration) +
                " were not recorded (pg_qprof.min_duration): totals are "
                "lower bounds";
    if (mixed)
        note += std::string(note.empty() ? "" : "; ") +
                "the servers or files differ in their sampling settings: "
                "each file's executions are scaled by its own rate";
    w_.key("sampling").begin_object();
    w_.field("sample_rate", rate);
    w_.field("scale", 1 / rate);
    w_.field("scaled", rate < 1);
    w_.field("mixed", mixed);
    w_.field("min_duration_ms", min_duration);
    w_.field("track", track.empty() ? std::string("top") : track);
    w_.field("analyze_sample_rate", analyze);
    w_.key("note").string_or_null(note);
    w_.end_object();
}

void JsonReport::insights() {
    InsightKeys keys;
    keys.statement = [&](uint32_t stmt) {
        return sel_.statement_key[stmt] >= 0 ? sel_.skey(stmt) : std::string();
    };
    keys.plan = [&](uint32_t plan) {
        return sel_.plan_key[plan] >= 0 ? sel_.pkey(plan) : std::string();
    };
    insights_json(w_, a_.insights, o_.top, a_.profile.total.total_ns, keys);
}

} // namespace qprof
