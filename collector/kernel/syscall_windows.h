/*
 * syscall_windows.h — when the system call programs are attached with
 * `--bpf-syscalls sampled`, and which executions their windows cover.
 *
 * Tracing system calls puts every system call of the machine on the
 * kernel's slow path (about 45 to 130 ns each on the machines measured),
 * whatever process makes it. With sampled, the programs are attached for a
 * window of W seconds every P seconds, and the machine pays W/P of that.
 * An execution gets the system call fields only when all of it ran inside
 * one window: it began (planning included) after the window opened, and
 * ended, with the commit that may follow it, before the window closed.
 * Its other kernel facts do not depend on windows.
 *
 * Times are Unix µs, the clock of the samples' start and end. When that
 * clock steps (the caller passes clock_offset() the wall clock's offset to
 * the monotonic clock, and it changed), times on both sides of the step
 * cannot be compared: the window open then, and those opening soon after
 * (an execution that began before the step could seem to begin after
 * them), cover nothing. Pure bookkeeping: the caller attaches and
 * detaches.
 *
 *   SyscallWindowSchedule schedule(window_us, period_us);
 *   if (schedule.due_to_open(now)) { attach...; schedule.opened(now); }
 *   if (schedule.due_to_close(now)) { ...; schedule.closed(now); detach }
 *   schedule.clock_offset(now, realtime_minus_monotonic); // each time
 *   bool whole = schedule.covers(began_us, ended_us);
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>

namespace qprof {

class SyscallWindowSchedule {
  public:
    /* Room left after an execution's end for the commit that follows it,
     * whose system calls (the WAL write and flush) are the execution's. */
    static constexpr int64_t kCommitMarginUs = 250000;
    /* Closed windows remembered, for samples read late. */
    static constexpr size_t kKeptWindows = 4096;
    /* A change of the wall clock's offset to the monotonic clock beyond
     * this is a step; NTP slews the clock by 0.5 ms a second at most. */
    static constexpr int64_t kClockStepUs = 20000;

    SyscallWindowSchedule(int64_t window_us, int64_t period_us);

    /* A window should open now (the first one at once). */
    bool due_to_open(int64_t now_us) const;
    /* The programs were attached at `now_us` (read after attaching). */
    void opened(int64_t now_us);
    /* Attaching failed: try again a period later. */
    void open_failed(int64_t now_us);
    /* The open window should close now: its time is up, and no execution
     * covers() promised it to still needs it. */
    bool due_to_close(int64_t now_us) const;
    /* The programs are about to be detached (read before detaching). */
    void closed(int64_t now_us);
    bool is_open() const { return open_; }
    /* The wall clock at `now_us` is `offset_us` ahead of the monotonic
     * clock: call it before the other calls, each time. */
    void clock_offset(int64_t now_us, int64_t offset_us);

    /* All of an execution from `began_us` to `ended_us` ran inside one
     * window. An open window covers the executions that end within its
     * time, and then stays open until their end plus the commit margin:
     * call it when the sample is read, not ahead. */
    bool covers(int64_t began_us, int64_t ended_us);

  private:
    struct Window {
        int64_t opened_us;
        int64_t closed_us;  /* INT64_MAX while open */
        bool clock_stepped; /* the wall clock stepped around it */
    };
    int64_t window_us_;
    int64_t period_us_;
    int64_t next_open_us_ = 0;
    int64_t promised_until_us_ = 0; /* the open window stays open until */
    bool open_ = false;
    std::deque<Window> windows_; /* oldest first */
    bool offset_known_ = false;
    int64_t offset_us_ = 0;
    int64_t offset_seen_us_ = 0; /* when offset_us_ was last passed */
    /* windows opening before this, after a step, cover nothing */
    int64_t stepped_until_us_ = std::numeric_limits<int64_t>::min();
};

} // namespace qprof
