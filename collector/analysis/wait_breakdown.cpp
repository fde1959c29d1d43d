#include "wait_breakdown.h"
#include "wait_events.h"

#include <algorithm>
#include <cstdio>

namespace qprof {

namespace pb = capture::v1;

double WaitTotals::classes_ns() const {
    double sum = 0;
    for (size_t c = 1; c < kWaitClassSlots; ++c)
        sum += class_ns[c];
    return sum;
}

double WaitTotals::unaccounted_ns() const {
    return elapsed_ns - oncpu_ns - runqueue_ns - classes_ns() - no_event_ns();
}

std::vector<WaitEventSum> WaitTotals::events_by_time() const {
    std::vector<WaitEventSum> out = events;
    std::stable_sort(out.begin(), out.end(),
                     [](const WaitEventSum &a, const WaitEventSum &b) {
                         return a.ns > b.ns;
                     });
    return out;
}

void WaitTotals::add_event(uint32_t event, double ns, double count) {
    for (WaitEventSum &e : events)
        if (e.event == event) {
            e.ns += ns;
            e.count += count;
            return;
        }
    if (events.size() < kMaxWaitEvents) {
        events.push_back({event, ns, count});
        return;
    }
    other_events_ns += ns;
    other_events_count += count;
}

std::string WaitTotals::sampled_resolution() const {
    if (sampled_executions == 0)
        return "";
    auto ms = [](uint32_t us) {
        char buf[24];
        snprintf(buf, sizeof buf, "%g", us / 1000.0);
        return std::string(buf);
    };
    return "sampled every " +
           (min_interval_us == max_interval_us
                ? ms(max_interval_us)
                : ms(min_interval_us) + "-" + ms(max_interval_us)) +
           " ms";
}

void WaitTotals::note_interval(uint32_t interval_us, uint64_t sampled) {
    if (sampled == 0)
        return;
    if (sampled_executions == 0 || interval_us < min_interval_us)
        min_interval_us = interval_us;
    if (interval_us > max_interval_us)
        max_interval_us = interval_us;
    sampled_executions += sampled;
}

void WaitTotals::add(const WaitView &v) {
    ++executions;
    if (v.sampled)
        note_interval(v.interval_us, 1);
    calls += v.weight;
    elapsed_ns += v.elapsed_ns;
    oncpu_ns += v.oncpu_ns;
    runqueue_ns += v.runqueue_ns;
    runqueue_waits += v.runqueue_waits;
    io_wait_ns += v.io_wait_ns;
    for (size_t i = 0; i < v.classes; ++i) {
        class_ns[v.cls[i].slot] += v.cls[i].ns;
        class_count[v.cls[i].slot] += v.cls[i].count;
    }
    other_events_ns += v.other_events_ns;
    other_events_count += v.other_events_count;
    for (size_t i = 0; i < v.events; ++i)
        add_event(v.event[i].event, v.event[i].ns, v.event[i].count);
}

void WaitView::set(const IoFields &io, double w, uint64_t elapsed) {
    present = WaitBreakdown::has_split(io);
    if (!present)
        return;
    weight = w;
    elapsed_ns = w * static_cast<double>(elapsed);
    oncpu_ns = w * static_cast<double>(io.oncpu_ns());
    runqueue_ns = w * static_cast<double>(io.runqueue_ns());
    runqueue_waits = w * static_cast<double>(io.runqueue_waits());
    io_wait_ns = w * static_cast<double>(io.offcpu_io_wait_ns());
    classes = 0;
    for (const WaitClassFields &c : io.wait_classes()) {
        if (classes == kWaitClassSlots - 1) /* more than there are classes */
            break;
        int id = static_cast<int>(c.wait_class());
        /* WAIT_CLASS_NONE is not written: it would be no wait event */
        uint32_t slot = id >= 0 && static_cast<size_t>(id) < kWaitClassSlots
                            ? static_cast<uint32_t>(id)
                            : static_cast<uint32_t>(kWaitClassSlots - 1);
        cls[classes++] = {slot, w * static_cast<double>(c.ns()),
                          w * static_cast<double>(c.count())};
    }
    if (io.offcpu_no_wait_event_ns() > 0 || io.offcpu_no_wait_event_count() > 0)
        cls[classes++] = {
            0, w * static_cast<double>(io.offcpu_no_wait_event_ns()),
            w * static_cast<double>(io.offcpu_no_wait_event_count())};
    events = 0;
    other_events_ns = w * static_cast<double>(io.other_wait_events_ns());
    other_events_count = w * static_cast<double>(io.other_wait_events_count());
    for (const WaitEventFields &e : io.wait_events()) {
        double ns = w * static_cast<double>(e.ns());
        double count = w * static_cast<double>(e.count());
        if (events < kWaitEventsPerExecution) {
            event[events++] = {e.wait_event_info(), ns, count};
        } else { /* more than the collector writes: the rest */
            other_events_ns += ns;
            other_events_count += count;
        }
    }
}

void WaitView::set_sampled(const SampledWaitsFields &waits, double w,
                           uint64_t elapsed) {
    present = waits.interval_us() > 0;
    sampled = present;
    if (!present)
        return;
    interval_us = waits.interval_us();
    weight = w;
    elapsed_ns = w * static_cast<double>(elapsed);
    oncpu_ns = runqueue_ns = runqueue_waits = io_wait_ns = 0;
    other_events_ns = other_events_count = 0;
    events = 0;
    classes = 0;
    for (const WaitClassFields &c : waits.classes()) {
        if (classes == kWaitClassSlots - 1)
            break;
        int id = static_cast<int>(c.wait_class());
        if (id <= 0) /* a sampled wait always has a class */
            continue;
        uint32_t slot = static_cast<size_t>(id) < kWaitClassSlots
                            ? static_cast<uint32_t>(id)
                            : static_cast<uint32_t>(kWaitClassSlots - 1);
        cls[classes++] = {slot, w * static_cast<double>(c.ns()),
                          w * static_cast<double>(c.count())};
    }
}

WaitBreakdown::WaitBreakdown(const WaitBreakdown &o)
    : totals_(o.totals_ ? std::make_unique<WaitTotals>(*o.totals_) : nullptr) {}

WaitBreakdown &WaitBreakdown::operator=(const WaitBreakdown &o) {
    if (this != &o)
        totals_ =
            o.totals_ ? std::make_unique<WaitTotals>(*o.totals_) : nullptr;
    return *this;
}

bool WaitBreakdown::has_split(const IoFields &io) {
    return io.runqueue_ns() > 0 || io.wait_classes_size() > 0 ||
           io.offcpu_no_wait_event_ns() > 0 ||
           io.offcpu_io_wait_ns() + io.offcpu_other_ns() == 0;
}

WaitTotals &WaitBreakdown::mutable_totals() {
    if (!totals_)
        totals_ = std::make_unique<WaitTotals>();
    return *totals_;
}

void WaitBreakdown::merge(const WaitBreakdown &o) {
    if (!o.totals_)
        return;
    const WaitTotals &from = *o.totals_;
    WaitTotals &t = mutable_totals();
    if (from.sampled_executions > 0) {
        t.note_interval(from.min_interval_us, from.sampled_executions);
        t.max_interval_us = std::max(t.max_interval_us, from.max_interval_us);
    }
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
        t.add_event(e.event, e.ns, e.count);
    t.other_events_ns += from.other_events_ns;
    t.other_events_count += from.other_events_count;
}

const char *wait_class_label(int cls) {
    if (cls == pb::WAIT_CLASS_NONE)
        return "no wait event";
    if (cls == pb::WAIT_CLASS_OTHER)
        return "other class";
    return wait_event_class_name(static_cast<uint32_t>(cls));
}

} // namespace qprof
