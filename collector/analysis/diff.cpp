/*
 * diff.cpp — two profiles compared: matching, the rank test, verdicts.
 */
#include "diff.h"
#include "wait_events.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <unordered_map>

namespace qprof {

const char *verdict_name(DiffVerdict v) {
    switch (v) {
    case DiffVerdict::Regressed:
        return "regressed";
    case DiffVerdict::Improved:
        return "improved";
    case DiffVerdict::Unchanged:
        return "unchanged";
    case DiffVerdict::New:
        return "new";
    case DiffVerdict::Vanished:
        return "vanished";
    }
    return "unchanged";
}

const char *unit_name(DiffUnit u) {
    return u == DiffUnit::Request ? "request" : "execution";
}

namespace {

bool ends_with(const std::string &s, const std::string &tail) {
    return s.size() >= tail.size() &&
           s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

/* A work change counts when the test says so and it is larger than
 * --min-change and than one row or block (one percentage point of
 * errors, --min-delta of a time: I/O wait, a wait part) per execution: a
 * statement that reads 2 blocks instead of 1.6 is not news. */
void judge_work(WorkChange &c, const DiffOptions &o) {
    double floor = c.measure == "error_rate"              ? 0.01
                   : ends_with(c.measure, "_ms_per_call") ? o.min_delta_ms
                                                          : 1;
    double delta = std::fabs(c.fresh - c.base);
    bool large =
        c.base > 0 ? delta / c.base * 100 > o.min_change_pct : delta > 0;
    c.significant = c.p_value < o.alpha && delta >= floor && large;
}

std::vector<WorkChange> compare_work(const ExecutionWork &b,
                                     const ExecutionWork &n,
                                     const DiffOptions &o) {
    std::vector<WorkChange> out = {
        welch_test("rows_per_call", b.rows, n.rows),
        welch_test("shared_blks_accessed_per_call", b.shared_blks_accessed,
                   n.shared_blks_accessed),
        welch_test("shared_blks_read_per_call", b.shared_blks_read,
                   n.shared_blks_read),
        proportion_test("error_rate", b.errors, b.rows.n, n.errors, n.rows.n),
    };
    /* I/O wait: when both sides have kernel facts */
    if (b.io_wait_ms.n > 0 && n.io_wait_ms.n > 0)
        out.insert(out.end() - 1, welch_test("io_wait_ms_per_call",
                                             b.io_wait_ms, n.io_wait_ms));
    for (WorkChange &c : out)
        judge_work(c, o);
    return out;
}

/* Whether a wait event of class `cls` (wait_event_info >> 24) is in
 * `part` as wait_parts_ms counts it. */
bool event_in_part(uint32_t cls, WaitPart part) {
    switch (part) {
    case WaitPart::Lock:
        return cls == capture::v1::WAIT_CLASS_LOCK;
    case WaitPart::LWLock:
        return cls == capture::v1::WAIT_CLASS_LWLOCK;
    case WaitPart::IoWait:
        return cls == capture::v1::WAIT_CLASS_IO;
    case WaitPart::OtherWaits:
        return cls != capture::v1::WAIT_CLASS_LOCK &&
               cls != capture::v1::WAIT_CLASS_LWLOCK &&
               cls != capture::v1::WAIT_CLASS_IO;
    case WaitPart::OnCpu:
    case WaitPart::RunQueue:
        return false;
    }
    return false;
}

/* Events a row lists, by the size of their change. */
constexpr size_t kWaitEventChanges = 8;

std::vector<WaitEventChange> event_changes(const WaitTotals &b,
                                           const WaitTotals &n) {
    std::vector<WaitEventChange> out;
    auto add = [&out](const WaitTotals &t, bool fresh) {
        for (const WaitEventSum &e : t.events) {
            double ms = e.ns / 1e6 / t.calls;
            auto it = std::find_if(
                out.begin(), out.end(),
                [&e](const WaitEventChange &c) { return c.event == e.event; });
            if (it == out.end())
                it = out.insert(out.end(), WaitEventChange{e.event, 0, 0});
            (fresh ? it->new_ms : it->base_ms) += ms;
        }
    };
    add(b, false);
    add(n, true);
    std::stable_sort(out.begin(), out.end(),
                     [](const WaitEventChange &x, const WaitEventChange &y) {
                         return std::fabs(x.new_ms - x.base_ms) >
                                std::fabs(y.new_ms - y.base_ms);
                     });
    if (out.size() > kWaitEventChanges)
        out.resize(kWaitEventChanges);
    return out;
}

/* Where the executions' time went on both sides, each part tested
 * (Welch's t over the executions with the split), and what grew most. */
WaitComparison compare_waits(const ExecutionWork &bw, const ExecutionWork &nw,
                             const WaitTotals *bt, const WaitTotals *nt,
                             const DiffOptions &o) {
    WaitComparison w;
    if (bt == nullptr || nt == nullptr || bt->calls <= 0 || nt->calls <= 0 ||
        bw.wait_parts_ms[0].n <= 0 || nw.wait_parts_ms[0].n <= 0)
        return w;
    w.present = true;
    w.calls_base = bt->calls;
    w.calls_new = nt->calls;
    w.change_ms =
        (nt->elapsed_ns / nt->calls - bt->elapsed_ns / bt->calls) / 1e6;
    for (size_t i = 0; i < kWaitParts; ++i) {
        WorkChange c =
            welch_test(std::string(wait_part_name(static_cast<WaitPart>(i))) +
                           "_ms_per_call",
                       bw.wait_parts_ms[i], nw.wait_parts_ms[i]);
        judge_work(c, o);
        double rise = c.fresh - c.base;
        if (c.significant && rise > 0 && (!w.grew || rise > w.grew_ms)) {
            w.grew = true;
            w.grew_part = static_cast<WaitPart>(i);
            w.grew_ms = rise;
        }
        w.parts.push_back(std::move(c));
    }
    w.events = event_changes(*bt, *nt);
    if (!w.grew)
        return w;
    /* the event of the part that rose most, when it makes at least half
     * of the part's rise (else the part is named alone) */
    for (const WaitEventChange &e : w.events) {
        double rise = e.new_ms - e.base_ms;
        if (event_in_part(e.event >> 24, w.grew_part) &&
            rise >= w.grew_ms / 2 && rise > w.grew_event_ms) {
            w.grew_event = e.event;
            w.grew_event_ms = rise;
        }
    }
    return w;
}

/* The load-independent latency of a row from each side's values less
 * their run-queue time, when no execution (request) of either side
 * lacks the split. */
LoadIndependentLatency
less_runqueue(const LatencyHistogram &b, const BatchMeans &b_batches,
              uint64_t b_without, const LatencyHistogram &n,
              const BatchMeans &n_batches, uint64_t n_without) {
    LoadIndependentLatency l;
    if (b_without > 0 || n_without > 0 || b.count() == 0 || n.count() == 0)
        return l;
    l.present = true;
    l.batches = batch_test(b_batches, n_batches);
    l.p50_base_ms = b.quantile_ns(0.5) / 1e6;
    l.p50_new_ms = n.quantile_ns(0.5) / 1e6;
    l.p95_base_ms = b.quantile_ns(0.95) / 1e6;
    l.p95_new_ms = n.quantile_ns(0.95) / 1e6;
    l.test = mann_whitney(b, n);
    l.median_ratio = l.p50_base_ms > 0 ? l.p50_new_ms / l.p50_base_ms : 0;
    return l;
}

const ExecutionWork *statement_work(const SampleFacts &f,
                                    const StatementStats &st) {
    auto found = f.statement_work.find(StatementWorkKey{
        st.server, st.dbid, st.text, st.text == 0 ? st.cmd : 0});
    return found == f.statement_work.end() ? nullptr : &found->second;
}

/* "sysid 7301..." when the server told it, else host:port and cluster. */
std::string server_identity(const CaptureServer &s) {
    const auto &id = s.identity;
    if (id.system_identifier() != 0)
        return "system " + std::to_string(id.system_identifier()) + " (" +
               id.host() + ":" + std::to_string(id.port()) + ")";
    return id.host() + ":" + std::to_string(id.port()) + " " +
           id.cluster_name() + " started " +
           std::to_string(id.postmaster_start_unix_us());
}

/* Text without comments (sqlcommenter tags differ per request) and with
 * runs of white space as one space: the same statement on any server. */
std::string normalized_text(const std::string &text) {
    std::string out;
    bool space = false;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '/' && i + 1 < text.size() && text[i + 1] == '*') {
            size_t end = text.find("*/", i + 2);
            i = end == std::string::npos ? text.size() : end + 1;
            space = true;
            continue;
        }
        if (text[i] == '-' && i + 1 < text.size() && text[i + 1] == '-') {
            size_t end = text.find('\n', i);
            i = end == std::string::npos ? text.size() : end;
            space = true;
            continue;
        }
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            space = true;
            continue;
        }
        if (space && !out.empty())
            out += ' ';
        space = false;
        out += text[i];
    }
    while (!out.empty() && out.back() == ';')
        out.pop_back();
    return out;
}

