/*
 * fleet_report.h — the report's main tables computed by ClickHouse over the
 * samples `qprof export` loaded (docs/clickhouse.md): the summary, the top
 * statements with percentiles, the time by route (or another attribution),
 * the errors by SQLSTATE, the kernel facts by statement and by group, and
 * the plans of the statements listed. The
 * queries are those of docs/clickhouse-queries.sql with the report's filters;
 * sums are weighted by the sampling rate as in the report of files.
 */
#pragma once

#include "clickhouse_client.h"
#include "qprof.pb.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace qprof {

struct FleetFilters {
    /* servers by system identifier, label or cluster_name; empty: all */
    std::vector<std::string> servers;
    bool has_since = false, has_until = false;
    int64_t since_unix_us = 0, until_unix_us = 0;
    /* a duration before the newest sample (--since 1h): resolved by
     * query_fleet_report */
    bool since_relative = false, until_relative = false;
    std::string route, app, db;
    bool has_user = false;
    uint32_t user = 0;
    size_t top = 20;
    /* route, controller, app, user, db or tag:NAME */
    std::string group_by = "route";
    /* the fewest executions of a statement in one request called N+1 (the
     * report's kNPlusOneMinExecutions, given by the caller) */
    uint64_t n_plus_one_min_executions = 5;
    /* a statement failing at least this often, and this share of its
     * calls, is listed (the report's error_rate insight) */
    double error_rate_min_errors = 5, error_rate_min_share = 0.05;
    /* a statement's routes listed, and a group's statements (the
     * report's kTopPerGroup) */
    size_t routes_per_statement = 5, statements_per_group = 5;
    /* the wait insights' thresholds (the report's kWaitInsightShare,
     * kMinInsightShare, kWaitDominantShare): the statements whose waits
     * would make one are listed, and so are the first `wait_listed` by CPU
     * and by run queue when the run queue would make one */
    double wait_insight_share = 0.1, min_insight_share = 0.002,
           dominant_share = 0.5;
    size_t wait_listed = 3;
};

struct FleetServer {
    uint64_t server_id = 0;
    std::string label, version, cluster_name, host;
    uint64_t epochs = 0, samples = 0;
    uint64_t lost = 0, epoch_changes = 0;
    /* of `lost`, by reason (the rest: another reason) */
    uint64_t lost_overwritten = 0, lost_reset = 0, lost_epoch_changed = 0;
};

/* Where the elapsed time of a set of executions went (the report's
 * WaitTotals): summed over the executions whose kernel facts carry the
 * wait split, or else the waits the extension sampled (classes only). */
constexpr size_t kFleetWaitClassSlots = 12; /* 0: no wait event */
struct FleetWaitEvent {
    uint32_t event = 0; /* wait_event_info */
    double ns = 0, count = 0;
};
struct FleetWaits {
    uint64_t executions = 0, sampled_executions = 0;
    uint32_t min_interval_us = 0, max_interval_us = 0;
    double calls = 0, elapsed_ns = 0, oncpu_ns = 0, runqueue_ns = 0,
           runqueue_waits = 0, io_wait_ns = 0;
    double class_ns[kFleetWaitClassSlots] = {},
           class_count[kFleetWaitClassSlots] = {};
    /* the kernel's events (sampled waits have none), largest first */
    std::vector<FleetWaitEvent> events;
    double other_events_ns = 0, other_events_count = 0;
};

/* A statement that may hold the locks another waited for. */
struct FleetLockHolder {
    uint32_t statement = 0; /* index in FleetReport::statements */
    double waits = 0;       /* of the waiter's, weighted */
    uint64_t order = 0;     /* the statement's first execution with waits */
};

/* One node of a plan, its actuals summed over the plan's EXPLAIN ANALYZEd
 * executions the filters keep (unweighted), as the report of files sums a
 * plan's nodes (NodeTotals in analysis/plan_tree.h). */
struct FleetPlanNode {
    uint32_t node_id = 0, parent_node_id = 0;
    std::string node_type, relation, index;
    uint64_t executions = 0;
    double loops = 0, plan_rows = 0, actual_rows = 0;
    double rows_removed_by_filter = 0, rows_removed_by_join_filter = 0;
    double total_time_ms = 0;
    uint64_t timed_executions = 0; /* executions whose nodes were timed */
    double shared_blks_hit = 0, shared_blks_read = 0;
    double temp_blks_read = 0, temp_blks_written = 0;
    /* the largest |estimate error| of a single execution, as a factor */
    double max_estimate_factor = 0;
};

