/*
 * syscall_attach.h — attaches the system call programs of
 * bpf/qprof_io.bpf.c: to the trace events of the file calls PostgreSQL makes
 * (per call), else to the raw sys_enter/sys_exit tracepoints; in windows when
 * the options ask for them.
 */
#pragma once

#include "bpf_attach.h"
#include "qprof_io.skel.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace qprof {

struct LinkDeleter {
    void operator()(struct bpf_link *link) const { bpf_link__destroy(link); }
};
using Link = std::unique_ptr<struct bpf_link, LinkDeleter>;

/* Which system call programs are attached, and how. */
struct SyscallAttachment {
    std::vector<Link> links; /* attached now (the first window's) */
    /* with windows: the trace events they attach, if not the raw
     * tracepoints */
    std::vector<uint64_t> window_event_ids;
    bool windows = false; /* windows will attach some */
};

/* Attaches the system call programs: to the trace events of the file calls
 * where the options ask for them and tracefs has them, else to the raw
 * tracepoints when they are loaded. With windows, they stay attached for
 * the first window (closing them here would hold the start back by a second
 * with the trace events). Names what it attached, or why nothing, in
 * *attached. */
SyscallAttachment attach_syscall_programs(qprof_io_bpf *skel,
                                          const BpfOptions &options,
                                          bool raw_loaded,
                                          std::vector<std::string> &attached);

/* Attaches file_syscall_enter/exit to the trace events `ids` (from
 * SyscallAttachment::window_event_ids); nothing, with the reason in *why,
 * when any cannot be attached. Needs CAP_PERFMON. */
std::vector<Link> attach_to_file_syscall_events(
    qprof_io_bpf *skel, const std::vector<uint64_t> &ids, std::string *why);

/* Attaches the raw system call programs; nothing, with the reason in *why,
 * when either cannot be attached. Needs no capability once loaded. */
std::vector<Link> attach_raw_syscall_programs(qprof_io_bpf *skel,
                                              std::string *why);

} // namespace qprof
