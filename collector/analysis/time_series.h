/*
 * time_series.h — values per time interval, for a whole capture and for
 * each statement and group, in memory that does not grow with the
 * capture's length: intervals start at 1 s and double in width (pairs
 * merged) whenever the capture spans more than kMaxIntervals of them. A
 * series is brought to the current width only when it is next touched.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace qprof {

/* The intervals all series share. */
class TimeGrid {
  public:
    static constexpr int64_t kMaxIntervals = 120;

    /* The interval of `unix_us` at the current width; widens the grid
     * when the capture would span too many. */
    int64_t interval_of(int64_t unix_us) {
        /* inline for the interval of the previous call (samples come in
         * time order, many to an interval): no division */
        if (unix_us >= last_from_us_ && unix_us < last_to_us_)
            return last_at_;
        return interval_of_new(unix_us);
    }

    uint32_t shift() const { return shift_; }
    int64_t width_us() const { return kBaseWidthUs << shift_; }
    bool empty() const { return !any_; }
    int64_t first() const { return first_; }
    int64_t last() const { return last_; }
    int64_t start_unix_us() const { return first_ * width_us(); }
    int64_t intervals() const { return any_ ? last_ - first_ + 1 : 0; }

  private:
    static constexpr int64_t kBaseWidthUs = 1000000;
    /* interval_of() outside the interval of its previous call */
    int64_t interval_of_new(int64_t unix_us);
    uint32_t shift_ = 0;
    /* the previous call's interval at the current width, and its times */
    int64_t last_at_ = 0, last_from_us_ = 0, last_to_us_ = 0;
    bool any_ = false;
    int64_t first_ = 0, last_ = 0; /* at the current width */
};

/* One series of sums per interval (sparse at its ends). */
class TimeSeries {
  public:
    void add(const TimeGrid &grid, int64_t interval, double value) {
        /* inline for an interval already held at the grid's width: every
         * sample is added to several series */
        size_t at = static_cast<size_t>(interval - first_);
        if (grid.shift() == shift_ && interval >= first_ &&
            at < values_.size()) {
            values_[at] += static_cast<float>(value);
            return;
        }
        add_widening(grid, interval, value);
    }
    /* Values for the grid's intervals first()..last(). */
    std::vector<double> values(const TimeGrid &grid) const;

  private:
    /* add() of an interval not held yet, or after the grid widened */
    void add_widening(const TimeGrid &grid, int64_t interval, double value);
    void widen_to(uint32_t shift);
    uint32_t shift_ = 0;
    int64_t first_ = 0;
    std::vector<float> values_;
};

} // namespace qprof
