/*
 * resume_state.h — where a collector restarted on the same output directory
 * continues: after the last sample it made durable, so that no sample is
 * written twice and none is skipped.
 *
 * A small state file is rewritten (write, fdatasync, rename) after every
 * durable frame. A crash between a frame's fdatasync and the state update
 * would make it stale, so the capture files themselves have the last word:
 * the newest file holding samples (or an epoch change) is read back.
 */
#pragma once

#include <cstdint>
#include <string>

namespace qprof {

struct ResumePoint {
    bool known = false;    /* false: nothing captured in this directory yet */
    uint64_t epoch = 0;    /* ring epoch of last_seq */
    uint64_t last_seq = 0; /* last seq durable in the files (0 = none yet) */
    uint64_t next_file_index = 1;
    uint64_t system_identifier = 0; /* server of that capture, 0 = unknown */
};

constexpr const char *kStateFileName = "qprof.state";

ResumePoint find_resume_point(const std::string &dir);

void save_resume_state(const std::string &dir, const ResumePoint &point);

} // namespace qprof
