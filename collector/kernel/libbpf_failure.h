/*
 * libbpf_failure.h — one-line messages for a failed libbpf or bpf() call,
 * with the last warning libbpf printed: what the kernel refused.
 */
#pragma once

#include <string>

namespace qprof {

/* Routes libbpf's messages to the one bpf_failure() quotes (libbpf keeps a
 * single, process-wide print callback). */
void keep_libbpf_warnings();

/* "what: strerror(err)", with the capabilities needed when the kernel said
 * EPERM or EACCES, and libbpf's last warning; err may be negative. */
std::string bpf_failure(const std::string &what, int err);

} // namespace qprof
