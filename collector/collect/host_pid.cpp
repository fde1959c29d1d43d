#include "host_pid.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

namespace qprof {

namespace {

/* /proc/stat's start and /proc's clock ticks are coarse (a second for the
 * boot time): a margin that still tells apart servers started apart. */
constexpr int64_t kStartToleranceUs = 3'000'000;

/* pg_postmaster_start_time is taken after the postmaster loaded its
 * libraries and created its shared memory: seconds after the process
 * started on a loaded machine or with a large shared_buffers. */
constexpr int64_t kSlowStartUs = 600'000'000;

/* Boot time of the machine, Unix seconds (/proc/stat "btime"). */
int64_t boot_time_s() {
    std::ifstream stat("/proc/stat");
    std::string line;
    while (std::getline(stat, line))
        if (line.compare(0, 6, "btime ") == 0)
            return std::strtoll(line.c_str() + 6, nullptr, 10);
    return 0;
}

/* The last pid of the process's NSpid line (its pid in its innermost pid
 * namespace), or 0 when it cannot be read. */
int innermost_pid(const std::string &proc_dir) {
    std::ifstream status(proc_dir + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.compare(0, 6, "NSpid:") != 0)
            continue;
        std::istringstream fields(line.substr(6));
        int pid = 0, last = 0;
        while (fields >> pid)
            last = pid;
        return last;
    }
    return 0;
}

/* Start of the process, Unix µs, from /proc/<pid>/stat (field 22, clock
 * ticks after boot); -1 when it cannot be read. */
int64_t start_unix_us_of(const std::string &proc_dir, int64_t boot_s,
                         long ticks_per_s) {
    std::ifstream stat(proc_dir + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)),
                     std::istreambuf_iterator<char>());
    /* the command name, in parentheses, may hold spaces and parentheses */
    size_t end_of_name = text.rfind(')');
    if (end_of_name == std::string::npos)
        return -1;
    std::istringstream fields(text.substr(end_of_name + 1));
    std::string field;
    for (int index = 3; index <= 22 && fields >> field; ++index)
        if (index == 22)
            return boot_s * 1'000'000 +
                   std::strtoll(field.c_str(), nullptr, 10) * 1'000'000 /
                       ticks_per_s;
    return -1;
}

} // namespace

int host_pid_of(int pid, int64_t start_unix_us) {
    int64_t boot_s = boot_time_s();
    long ticks_per_s = sysconf(_SC_CLK_TCK);
    if (boot_s <= 0 || ticks_per_s <= 0)
        throw HostPidNotFound("cannot read the machine's boot time from "
                              "/proc/stat");
    std::unique_ptr<DIR, int (*)(DIR *)> proc(opendir("/proc"), closedir);
    if (!proc)
        throw HostPidNotFound("cannot list /proc");
    struct Candidate {
        int host_pid;
        int64_t started_us;
    };
    std::vector<Candidate> candidates;
    while (struct dirent *entry = readdir(proc.get())) {
        char *end = nullptr;
        long candidate = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0')
            continue;
        std::string dir = std::string("/proc/") + entry->d_name;
        if (innermost_pid(dir) != pid)
            continue;
        int64_t started = start_unix_us_of(dir, boot_s, ticks_per_s);
        if (started >= 0 && started <= start_unix_us + kStartToleranceUs &&
            started >= start_unix_us - kSlowStartUs)
            candidates.push_back({static_cast<int>(candidate), started});
    }
    /* Another pid namespace may hold a process of the same number started
     * within the slow-start window: then only one started about when the
     * server says it did is an answer. */
    std::vector<int> matches;
    for (const Candidate &c : candidates)
        if (candidates.size() == 1 ||
            std::llabs(c.started_us - start_unix_us) <= kStartToleranceUs)
            matches.push_back(c.host_pid);
    std::string what =
        "the postmaster (pid " + std::to_string(pid) + " in its pid namespace)";
    if (candidates.empty())
        throw HostPidNotFound(
            "no process of this machine is " + what +
            ": the collector must run on the server's machine, in the "
            "host's pid namespace");
    if (matches.size() != 1) {
        std::string pids;
        for (const Candidate &c : candidates)
            pids += (pids.empty() ? "" : ", ") + std::to_string(c.host_pid);
        throw HostPidNotFound("several processes could be " + what +
                              ", started about the same time: " + pids);
    }
    return matches.front();
}

} // namespace qprof
