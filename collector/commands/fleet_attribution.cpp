#include "fleet_attribution.h"
#include "fleet_wait_totals.h"

namespace qprof {

namespace {

/* A group's counts and sums as the report of files' Aggregate holds them
 * (no histogram, series or waits: the writer takes those apart).
 * FleetGroup names each sum as Aggregate does. */
Aggregate sums_of(const FleetGroup &g) {
    Aggregate a;
#define QPROF_COPY(name, ...) a.name = g.name;
    QPROF_COPY(executions) QPROF_COPY(kernel_executions);
    QPROF_COPY(calls) QPROF_COPY(total_ns) QPROF_COPY(errors);
    QPROF_SAMPLE_SUMS(QPROF_COPY);
    QPROF_KERNEL_SUMS(QPROF_COPY);
#undef QPROF_COPY
    return a;
}

} // namespace

FleetAttribution::FleetAttribution(const FleetReport &r) {
    size_t groups = 0;
    for (const FleetDimension &dim : r.dimensions)
        groups += dim.groups.size();
    /* reserved: the groups point into them */
    sums_.reserve(groups);
    waits_.reserve(groups);
    for (const FleetDimension &dim : r.dimensions) {
        AttributionDimension out;
        out.name = dim.name;
        out.groups_total = dim.groups_total;
        for (const FleetGroup &g : dim.groups) {
            AttributionGroup group;
            group.name = g.name;
            group.tagged = g.tagged;
            sums_.push_back(sums_of(g));
            group.all = &sums_.back();
            group.latency = {g.min_ns, g.max_ns, g.p50_ns, g.p95_ns, g.p99_ns};
            if (g.has_waits && g.waits.executions > 0) {
                waits_.push_back(fleet_wait_totals(g.waits));
                group.waits = &waits_.back();
            }
            for (size_t i = 0; i < g.top_statements.size(); ++i)
                group.top_statements.push_back(
                    {"s" + std::to_string(g.top_statements[i] + 1),
                     g.top_statement_calls[i], g.top_statement_ns[i]});
            out.groups.push_back(std::move(group));
        }
        dimensions_.push_back(std::move(out));
    }
}

} // namespace qprof