/* The root's total cost of an EXPLAIN text ("cost=0.29..8.31"). */
double root_cost(const std::string &plan_text) {
    size_t at = plan_text.find("cost=");
    if (at == std::string::npos)
        return 0;
    size_t dots = plan_text.find("..", at);
    if (dots == std::string::npos)
        return 0;
    return std::strtod(plan_text.c_str() + dots + 2, nullptr);
}

using Side = DiffSource;

DiffSide side_of(const Profile &p, const Aggregate &a, double share_ns) {
    DiffSide s;
    s.present = a.calls > 0;
    if (!s.present)
        return s;
    s.calls = a.calls;
    s.total_ms = a.total_ns / 1e6;
    s.mean_ms = a.mean_ns() / 1e6;
    s.p50_ms = a.latency.quantile_ns(0.5) / 1e6;
    s.p95_ms = a.latency.quantile_ns(0.95) / 1e6;
    s.p99_ms = a.latency.quantile_ns(0.99) / 1e6;
    s.rows_per_call = a.rows / a.calls;
    s.blks_read_per_call = a.shared_blks_read / a.calls;
    s.blks_hit_per_call = a.shared_blks_hit / a.calls;
    s.io_wait_ms_per_call =
        a.kernel_executions ? a.io_wait_ns / 1e6 / a.kernel_executions : 0;
    s.error_rate = a.errors / a.calls;
    if (p.requests > 0) {
        s.calls_per_request = a.calls / static_cast<double>(p.requests);
        s.ms_per_request = a.total_ns / 1e6 / static_cast<double>(p.requests);
    }
    s.share = p.total.total_ns > 0 ? share_ns / p.total.total_ns : 0;
    return s;
}

