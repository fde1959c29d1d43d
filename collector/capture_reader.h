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

} // namespace qprof
