// privileges.h — give up the capabilities that loading BPF programs needed.
#pragma once

#include <string>

namespace qprof {

// Once the BPF programs are attached, reading their maps through the file
// descriptors needs no capability: keeps only what writing capture files as
// root may need (DAC override, ownership) and drops every other capability
// (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, ...) from the effective, permitted
// and inheritable sets. With `keep_ptrace`, keeps CAP_SYS_PTRACE as well:
// reading the ring from the postmaster's memory needs it at every read.
// Returns an empty string, or why it failed.
std::string drop_capabilities_after_attach(bool keep_ptrace);

} // namespace qprof
