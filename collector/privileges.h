// privileges.h — give up the capabilities that loading BPF programs needed.
#pragma once

#include <string>

namespace qprof {

// Once the BPF programs are attached, reading their maps through the file
// descriptors needs no capability: keeps only what writing capture files as
// root may need (DAC override, ownership) and drops every other capability
// (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, ...) from the effective, permitted
// and inheritable sets. Returns an empty string, or why it failed.
std::string drop_capabilities_after_attach();

} // namespace qprof
