/*
 * word_slot_map.h — the pinned map of execution words (bpf/qprof_io.h,
 * "word slot map"): backends map it and write their word there, where the
 * BPF programs read it with plain loads instead of reading each backend's
 * memory.
 *
 * The map is pinned at the path pg_qprof.exec_word() gives, in a BPF file
 * system that the loader mounts on that path's directory when none is
 * there, and belongs to the server's OS user. It outlives the collector:
 * a collector started again reuses it, and the backends that mapped it
 * keep writing there.
 */
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace qprof {

/* Before the programs load: a compatible map pinned at `path` (its file
 * descriptor, and *token its header's token), or -1 when there is none.
 * An incompatible one (another layout or size) is unpinned. */
int open_pinned_word_slots(const std::string &path, uint64_t *token);

/* After the programs load with a map of their own, `map_fd`: writes its
 * header and pins it at `path`, owned by `uid`:`gid`, mounting a BPF file
 * system on the directory first if it has none. Returns the token, or 0
 * with the reason in *why. */
uint64_t pin_new_word_slots(int map_fd, const std::string &path, uid_t uid,
                            gid_t gid, std::string *why);

} // namespace qprof