/* A route's measures per request of the route. */
void add_requests(DiffSide &s, const RouteRequests &rr) {
    s.requests = rr.requests;
    s.calls_per_request = s.ms_per_request = 0;
    if (rr.requests == 0)
        return;
    double n = static_cast<double>(rr.requests);
    s.calls_per_request = rr.executions / n;
    s.ms_per_request = rr.mean_ns() / 1e6;
    s.request_p50_ms = rr.latency.quantile_ns(0.5) / 1e6;
    s.request_p95_ms = rr.latency.quantile_ns(0.95) / 1e6;
    s.request_p99_ms = rr.latency.quantile_ns(0.99) / 1e6;
}

DiffPlan dominant_plan(const Side &side, const StatementStats &st) {
    DiffPlan best;
    for (uint32_t index : st.plans) {
        const PlanStats &ps = side.profile.plans[index];
        if (ps.all.calls <= best.calls || ps.definition == 0)
            continue;
        const auto &plan = side.set.plans()[ps.definition - 1].plan;
        best.calls = ps.all.calls;
        best.shape_id = plan.shape_id();
        best.text = plan.plan_text();
        best.cost = root_cost(best.text);
    }
    return best;
}

std::string statement_text(const Side &side, const StatementStats &st) {
    if (st.text == 0)
        return "(no text)";
    return normalized_text(side.set.texts()[st.text - 1].text);
}

