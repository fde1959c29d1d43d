#include "wait_breakdown.h"
#include "wait_events.h"

#include <algorithm>

namespace qprof {

namespace pb = capture::v1;

double WaitTotals::classes_ns() const {
    double sum = 0;
    for (double ns : class_ns)
        sum += ns;
    return sum;
}

double WaitTotals::unaccounted_ns() const {
    return elapsed_ns - oncpu_ns - runqueue_ns - classes_ns() - no_event_ns;
}

std::vector<WaitEventSum> WaitTotals::events_by_time() const {
    std::vector<WaitEventSum> out = events;
    std::stable_sort(out.begin(), out.end(),
                     [](const WaitEventSum &a, const WaitEventSum &b) {
                         return a.ns > b.ns;
                     });
    return out;
}

WaitBreakdown::WaitBreakdown(const WaitBreakdown &o)
    : totals_(o.totals_ ? std::make_unique<WaitTotals>(*o.totals_) : nullptr) {}

WaitBreakdown &WaitBreakdown::operator=(const WaitBreakdown &o) {
    if (this != &o)
        totals_ =
            o.totals_ ? std::make_unique<WaitTotals>(*o.totals_) : nullptr;
    return *this;
}

bool WaitBreakdown::has_split(const pb::IoStats &io) {
    return io.runqueue_ns() > 0 || io.wait_classes_size() > 0 ||
           io.offcpu_no_wait_event_ns() > 0 ||
           io.offcpu_io_wait_ns() + io.offcpu_other_ns() == 0;
}

WaitTotals &WaitBreakdown::mutable_totals() {
    if (!totals_)
        totals_ = std::make_unique<WaitTotals>();
    return *totals_;
}

namespace {

void add_event(WaitTotals &t, uint32_t event, double ns, double count) {
    for (WaitEventSum &e : t.events)
        if (e.event == event) {
            e.ns += ns;
            e.count += count;
            return;
        }
    if (t.events.size() < kMaxWaitEvents) {
        t.events.push_back({event, ns, count});
        return;
    }
    t.other_events_ns += ns;
    t.other_events_count += count;
}

} // namespace

void WaitBreakdown::add(const pb::IoStats &io, double w, uint64_t elapsed_ns) {
    if (!has_split(io))
        return;
    WaitTotals &t = mutable_totals();
    ++t.executions;
    t.calls += w;
    t.elapsed_ns += w * static_cast<double>(elapsed_ns);
    t.oncpu_ns += w * static_cast<double>(io.oncpu_ns());
    t.runqueue_ns += w * static_cast<double>(io.runqueue_ns());
    t.runqueue_waits += w * static_cast<double>(io.runqueue_waits());
    t.io_wait_ns += w * static_cast<double>(io.offcpu_io_wait_ns());
    for (const pb::WaitClassTime &c : io.wait_classes()) {
        double ns = w * static_cast<double>(c.ns());
        double count = w * static_cast<double>(c.count());
        int cls = static_cast<int>(c.wait_class());
        if (cls == pb::WAIT_CLASS_NONE) { /* not written: no event */
            t.no_event_ns += ns;
            t.no_event_count += count;
            continue;
        }
        size_t slot = cls > 0 && static_cast<size_t>(cls) < kWaitClassSlots
                          ? static_cast<size_t>(cls)
                          : kWaitClassSlots - 1;
        t.class_ns[slot] += ns;
        t.class_count[slot] += count;
    }
    for (const pb::WaitEventTime &e : io.wait_events())
        add_event(t, e.wait_event_info(), w * static_cast<double>(e.ns()),
                  w * static_cast<double>(e.count()));
    t.other_events_ns += w * static_cast<double>(io.other_wait_events_ns());
    t.other_events_count +=
        w * static_cast<double>(io.other_wait_events_count());
    t.no_event_ns += w * static_cast<double>(io.offcpu_no_wait_event_ns());
    t.no_event_count +=
        w * static_cast<double>(io.offcpu_no_wait_event_count());
}

void WaitBreakdown::merge(const WaitBreakdown &o) {
    if (!o.totals_)
        return;
    const WaitTotals &from = *o.totals_;
    WaitTotals &t = mutable_totals();
    t.executions += from.executions;
    t.calls += from.calls;
    t.elapsed_ns += from.elapsed_ns;
    t.oncpu_ns += from.oncpu_ns;
    t.runqueue_ns += from.runqueue_ns;
    t.runqueue_waits += from.runqueue_waits;
    t.io_wait_ns += from.io_wait_ns;
    for (size_t c = 0; c < kWaitClassSlots; ++c) {
        t.class_ns[c] += from.class_ns[c];
        t.class_count[c] += from.class_count[c];
    }
    for (const WaitEventSum &e : from.events)
        add_event(t, e.event, e.ns, e.count);
    t.other_events_ns += from.other_events_ns;
    t.other_events_count += from.other_events_count;
    t.no_event_ns += from.no_event_ns;
    t.no_event_count += from.no_event_count;
}

const char *wait_class_label(int cls) {
    if (cls == pb::WAIT_CLASS_NONE)
        return "no wait event";
    if (cls == pb::WAIT_CLASS_OTHER)
        return "other class";
    return wait_event_class_name(static_cast<uint32_t>(cls));
}

} // namespace qprof
