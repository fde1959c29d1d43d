/*
 * fleet_lock_windows.h — the lock windows of the report of files
 * (analysis/lock_windows.h) over the executions with waits ClickHouse
 * gives in the capture's order (export/fleet_report.h's
 * FleetLockWindowSpec): which statements may have held the locks the
 * statements listed waited for.
 */
#pragma once

#include "fleet_report.h"
#include "lock_windows.h"

namespace qprof {

class FleetLockWindows {
  public:
    /* What query_fleet_report calls; valid while this object lives. */
    FleetLockWindowSpec spec();

  private:
    LockWindows windows_;
};

} // namespace qprof