std::string top_route(const Profile &p, uint32_t statement) {
    const DimensionStats *routes = p.dimension(Dimension::Route);
    if (routes == nullptr || statement >= routes->by_statement.size())
        return "";
    for (const auto &pair : routes->by_statement[statement]) {
        const GroupStats &g = routes->groups[pair.first];
        if (g.tagged)
            return g.name;
    }
    return "";
}

/* What a latency change of the medians of `test`'s units is judged on. */
struct LatencyChange {
    double p50_base = 0, p50_new = 0;
    const RankTest &test;
    const BatchTest &batches;
};

/* The verdict of a latency change; `change_pct` gets the median's
 * change, `within_drift` whether the executions' test alone found one
 * that the batches do not (the captures' own drift). */
DiffVerdict latency_verdict(const LatencyChange &c, const DiffOptions &o,
                            double &change_pct, bool &within_drift) {
    double ratio = c.p50_base > 0 ? c.p50_new / c.p50_base : 0;
    change_pct = (ratio - 1) * 100;
    within_drift = false;
    double delta_ms = std::fabs(c.p50_new - c.p50_base);
    bool significant = c.test.p_value < o.alpha && delta_ms > o.min_delta_ms;
    double threshold = o.fail_on ? std::min(o.fail_on_pct, o.min_change_pct)
                                 : o.min_change_pct;
    DiffVerdict verdict = !significant              ? DiffVerdict::Unchanged
                          : change_pct > threshold  ? DiffVerdict::Regressed
                          : change_pct < -threshold ? DiffVerdict::Improved
                                                    : DiffVerdict::Unchanged;
    if (verdict == DiffVerdict::Unchanged || !c.batches.present)
        return verdict;
    /* the batches must move the same way, beyond their own spread */
    bool slower = verdict == DiffVerdict::Regressed;
    bool beyond = c.batches.p_value < o.alpha &&
                  (slower ? c.batches.t > 0 : c.batches.t < 0);
    if (beyond)
        return verdict;
    within_drift = true;
    return DiffVerdict::Unchanged;
}

void judge(DiffRow &row, const DiffOptions &o) {
    if (!row.base.present) {
        row.verdict = row.raw_verdict = DiffVerdict::New;
        return;
    }
    if (!row.fresh.present) {
        row.verdict = row.raw_verdict = DiffVerdict::Vanished;
        return;
    }
    bool per_request = row.unit == DiffUnit::Request;
    double p50_base = per_request ? row.base.request_p50_ms : row.base.p50_ms;
    double p50_new = per_request ? row.fresh.request_p50_ms : row.fresh.p50_ms;
    row.median_ratio = p50_base > 0 ? p50_new / p50_base : 0;
    row.added_ms =
        per_request ? (row.fresh.ms_per_request - row.base.ms_per_request) *
                          static_cast<double>(row.fresh.requests)
                    : (row.fresh.mean_ms - row.base.mean_ms) * row.fresh.calls;
    double change_pct = 0;
    row.raw_verdict =
        latency_verdict({p50_base, p50_new, row.test, row.batches}, o,
                        change_pct, row.within_drift);
    row.verdict = row.raw_verdict;
    /* the machine's load (time waiting for a CPU) taken out where known */
    const LoadIndependentLatency &li = row.less_runqueue;
    if (li.present)
        row.verdict = latency_verdict(
            {li.p50_base_ms, li.p50_new_ms, li.test, li.batches}, o, change_pct,
            row.within_drift);
    double share = std::max(row.base.share, row.fresh.share) * 100;
    row.fails = o.fail_on && row.verdict == DiffVerdict::Regressed &&
                change_pct > o.fail_on_pct && share >= o.min_share_pct;
}

