#include "time_series.h"

#include <algorithm>

namespace qprof {

namespace {

/* floor(a / 2^s) for negative a too */
int64_t shift_down(int64_t a, uint32_t s) {
    return a >> s;
}

} // namespace

int64_t TimeGrid::interval_of_new(int64_t unix_us) {
    int64_t at = unix_us >= 0 ? unix_us / width_us() : -1;
    if (!any_) {
        any_ = true;
        first_ = last_ = at;
    } else {
        while (std::max(last_, at) - std::min(first_, at) + 1 > kMaxIntervals) {
            ++shift_;
            first_ = shift_down(first_, 1);
            last_ = shift_down(last_, 1);
            at = shift_down(at, 1);
        }
        first_ = std::min(first_, at);
        last_ = std::max(last_, at);
    }
    /* the times of `at` (none for the interval before time 0), for the
     * next call: within them it is `at` until the grid widens, and only
     * this function widens it */
    int64_t from = 0, to = 0;
    if (at < 0 || __builtin_mul_overflow(at, width_us(), &from) ||
        __builtin_add_overflow(from, width_us(), &to))
        from = to = 0;
    last_at_ = at;
    last_from_us_ = from;
    last_to_us_ = to;
    return at;
}

void TimeSeries::widen_to(uint32_t shift) {
    if (shift <= shift_)
        return;
    uint32_t by = shift - shift_;
    int64_t new_first = shift_down(first_, by);
    std::vector<float> widened;
    for (size_t i = 0; i < values_.size(); ++i) {
        size_t at = static_cast<size_t>(
            shift_down(first_ + static_cast<int64_t>(i), by) - new_first);
        if (at >= widened.size())
            widened.resize(at + 1, 0);
        widened[at] += values_[i];
    }
    values_.swap(widened);
    first_ = new_first;
    shift_ = shift;
}

void TimeSeries::add_widening(const TimeGrid &grid, int64_t interval,
                              double value) {
    widen_to(grid.shift());
    if (values_.empty()) {
        first_ = interval;
        values_.assign(1, 0);
    } else if (interval < first_) {
        values_.insert(values_.begin(), static_cast<size_t>(first_ - interval),
                       0);
        first_ = interval;
    } else if (static_cast<size_t>(interval - first_) >= values_.size()) {
        values_.resize(static_cast<size_t>(interval - first_) + 1, 0);
    }
    values_[static_cast<size_t>(interval - first_)] +=
        static_cast<float>(value);
}

std::vector<double> TimeSeries::values(const TimeGrid &grid) const {
    std::vector<double> out(static_cast<size_t>(grid.intervals()), 0);
    TimeSeries copy = *this;
    copy.widen_to(grid.shift());
    for (size_t i = 0; i < copy.values_.size(); ++i) {
        int64_t at = copy.first_ + static_cast<int64_t>(i) - grid.first();
        if (at >= 0 && at < static_cast<int64_t>(out.size()))
            out[static_cast<size_t>(at)] += copy.values_[i];
    }
    return out;
}

} // namespace qprof
