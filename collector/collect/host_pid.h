// host_pid.h — the kernel's pid of a postmaster that may run in a container.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace qprof {

// No single process of this machine matches; what() says why, in one line.
class HostPidNotFound : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The pid, as this process's /proc names it (the kernel's pid when the
// collector runs in the host's pid namespace, which the BPF programs
// compare), of the process that PostgreSQL calls `pid` in its own pid
// namespace and that started at `start_unix_us` (pg_postmaster_start_time).
// The same number when PostgreSQL does not run in a container. A process
// matches when the last pid of its NSpid line is `pid` and it started at most
// a few seconds after that time and at most 10 minutes before it (a
// postmaster takes its start time after creating its shared memory); of
// several, the one that started within a few seconds of it. Throws
// HostPidNotFound when none or several do.
int host_pid_of(int pid, int64_t start_unix_us);

} // namespace qprof