/* A judged row's part of the result's totals. */
void count_verdict(DiffResult &r, const DiffRow &row) {
    r.failed = r.failed || row.fails;
    r.within_drift_rows += row.within_drift;
    if (!row.less_runqueue.present)
        return;
    ++r.load_independent_rows;
    if (row.verdict != row.raw_verdict)
        ++r.load_changed_verdicts;
}

int verdict_order(DiffVerdict v) {
    switch (v) {
    case DiffVerdict::Regressed:
        return 0;
    case DiffVerdict::New:
        return 1;
    case DiffVerdict::Vanished:
        return 2;
    case DiffVerdict::Improved:
        return 3;
    case DiffVerdict::Unchanged:
        return 4;
    }
    return 4;
}

/* Regressions by time added, the rest by database time. */
void order_rows(std::vector<DiffRow> &rows) {
    std::stable_sort(
        rows.begin(), rows.end(), [](const DiffRow &a, const DiffRow &b) {
            int va = verdict_order(a.verdict), vb = verdict_order(b.verdict);
            if (va != vb)
                return va < vb;
            if (a.verdict == DiffVerdict::Regressed && a.added_ms != b.added_ms)
                return a.added_ms > b.added_ms;
            return std::max(a.base.total_ms, a.fresh.total_ms) >
                   std::max(b.base.total_ms, b.fresh.total_ms);
        });
}

DiffInput input_of(const CaptureSet &set, const Profile &p) {
    DiffInput in;
    for (const CaptureFileStatus &f : set.files()) {
        in.paths.push_back(f.path);
        if (f.status != CaptureFileStatus::Status::Ok)
            in.notices.push_back(f.path + ": " + status_name(f.status));
    }
    for (const CaptureServer &s : set.servers())
        in.servers.push_back(server_identity(s));
    in.samples = p.samples_used;
    in.executions = p.total.executions;
    in.requests = p.requests;
    in.request_tag = p.request_tag;
    in.total_ms = p.total.total_ns / 1e6;
    in.first_unix_us = p.first_unix_us;
    in.last_unix_us = p.last_unix_us;
    uint64_t lost = p.lost_overwritten + p.lost_reset + p.lost_epoch_changed +
                    p.lost_unknown;
    if (lost)
        in.notices.push_back(std::to_string(lost) +
                             " samples lost while capturing");
    for (const std::string &n : p.notices)
        in.notices.push_back(n);
    return in;
}

/* Matches the statements of BASE and NEW: first by queryid and database
 * on the same server, then the rest by normalized text (several of one
 * text on a side: by the shape of their dominant plan, else in order). */
