#include "fleet_lock_windows.h"
#include "wait_insight_rules.h"

namespace qprof {

FleetLockWindowSpec FleetLockWindows::spec() {
    FleetLockWindowSpec spec;
    spec.add = [this](const FleetExecution &e) {
        windows_.add({e.server, e.dbid, e.statement, e.pid, e.start_unix_us,
                      e.end_unix_us, e.weight, e.takes_row_locks,
                      e.lock_wait_ns});
    };
    spec.finish = [this](std::vector<FleetLockWaiter> &waiters,
                         std::vector<FleetLockPair> &pairs) {
        windows_.finish();
        for (uint32_t s = 0; s < windows_.waiters.size(); ++s)
            if (windows_.waiters[s].waits > 0)
                waiters.push_back({s, windows_.waiters[s].waits,
                                   windows_.waiters[s].waits_with_candidates});
        for (const LockWaitPair &p : windows_.pairs)
            pairs.push_back({p.waiter, p.holder, p.waits});
    };
    spec.holders_listed = kWaitStatementsListed;
    return spec;
}

} // namespace qprof
