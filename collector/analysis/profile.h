/*
 * profile.h — what a capture set says, summed as it is read: per statement,
 * plan, attribution group (route, controller, application, user, database,
 * a chosen tag), request, error and interval. Memory grows with the number
 * of distinct statements, plans and groups, not with the samples: each
 * sample is added to its aggregates as it is decoded and not kept.
 *
 * The profile is what the report renders and what a diff of two captures
 * compares (statements are identified by server, database and queryid).
 */
#pragma once

#include "aggregate.h"
#include "capture_set.h"
#include "flat_index.h"
#include "lock_windows.h"
#include "plan_tree.h"
#include "time_series.h"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace qprof {

/* What to read of the capture set (the report's filters). */
struct ProfileFilters {
    bool has_since = false, has_until = false;
    int64_t since_unix_us = 0, until_unix_us = 0;
    std::string route, app, db, user; /* empty: any */
    /* route, controller, app, user, db or tag:NAME */
    std::string group_by = "route";
};

enum class Dimension { Route, Controller, App, User, Db, Tag };

struct StatementStats {
    uint32_t server = 0;
    uint32_t dbid = 0;
    uint32_t text = 0; /* 1 + index in CaptureSet::texts(), 0 = none */
    int64_t queryid = 0;
    int cmd = 0;
    Aggregate all; /* every execution, nested ones too */
    /* database time of its top-level executions (shares, attribution) */
    double toplevel_ns = 0;
    std::vector<uint32_t> plans;
    uint64_t max_temp_blks_written = 0; /* of one execution */
    /* SQLSTATE (5 characters) -> executions (weighted) */
    std::vector<std::pair<std::string, double>> errors;
};

struct PlanStats {
    uint32_t definition = 0; /* 1 + index in CaptureSet::plans() */
    uint32_t statement = 0;
    Aggregate all;
    int64_t first_unix_us = 0, last_unix_us = 0;
    uint64_t actuals_executions = 0;
    std::vector<NodeTotals> nodes; /* by node id */
};

/* A statement's share of a group (or a group's of a statement). */
struct PairStats {
    double calls = 0;
    double total_ns = 0;
};

struct GroupStats {
    uint64_t value = 0; /* string id, or server << 32 | oid */
    std::string name;
    bool tagged = true;
    Aggregate all; /* top-level executions */
};

struct DimensionStats {
    Dimension dimension;
    std::string name;     /* route, controller, app, user, db, tag:NAME */
    uint32_t tag_key = 0; /* string id of the tag's key, for tags */
    std::vector<GroupStats> groups;
    FlatIndex group_of_value;
    /* each statement's share of each group, by statement and by group,
     * largest first */
    std::vector<std::vector<std::pair<uint32_t, PairStats>>> by_statement;
    std::vector<std::vector<std::pair<uint32_t, PairStats>>> by_group;
};

/* One statement run many times within single requests of one route. */
struct NPlusOne {
    uint32_t statement = 0;
    uint32_t route = 0; /* string id */
    uint64_t requests = 0, executions = 0, max_per_request = 0;
    std::string example_request;
    uint64_t example_executions = 0;
    double total_ns = 0;
};

struct ErrorStats {
    std::string sqlstate;
    double count = 0;
    uint64_t executions = 0;
    std::unordered_map<uint32_t, double> statements;
    /* route string id -> failed executions and their time */
    std::unordered_map<uint32_t, PairStats> routes;
};

struct Profile {
    ProfileFilters filters;
    TimeGrid grid;
    Aggregate total; /* top-level executions */
    std::vector<StatementStats> statements;
    std::vector<PlanStats> plans;
    std::vector<DimensionStats> dimensions; /* route, controller, ... */
    size_t group_by = 0;                    /* index in dimensions */

    /* requests */
    std::string request_tag; /* traceparent or request_id, or empty */
    uint64_t requests = 0, request_statements = 0, max_request_statements = 0;
    std::vector<NPlusOne> n_plus_one;

    std::vector<ErrorStats> errors;
    /* lock waits and their candidate holders (executions with kernel
     * facts) */
    LockWindows lock_windows;
    TimeSeries executions_series, errors_series;
    std::vector<TimeSeries> heatmap; /* one per coarse latency bucket */

    uint64_t samples_read = 0, samples_used = 0, samples_filtered_out = 0;
    uint64_t actuals_executions = 0;
    int64_t first_unix_us = 0, last_unix_us = 0;
    uint64_t lost_overwritten = 0, lost_reset = 0, lost_epoch_changed = 0,
             lost_unknown = 0, epoch_changes = 0;
    std::vector<std::string> notices;

    const DimensionStats &primary() const { return dimensions[group_by]; }
    const DimensionStats *dimension(Dimension d) const;
};

/* Smallest repetitions of one statement in one request called N+1. */
constexpr uint64_t kNPlusOneMinExecutions = 5;

/* Reads `set` once into a profile. Throws UsageError for a bad group_by. */
Profile build_profile(CaptureSet &set, const ProfileFilters &filters);

} // namespace qprof