std::vector<std::pair<int, int>> match_statements(const Side &b,
                                                  const Side &n) {
    std::vector<std::string> base_ids, new_ids;
    for (const auto &s : b.set.servers())
        base_ids.push_back(server_identity(s));
    for (const auto &s : n.set.servers())
        new_ids.push_back(server_identity(s));
    std::vector<std::pair<int, int>> pairs;
    const auto &bs = b.profile.statements, &ns = n.profile.statements;
    std::vector<bool> base_used(bs.size()), new_used(ns.size());

    std::map<std::tuple<std::string, uint32_t, int64_t>, int> by_queryid;
    for (size_t i = 0; i < bs.size(); ++i)
        if (bs[i].text != 0)
            by_queryid[{base_ids[bs[i].server], bs[i].dbid, bs[i].queryid}] =
                static_cast<int>(i);
    for (size_t j = 0; j < ns.size(); ++j) {
        if (ns[j].text == 0)
            continue;
        auto it =
            by_queryid.find({new_ids[ns[j].server], ns[j].dbid, ns[j].queryid});
        if (it == by_queryid.end() || base_used[it->second])
            continue;
        base_used[it->second] = new_used[j] = true;
        pairs.emplace_back(it->second, static_cast<int>(j));
    }

    std::unordered_map<std::string, std::vector<int>> by_text;
    for (size_t i = 0; i < bs.size(); ++i)
        if (!base_used[i])
            by_text[statement_text(b, bs[i]) + '\0' + std::to_string(bs[i].cmd)]
                .push_back(static_cast<int>(i));
    for (size_t j = 0; j < ns.size(); ++j) {
        if (new_used[j])
            continue;
        auto it = by_text.find(statement_text(n, ns[j]) + '\0' +
                               std::to_string(ns[j].cmd));
        if (it == by_text.end() || it->second.empty())
            continue;
        std::vector<int> &candidates = it->second;
        size_t pick = 0;
        int64_t shape = dominant_plan(n, ns[j]).shape_id;
        for (size_t k = 0; k < candidates.size() && shape != 0; ++k)
            if (dominant_plan(b, bs[candidates[k]]).shape_id == shape) {
                pick = k;
                break;
            }
        int i = candidates[pick];
        candidates.erase(candidates.begin() + static_cast<long>(pick));
        base_used[i] = new_used[j] = true;
        pairs.emplace_back(i, static_cast<int>(j));
    }
    for (size_t i = 0; i < bs.size(); ++i)
        if (!base_used[i])
            pairs.emplace_back(static_cast<int>(i), -1);
    for (size_t j = 0; j < ns.size(); ++j)
        if (!new_used[j])
            pairs.emplace_back(-1, static_cast<int>(j));
    return pairs;
}

std::string queryid_key(const StatementStats *b, const StatementStats *n) {
    std::string key;
    if (b)
        key = std::to_string(b->queryid);
    if (n && (!b || n->queryid != b->queryid))
        key += (key.empty() ? "" : " -> ") + std::to_string(n->queryid);
    return key;
}

} // namespace

