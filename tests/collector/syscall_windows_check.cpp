// syscall_windows_check.cpp — SyscallWindowSchedule's coverage rule around
// wall clock steps, driven with made-up times. Prints one line per check,
// "ok <what>" or "not ok <what>", for tests/t/160_syscall_windows_clock.pl.
#include "syscall_windows.h"

#include <cstdio>

using qprof::SyscallWindowSchedule;

namespace {

constexpr int64_t kSecond = 1000000;
int failures = 0;

void check(bool passed, const char *what) {
    printf("%s %s\n", passed ? "ok" : "not ok", what);
    if (!passed)
        ++failures;
}

/* Windows of 2 s every 20 s, the first one opened at `start`; the wall
 * clock runs `offset` ahead of the monotonic clock. */
struct Clock {
    SyscallWindowSchedule schedule{2 * kSecond, 20 * kSecond};
    int64_t offset = 1000 * kSecond;
    /* the collector's poll at wall time `now`: the offset, then the
     * schedule */
    void poll(int64_t now) {
        schedule.clock_offset(now, offset);
        if (schedule.due_to_close(now))
            schedule.closed(now);
        else if (schedule.due_to_open(now))
            schedule.opened(now);
    }
};

} // namespace

int main() {
    const int64_t t0 = 5000 * kSecond;
    {
        Clock c;
        c.poll(t0); /* opens */
        c.poll(t0 + kSecond);
        check(c.schedule.covers(t0 + kSecond / 10, t0 + kSecond / 2),
              "without a step, an execution within the window is covered");
        c.poll(t0 + 3 * kSecond); /* closes */
        check(!c.schedule.covers(t0 + kSecond, t0 + 2 * kSecond +
                                                   9 * kSecond / 10),
              "an execution ending too close to the close is not");
    }
    {
        /* The clock steps 5 s forward while a window is open, just after
         * an execution ended: the next poll closes the window at once, and
         * its close, on the new clock, seems long after that execution's
         * end and commit margin. */
        Clock c;
        c.poll(t0); /* opens */
        c.offset += 5 * kSecond;
        c.poll(t0 + 5 * kSecond + kSecond / 2); /* 0.5 s in: closes */
        check(!c.schedule.covers(t0 + kSecond / 10, t0 + 45 * kSecond / 100),
              "a window open when the clock steps forward does not cover an "
              "execution whose commit margin went past its real close");
        check(!c.schedule.covers(t0 + kSecond / 10, t0 + kSecond / 5),
              "nor any other execution of that window");
    }
    {
        /* The clock steps 0.5 s back between the time the next window is
         * due and the poll that would open it; an execution began in that
         * gap, on the old clock. The window opens on the new clock, 0.5 s
         * later in real time, and seems to open before the execution
         * began: its calls of the first 0.45 s were not traced. */
        Clock c;
        c.poll(t0);                               /* opens */
        c.poll(t0 + 2 * kSecond);                 /* closes */
        c.poll(t0 + 19 * kSecond + 9 * kSecond / 10); /* not yet due */
        int64_t began = t0 + 20 * kSecond + kSecond / 20; /* old clock */
        c.offset -= kSecond / 2; /* at t0 + 20.08 s */
        c.poll(t0 + 20 * kSecond + kSecond / 10 - kSecond / 2);
        int64_t open_at = t0 + 20 * kSecond; /* real t0 + 20.5 s */
        c.poll(open_at);                     /* opens */
        c.poll(open_at + kSecond);
        check(c.schedule.is_open() && began >= open_at,
              "(the window is open, and seems to have opened before the "
              "execution began)");
        check(!c.schedule.covers(began, began + 85 * kSecond / 100),
              "an execution that began before a backward step is not "
              "covered by the window that opened just after it");
        c.poll(open_at + 3 * kSecond); /* closes */
        int64_t next = open_at + 20 * kSecond;
        c.poll(next); /* opens, long after the step */
        c.poll(next + kSecond);
        check(c.schedule.covers(next + kSecond / 10, next + kSecond / 2),
              "windows long enough after the step cover again");
    }
    {
        /* The clock steps an hour back after a window: the next window
         * still opens a period after the last one, in real time. */
        Clock c;
        c.poll(t0);               /* opens */
        c.poll(t0 + 2 * kSecond); /* closes */
        c.offset -= 3600 * kSecond;
        c.poll(t0 + 3 * kSecond - 3600 * kSecond);
        c.poll(t0 + 20 * kSecond - 3600 * kSecond);
        check(c.schedule.is_open(),
              "after a step back, the next window opens on time");
        c.poll(t0 + 20 * kSecond + 2 * kSecond - 3600 * kSecond);
        check(!c.schedule.is_open(), "and closes on time");
    }
    {
        /* NTP slewing: the offset drifts by 0.5 ms a second. */
        Clock c;
        c.poll(t0);
        for (int i = 1; i <= 10; ++i) {
            c.offset += 100; /* 0.1 ms per 0.2 s poll */
            c.poll(t0 + i * kSecond / 5);
        }
        check(c.schedule.covers(t0 + kSecond / 10, t0 + kSecond / 2),
              "a slewed clock is not a step");
    }
    return failures == 0 ? 0 : 1;
}
