#include "fleet_wait_totals.h"

namespace qprof {

WaitTotals fleet_wait_totals(const FleetWaits &f) {
    WaitTotals t;
    t.executions = f.executions;
    t.sampled_executions = f.sampled_executions;
    t.min_interval_us = f.min_interval_us;
    t.max_interval_us = f.max_interval_us;
    t.calls = f.calls;
    t.elapsed_ns = f.elapsed_ns;
    t.oncpu_ns = f.oncpu_ns;
    t.runqueue_ns = f.runqueue_ns;
    t.runqueue_waits = f.runqueue_waits;
    t.io_wait_ns = f.io_wait_ns;
    for (size_t slot = 0; slot < kWaitClassSlots && slot < kFleetWaitClassSlots;
         ++slot) {
        t.class_ns[slot] = f.class_ns[slot];
        t.class_count[slot] = f.class_count[slot];
    }
    t.other_events_ns = f.other_events_ns;
    t.other_events_count = f.other_events_count;
    for (const FleetWaitEvent &e : f.events) /* largest first */
        t.add_event(e.event, e.ns, e.count);
    return t;
}

} // namespace qprof
