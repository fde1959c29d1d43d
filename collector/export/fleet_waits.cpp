/* Where the fleet's time went: the waits of the executions, the
 * statements listed and the groups (the report's WaitTotals). */
#include "fleet_queries.h"

#include <algorithm>

namespace qprof::fleet {

std::string FleetQueries::sampled_only() {
    return std::string("(not") + kKernelSplit +
           " AND sampled_wait_interval_us > 0)";
}

/* The kWaitColumns sums of FleetWaits, w_0, w_1, ... */
std::string FleetQueries::waits_sql() {
    std::string split = kKernelSplit, sampled = sampled_only();
    std::string any = "(" + split + " OR " + sampled + ")";
    std::vector<std::string> sums = {
        "countIf(" + any + ")",
        "countIf(" + sampled + ")",
        "minIf(sampled_wait_interval_us, " + sampled + ")",
        "maxIf(sampled_wait_interval_us, " + sampled + ")",
        "sumIf(weight, " + any + ")",
        "sumIf(weight * " + std::string(kDbTime) + ", " + any + ")",
        "sumIf(weight * oncpu_ns, " + split + ")",
        "sumIf(weight * runqueue_ns, " + split + ")",
        "sumIf(weight * runqueue_waits, " + split + ")",
        "sumIf(weight * io_wait_ns, " + split + ")",
        "sumIf(weight * other_wait_events_ns, " + split + ")",
        "sumIf(weight * other_wait_events_count, " + split + ")"};
    /* each class's time and count: the kernel's or the sampled */
    for (const char *part : {"ns", "counts"})
        for (size_t slot = 0; slot < kFleetWaitClassSlots; ++slot) {
            std::string of = "(c, n) -> n * (c = " + std::to_string(slot) + ")";
            std::string kernel = std::string(part) == "ns"
                                     ? "wait_class_ns"
                                     : "wait_class_counts";
            std::string sampled_values = std::string(part) == "ns"
                                             ? "sampled_wait_ns"
                                             : "sampled_wait_counts";
            sums.push_back("sumIf(weight * arraySum(arrayMap(" + of +
                           ", wait_classes, " + kernel + ")), " + split +
                           ") + sumIf(weight * arraySum(arrayMap(" + of +
                           ", sampled_wait_classes, " + sampled_values +
                           ")), " + sampled + ")");
        }
    std::string out;
    for (size_t i = 0; i < sums.size(); ++i)
        out += (i ? ", " : "") + sums[i] + " AS w_" + std::to_string(i);
    return out;
}

std::string FleetQueries::class_time_sql(const std::string &classes) {
    std::string of = "(c, n) -> n * has([" + classes + "], c)";
    return "sumIf(weight * arraySum(arrayMap(" + of +
           ", wait_classes, wait_class_ns)), " + kKernelSplit +
           ") + sumIf(weight * arraySum(arrayMap(" + of +
           ", sampled_wait_classes, sampled_wait_ns)), " + sampled_only() + ")";
}

std::string FleetQueries::waits_names() {
    std::string out;
    for (size_t i = 0; i < kWaitColumns; ++i)
        out += (i ? ", w_" : "w_") + std::to_string(i);
    return out;
}

void FleetQueries::set_waits(const std::string *f, FleetWaits &w) {
    w.executions = unum(f[0]);
    w.sampled_executions = unum(f[1]);
    w.min_interval_us = static_cast<uint32_t>(unum(f[2]));
    w.max_interval_us = static_cast<uint32_t>(unum(f[3]));
    w.calls = num(f[4]);
    w.elapsed_ns = num(f[5]);
    w.oncpu_ns = num(f[6]);
    w.runqueue_ns = num(f[7]);
    w.runqueue_waits = num(f[8]);
    w.io_wait_ns = num(f[9]);
    w.other_events_ns = num(f[10]);
    w.other_events_count = num(f[11]);
    for (size_t slot = 0; slot < kFleetWaitClassSlots; ++slot) {
        w.class_ns[slot] = num(f[12 + slot]);
        w.class_count[slot] = num(f[12 + kFleetWaitClassSlots + slot]);
    }
}

/* The top-level executions' waits. */
void FleetQueries::total_waits() {
    Rows rows =
        c_.select("SELECT " + waits_sql() + " FROM " + table("samples") +
                  " FINAL" + where_and("toplevel = 1"));
    check_columns(rows, kWaitColumns, "waits");
    if (!rows.empty())
        set_waits(rows[0].data(), r_.waits);
}

/* The kernel's wait events of the total, the statements listed and the
 * groups shown. */
void FleetQueries::waits() {
    Rows rows;
    if (r_.waits.executions == r_.waits.sampled_executions)
        return; /* no kernel split: no events */
    /* the events of the executions with the kernel's split (rows of an
     * older export have no wait_event_infos: none) */
    std::string events = ", ev, sum(weight * wait_event_ns[i]), sum(weight * "
                         "wait_event_counts[i]) FROM " +
                         table("samples") +
                         " FINAL ARRAY JOIN wait_event_infos AS ev, "
                         "arrayEnumerate(wait_event_infos) AS i";
    auto add_event = [](FleetWaits &w, const std::string *f) {
        w.events.push_back(
            {static_cast<uint32_t>(unum(f[0])), num(f[1]), num(f[2])});
    };
    rows =
        c_.select("SELECT 0" + events +
                  where_and("toplevel = 1 AND " + std::string(kKernelSplit)) +
                  " GROUP BY ev");
    check_columns(rows, 4, "wait events");
    for (const auto &row : rows)
        add_event(r_.waits, &row[1]);

    std::string listed;
    for (const FleetStatement &st : r_.statements)
        listed += std::string(listed.empty() ? "(" : ", (") +
                  std::to_string(st.server_id) + ", " +
                  std::to_string(st.dbid) + ", " + std::to_string(st.queryid) +
                  ", " + sql_quote(st.queryid == 0 ? st.cmd : "") + ")";
    if (!listed.empty()) {
        rows = c_.select(
            "SELECT server_id, dbid, queryid, if(queryid = 0, "
            "toString(cmd), '') AS untexted_cmd" +
            events +
            where_and(std::string(kKernelSplit) +
                      " AND (server_id, dbid, queryid, if(queryid = 0, "
                      "toString(cmd), '')) IN (" +
                      listed + ")") +
            " GROUP BY server_id, dbid, queryid, untexted_cmd, ev");
        check_columns(rows, 7, "statements' wait events");
        for (const auto &row : rows) {
            int st = statement_index(unum(row[0]), unum(row[1]), snum(row[2]),
                                     row[3]);
            if (st >= 0)
                add_event(r_.statements[static_cast<size_t>(st)].waits,
                          &row[4]);
        }
    }
    for (size_t d = 0; d < r_.dimensions.size(); ++d) {
        std::vector<FleetGroup> &groups = r_.dimensions[d].groups;
        if (groups.empty() || !groups[0].has_waits)
            continue;
        std::string names;
        for (const FleetGroup &g : groups)
            names += (names.empty() ? "" : ", ") + sql_quote(g.name);
        rows = c_.select(
            "SELECT " + dimension_sql_[d] + " AS group_name" + events +
            where_and("toplevel = 1 AND " + std::string(kKernelSplit) +
                      " AND (" + dimension_sql_[d] + ") IN (" + names + ")") +
            " GROUP BY group_name, ev");
        check_columns(rows, 4, "groups' wait events");
        for (FleetGroup &g : groups)
            for (const auto &row : rows)
                if (row[0] == g.name)
                    add_event(g.waits, &row[1]);
    }
    auto by_time = [](FleetWaits &w) {
        std::stable_sort(w.events.begin(), w.events.end(),
                         [](const FleetWaitEvent &a, const FleetWaitEvent &b) {
                             return a.ns != b.ns ? a.ns > b.ns
                                                 : a.event < b.event;
                         });
    };
    by_time(r_.waits);
    for (FleetStatement &st : r_.statements)
        by_time(st.waits);
    for (FleetDimension &dim : r_.dimensions)
        for (FleetGroup &g : dim.groups)
            by_time(g.waits);
}

} // namespace qprof::fleet
