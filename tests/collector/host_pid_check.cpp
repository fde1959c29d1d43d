// Checks host_pid_of (collector/collect/host_pid.h) against real processes:
// a child of this program stands for a postmaster, and the start time the
// server would report is made up around the child's real start. Prints one
// "ok WHAT" or "not ok WHAT" line a check; exits 1 when one fails.
#include "host_pid.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

namespace {

int failures = 0;

void check(bool passed, const std::string &what) {
    std::printf("%s %s\n", passed ? "ok" : "not ok", what.c_str());
    if (!passed)
        ++failures;
}

int64_t now_unix_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/* host_pid_of's answer, or -1 with the error's text in `error`. */
int find(int pid, int64_t start_unix_us, std::string &error) {
    try {
        return qprof::host_pid_of(pid, start_unix_us);
    } catch (const qprof::HostPidNotFound &e) {
        error = e.what();
        return -1;
    }
}

} // namespace

int main() {
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    int64_t forked_us = now_unix_us();
    std::string error;

    check(find(child, forked_us, error) == child,
          "a process found at its start time");
    /* A postmaster takes pg_postmaster_start_time after loading libraries
     * and creating its shared memory: 3.6 s after the fork was seen with
     * LAVA's server on a loaded machine. */
    check(find(child, forked_us + 5'000'000, error) == child,
          "a process found 5 s before the server says it started");
    check(find(child, forked_us + 300'000'000, error) == child,
          "a process found 5 minutes before the server says it started");
    error.clear();
    bool refused =
        find(child, forked_us + 900'000'000, error) == -1 &&
        error.find("no process of this machine") != std::string::npos;
    check(refused,
          "not 15 minutes before: another server's process (" + error + ")");
    error.clear();
    refused = find(child, forked_us - 60'000'000, error) == -1 &&
              error.find("no process of this machine") != std::string::npos;
    check(refused,
          "not a process that started after the server did (" + error + ")");

    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    return failures == 0 ? 0 : 1;
}