/* One of a statement's plans. */
struct FleetPlan {
    int64_t planid = 0, shape_id = 0;
    std::string text; /* EXPLAIN's */
    uint64_t executions = 0;
    double calls = 0, total_ns = 0;
    int64_t first_unix_us = 0, last_unix_us = 0; /* starts */
    std::string json; /* EXPLAIN's, as pg_qprof stores it */
    /* its executions with per-node actuals (server_id, queryid, planid:
     * those of the same plan in another database too, as in the report of
     * files), and their nodes' sums by node id, ascending */
    uint64_t actuals_executions = 0;
    std::vector<FleetPlanNode> nodes;
};

/* Executions recorded in one latency bucket (LatencyHistogram::bucket_of:
 * log-spaced, 2% wide). */
struct FleetLatencyBucket {
    int32_t bucket = 0;
    uint64_t executions = 0;
};

/* A statement's top-level executions in one route. */
struct FleetStatementRoute {
    std::string name; /* "(none)": untagged */
    bool tagged = false;
    double calls = 0, total_ns = 0;
};

/* A statement is (server_id, dbid, queryid), as in the report of files. */
struct FleetStatement {
    uint64_t server_id = 0;
    uint32_t dbid = 0;
    int64_t queryid = 0;
    std::string cmd, database, text;
    uint64_t executions = 0;
    double calls = 0, total_ns = 0, toplevel_ns = 0, errors = 0;
    double p50_ns = 0, p95_ns = 0, p99_ns = 0;
    double rows = 0, shared_blks_read = 0;
    uint64_t kernel_executions = 0;
    double oncpu_ns = 0, io_wait_ns = 0, other_wait_ns = 0,
           page_cache_misses = 0, block_bytes = 0;
    std::vector<FleetPlan> plans; /* by first execution */
    /* every execution recorded (nested too) by latency bucket, ascending */
    std::vector<FleetLatencyBucket> latency;
    FleetWaits waits; /* every execution, nested too */
    /* its routes by time, at most FleetFilters::routes_per_statement */
    std::vector<FleetStatementRoute> routes;
    /* the route of most of its time, "" when no execution was tagged */
    std::string top_route;
    /* SQLSTATE -> executions (weighted), every execution, in the order
     * they first failed */
    std::vector<std::pair<std::string, double>> errors_by_sqlstate;
    /* what the catalog insights weigh: weighted sums over every
     * execution, and the most temporary blocks one execution wrote */
    double shared_blks_hit = 0, blk_read_time_ns = 0, temp_blks_written = 0,
           max_temp_blks_written = 0;
    int catalog = -1; /* its database's in FleetReport::catalogs, or -1 */
    /* its Lock waits matched by the lock windows (when the report has
     * them, FleetReport::lock_windows), those with a candidate holder,
     * and its first holders (FleetLockWindowSpec::holders_listed) */
    double lock_matched_waits = 0, lock_waits_with_holders = 0;
    std::vector<FleetLockHolder> lock_holders;
};

/* A database's catalog snapshot as of the report's period (its newest up
 * to --until), rebuilt from the catalog_* tables as the capture had it
 * (relations, indexes and settings; not the column statistics). */
struct FleetCatalog {
    uint64_t server_id = 0;
    uint32_t dbid = 0;
    capture::v1::CatalogSnapshot snapshot;
    std::vector<capture::v1::Setting> settings; /* the snapshot's */
};

/* A group of an attribution dimension: its top-level executions. */
struct FleetGroup {
    std::string name;
    bool tagged = true;      /* "(none)" is the untagged executions' */
    uint64_t executions = 0; /* recorded */
    double calls = 0, total_ns = 0, errors = 0;
    double min_ns = 0, max_ns = 0, p50_ns = 0, p95_ns = 0, p99_ns = 0;
    /* the report's sample sums (weighted), named as in its Aggregate
     * (analysis/aggregate.h: QPROF_SAMPLE_SUMS, QPROF_KERNEL_SUMS) */
    double plan_ns = 0, rows = 0, shared_blks_hit = 0, shared_blks_read = 0,
           shared_blks_dirtied = 0, shared_blks_written = 0,
           local_blks_read = 0, temp_blks_read = 0, temp_blks_written = 0,
           blk_read_time_ns = 0, blk_write_time_ns = 0, wal_records = 0,
           wal_bytes = 0;
    /* the kernel facts, over the executions that have them */
    uint64_t kernel_executions = 0;
    double oncpu_ns = 0, io_wait_ns = 0, other_wait_ns = 0,
           page_cache_misses = 0, block_requests = 0, block_bytes = 0,
           read_bytes = 0, write_bytes = 0;
    /* its statements with most time, at most
     * FleetFilters::statements_per_group: indexes in
     * FleetReport::statements (they are listed), and their calls and time
     * in the group */
    std::vector<uint32_t> top_statements;
    std::vector<double> top_statement_calls, top_statement_ns;
    /* where the time went: summed for the route and --group-by
     * dimensions only, as in the report of files */
    bool has_waits = false;
    FleetWaits waits;
};

