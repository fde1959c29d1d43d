#include "report_json.h"
#include "capture_format.h"
#include "json_writer.h"
#include "node_hotspots.h"
#include "sqlstate.h"
#include "wait_events.h"

#include <algorithm>

namespace qprof {

namespace pb = capture::v1;

namespace {

class JsonReport {
  public:
    JsonReport(const Analysis &a, const ReportSelection &sel,
               const ReportOptions &o)
        : a_(a), p_(a.profile), sel_(sel), o_(o) {}

    std::string render() {
        w_.begin_object();
        w_.field("schema_version", kReportSchemaVersion);
        w_.field("generator", std::string("qprof report ") + kCollectorVersion);
        w_.field("generated_unix_us", o_.generated_unix_us);
        filters();
        inputs();
        summary();
        insights();
        statements();
        w_.field("statements_total",
                 static_cast<uint64_t>(p_.statements.size()));
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

  private:
    void filters() {
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

    void inputs() {
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

    void summary() {
        w_.key("summary").begin_object();
        w_.key("start_unix_us");
        p_.samples_used ? w_.value(p_.first_unix_us) : w_.null();
        w_.key("end_unix_us");
        p_.samples_used ? w_.value(p_.last_unix_us) : w_.null();
        w_.field("duration_s",
                 p_.samples_used
                     ? static_cast<double>(p_.last_unix_us - p_.first_unix_us) /
                           1e6
                     : 0.0);
        w_.key("servers").begin_array();
        for (const CaptureServer &s : a_.set.servers()) {
            const pb::ServerIdentity &id = s.identity;
            w_.begin_object();
            w_.field("key", s.key);
            w_.field("system_identifier",
                     std::to_string(id.system_identifier()));
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
        w_.field("share",
                 p_.total.executions
                     ? static_cast<double>(p_.total.kernel_executions) /
                           static_cast<double>(p_.total.executions)
                     : 0.0);
        bool syscalls = false;
        for (const CaptureServer &s : a_.set.servers())
            syscalls = syscalls || s.collector.syscall_stats();
        w_.field("syscalls", syscalls);
        const WaitTotals *wt = p_.total.waits.totals();
        w_.field("wait_executions", wt ? wt->executions : uint64_t(0));
        w_.field("wait_share",
                 p_.total.executions && wt
                     ? static_cast<double>(wt->executions) /
                           static_cast<double>(p_.total.executions)
                     : 0.0);
        w_.key("waits");
        waits(wt);
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

    void sampling() {
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
            note =
                "pg_qprof.sample_rate = " + std::to_string(rate).substr(0, 6) +
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

    void insights() {
        w_.key("insights").begin_array();
        for (size_t i = 0; i < a_.insights.size() && i < o_.top; ++i) {
            const Insight &in = a_.insights[i];
            double share = a_.share(in.db_time_ns);
            w_.begin_object();
            w_.field("kind", in.kind);
            w_.field("severity", share >= 0.2    ? "high"
                                 : share >= 0.05 ? "medium"
                                                 : "low");
            w_.field("title", in.title);
            w_.field("db_time_ms", in.db_time_ns / 1e6);
            w_.field("share", share);
            w_.key("statement");
            if (in.statement >= 0)
                w_.value(sel_.skey(static_cast<uint32_t>(in.statement)));
            else
                w_.null();
            w_.key("route").string_or_null(in.route);
            w_.key("table").string_or_null(in.table);
            w_.key("columns").begin_array();
            for (const std::string &c : in.columns)
                w_.value(c);
            w_.end_array();
            w_.key("plans").begin_array();
            for (uint32_t plan : in.plans)
                if (sel_.plan_key[plan] >= 0)
                    w_.value(sel_.pkey(plan));
            w_.end_array();
            w_.key("related_statements").begin_array();
            for (uint32_t stmt : in.statements)
                if (sel_.statement_key[stmt] >= 0)
                    w_.value(sel_.skey(stmt));
            w_.end_array();
            w_.key("evidence").begin_array();
            for (const std::string &e : in.evidence)
                w_.value(e);
            w_.end_array();
            w_.key("facts").begin_object();
            for (const InsightFact &f : in.facts) {
                w_.key(f.name.c_str());
                f.is_text ? w_.value(f.text) : w_.value(f.number);
            }
            w_.end_object();
            w_.field("action", in.action);
            w_.key("sql").string_or_null(in.sql);
            w_.end_object();
        }
        w_.end_array();
    }

    void aggregate(const Aggregate &g) {
        w_.field("executions", g.executions);
        w_.field("calls", g.calls);
        w_.field("errors", g.errors);
        w_.field("total_ms", g.total_ns / 1e6);
        w_.field("mean_ms", g.mean_ns() / 1e6);
        w_.field("min_ms", static_cast<double>(g.latency.min_ns()) / 1e6);
        w_.field("max_ms", static_cast<double>(g.latency.max_ns()) / 1e6);
        w_.field("p50_ms", g.latency.quantile_ns(0.50) / 1e6);
        w_.field("p95_ms", g.latency.quantile_ns(0.95) / 1e6);
        w_.field("p99_ms", g.latency.quantile_ns(0.99) / 1e6);
#define QPROF_JSON(name, expr, json, divisor) w_.field(json, g.name / divisor);
        QPROF_SAMPLE_SUMS(QPROF_JSON)
        w_.key("kernel");
        if (g.kernel_executions == 0) {
            w_.null();
        } else {
            w_.begin_object();
            w_.field("executions", g.kernel_executions);
            QPROF_KERNEL_SUMS(QPROF_JSON)
            w_.key("waits");
            waits(g.waits.totals());
            w_.end_object();
        }
        /* without kernel facts, the waits the extension sampled */
        w_.key("sampled_waits");
        waits(g.kernel_executions == 0 ? g.waits.totals() : nullptr);
#undef QPROF_JSON
    }

    void waits(const WaitTotals *t) {
        report_waits_json(w_, t);
    }

    void statements() {
        w_.key("statements").begin_array();
        double running = 0;
        std::vector<double> cumulative(p_.statements.size(), -1);
        for (size_t i = 0; i < sel_.by_total.size() && i < o_.top; ++i) {
            running += p_.statements[sel_.by_total[i]].toplevel_ns;
            cumulative[sel_.by_total[i]] = a_.share(running);
        }
        const DimensionStats *routes = p_.dimension(Dimension::Route);
        for (uint32_t stmt : sel_.statements) {
            const StatementStats &st = p_.statements[stmt];
            w_.begin_object();
            w_.field("key", sel_.skey(stmt));
            w_.field("server", a_.set.servers()[st.server].key);
            w_.field("queryid", std::to_string(st.queryid));
            w_.field("dbid", st.dbid);
            const pb::CatalogSnapshot *snap =
                a_.set.servers()[st.server].catalog(st.dbid);
            w_.key("database");
            snap ? w_.value(snap->database()) : w_.null();
            w_.field("text", a_.text_of(stmt));
            w_.field("cmd", cmd_name(st.cmd));
            w_.field("rank", sel_.rank[stmt]);
            w_.field("share", a_.share(st.toplevel_ns));
            w_.key("cumulative_share");
            cumulative[stmt] >= 0 ? w_.value(cumulative[stmt]) : w_.null();
            aggregate(st.all);
            w_.key("histogram").begin_array();
            for (uint64_t c : st.all.latency.coarse_counts())
                w_.value(c);
            w_.end_array();
            w_.key("plans").begin_array();
            for (uint32_t plan : st.plans)
                w_.value(sel_.pkey(plan));
            w_.end_array();
            w_.key("routes").begin_array();
            if (routes != nullptr)
                for (size_t i = 0;
                     i < routes->by_statement[stmt].size() && i < kTopPerGroup;
                     ++i) {
                    const auto &entry = routes->by_statement[stmt][i];
                    w_.begin_object();
                    w_.field("name", routes->groups[entry.first].name);
                    w_.field("calls", entry.second.calls);
                    w_.field("total_ms", entry.second.total_ns / 1e6);
                    w_.end_object();
                }
            w_.end_array();
            w_.key("errors_by_sqlstate").begin_array();
            for (const auto &e : st.errors) {
                w_.begin_object();
                w_.field("sqlstate", e.first);
                w_.field("name", sqlstate_name(e.first));
                w_.field("count", e.second);
                w_.end_object();
            }
            w_.end_array();
            w_.end_object();
        }
        w_.end_array();
    }

    /* Every statement, by total time, in columns: what a table of all of
     * them needs (about 120 bytes a statement), the detail staying in
     * "statements" for the listed ones only. docs/report-json.md. */
    void statement_index() {
        const std::vector<uint32_t> &order = sel_.by_total;
        auto column = [&](const char *name, auto value_of) {
            w_.key(name).begin_array();
            for (uint32_t stmt : order)
                value_of(stmt, p_.statements[stmt]);
            w_.end_array();
        };
        w_.key("statement_index").begin_object();
        w_.field("count", static_cast<uint64_t>(order.size()));
        w_.field("text_chars", static_cast<uint64_t>(kIndexTextChars));
        column("key", [&](uint32_t stmt, const StatementStats &) {
            sel_.statement_key[stmt] >= 0 ? w_.value(sel_.skey(stmt))
                                          : w_.null();
        });
        column("queryid", [&](uint32_t, const StatementStats &st) {
            w_.value(std::to_string(st.queryid));
        });
        column("calls", [&](uint32_t, const StatementStats &st) {
            w_.value(st.all.calls);
        });
        column("total_ms", [&](uint32_t, const StatementStats &st) {
            w_.value(st.all.total_ns / 1e6);
        });
        column("mean_ms", [&](uint32_t, const StatementStats &st) {
            w_.value(st.all.mean_ns() / 1e6);
        });
        column("p95_ms", [&](uint32_t, const StatementStats &st) {
            w_.value(st.all.latency.quantile_ns(0.95) / 1e6);
        });
        column("rows", [&](uint32_t, const StatementStats &st) {
            w_.value(st.all.rows);
        });
        column("errors", [&](uint32_t, const StatementStats &st) {
            w_.value(st.all.errors);
        });
        column("shared_blks_read", [&](uint32_t, const StatementStats &st) {
            w_.value(st.all.shared_blks_read);
        });
        column("text", [&](uint32_t stmt, const StatementStats &) {
            w_.value(text_prefix(a_.text_of(stmt), kIndexTextChars));
        });
        w_.end_object();
    }

    /* The first `chars` characters of `text` on one line (runs of white
     * space as one blank), cut on a UTF-8 character boundary. */
    static std::string text_prefix(const std::string &text, size_t chars) {
        std::string out;
        size_t shown = 0;
        bool blank = false;
        for (size_t i = 0; i < text.size(); ++i) {
            unsigned char c = static_cast<unsigned char>(text[i]);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                blank = !out.empty();
                continue;
            }
            bool starts_char = (c & 0xC0) != 0x80;
            if (starts_char) {
                if (shown + (blank ? 1 : 0) >= chars)
                    break;
                if (blank) {
                    out += ' ';
                    ++shown;
                    blank = false;
                }
                ++shown;
            }
            out += static_cast<char>(c);
        }
        return out;
    }

    static const char *cmd_name(int cmd) {
        switch (cmd) {
        case pb::CMD_SELECT:
            return "SELECT";
        case pb::CMD_UPDATE:
            return "UPDATE";
        case pb::CMD_INSERT:
            return "INSERT";
        case pb::CMD_DELETE:
            return "DELETE";
        case pb::CMD_MERGE:
            return "MERGE";
        case pb::CMD_UTILITY:
            return "UTILITY";
        default:
            return "UNKNOWN";
        }
    }

    void rankings() {
        w_.key("rankings").begin_object();
        for (const Ranking &r : sel_.rankings) {
            w_.key(r.name).begin_array();
            for (uint32_t s : r.statements)
                w_.value(sel_.skey(s));
            w_.end_array();
        }
        w_.end_object();
    }

    void node(uint32_t plan, const PlanTree &tree, uint32_t at, int depth) {
        const PlanTreeNode &n = tree.nodes[at];
        const NodeTotals *act =
            n.actual_node_id >= 0
                ? &p_.plans[plan].nodes[static_cast<size_t>(n.actual_node_id)]
                : nullptr;
        NodeTotals none;
        const NodeTotals &t = act ? *act : none;
        w_.begin_object();
        w_.field("node_id", act ? static_cast<int64_t>(act->node_id)
                                : static_cast<int64_t>(at));
        w_.field("node_type", n.node_type);
        w_.key("relation").string_or_null(n.relation);
        w_.key("index").string_or_null(n.index);
        w_.field("executions", t.executions);
        w_.field("loops", t.loops);
        w_.field("plan_rows", act ? t.plan_rows : n.plan_rows);
        w_.field("actual_rows", t.actual_rows);
        w_.field("rows_removed_by_filter", t.rows_removed_by_filter);
        w_.field("rows_removed_by_join_filter", t.rows_removed_by_join_filter);
        w_.key("total_time_ms");
        t.timed_executions ? w_.value(t.total_time_ms) : w_.null();
        w_.field("shared_blks_hit", t.shared_blks_hit);
        w_.field("shared_blks_read", t.shared_blks_read);
        w_.field("temp_blks_read", t.temp_blks_read);
        w_.field("temp_blks_written", t.temp_blks_written);
        w_.key("estimate_factor");
        double f = t.estimate_factor();
        f > 0 ? w_.value(f) : w_.null();
        std::string filter = !n.filter.empty() ? n.filter : n.index_cond;
        w_.key("filter").string_or_null(filter);
        w_.key("children").begin_array();
        if (depth < 100)
            for (uint32_t c : n.children)
                node(plan, tree, c, depth + 1);
        w_.end_array();
        w_.end_object();
    }

    /* A tree from the actuals alone, when the stored plan is missing. */
    void actuals_node(const PlanStats &ps, uint32_t id, int depth) {
        const NodeTotals &t = ps.nodes[id];
        w_.begin_object();
        w_.field("node_id", t.node_id);
        w_.field("node_type", t.node_type);
        w_.key("relation").string_or_null(t.relation);
        w_.key("index").string_or_null(t.index);
        w_.field("executions", t.executions);
        w_.field("loops", t.loops);
        w_.field("plan_rows", t.plan_rows);
        w_.field("actual_rows", t.actual_rows);
        w_.field("rows_removed_by_filter", t.rows_removed_by_filter);
        w_.field("rows_removed_by_join_filter", t.rows_removed_by_join_filter);
        w_.key("total_time_ms");
        t.timed_executions ? w_.value(t.total_time_ms) : w_.null();
        w_.field("shared_blks_hit", t.shared_blks_hit);
        w_.field("shared_blks_read", t.shared_blks_read);
        w_.field("temp_blks_read", t.temp_blks_read);
        w_.field("temp_blks_written", t.temp_blks_written);
        w_.key("estimate_factor");
        double f = t.estimate_factor();
        f > 0 ? w_.value(f) : w_.null();
        w_.key("filter").null();
        w_.key("children").begin_array();
        if (depth < 100)
            for (uint32_t c = 0; c < ps.nodes.size(); ++c)
                if (c != id && ps.nodes[c].seen &&
                    ps.nodes[c].parent_node_id == id)
                    actuals_node(ps, c, depth + 1);
        w_.end_array();
        w_.end_object();
    }

    void plans() {
        w_.key("plans").begin_array();
        for (uint32_t plan : sel_.plans) {
            const PlanStats &ps = p_.plans[plan];
            const pb::Plan &def = a_.set.plans()[ps.definition - 1].plan;
            w_.begin_object();
            w_.field("key", sel_.pkey(plan));
            w_.field("statement", sel_.skey(ps.statement));
            w_.field("planid", std::to_string(def.planid()));
            w_.field("shape_id", std::to_string(def.shape_id()));
            w_.field("text", def.plan_text());
            w_.field("first_unix_us", ps.first_unix_us);
            w_.field("last_unix_us", ps.last_unix_us);
            w_.field("actuals_executions", ps.actuals_executions);
            aggregate(ps.all);
            w_.key("nodes");
            const PlanTree &tree = a_.tree(plan);
            if (!tree.empty())
                node(plan, tree, 0, 0);
            else if (!ps.nodes.empty() && ps.nodes[0].seen)
                actuals_node(ps, 0, 0);
            else
                w_.null();
            w_.end_object();
        }
        w_.end_array();
    }

    void plan_changes() {
        w_.key("plan_changes").begin_array();
        for (const PlanChange &pc : a_.plan_changes) {
            if (sel_.statement_key[pc.statement] < 0)
                continue;
            w_.begin_object();
            w_.field("statement", sel_.skey(pc.statement));
            w_.key("plans").begin_array();
            for (uint32_t plan : pc.plans)
                w_.value(sel_.pkey(plan));
            w_.end_array();
            w_.field("slower_plan", sel_.pkey(pc.slower));
            w_.field("faster_plan", sel_.pkey(pc.faster));
            w_.field("extra_ms", pc.extra_ns / 1e6);
            w_.field("changed_unix_us", pc.changed_unix_us);
            w_.end_object();
        }
        w_.end_array();
    }

    void hotspots() {
        node_hotspots_json(w_, profile_node_hotspots(p_, kMaxSpots), o_.top,
                           [&](uint32_t statement) {
                               return sel_.statement_key[statement] >= 0
                                          ? sel_.skey(statement)
                                          : std::string();
                           });
    }

    void attribution() {
        w_.key("attribution").begin_object();
        w_.field("group_by", p_.primary().name);
        w_.key("dimensions").begin_array();
        for (size_t d = 0; d < p_.dimensions.size(); ++d) {
            const DimensionStats &dim = p_.dimensions[d];
            w_.begin_object();
            w_.field("dimension", dim.name);
            w_.key("groups").begin_array();
            for (uint32_t g : sel_.groups[d]) {
                const GroupStats &group = dim.groups[g];
                w_.begin_object();
                w_.field("name", group.name);
                w_.field("tagged", group.tagged);
                w_.field("share", a_.share(group.all.total_ns));
                aggregate(group.all);
                w_.key("top_statements").begin_array();
                for (size_t i = 0;
                     i < dim.by_group[g].size() && i < kTopPerGroup; ++i) {
                    const auto &entry = dim.by_group[g][i];
                    w_.begin_object();
                    w_.field("statement", sel_.skey(entry.first));
                    w_.field("calls", entry.second.calls);
                    w_.field("total_ms", entry.second.total_ns / 1e6);
                    w_.field("share",
                             group.all.total_ns > 0
                                 ? entry.second.total_ns / group.all.total_ns
                                 : 0.0);
                    w_.end_object();
                }
                w_.end_array();
                w_.end_object();
            }
            w_.end_array();
            w_.field("groups_total", static_cast<uint64_t>(dim.groups.size()));
            w_.end_object();
        }
        w_.end_array();
        w_.end_object();
    }

    void requests() {
        w_.key("requests").begin_object();
        w_.key("tag").string_or_null(p_.request_tag);
        w_.field("requests", p_.requests);
        w_.key("statements_per_request").begin_object();
        w_.field("mean", p_.requests
                             ? static_cast<double>(p_.request_statements) /
                                   static_cast<double>(p_.requests)
                             : 0.0);
        w_.field("max", p_.max_request_statements);
        w_.end_object();
        std::vector<const NPlusOne *> list;
        for (const NPlusOne &n : p_.n_plus_one)
            list.push_back(&n);
        std::sort(list.begin(), list.end(),
                  [](const NPlusOne *x, const NPlusOne *y) {
                      return x->total_ns > y->total_ns;
                  });
        w_.key("n_plus_one").begin_array();
        for (size_t i = 0; i < list.size() && i < o_.top; ++i) {
            const NPlusOne &n = *list[i];
            w_.begin_object();
            w_.field("statement", sel_.skey(n.statement));
            w_.key("route");
            n.route ? w_.value(a_.set.string(n.route)) : w_.null();
            w_.field("requests", n.requests);
            w_.field("executions", n.executions);
            w_.field("max_per_request", n.max_per_request);
            w_.field("mean_per_request", static_cast<double>(n.executions) /
                                             static_cast<double>(n.requests));
            w_.field("example_request", n.example_request);
            w_.field("example_executions", n.example_executions);
            w_.field("total_ms", n.total_ns / 1e6);
            w_.field("share", a_.share(n.total_ns));
            w_.end_object();
        }
        w_.end_array();
        w_.end_object();
    }

    void errors() {
        std::vector<const ErrorStats *> list;
        for (const ErrorStats &e : p_.errors)
            list.push_back(&e);
        std::sort(list.begin(), list.end(),
                  [](const ErrorStats *x, const ErrorStats *y) {
                      return x->count > y->count;
                  });
        w_.key("errors").begin_array();
        for (const ErrorStats *e : list) {
            w_.begin_object();
            w_.field("sqlstate", e->sqlstate);
            w_.field("name", sqlstate_name(e->sqlstate));
            w_.field("class", sqlstate_class_name(e->sqlstate));
            w_.field("count", e->count);
            w_.field("timeout", sqlstate_is_timeout(e->sqlstate));
            w_.field("cancel", sqlstate_is_cancel(e->sqlstate));
            std::vector<std::pair<uint32_t, double>> stmts(
                e->statements.begin(), e->statements.end());
            std::sort(stmts.begin(), stmts.end(),
                      [](const auto &x, const auto &y) {
                          return x.second != y.second ? x.second > y.second
                                                      : x.first < y.first;
                      });
            w_.key("statements").begin_array();
            for (size_t i = 0; i < stmts.size() && i < kTopPerGroup; ++i) {
                if (sel_.statement_key[stmts[i].first] < 0)
                    continue;
                w_.begin_object();
                w_.field("statement", sel_.skey(stmts[i].first));
                w_.field("count", stmts[i].second);
                w_.end_object();
            }
            w_.end_array();
            std::vector<std::pair<uint32_t, PairStats>> routes(
                e->routes.begin(), e->routes.end());
            /* ties by time, then name: the same order on every run */
            std::sort(routes.begin(), routes.end(),
                      [this](const auto &x, const auto &y) {
                          if (x.second.calls != y.second.calls)
                              return x.second.calls > y.second.calls;
                          if (x.second.total_ns != y.second.total_ns)
                              return x.second.total_ns > y.second.total_ns;
                          return a_.set.string(x.first) <
                                 a_.set.string(y.first);
                      });
            w_.key("routes").begin_array();
            for (size_t i = 0; i < routes.size() && i < kTopPerGroup; ++i) {
                w_.begin_object();
                w_.field("name", routes[i].first
                                     ? a_.set.string(routes[i].first)
                                     : std::string("(none)"));
                w_.field("calls", routes[i].second.calls);
                w_.field("total_ms", routes[i].second.total_ns / 1e6);
                w_.end_object();
            }
            w_.end_array();
            w_.end_object();
        }
        w_.end_array();
    }

    void series_array(const std::vector<double> &values, double divisor) {
        w_.begin_array();
        for (double v : values)
            w_.value(v / divisor);
        w_.end_array();
    }

    void timeseries() {
        const TimeGrid &grid = p_.grid;
        w_.key("timeseries").begin_object();
        w_.key("start_unix_us");
        grid.empty() ? w_.null() : w_.value(grid.start_unix_us());
        w_.field("interval_s", static_cast<double>(grid.width_us()) / 1e6);
        w_.field("intervals", grid.intervals());
        std::vector<double> total = p_.total.db_time_ns_series.values(grid);
        w_.key("db_time_ms");
        series_array(total, 1e6);
        w_.key("executions").begin_array();
        for (double v : p_.executions_series.values(grid))
            w_.value(static_cast<uint64_t>(v + 0.5));
        w_.end_array();
        w_.key("errors");
        series_array(p_.errors_series.values(grid), 1);
        w_.key("series").begin_array();
        std::vector<double> other = total;
        for (size_t i = 0; i < sel_.by_total.size() && i < kSeriesShown; ++i) {
            uint32_t stmt = sel_.by_total[i];
            std::vector<double> v =
                p_.statements[stmt].all.db_time_ns_series.values(grid);
            for (size_t t = 0; t < v.size() && t < other.size(); ++t)
                other[t] = std::max(0.0, other[t] - v[t]);
            w_.begin_object();
            w_.field("kind", "statement");
            w_.field("key", sel_.skey(stmt));
            std::string label = a_.text_of(stmt);
            if (label.size() > 80)
                label = label.substr(0, 77) + "...";
            w_.field("label", label);
            w_.key("db_time_ms");
            series_array(v, 1e6);
            w_.end_object();
        }
        w_.begin_object();
        w_.field("kind", "other");
        w_.field("key", "other");
        w_.field("label", "other statements");
        w_.key("db_time_ms");
        series_array(other, 1e6);
        w_.end_object();
        const DimensionStats &dim = p_.primary();
        const std::vector<uint32_t> &groups = sel_.groups[p_.group_by];
        for (size_t i = 0; i < groups.size() && i < kSeriesShown; ++i) {
            const GroupStats &g = dim.groups[groups[i]];
            w_.begin_object();
            w_.field("kind", "route");
            w_.field("key", dim.name + ":" + g.name);
            w_.field("label", g.name);
            w_.key("db_time_ms");
            series_array(g.all.db_time_ns_series.values(grid), 1e6);
            w_.end_object();
        }
        w_.end_array();
        w_.end_object();
    }

    void heatmap() {
        const TimeGrid &grid = p_.grid;
        w_.key("heatmap").begin_object();
        w_.key("start_unix_us");
        grid.empty() ? w_.null() : w_.value(grid.start_unix_us());
        w_.field("interval_s", static_cast<double>(grid.width_us()) / 1e6);
        std::vector<std::vector<double>> columns;
        for (const TimeSeries &s : p_.heatmap)
            columns.push_back(s.values(grid));
        w_.key("counts").begin_array();
        for (int64_t t = 0; t < grid.intervals(); ++t) {
            w_.begin_array();
            for (const auto &column : columns)
                w_.value(static_cast<uint64_t>(column[static_cast<size_t>(t)] +
                                               0.5));
            w_.end_array();
        }
        w_.end_array();
        w_.end_object();
    }

    static constexpr size_t kIndexTextChars = 60;
    static constexpr size_t kMaxSpots = 10000;

    const Analysis &a_;
    const Profile &p_;
    const ReportSelection &sel_;
    const ReportOptions &o_;
    JsonWriter w_;
};

} // namespace

/* Wait events listed by name per set of executions; the rest summed. */
constexpr size_t kWaitEventsShown = 8;

void report_waits_json(JsonWriter &w, const WaitTotals *t) {
    if (t == nullptr) {
        w.null();
        return;
    }
    w.begin_object();
    w.field("executions", t->executions);
    w.field("calls", t->calls);
    w.field("elapsed_ms", t->elapsed_ns / 1e6);
    w.field("oncpu_ms", t->oncpu_ns / 1e6);
    w.field("runqueue_ms", t->runqueue_ns / 1e6);
    w.field("runqueue_waits", t->runqueue_waits);
    w.field("io_wait_ms", t->io_wait_ns / 1e6);
    std::vector<size_t> classes;
    for (size_t c = 1; c < kWaitClassSlots; ++c)
        if (t->class_ns[c] > 0 || t->class_count[c] > 0)
            classes.push_back(c);
    std::stable_sort(classes.begin(), classes.end(), [&](size_t x, size_t y) {
        return t->class_ns[x] > t->class_ns[y];
    });
    w.key("classes").begin_array();
    for (size_t c : classes) {
        w.begin_object();
        w.field("class", wait_class_label(static_cast<int>(c)));
        w.field("ms", t->class_ns[c] / 1e6);
        w.field("count", t->class_count[c]);
        w.end_object();
    }
    w.end_array();
    std::vector<WaitEventSum> events = t->events_by_time();
    double rest_ns = t->other_events_ns, rest_count = t->other_events_count;
    w.key("events").begin_array();
    for (size_t i = 0; i < events.size(); ++i) {
        const WaitEventSum &e = events[i];
        if (i >= kWaitEventsShown) {
            rest_ns += e.ns;
            rest_count += e.count;
            continue;
        }
        w.begin_object();
        w.field("name", wait_event_name(e.event));
        w.field("class", wait_class_label(static_cast<int>(e.event >> 24)));
        w.field("ms", e.ns / 1e6);
        w.field("count", e.count);
        w.end_object();
    }
    w.end_array();
    w.field("other_events_ms", rest_ns / 1e6);
    w.field("other_events_count", rest_count);
    w.field("no_wait_event_ms", t->no_event_ns() / 1e6);
    w.field("no_wait_event_count", t->no_event_count());
    w.field("unaccounted_ms", t->unaccounted_ns() / 1e6);
    w.field("sampled_executions", t->sampled_executions);
    w.field("sample_interval_ms", t->max_interval_us / 1e3);
    w.end_object();
}

std::string render_report_json(const Analysis &analysis,
                               const ReportSelection &selection,
                               const ReportOptions &options) {
    return JsonReport(analysis, selection, options).render();
}

} // namespace qprof