DiffResult diff_profiles(const DiffSource &b, const DiffSource &n,
                         const DiffOptions &options) {
    DiffResult r;
    r.options = options;
    const Profile &base = b.profile, &fresh = n.profile;
    r.base = input_of(b.set, base);
    r.fresh = input_of(n.set, fresh);
    r.same_server =
        !r.base.servers.empty() && r.base.servers == r.fresh.servers;
    static const Aggregate kEmpty;
    static const RouteRequests kNoRequests;

    for (auto [i, j] : match_statements(b, n)) {
        const StatementStats *bs = i >= 0 ? &base.statements[i] : nullptr;
        const StatementStats *ns = j >= 0 ? &fresh.statements[j] : nullptr;
        DiffRow row;
        row.kind = "statement";
        row.name = ns ? statement_text(n, *ns) : statement_text(b, *bs);
        row.key = queryid_key(bs, ns);
        if (bs && ns)
            row.matched_by =
                bs->queryid == ns->queryid && r.base.servers[bs->server] ==
                                                  r.fresh.servers[ns->server]
                    ? "queryid"
                    : "text";
        const Aggregate &ba = bs ? bs->all : kEmpty;
        const Aggregate &na = ns ? ns->all : kEmpty;
        row.base = side_of(base, ba, bs ? bs->toplevel_ns : 0);
        row.fresh = side_of(fresh, na, ns ? ns->toplevel_ns : 0);
        row.test = mann_whitney(ba.latency, na.latency);
        if (bs)
            row.plan_base = dominant_plan(b, *bs);
        if (ns)
            row.plan_new = dominant_plan(n, *ns);
        row.plan_changed = bs && ns && row.plan_base.shape_id != 0 &&
                           row.plan_new.shape_id != 0 &&
                           row.plan_base.shape_id != row.plan_new.shape_id;
        const ExecutionWork *bw = bs ? statement_work(b.facts, *bs) : nullptr;
        const ExecutionWork *nw = ns ? statement_work(n.facts, *ns) : nullptr;
        if (bw && nw) {
            row.batches = batch_test(bw->batches, nw->batches);
            row.work = compare_work(*bw, *nw, options);
            row.waits = compare_waits(*bw, *nw, ba.waits.totals(),
                                      na.waits.totals(), options);
            row.less_runqueue = less_runqueue(
                bw->latency_less_runqueue, bw->batches_less_runqueue,
                bw->without_split, nw->latency_less_runqueue,
                nw->batches_less_runqueue, nw->without_split);
        }
        row.route = ns ? top_route(fresh, static_cast<uint32_t>(j)) : "";
        if (row.route.empty() && bs)
            row.route = top_route(base, static_cast<uint32_t>(i));
        judge(row, options);
        count_verdict(r, row);
        r.statements.push_back(std::move(row));
    }

    const DimensionStats *br = base.dimension(Dimension::Route);
    const DimensionStats *nr = fresh.dimension(Dimension::Route);
    std::map<std::string, std::pair<const GroupStats *, const GroupStats *>>
        routes;
    if (br)
        for (const GroupStats &g : br->groups)
            if (g.tagged)
                routes[g.name].first = &g;
    if (nr)
        for (const GroupStats &g : nr->groups)
            if (g.tagged)
                routes[g.name].second = &g;
    for (const auto &[name, groups] : routes) {
        DiffRow row;
        row.kind = "route";
        row.name = row.key = name;
        const Aggregate &ba = groups.first ? groups.first->all : kEmpty;
        const Aggregate &na = groups.second ? groups.second->all : kEmpty;
        row.base = side_of(base, ba, ba.total_ns);
        row.fresh = side_of(fresh, na, na.total_ns);
        /* as a statement's: a route new or vanished was not matched */
        if (row.base.present && row.fresh.present)
            row.matched_by = "name";
        /* a structured binding cannot be captured before C++20 */
        const std::string &route = name;
        auto requests_of = [&](const SampleFacts &f) -> const RouteRequests & {
            auto found = f.route_requests.find(route);
            return found == f.route_requests.end() ? kNoRequests
                                                   : found->second;
        };
        const RouteRequests &bq = requests_of(b.facts);
        const RouteRequests &nq = requests_of(n.facts);
        auto bw = b.facts.route_work.find(name);
        auto nw = n.facts.route_work.find(name);
        bool both_worked =
            bw != b.facts.route_work.end() && nw != n.facts.route_work.end();
        if (both_worked) {
            row.work = compare_work(bw->second, nw->second, options);
            row.waits = compare_waits(bw->second, nw->second, ba.waits.totals(),
                                      na.waits.totals(), options);
        }
        add_requests(row.base, bq);
        add_requests(row.fresh, nq);
        /* per request when both sides tell the route's requests apart:
         * one slower statement among the route's fast ones moves its
         * requests, not its median execution */
        if (bq.requests > 0 && nq.requests > 0) {
            row.unit = DiffUnit::Request;
            row.test = mann_whitney(bq.latency, nq.latency);
            row.batches = batch_test(bq.batches, nq.batches);
            row.less_runqueue = less_runqueue(
                bq.latency_less_runqueue, bq.batches_less_runqueue,
                bq.without_split, nq.latency_less_runqueue,
                nq.batches_less_runqueue, nq.without_split);
        } else {
            row.test = mann_whitney(ba.latency, na.latency);
            if (both_worked) {
                const ExecutionWork &bew = bw->second, &new_work = nw->second;
                row.batches = batch_test(bew.batches, new_work.batches);
                row.less_runqueue = less_runqueue(
                    bew.latency_less_runqueue, bew.batches_less_runqueue,
                    bew.without_split, new_work.latency_less_runqueue,
                    new_work.batches_less_runqueue, new_work.without_split);
            }
        }
        row.route = name;
        judge(row, options);
        count_verdict(r, row);
        r.routes.push_back(std::move(row));
    }
    order_rows(r.statements);
    order_rows(r.routes);
    return r;
}

} // namespace qprof