/* The groups of one attribution dimension, top by total time. */
struct FleetDimension {
    std::string name; /* route, controller, app, user, db, tag:NAME */
    std::vector<FleetGroup> groups;
    uint64_t groups_total = 0;
};

struct FleetError {
    std::string sqlstate;
    double count = 0;
    uint64_t executions = 0;
    /* the statement that failed most that way */
    uint64_t server_id = 0;
    int64_t queryid = 0;
    std::string text;
};

/* One statement run at least kNPlusOneMinExecutions times within single
 * requests of one route (the request's first execution's route), as the
 * report of files counts it. */
struct FleetNPlusOne {
    uint32_t statement = 0; /* index in FleetReport::statements */
    std::string route;      /* empty: none */
    uint64_t requests = 0, executions = 0, max_per_request = 0;
    /* the request that ran it most (the earliest of those) */
    std::string example_request;
    double total_ns = 0;
};

/* Plan nodes of one type on one relation and index, summed over the
 * per-node actuals of the EXPLAIN ANALYZEd executions (unweighted), as the
 * report's node_hotspots. */
struct FleetHotspot {
    std::string node_type, relation, index;
    uint64_t executions = 0;
    double loops = 0, actual_rows = 0, rows_removed_by_filter = 0;
    double total_time_ms = 0;
    bool timed = false; /* some executions timed the node */
    double shared_blks_read = 0, temp_blks_written = 0;
    double max_estimate_factor = 0; /* 0: unknown */
    /* the statements listed whose plans have it */
    std::vector<uint32_t> statements;
};

/* The report's time grid, chosen by the caller (the report of files'
 * TimeGrid) from the first and last start, and the latency buckets of its
 * heatmap. */
struct TimelineSpec {
    std::function<int64_t(int64_t first_start_us, int64_t last_start_us)>
        interval_width_us;
    std::vector<double> coarse_bounds_ms; /* upper bounds; the last open */
    size_t series_shown = 8; /* statements and groups with a series */
};

/* Sums per interval, intervals first .. first + intervals - 1 of the
 * width (interval = start_unix_us / width_us). */
struct FleetTimeline {
    int64_t width_us = 0, first = 0, intervals = 0;
    /* top-level executions: database time, executions recorded, errors */
    std::vector<double> db_time_ns, executions, errors;
    /* database time of the first statements listed (nested executions
     * too) and of the first groups */
    std::vector<std::vector<double>> statements, groups;
    /* per interval, top-level executions recorded per latency bucket */
    std::vector<std::vector<double>> heatmap;
};

/* The lock windows (analysis/lock_windows.h), computed by the caller from
 * the executions with waits, which ClickHouse gives in the capture's order
 * (server, epoch, seq), `rows_per_query` at a time; servers and
 * statements are numbered as they first come. */
struct FleetExecution {
    uint32_t server = 0, dbid = 0, statement = 0;
    int32_t pid = 0;
    int64_t start_unix_us = 0, end_unix_us = 0;
    double weight = 1;
    bool takes_row_locks = false; /* INSERT ... or SELECT writing WAL */
    uint64_t lock_wait_ns = 0;    /* the Lock class's time */
};
struct FleetLockPair {
    uint32_t waiter = 0, holder = 0; /* statements, numbered */
    double waits = 0;
};
struct FleetLockWaiter {
    uint32_t statement = 0;
    double waits = 0, waits_with_holders = 0;
};
struct FleetLockWindowSpec {
    std::function<void(const FleetExecution &)> add;
    std::function<void(std::vector<FleetLockWaiter> &,
                       std::vector<FleetLockPair> &)>
        finish;
    size_t holders_listed = 3;
    size_t rows_per_query = 100000;
    /* statements numbered at most: past them, no lock windows */
    size_t max_statements = 1u << 20;
};

