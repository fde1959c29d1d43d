#include "syscall_attach.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <utility>

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "libbpf_failure.h"
#include "trace_event_ids.h"

namespace qprof {

namespace {

/* The calls whose enter and exit events file_syscall_enter/exit watch: the
 * ones PostgreSQL reads and writes relation, WAL and temporary files with.
 * Not plain read/write/readv/writev: PostgreSQL uses them on regular files
 * only for server-side COPY files and a few small ones, while every other
 * process of the machine uses them on pipes, sockets and terminals, and a
 * watched call runs the program. The raw tracepoints count them too. */
const std::vector<std::string> kFileSyscalls = {
    "pread64", "preadv",   "preadv2", "pwrite64",
    "pwritev", "pwritev2", "fsync",   "fdatasync"};

/* Attaches `prog` to the trace event `id`; null with errno set on failure.
 * The link owns the perf event. */
Link attach_to_trace_event(bpf_program *prog, uint64_t id) {
    struct perf_event_attr attr = {};
    attr.type = PERF_TYPE_TRACEPOINT;
    attr.size = sizeof(attr);
    attr.config = id;
    attr.sample_period = 1;
    attr.wakeup_events = 1;
    /* one event on CPU 0 for all tasks: the program runs on every CPU */
    int fd = int(
        syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0)
        return nullptr;
    Link link(bpf_program__attach_perf_event(prog, fd));
    if (!link) {
        int err = errno;
        close(fd);
        errno = err;
    }
    return link;
}

/* The ids of the enter and exit events of each of kFileSyscalls, in that
 * order; empty, with the reason in *why, when tracefs or any is missing. */
std::vector<uint64_t> file_syscall_event_ids(std::string *why) {
    std::vector<std::string> events;
    for (const std::string &call : kFileSyscalls) {
        events.push_back("sys_enter_" + call);
        events.push_back("sys_exit_" + call);
    }
    std::vector<uint64_t> ids;
    if (!trace_event_ids("syscalls", events, ids, why))
        return {};
    return ids;
}

} // namespace

std::vector<Link> attach_to_file_syscall_events(
    qprof_io_bpf *skel, const std::vector<uint64_t> &ids, std::string *why) {
    std::vector<Link> links;
    for (size_t i = 0; i < kFileSyscalls.size(); ++i)
        for (auto [prog, id] :
             {std::pair(skel->progs.file_syscall_enter, ids[2 * i]),
              std::pair(skel->progs.file_syscall_exit, ids[2 * i + 1])}) {
            Link link = attach_to_trace_event(prog, id);
            if (!link) {
                *why = bpf_failure(
                    "cannot attach to syscalls:" + kFileSyscalls[i], errno);
                return {};
            }
            links.push_back(std::move(link));
        }
    return links;
}

std::vector<Link> attach_raw_syscall_programs(qprof_io_bpf *skel,
                                              std::string *why) {
    std::vector<Link> links;
    for (bpf_program *prog : {skel->progs.sys_enter, skel->progs.sys_exit}) {
        Link link(bpf_program__attach(prog));
        if (!link) {
            *why = bpf_failure("cannot attach the raw syscall programs", errno);
            return {};
        }
        links.push_back(std::move(link));
    }
    return links;
}

SyscallAttachment attach_syscall_programs(qprof_io_bpf *skel,
                                          const BpfOptions &options,
                                          bool raw_loaded,
                                          std::vector<std::string> &attached) {
    SyscallAttachment result;
    if (options.syscalls == SyscallTracing::off)
        return result;
    const char *in_windows = options.syscall_windows ? " in windows" : "";
    std::string why;
    if (options.syscalls == SyscallTracing::per_call) {
        std::vector<uint64_t> ids = file_syscall_event_ids(&why);
        if (!ids.empty())
            result.links = attach_to_file_syscall_events(skel, ids, &why);
        if (!result.links.empty()) {
            std::string calls;
            for (const std::string &call : kFileSyscalls)
                calls += (calls.empty() ? "" : ",") + call;
            attached.push_back("tracepoint/syscalls/sys_enter,sys_exit of " +
                               calls + in_windows);
            if (options.syscall_windows) {
                result.window_event_ids = std::move(ids);
                result.windows = true;
            }
            return result;
        }
    }
    /* Without system call tracing the other kernel facts are still kept. */
    if (raw_loaded)
        result.links = attach_raw_syscall_programs(skel, &why);
    else
        why = (why.empty() ? "" : why + "; ") +
              "no raw syscall tracepoints in the BTF";
    if (result.links.empty()) {
        attached.push_back("no system call tracing: " + why);
        return result;
    }
    attached.push_back((why.empty() ? std::string("tp_btf/sys_enter,sys_exit")
                                    : "tp_btf/sys_enter,sys_exit, as " + why) +
                       in_windows);
    result.windows = options.syscall_windows;
    return result;
}

} // namespace qprof
