/*
 * capture_reader.h — reads a capture file frame by frame and record by
 * record, telling a truncated tail (what a crash leaves, skipped) from
 * damage (anything else: bad magic, checksum, undecodable record).
 */
#pragma once

#include "qprof.pb.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace qprof {

struct ReadProblem {
    enum class Kind { TruncatedTail, Damage };
    Kind kind;
    uint64_t offset; /* byte offset in the file where it starts */
    std::string what;
};

struct ReadSummary {
    uint64_t frames = 0;
    uint64_t records = 0;
    uint64_t file_bytes = 0;
    std::vector<ReadProblem> problems;

    bool damaged() const;
};

/* Called for each record in file order, with the offset of its frame. */
using RecordVisitor = std::function<void(const capture::v1::Record &record,
                                         uint64_t frame_offset)>;

/* Reads `path`; throws CaptureIoError only when it cannot be opened. */
ReadSummary read_capture_file(const std::string &path,
                              const RecordVisitor &visit);

/* Called with the records of one frame; false stops the reading. */
using FrameVisitor =
    std::function<bool(const std::vector<capture::v1::Record> &records)>;

/* Visits the whole frames of `path` from the last to the first, without
 * decompressing the frames it does not reach (what a restart needs: the
 * end of a large file). Damaged frames are skipped. */
void read_capture_frames_backwards(const std::string &path,
                                   const FrameVisitor &visit_frame);

/* The header of `path`, from its first frame; false when there is none. */
bool read_capture_header(const std::string &path, capture::v1::Header &header);

} // namespace qprof
