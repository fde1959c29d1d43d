#include "syscall_windows.h"

#include <algorithm>
#include <limits>

namespace qprof {

SyscallWindowSchedule::SyscallWindowSchedule(int64_t window_us,
                                             int64_t period_us)
    : window_us_(window_us), period_us_(std::max(period_us, window_us)) {}

bool SyscallWindowSchedule::due_to_open(int64_t now_us) const {
    return !open_ && now_us >= next_open_us_;
}

void SyscallWindowSchedule::opened(int64_t now_us) {
    open_ = true;
    next_open_us_ = now_us + period_us_;
    promised_until_us_ = now_us + window_us_;
    windows_.push_back(Window{now_us, std::numeric_limits<int64_t>::max(),
                              now_us < stepped_until_us_});
    if (windows_.size() > kKeptWindows)
        windows_.pop_front();
}

void SyscallWindowSchedule::open_failed(int64_t now_us) {
    next_open_us_ = now_us + period_us_;
}

bool SyscallWindowSchedule::due_to_close(int64_t now_us) const {
    return open_ && now_us >= promised_until_us_;
}

void SyscallWindowSchedule::closed(int64_t now_us) {
    open_ = false;
    if (!windows_.empty())
        windows_.back().closed_us = now_us;
}

void SyscallWindowSchedule::clock_offset(int64_t now_us, int64_t offset_us) {
    int64_t change = offset_us - offset_us_;
    int64_t jump = change > 0 ? change : -change;
    bool stepped = offset_known_ && jump > kClockStepUs;
    int64_t previous_us = offset_seen_us_;
    offset_known_ = true;
    offset_us_ = offset_us;
    offset_seen_us_ = now_us;
    if (!stepped)
        return;
    /* the schedule goes on in real time: a step back by an hour must not
     * hold the next window back by an hour */
    next_open_us_ += change;
    promised_until_us_ += change;
    /* The step came since the previous call: the windows open or closed
     * since then, on either side of the step, compare times of both. */
    for (auto w = windows_.rbegin();
         w != windows_.rend() && w->closed_us > previous_us - jump; ++w)
        w->clock_stepped = true;
    /* An execution that began before the step and seems to begin after a
     * later window opened ended within it: it lasted longer than the time
     * from the step to that opening, and a covered execution lasts a
     * window and its margin at most. */
    stepped_until_us_ = now_us + window_us_ + kCommitMarginUs;
}

bool SyscallWindowSchedule::covers(int64_t began_us, int64_t ended_us) {
    /* the latest window that opened before the execution began */
    for (auto w = windows_.rbegin(); w != windows_.rend(); ++w) {
        if (w->opened_us > began_us)
            continue;
        if (w->clock_stepped)
            return false;
        int64_t needed_until = ended_us + kCommitMarginUs;
        if (w->closed_us == std::numeric_limits<int64_t>::max()) {
            /* the window stays open for the executions that ended within
             * its time, not for those that keep coming */
            if (needed_until > w->opened_us + window_us_ + kCommitMarginUs)
                return false;
            promised_until_us_ = std::max(promised_until_us_, needed_until);
            return true;
        }
        return needed_until <= w->closed_us;
    }
    return false;
}

} // namespace qprof
