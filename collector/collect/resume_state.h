/*
 * resume_state.h — where a collector restarted on the same output directory
 * continues: after the last sample it made durable, so that no sample is
 * written twice and none is skipped.
 *
 * A small state file is overwritten in place (pwrite, fdatasync) after
 * every durable frame: same length each time, so that no inode is created
 * and no metadata changes (a new file and a rename per frame cost the
 * collector a tenth of its time under load, in ext4's inode allocation). A
 * crash between a frame's fdatasync and the state update would make it
 * stale, and a crash during the update could tear it (its checksum then
 * fails and it is ignored), so the capture files themselves have the last
 * word: the newest file holding samples (or an epoch change) is read back.
 */
#pragma once

#include <cstdint>
#include <string>
#include <utility>

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

/* The state file of an output directory, kept open while collecting. */
class ResumeStateFile {
  public:
    explicit ResumeStateFile(std::string dir) : dir_(std::move(dir)) {}
    ~ResumeStateFile();
    ResumeStateFile(const ResumeStateFile &) = delete;
    ResumeStateFile &operator=(const ResumeStateFile &) = delete;

    void save(const ResumePoint &point);

  private:
    std::string dir_;
    int fd_ = -1;
    bool sized_ = false;
};

} // namespace qprof
