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
            for (size_t i = 0; i < dim.by_group[g].size() && i < kTopPerGroup;
                 ++i) {
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
