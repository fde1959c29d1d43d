/*
 * diff.h — two profiles compared (qprof diff BASE NEW): statements matched
 * by queryid on the same server, else by normalized text and plan shape;
 * routes by name; per execution and per request measures before and after,
 * and whether the latency changed, by a Mann–Whitney U test over the
 * executions binned in the latency histograms. With the kernel facts' wait
 * split on both sides, where the time went is compared too, and the
 * verdict is over the latency less the time spent waiting for a CPU (the
 * machine's load, not the statement's doing). A change must also stand
 * out of each capture's own drift: the batch means of consecutive
 * executions (batch_means.h), compared by Welch's t test.
 */
#pragma once

#include "capture_set.h"
#include "diff_samples.h"
#include "diff_statistics.h"
#include "profile.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qprof {

struct DiffOptions {
    double alpha = 0.01; /* significance level of the test */
    /* median change that counts as a change: relative and absolute (the
     * drift of a loaded machine on a statement of a few microseconds is
     * neither) */
    double min_change_pct = 20;
    double min_delta_ms = 0.05;
    double min_share_pct = 1; /* of the database time, for --fail-on */
    bool fail_on = false;     /* --fail-on given */
    double fail_on_pct = 0;   /* median regression that fails */
    size_t top = 20;          /* rows per table in the terminal */
};

/* One side's measures of a statement or route, per execution, and for a
 * route per request of that route. */
struct DiffSide {
    bool present = false;
    double calls = 0, total_ms = 0, mean_ms = 0, p50_ms = 0, p95_ms = 0,
           p99_ms = 0;
    double rows_per_call = 0, blks_read_per_call = 0, blks_hit_per_call = 0,
           io_wait_ms_per_call = 0, error_rate = 0;
    /* a statement: per request of the capture; a route: per request of
     * the route (its executions and their time in one request) */
    double calls_per_request = 0, ms_per_request = 0; /* 0: no requests */
    /* a route: its requests and their database time, one value each */
    uint64_t requests = 0;
    double request_p50_ms = 0, request_p95_ms = 0, request_p99_ms = 0;
    double share = 0; /* of the side's database time, 0..1 */
};

/* What a row's test and verdict are over. */
enum class DiffUnit { Execution, Request };
const char *unit_name(DiffUnit u);

/* A statement's plan, for plan changes. */
struct DiffPlan {
    int64_t shape_id = 0;
    double cost = 0; /* the root's total cost, 0 when unknown */
    double calls = 0;
    std::string text;
};

enum class DiffVerdict { Regressed, Improved, Unchanged, New, Vanished };
const char *verdict_name(DiffVerdict v);

/* One wait event's time per execution on each side (the report's
 * WaitTotals of the row, over the executions with the wait split). */
struct WaitEventChange {
    uint32_t event = 0; /* wait_event_info */
    double base_ms = 0, new_ms = 0;
};

/* Where the time of a row's executions went, before and after: present
 * when both sides have executions with the wait split. */
struct WaitComparison {
    bool present = false;
    double calls_base = 0, calls_new = 0; /* with the split, weighted */
    /* elapsed time per execution (with the split), NEW - BASE */
    double change_ms = 0;
    std::vector<WorkChange> parts; /* each WaitPart, in order, tested */
    /* the largest changes of an event per execution, at most 8 */
    std::vector<WaitEventChange> events;
    /* what grew: the part of the largest significant rise (grew false:
     * none), and the event within it that explains most of it (0: none) */
    bool grew = false;
    WaitPart grew_part = WaitPart::OnCpu;
    double grew_ms = 0;
    uint32_t grew_event = 0;
    double grew_event_ms = 0;
};

/* The latency less the time each execution (each request's executions)
 * waited for a CPU: present when every execution of the row on both
 * sides carries the wait split. */
struct LoadIndependentLatency {
    bool present = false;
    double p50_base_ms = 0, p50_new_ms = 0, p95_base_ms = 0, p95_new_ms = 0;
    RankTest test;
    BatchTest batches;       /* of the same values, batched */
    double median_ratio = 0; /* 0: unknown */
};

struct DiffRow {
    std::string kind;       /* "statement" or "route" */
    std::string name;       /* text of a statement, name of a route */
    std::string key;        /* queryid(s) or route name */
    std::string matched_by; /* "queryid", "text", "name" */
    DiffSide base, fresh;
    /* executions; for a route with requests on both sides, its requests */
    DiffUnit unit = DiffUnit::Execution;
    RankTest test;
    BatchTest batches;       /* of the unit's latency, batched */
    double median_ratio = 0; /* NEW p50 / BASE p50 of the unit, 0: unknown */
    double added_ms = 0;     /* (mean NEW - mean BASE) * units in NEW */
    /* over the load-independent latency when present, else the latency */
    DiffVerdict verdict = DiffVerdict::Unchanged;
    DiffVerdict raw_verdict = DiffVerdict::Unchanged; /* over the latency */
    bool fails = false; /* makes --fail-on exit 1 */
    /* the test over the executions (requests) alone found a change, the
     * batches did not: it is within the captures' own drift, unchanged */
    bool within_drift = false;
    LoadIndependentLatency less_runqueue;
    WaitComparison waits;
    /* statements: the plan change (dominant plans differ in shape) */
    bool plan_changed = false;
    DiffPlan plan_base, plan_new;
    /* rows, blocks and errors per execution, each tested (both sides) */
    std::vector<WorkChange> work;
    /* statements: their largest route in NEW (else BASE) */
    std::string route;
};

struct DiffInput {
    std::vector<std::string> paths;
    uint64_t samples = 0, executions = 0, requests = 0;
    std::string request_tag;
    double total_ms = 0;
    int64_t first_unix_us = 0, last_unix_us = 0;
    std::vector<std::string> servers; /* identity, one line each */
    std::vector<std::string> notices; /* damaged files, losses */
};

struct DiffResult {
    DiffOptions options;
    DiffInput base, fresh;
    bool same_server = false;
    /* regressions first (by time added), then new, vanished, improved,
     * unchanged */
    std::vector<DiffRow> statements, routes;
    bool failed = false; /* --fail-on: some row fails */
    /* rows (statements and routes) judged on the load-independent
     * latency, and of them those whose latency alone would have been
     * judged otherwise */
    size_t load_independent_rows = 0, load_changed_verdicts = 0;
    /* rows (statements and routes) held unchanged by their batches */
    size_t within_drift_rows = 0;
};

/* One side of a comparison: its captures, their profile and what else
 * the diff read of their samples. */
struct DiffSource {
    const CaptureSet &set;
    const Profile &profile;
    const SampleFacts &facts;
};

/* Compares two profiles read from their capture sets. */
DiffResult diff_profiles(const DiffSource &base, const DiffSource &fresh,
                         const DiffOptions &options);

std::string render_diff_text(const DiffResult &diff);
std::string render_diff_json(const DiffResult &diff);
/* A self-contained page (inline CSS and JS) of the JSON document. */
std::string render_diff_html(const std::string &json);

} // namespace qprof