/* One of the report's rankings of statements (the report of files'
 * `rankings`): those with a nonzero measure, largest first, --top of them
 * (indexes in FleetReport::statements). */
struct FleetRanking {
    std::string name; /* the report's: total_time, mean_time, calls... */
    std::vector<uint32_t> statements;
};

struct FleetReport {
    std::vector<FleetServer> servers;
    /* top-level executions */
    uint64_t executions = 0, kernel_executions = 0;
    double calls = 0, total_ns = 0, errors = 0;
    uint64_t statements_total = 0; /* distinct statements, nested too */
    int64_t first_unix_us = 0, last_unix_us = 0;
    double max_weight = 1;
    FleetWaits waits; /* of the top-level executions */
    /* top by total time, then the statements other sections name (N+1,
     * plan changes) */
    std::vector<FleetStatement> statements;
    size_t top_statements = 0; /* of them, those of the top */
    std::string group_by;      /* the dimension the terminal shows */
    /* the attribution: route, controller, app, user and db, and the
     * --group-by dimension when it is a tag, as in the report of files */
    std::vector<FleetDimension> dimensions;
    size_t group_by_dimension = 0; /* index in dimensions */
    const FleetDimension &primary() const {
        return dimensions[group_by_dimension];
    }
    std::vector<FleetError> errors_by_sqlstate;
    /* the statements whose plans changed (at least two plans), by their
     * first execution, --top of them, as the report of files lists them */
    std::vector<uint32_t> plan_changes;
    /* requests: a request is its id's top-level executions on one backend
     * (server_id, pid, request) */
    std::string request_tag; /* traceparent or request_id, or empty */
    uint64_t requests = 0, request_statements = 0, max_request_statements = 0;
    std::vector<FleetNPlusOne> n_plus_one; /* by total time, --top of them */
    /* those the N+1 insights look at: with a FleetInsightSpec, every row
     * whose time is at least min_insight_share of the period's (at most
     * FleetInsightSpec::candidates), else n_plus_one */
    std::vector<FleetNPlusOne> n_plus_one_insights;
    /* executions with per-node actuals, and the plan nodes that took most
     * time (else read most rows), --top of them */
    uint64_t actuals_executions = 0;
    std::vector<FleetHotspot> node_hotspots;
    std::vector<uint32_t> kernel_statements; /* top with kernel facts */
    /* the catalog snapshots of the listed statements' databases */
    std::vector<FleetCatalog> catalogs;
    /* the CPU time of every execution with the wait split (nested ones
     * too), when the run queue may make an insight */
    double statements_oncpu_ns = 0;
    /* the lock windows were computed (the statements' lock_holders) */
    bool lock_windows = false;
    /* the report's rankings, in its order (fleet_rankings.cpp); their
     * statements are listed */
    std::vector<FleetRanking> rankings;
    FleetTimeline timeline; /* empty without a TimelineSpec */
};

/* The statements the insights look at beyond those listed (the report of
 * files looks at every statement): ClickHouse lists, with their plans,
 * per-node sums and catalog, the statements whose database time is at
 * least FleetFilters::min_insight_share of the period's and that have
 * temporary blocks written, shared blocks read, two plans, or a plan with
 * a Seq Scan and a Filter or with per-node actuals, at most `candidates`
 * of them by time; those an error rate or an N+1 could be about, by
 * their rules' thresholds; `about` (the caller's rules) is given
 * the report with them listed, after those listed for other reasons, and
 * tells which statements an insight is about (true at their index). The
 * others are dropped before the groups, node hotspots and time series
 * are asked. */
struct FleetInsightSpec {
    std::function<std::vector<bool>(const FleetReport &)> about;
    size_t candidates = 1000;
};

/* Asks ClickHouse (the timeline too when `timeline` is given); throws
 * ClickHouseError, UsageError for a --server that names no server or a
 * bad group_by. */
FleetReport query_fleet_report(const ClickHouseClient &client,
                               FleetFilters filters,
                               const TimelineSpec *timeline = nullptr,
                               const FleetLockWindowSpec *locks = nullptr,
                               const FleetInsightSpec *insights = nullptr);

} // namespace qprof
