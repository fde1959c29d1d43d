/*
 * word_slots.h — where this backend writes its execution word: in its own
 * memory (pg_qprof_running, which the BPF programs read with
 * bpf_probe_read_user at each of its context switches), or, once the
 * collector has pinned the word slot map (bpf/qprof_io.h), in this
 * backend's slot of that map, which the programs read with plain loads.
 */
#pragma once

#include "executions.h"

extern "C" {
/* The word this backend writes: &pg_qprof_running, or its slot. */
extern QprofRunningWord *qprof_word;
}

namespace qprof {

/* Where the collector pins the word slot map of this server (in a BPF file
 * system): pg_qprof.exec_word() tells the collector. */
const char *word_slot_map_path();

/* Called as an execution starts while the word is idle (exec_id 0): at
 * most once a second, looks whether a map is pinned that this backend has
 * not mapped, and moves the word to its slot there. Never raises an error
 * and never waits: on any failure the word stays where it is. */
void word_slots_follow();

} // namespace qprof
