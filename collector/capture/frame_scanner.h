/*
 * frame_scanner.h — where the frames of a capture file are, found from
 * the frame headers alone, and what the file's tail is when it does not
 * end on a frame: a truncated tail (what a crash leaves) or damage.
 */
#pragma once

#include "capture_reader.h"
#include "frame_checks.h"
#include "frame_decoder.h"
#include "mapped_file.h"

#include <cstddef>
#include <string>
#include <vector>

namespace qprof {

/* Where the frames of a file are, found from the frame headers alone (no
 * decompression). Only the last frame may be unfinished (what a crash in
 * the middle of a write leaves), and only when nothing after it reads as
 * a frame: anything else that is not a frame is damage. */
class FrameScanner {
  public:
    /* From the file's first mapped byte on (its start, or where an
     * earlier reading of a file that grows stopped). */
    FrameScanner(const MappedFile &file, ReadSummary &summary,
                 FrameDecoder &decoder)
        : file_(file), summary_(summary), decoder_(decoder),
          offset_(file.begin()), frames_end_(file.begin()) {}

    /* The next frame; false at the end of the file, any problem of its
     * tail then added to the summary. */
    bool next(FrameSpan &frame);
    /* Where the frames given so far end: a reading of what is added to the
     * file goes on from there (an unfinished frame there may be whole by
     * then). */
    size_t frames_end() const { return frames_end_; }

  private:
    void problem(ReadProblem::Kind kind, const std::string &what);
    /* The offset of a complete frame after `from`, or 0. */
    size_t complete_frame_after(size_t from) const;
    /* What the bytes from offset_ on are, as a problem of the summary:
     * `error`, zstd's, said they are not a whole frame. */
    void classify_rest(size_t error);

    const MappedFile &file_;
    ReadSummary &summary_;
    FrameDecoder &decoder_;
    size_t offset_;
    size_t frames_end_;
};

/* The frames of a file, first to last (the scan records any problem of
 * its tail in `summary`). */
std::vector<FrameSpan> locate_frames(const MappedFile &file,
                                     ReadSummary &summary,
                                     FrameDecoder &decoder);

} // namespace qprof
