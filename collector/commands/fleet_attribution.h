/*
 * fleet_attribution.h — the attribution of `qprof report --clickhouse`
 * (every dimension's groups, from ClickHouse's answers) in the form the
 * report's JSON writer takes (attribution_dimensions_json, report_json.h),
 * so that both reports write `attribution.dimensions` with one writer.
 */
#pragma once

#include "fleet_report.h"
#include "report_json.h"

#include <vector>

namespace qprof {

class FleetAttribution {
  public:
    explicit FleetAttribution(const FleetReport &r);
    FleetAttribution(const FleetAttribution &) = delete;
    FleetAttribution &operator=(const FleetAttribution &) = delete;

    /* statements keyed s1... in FleetReport::statements' order */
    const std::vector<AttributionDimension> &dimensions() const {
        return dimensions_;
    }

  private:
    /* what the dimensions' groups point to */
    std::vector<Aggregate> sums_;
    std::vector<WaitTotals> waits_;
    std::vector<AttributionDimension> dimensions_;
};

} // namespace qprof
