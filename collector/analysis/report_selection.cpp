#include "report_selection.h"

#include <algorithm>
#include <functional>

namespace qprof {

namespace {

/* Statements with a nonzero `measure`, largest first, at most `top`. */
std::vector<uint32_t>
ranked(const Profile &p, size_t top,
       const std::function<double(const StatementStats &)> &measure) {
    std::vector<uint32_t> order;
    for (uint32_t i = 0; i < p.statements.size(); ++i)
        if (measure(p.statements[i]) > 0)
            order.push_back(i);
    auto larger = [&](uint32_t x, uint32_t y) {
        double a = measure(p.statements[x]), b = measure(p.statements[y]);
        return a != b ? a > b : x < y;
    };
    if (order.size() > top) {
        std::partial_sort(order.begin(), order.begin() + top, order.end(),
                          larger);
        order.resize(top);
    } else {
        std::sort(order.begin(), order.end(), larger);
    }
    return order;
}

/* The rankings' JSON names and titles for the terminal. */
struct RankingName {
    const char *name, *title;
};
const RankingName kRankingNames[] = {
    {"total_time", "total time"},
    {"mean_time", "mean time"},
    {"calls", "calls"},
    {"rows", "rows"},
    {"shared_blks_read", "shared blocks read"},
    {"storage_reads", "storage reads (kernel)"},
    {"io_wait", "I/O wait (kernel)"},
    {"offcpu", "off-CPU time (kernel)"},
    {"runqueue", "run queue (kernel)"},
    {"lock_wait", "Lock, LWLock (kernel)"},
    {"temp_blks", "temp blocks"},
    {"errors", "errors"},
};

} // namespace

const char *ranking_title(const std::string &name) {
    for (const RankingName &r : kRankingNames)
        if (name == r.name)
            return r.title;
    return "";
}

ReportSelection select_for_report(const Analysis &a,
                                  const ReportOptions &options) {
    const Profile &p = a.profile;
    ReportSelection sel;
    size_t n = p.statements.size();
    sel.by_total = ranked(p, n, [](const StatementStats &s) {
        return s.all.total_ns + 1e-9; /* every statement, even 0 ns */
    });
    sel.rank.assign(n, 0);
    for (size_t i = 0; i < sel.by_total.size(); ++i)
        sel.rank[sel.by_total[i]] = static_cast<uint32_t>(i + 1);

    size_t top = options.top;
    auto add_ranking = [&](const char *name,
                           std::function<double(const StatementStats &)> m) {
        sel.rankings.push_back({name, ranking_title(name), ranked(p, top, m)});
    };
    add_ranking("total_time",
                [](const StatementStats &s) { return s.all.total_ns; });
    add_ranking("mean_time",
                [](const StatementStats &s) { return s.all.mean_ns(); });
    add_ranking("calls", [](const StatementStats &s) { return s.all.calls; });
    add_ranking("rows", [](const StatementStats &s) { return s.all.rows; });
    add_ranking("shared_blks_read",
                [](const StatementStats &s) { return s.all.shared_blks_read; });
    add_ranking("storage_reads", [](const StatementStats &s) {
        return s.all.page_cache_misses;
    });
    add_ranking("io_wait",
                [](const StatementStats &s) { return s.all.io_wait_ns; });
    add_ranking("offcpu", [](const StatementStats &s) {
        return s.all.io_wait_ns + s.all.other_wait_ns;
    });
    add_ranking("runqueue", [](const StatementStats &s) {
        const WaitTotals *t = s.all.waits.totals();
        return t ? t->runqueue_ns : 0;
    });
    add_ranking("lock_wait", [](const StatementStats &s) {
        const WaitTotals *t = s.all.waits.totals();
        return t ? t->class_time(capture::v1::WAIT_CLASS_LOCK) +
                       t->class_time(capture::v1::WAIT_CLASS_LWLOCK)
                 : 0;
    });
    add_ranking("temp_blks", [](const StatementStats &s) {
        return s.all.temp_blks_read + s.all.temp_blks_written;
    });
    add_ranking("errors", [](const StatementStats &s) { return s.all.errors; });

    sel.statement_key.assign(n, -1);
    auto list = [&](uint32_t stmt) {
        if (stmt >= n || sel.statement_key[stmt] >= 0)
            return;
        sel.statements.push_back(stmt);
        sel.statement_key[stmt] = static_cast<int>(sel.statements.size());
    };
    for (size_t i = 0; i < sel.by_total.size() && i < top; ++i)
        list(sel.by_total[i]);
    for (const Ranking &r : sel.rankings)
        for (uint32_t s : r.statements)
            list(s);
    for (size_t i = 0; i < a.insights.size() && i < top; ++i) {
        if (a.insights[i].statement >= 0)
            list(static_cast<uint32_t>(a.insights[i].statement));
        for (uint32_t s : a.insights[i].statements)
            list(s);
    }
    for (size_t i = 0; i < a.plan_changes.size() && i < top; ++i)
        list(a.plan_changes[i].statement);
    for (const NPlusOne &np : p.n_plus_one)
        list(np.statement);
    for (const ErrorStats &e : p.errors) {
        std::vector<std::pair<uint32_t, double>> counts(e.statements.begin(),
                                                        e.statements.end());
        std::sort(counts.begin(), counts.end(),
                  [](const auto &x, const auto &y) {
                      return x.second != y.second ? x.second > y.second
                                                  : x.first < y.first;
                  });
        for (size_t i = 0; i < counts.size() && i < kTopPerGroup; ++i)
            list(counts[i].first);
    }
    for (const DimensionStats &dim : p.dimensions) {
        std::vector<uint32_t> order(dim.groups.size());
        for (uint32_t g = 0; g < order.size(); ++g)
            order[g] = g;
        std::sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
            double a = dim.groups[x].all.total_ns,
                   b = dim.groups[y].all.total_ns;
            return a != b ? a > b : x < y;
        });
        if (order.size() > top)
            order.resize(top);
        for (uint32_t g : order)
            for (size_t i = 0; i < dim.by_group[g].size() && i < kTopPerGroup;
                 ++i)
                list(dim.by_group[g][i].first);
        sel.groups.push_back(std::move(order));
    }

    sel.plan_key.assign(p.plans.size(), -1);
    for (uint32_t stmt : sel.statements)
        for (uint32_t plan : p.statements[stmt].plans) {
            sel.plans.push_back(plan);
            sel.plan_key[plan] = static_cast<int>(sel.plans.size());
        }
    return sel;
}

std::vector<const NPlusOne *> n_plus_one_by_time(const Profile &profile) {
    std::vector<const NPlusOne *> list;
    for (const NPlusOne &n : profile.n_plus_one)
        list.push_back(&n);
    std::sort(list.begin(), list.end(),
              [](const NPlusOne *x, const NPlusOne *y) {
                  return x->total_ns > y->total_ns;
              });
    return list;
}

std::vector<const ErrorStats *> errors_by_count(const Profile &profile) {
    std::vector<const ErrorStats *> list;
    for (const ErrorStats &e : profile.errors)
        list.push_back(&e);
    std::sort(list.begin(), list.end(),
              [](const ErrorStats *x, const ErrorStats *y) {
                  return x->count > y->count;
              });
    return list;
}

} // namespace qprof
