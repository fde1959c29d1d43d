#include "analysis.h"
#include "insights.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

namespace qprof {

namespace pb = capture::v1;

const std::string &Analysis::text_of(uint32_t statement) const {
    static const std::string none;
    uint32_t text = profile.statements[statement].text;
    return text == 0 ? none : set.texts()[text - 1].text;
}

std::string Analysis::top_group_of(uint32_t statement, Dimension d) const {
    const DimensionStats *dim = profile.dimension(d);
    if (dim == nullptr || statement >= dim->by_statement.size())
        return "";
    for (const auto &entry : dim->by_statement[statement])
        if (dim->groups[entry.first].tagged)
            return dim->groups[entry.first].name;
    return "";
}

std::string Analysis::setting(uint32_t server, const std::string &name) const {
    return set.servers()[server].setting(name);
}

const pb::Relation *Analysis::relation(uint32_t statement,
                                       const std::string &name) const {
    const StatementStats &st = profile.statements[statement];
    const pb::CatalogSnapshot *snap = set.servers()[st.server].catalog(st.dbid);
    if (snap == nullptr)
        return nullptr;
    for (const pb::Relation &r : snap->relations())
        if (r.schema() + "." + r.name() == name)
            return &r;
    return nullptr;
}

double Analysis::share(double ns) const {
    return profile.total.total_ns > 0 ? ns / profile.total.total_ns : 0;
}

double Analysis::sample_rate_scale() const {
    double scale = 1;
    for (const CaptureServer &s : set.servers())
        scale = std::max(scale, 1 / s.sample_rate);
    return scale;
}

const PlanTree &Analysis::tree(uint32_t plan) const {
    if (trees_.size() != profile.plans.size()) {
        trees_.assign(profile.plans.size(), PlanTree());
        parsed_.assign(profile.plans.size(), false);
    }
    if (!parsed_[plan]) {
        const PlanStats &ps = profile.plans[plan];
        trees_[plan] =
            parse_plan_json(set.plans()[ps.definition - 1].plan.plan_json());
        match_actuals(trees_[plan], ps.nodes);
        parsed_[plan] = true;
    }
    return trees_[plan];
}

void analyze(Analysis &a) {
    find_insights(a);
}

PlanComparison compare_plans(const std::vector<PlanOutcome> &plans) {
    PlanComparison c;
    for (uint32_t i = 0; i < plans.size(); ++i)
        c.order.push_back(i);
    std::stable_sort(c.order.begin(), c.order.end(),
                     [&](uint32_t x, uint32_t y) {
                         return plans[x].first_unix_us < plans[y].first_unix_us;
                     });
    if (plans.empty())
        return c;
    c.slower = c.faster = c.order[0];
    for (uint32_t i : c.order) {
        if (plans[i].mean_ns > plans[c.slower].mean_ns)
            c.slower = i;
        if (plans[i].mean_ns < plans[c.faster].mean_ns)
            c.faster = i;
    }
    c.extra_ns = (plans[c.slower].mean_ns - plans[c.faster].mean_ns) *
                 plans[c.slower].calls;
    c.changed_unix_us = plans[c.order.back()].first_unix_us;
    return c;
}

std::string human_bytes(double bytes) {
    const char *units[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        ++u;
    }
    char buf[32];
    snprintf(buf, sizeof buf, u == 0 || bytes >= 100 ? "%.0f %s" : "%.1f %s",
             bytes, units[u]);
    return buf;
}

std::string human_percent(double share) {
    char buf[16];
    snprintf(buf, sizeof buf, share >= 0.1 ? "%.0f%%" : "%.1f%%", share * 100);
    return buf;
}

std::string format_number(const char *format, double value) {
    char buf[64];
    snprintf(buf, sizeof buf, format, value);
    return buf;
}

std::string human_ms(double ms) {
    char buf[32];
    if (ms >= 100000)
        snprintf(buf, sizeof buf, "%.0f s", ms / 1000);
    else if (ms >= 1000)
        snprintf(buf, sizeof buf, "%.2f s", ms / 1000);
    else if (ms >= 10)
        snprintf(buf, sizeof buf, "%.1f ms", ms);
    else if (ms >= 1)
        snprintf(buf, sizeof buf, "%.2f ms", ms);
    else
        snprintf(buf, sizeof buf, "%.0f us", ms * 1000);
    return buf;
}

std::string human_count(double n) {
    char buf[32];
    if (n != std::floor(n) && n < 100) {
        snprintf(buf, sizeof buf, "%.1f", n);
        return buf;
    }
    snprintf(buf, sizeof buf, "%.0f", n);
    std::string digits = buf, out;
    size_t start = digits[0] == '-' ? 1 : 0;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > start && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return out;
}

} // namespace qprof
