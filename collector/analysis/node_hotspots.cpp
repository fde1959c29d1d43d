#include "node_hotspots.h"

#include <algorithm>

namespace qprof {

std::vector<NodeHotspot> profile_node_hotspots(const Profile &profile,
                                               size_t max_spots) {
    std::vector<NodeHotspot> spots;
    for (const PlanStats &ps : profile.plans) {
        for (const NodeTotals &t : ps.nodes) {
            if (!t.seen)
                continue;
            auto found = std::find_if(
                spots.begin(), spots.end(), [&](const NodeHotspot &s) {
                    return s.node_type == t.node_type &&
                           s.relation == t.relation && s.index == t.index;
                });
            if (found == spots.end()) {
                if (spots.size() >= max_spots)
                    continue;
                NodeHotspot spot;
                spot.node_type = t.node_type;
                spot.relation = t.relation;
                spot.index = t.index;
                spots.push_back(std::move(spot));
                found = spots.end() - 1;
            }
            NodeHotspot &s = *found;
            s.executions += t.executions;
            s.loops += t.loops;
            s.actual_rows += t.actual_rows;
            s.rows_removed_by_filter += t.rows_removed_by_filter;
            s.total_time_ms += t.total_time_ms;
            s.timed = s.timed || t.timed_executions > 0;
            s.shared_blks_read += t.shared_blks_read;
            s.temp_blks_written += t.temp_blks_written;
            s.max_estimate_factor =
                std::max(s.max_estimate_factor, t.max_estimate_factor);
            if (std::find(s.statements.begin(), s.statements.end(),
                          ps.statement) == s.statements.end())
                s.statements.push_back(ps.statement);
        }
    }
    std::sort(spots.begin(), spots.end(),
              [](const NodeHotspot &x, const NodeHotspot &y) {
                  return x.weight() > y.weight();
              });
    return spots;
}

void node_hotspots_json(
    JsonWriter &w, const std::vector<NodeHotspot> &spots, size_t top,
    const std::function<std::string(uint32_t)> &statement_key) {
    w.key("node_hotspots").begin_array();
    for (size_t i = 0; i < spots.size() && i < top; ++i) {
        const NodeHotspot &s = spots[i];
        w.begin_object();
        w.field("node_type", s.node_type);
        w.key("relation").string_or_null(s.relation);
        w.key("index").string_or_null(s.index);
        w.field("executions", s.executions);
        w.field("loops", s.loops);
        w.field("actual_rows", s.actual_rows);
        w.field("rows_removed_by_filter", s.rows_removed_by_filter);
        w.key("total_time_ms");
        s.timed ? w.value(s.total_time_ms) : w.null();
        w.field("shared_blks_read", s.shared_blks_read);
        w.field("temp_blks_written", s.temp_blks_written);
        w.key("max_estimate_factor");
        s.max_estimate_factor > 0 ? w.value(s.max_estimate_factor) : w.null();
        w.key("statements").begin_array();
        for (uint32_t stmt : s.statements) {
            std::string key = statement_key(stmt);
            if (!key.empty())
                w.value(key);
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
}

} // namespace qprof
