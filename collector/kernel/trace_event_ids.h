/*
 * trace_event_ids.h — the ids of kernel trace events, as tracefs numbers
 * them (events/<system>/<event>/id), for perf_event_open with
 * PERF_TYPE_TRACEPOINT.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qprof {

/* Fills ids[i] with the id of events[i] of `system`. Reads a mounted tracefs
 * (/sys/kernel/tracing or /sys/kernel/debug/tracing); where none is mounted,
 * mounts one on a private temporary directory for the time of the reading
 * (CAP_SYS_ADMIN) and leaves nothing mounted. False, with the reason in
 * *why, when any id cannot be read. */
bool trace_event_ids(const std::string &system,
                     const std::vector<std::string> &events,
                     std::vector<uint64_t> &ids, std::string *why);

} // namespace qprof
