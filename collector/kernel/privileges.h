// privileges.h — give up the capabilities that loading BPF programs needed.
#pragma once

#include <string>

namespace qprof {

// Once the BPF programs are attached, reading their maps through the file
// descriptors needs no capability: keeps only what writing capture files as
// root may need (DAC override, ownership) and drops every other capability
// (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, ...) from the effective, permitted
// and inheritable sets. With `keep_memory_access`, keeps CAP_SYS_PTRACE and
// CAP_CHECKPOINT_RESTORE as well: mapping the ring from the postmaster's
// memory again, after a server restart, needs them. With `keep_perfmon`,
// keeps CAP_PERFMON: system call windows on trace events open perf events.
// Returns an empty string, or why it failed.
std::string drop_capabilities_after_attach(bool keep_memory_access,
                                           bool keep_perfmon);

} // namespace qprof
