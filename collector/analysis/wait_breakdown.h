/*
 * wait_breakdown.h — where the elapsed time of a set of executions went,
 * from their kernel facts (issue 29): on the CPU, runnable and waiting for
 * a CPU (the run queue), off the CPU by the PostgreSQL wait event the
 * backend reported (per class, and the largest events with their counts),
 * and off the CPU with no wait event reported. The parts of one execution
 * add up to its off-CPU and on-CPU time; what they miss of its planning
 * and execution time is `unaccounted_ns` (the CPU slices at a statement's
 * edges, bpf/README.md).
 *
 * Summed over the executions whose IoStats carry the split (a capture of
 * an older collector has kernel facts without it), weighted by the
 * sampling rate like every other sum. An execution without BPF facts but
 * with the extension's sampled waits (Sample.sampled_waits) adds its time
 * per wait event class at the sampler's resolution, and nothing to the
 * CPU, the run queue or the events: the totals say how many executions
 * were sampled, and at what interval. An aggregate without such an
 * execution holds nothing (no allocation): most aggregates of a capture
 * without BPF.
 */
#pragma once

#include "qprof.pb.h"
#include "sample_fields.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace qprof {

/* One wait event's time and off-CPU periods over a set of executions. */
struct WaitEventSum {
    uint32_t event = 0; /* wait_event_info */
    double ns = 0;
    double count = 0;
};

/* PostgreSQL's wait event classes as the capture numbers them
 * (capture::v1::WaitClass: 1 LWLock, 3 Lock, ... 10 IO, 11 any other);
 * slot 0 holds the time off the CPU with no wait event reported. */
constexpr size_t kWaitClassSlots = 12;
/* Events one execution lists at most (IoStats.wait_events). */
constexpr size_t kWaitEventsPerExecution = 5;

/* One execution's split, weighted, as each of its aggregates adds it:
 * read from the sample once (ExecutionView). */
struct WaitView {
    bool present = false; /* the sample's kernel facts carry the split */
    /* ...or, without them, the waits the extension sampled every
     * interval_us (then only the classes are known) */
    bool sampled = false;
    uint32_t interval_us = 0;
    double weight = 0;
    double elapsed_ns = 0, oncpu_ns = 0, runqueue_ns = 0, runqueue_waits = 0,
           io_wait_ns = 0, other_events_ns = 0, other_events_count = 0;
    /* the classes with time (slot 0: no wait event), in no order */
    struct ClassTime {
        uint32_t slot;
        double ns, count;
    };
    size_t classes = 0;
    ClassTime cls[kWaitClassSlots];
    size_t events = 0;
    WaitEventSum event[kWaitEventsPerExecution];

    /* From `io` of an execution of `elapsed_ns` standing for `weight`. */
    void set(const IoFields &io, double weight, uint64_t elapsed_ns);
    /* From the sampled waits of an execution without the kernel's split. */
    void set_sampled(const SampledWaitsFields &waits, double weight,
                     uint64_t elapsed_ns);
};

struct WaitTotals {
    uint64_t executions = 0; /* recorded, with the split */
    /* of them, those whose split was sampled by the extension (no BPF:
     * classes only), and the sampler's intervals seen, µs */
    uint64_t sampled_executions = 0;
    uint32_t min_interval_us = 0, max_interval_us = 0;
    double calls = 0;      /* weighted */
    double elapsed_ns = 0; /* their planning and execution time */
    double oncpu_ns = 0;
    double runqueue_ns = 0, runqueue_waits = 0;
    /* the kernel's uninterruptible sleep: cuts across the classes (a
     * data file read is mostly in it, so is a page fault with no event) */
    double io_wait_ns = 0;
    /* by class; [0]: no wait event */
    std::array<double, kWaitClassSlots> class_ns{}, class_count{};
    std::vector<WaitEventSum> events; /* at most kMaxWaitEvents */
    double other_events_ns = 0, other_events_count = 0;

    double no_event_ns() const { return class_ns[0]; }
    /* Every execution's split was sampled: the CPU, the run queue and the
     * events are unknown, the classes estimated. */
    bool sampled_only() const {
        return executions > 0 && sampled_executions == executions;
    }
    /* "sampled every 10 ms" (or "every 1-10 ms"), "" without sampling. */
    std::string sampled_resolution() const;
    double no_event_count() const { return class_count[0]; }
    /* The off-CPU time by wait event classes (without slot 0). */
    double classes_ns() const;
    /* Elapsed time none of the parts covers (negative when they cover
     * more: a slice of CPU before the statement began). */
    double unaccounted_ns() const;
    /* The events largest first (a copy). */
    std::vector<WaitEventSum> events_by_time() const;
    /* The time of `cls` (capture::v1::WaitClass), 0 out of range. */
    double class_time(int cls) const {
        return cls > 0 && static_cast<size_t>(cls) < kWaitClassSlots
                   ? class_ns[static_cast<size_t>(cls)]
                   : 0;
    }
    void add(const WaitView &v);
    void add_event(uint32_t event, double ns, double count);
    /* Counts `sampled` executions sampled every `interval_us`. */
    void note_interval(uint32_t interval_us, uint64_t sampled);
};

/* Distinct events an aggregate keeps apart; those seen after go to
 * other_events (each execution lists at most 5, largest first). */
constexpr size_t kMaxWaitEvents = 24;

class WaitBreakdown {
  public:
    WaitBreakdown() = default;
    WaitBreakdown(const WaitBreakdown &o);
    WaitBreakdown &operator=(const WaitBreakdown &o);
    WaitBreakdown(WaitBreakdown &&) = default;
    WaitBreakdown &operator=(WaitBreakdown &&) = default;

    /* Whether `io` splits its off-CPU time (a collector before issue 29
     * wrote only offcpu_io_wait_ns and offcpu_other_ns). */
    static bool has_split(const IoFields &io);

    /* Adds one execution; ignored without the split. */
    void add(const WaitView &v) {
        if (v.present)
            mutable_totals().add(v);
    }
    void merge(const WaitBreakdown &o);

    /* null when no execution had the split */
    const WaitTotals *totals() const { return totals_.get(); }

  private:
    WaitTotals &mutable_totals();
    std::unique_ptr<WaitTotals> totals_;
};

/* "Lock", "LWLock", ... for a capture::v1::WaitClass, "no wait event"
 * for 0. */
const char *wait_class_label(int cls);

} // namespace qprof
