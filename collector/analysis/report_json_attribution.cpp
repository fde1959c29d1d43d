/*
 * report_json_attribution.cpp — who spent the time and who failed: the
 * groups of each dimension (routes, apps, users...) with their top
 * statements, the requests and their N+1 patterns, the errors by
 * SQLSTATE. docs/report-json.md.
 */
#include "report_json_document.h"
#include "sqlstate.h"

#include <algorithm>

namespace qprof {

void JsonReport::attribution() {
    w_.key("attribution").begin_object();
    w_.field("group_by", p_.primary().name);
    std::vector<AttributionDimension> dims(p_.dimensions.size());
    for (size_t d = 0; d < p_.dimensions.size(); ++d) {
        const DimensionStats &dim = p_.dimensions[d];
        dims[d].name = dim.name;
        dims[d].groups_total = dim.groups.size();
        for (uint32_t g : sel_.groups[d]) {
            const GroupStats &group = dim.groups[g];
            AttributionGroup out;
            out.name = group.name;
            out.tagged = group.tagged;
            out.all = &group.all;
            out.latency = latency_figures(group.all.latency);
            out.waits = group.all.waits.totals();
            for (size_t i = 0; i < dim.by_group[g].size() && i < kTopPerGroup;
                 ++i) {
                const auto &entry = dim.by_group[g][i];
                out.top_statements.push_back({sel_.skey(entry.first),
                                              entry.second.calls,
                                              entry.second.total_ns});
            }
            dims[d].groups.push_back(std::move(out));
        }
    }
    attribution_dimensions_json(w_, dims, p_.total.total_ns);
    w_.end_object();
}

void attribution_dimensions_json(JsonWriter &w,
                                 const std::vector<AttributionDimension> &dims,
                                 double total_ns) {
    w.key("dimensions").begin_array();
    for (const AttributionDimension &dim : dims) {
        w.begin_object();
        w.field("dimension", dim.name);
        w.key("groups").begin_array();
        for (const AttributionGroup &group : dim.groups) {
            double group_ns = group.all->total_ns;
            w.begin_object();
            w.field("name", group.name);
            w.field("tagged", group.tagged);
            w.field("share", total_ns > 0 ? group_ns / total_ns : 0.0);
            aggregate_json(w, *group.all, group.latency, group.waits);
            w.key("top_statements").begin_array();
            for (const AttributionStatement &st : group.top_statements) {
                w.begin_object();
                w.field("statement", st.statement);
                w.field("calls", st.calls);
                w.field("total_ms", st.total_ns / 1e6);
                w.field("share", group_ns > 0 ? st.total_ns / group_ns : 0.0);
                w.end_object();
            }
            w.end_array();
            w.end_object();
        }
        w.end_array();
        w.field("groups_total", dim.groups_total);
        w.end_object();
    }
    w.end_array();
}

void JsonReport::requests() {
    w_.key("requests").begin_object();
    w_.key("tag").string_or_null(p_.request_tag);
    w_.field("requests", p_.requests);
    w_.key("statements_per_request").begin_object();
    w_.field("mean", p_.requests ? static_cast<double>(p_.request_statements) /
                                       static_cast<double>(p_.requests)
                                 : 0.0);
    w_.field("max", p_.max_request_statements);
    w_.end_object();
    std::vector<const NPlusOne *> list = n_plus_one_by_time(p_);
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

void JsonReport::errors() {
    w_.key("errors").begin_array();
    for (const ErrorStats *e : errors_by_count(p_)) {
        w_.begin_object();
        w_.field("sqlstate", e->sqlstate);
        w_.field("name", sqlstate_name(e->sqlstate));
        w_.field("class", sqlstate_class_name(e->sqlstate));
        w_.field("count", e->count);
        w_.field("timeout", sqlstate_is_timeout(e->sqlstate));
        w_.field("cancel", sqlstate_is_cancel(e->sqlstate));
        std::vector<std::pair<uint32_t, double>> stmts(e->statements.begin(),
                                                       e->statements.end());
        std::sort(stmts.begin(), stmts.end(), [](const auto &x, const auto &y) {
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
        std::vector<std::pair<uint32_t, PairStats>> routes(e->routes.begin(),
                                                           e->routes.end());
        /* ties by time, then name: the same order on every run */
        std::sort(routes.begin(), routes.end(),
                  [this](const auto &x, const auto &y) {
                      if (x.second.calls != y.second.calls)
                          return x.second.calls > y.second.calls;
                      if (x.second.total_ns != y.second.total_ns)
                          return x.second.total_ns > y.second.total_ns;
                      return a_.set.string(x.first) < a_.set.string(y.first);
                  });
        w_.key("routes").begin_array();
        for (size_t i = 0; i < routes.size() && i < kTopPerGroup; ++i) {
            w_.begin_object();
            w_.field("name", routes[i].first ? a_.set.string(routes[i].first)
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

} // namespace qprof
