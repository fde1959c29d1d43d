/*
 * capture_reader.h — reads a capture file frame by frame and record by
 * record, telling a truncated tail (what a crash leaves, skipped) from
 * damage (anything else: bad magic, checksum, undecodable record).
 *
 * Only the last frame of a file may be unfinished, and only when nothing
 * after it reads as a frame. A frame must be one the writer writes (a
 * checksum, its content size, within capture_format.h's limits); it is
 * decompressed as a stream, never trusting the sizes it declares, and its
 * records are visited only after its checksum is verified. Memory stays
 * within about one frame's limit (64 MiB) whatever the file holds; only
 * regular files are read.
 *
 * Its parts, each a file of its own: mapped_file.h (the file's bytes),
 * frame_scanner.h (where the frames are, what the tail is), frame_checks.h
 * (a frame's header and blocks judged before decompressing),
 * frame_decoder.h (one frame decompressed, its records visited),
 * record_wire.h (sample blocks and tag sets read without protobuf),
 * record_batch.h (records handed from the parsing thread to the visitor's,
 * through read_ahead.h).
 */
#pragma once

#include "qprof.pb.h"
#include "sample_codec.h"
#include "tag_set_fields.h"

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
    uint64_t file_bytes = 0; /* the file's size, or the range's limit */
    uint64_t read_from = 0;  /* the range's start */
    /* where the frames read end: what a reading of the bytes added to the
     * file since starts from (ReadRange) */
    uint64_t frames_end = 0;
    std::vector<ReadProblem> problems;

    bool damaged() const;
};

/* Called for each record in file order, with the offset of its frame. */
using RecordVisitor = std::function<void(const capture::v1::Record &record,
                                         uint64_t frame_offset)>;

/* Called for samples of a sample block, in order, with the block's epoch
 * and the offset of its frame: a block may come in several calls (none
 * has zero samples but an empty block's). */
using SamplesVisitor =
    std::function<void(uint64_t epoch, const DecodedSample *samples,
                       size_t count, uint64_t frame_offset)>;

/* Reads `path`; throws CaptureIoError only when it cannot be opened or is
 * not a regular file. The file's first record must be a header of a format
 * version this reader knows: otherwise (an empty file, no header, format
 * version 0 or newer) a Damage problem says so and nothing is visited.
 * A second thread decompresses and parses ahead of the visitors, which
 * run in the calling thread. */
ReadSummary read_capture_file(const std::string &path,
                              const RecordVisitor &visit);
/* The same, sample blocks given to `visit_samples` decoded instead of to
 * `visit`, and parsed a sample at a time (a sample that does not decode
 * is damage, as an undecodable record is, but the block's samples before
 * it are visited). */
ReadSummary read_capture_file(const std::string &path,
                              const RecordVisitor &visit,
                              const SamplesVisitor &visit_samples);

/* The part of a file to read: its frames from `from` (the start of one,
 * the frames_end of an earlier reading of the file) to `limit`, past which
 * the file is not known to be written whole (what a writer made durable);
 * the bytes outside are not even mapped. A reading from a frame past the
 * header takes the header as read already. */
struct ReadRange {
    uint64_t from = 0;
    uint64_t limit = UINT64_MAX;
};

/* Called for each tag set, with the offset of its frame. */
using TagSetVisitor =
    std::function<void(const TagSetFields &tag_set, uint64_t frame_offset)>;
/* Work on a sample that needs that sample alone, done on the parsing
 * thread as each is decoded, so that the visiting thread (the busier one
 * when it sums what it reads) only takes the result: a
 * DecodedSample's `prepared`, valid while the sample is. prepare() runs
 * beside the visitors: it may read nothing they change. */
class SamplePreparer {
  public:
    virtual ~SamplePreparer() = default;
    /* The bytes of one result (its type aligned on at most 64). */
    virtual size_t prepared_bytes() const = 0;
    /* Makes `sample`'s result at `out` (prepared_bytes(), aligned on 64). */
    virtual void prepare(const DecodedSample &sample, void *out) const = 0;
};

/* The same, tag sets also given to `visit_tag_set` decoded instead of to
 * `visit` (a record that is a tag set field and nothing else: any other
 * comes to `visit` as before), and each sample given to `preparer` first
 * when there is one; only `range` of the file read. */
ReadSummary read_capture_file(const std::string &path,
                              const RecordVisitor &visit,
                              const SamplesVisitor &visit_samples,
                              const TagSetVisitor &visit_tag_set,
                              const SamplePreparer *preparer = nullptr,
                              const ReadRange &range = ReadRange());

/* Called with the records of one frame; false stops the reading. */
using FrameVisitor =
    std::function<bool(const std::vector<capture::v1::Record> &records)>;

/* Visits the whole frames of `path` from the last to the first, without
 * decompressing the frames it does not reach (what a restart needs: the
 * end of a large file). Damaged frames are skipped. It holds a frame's
 * records in memory: scan_capture_frames_backwards does not. */
void read_capture_frames_backwards(const std::string &path,
                                   const FrameVisitor &visit_frame);

/* Called for each record of a frame, in file order within the frame. */
using BackwardsVisitor = std::function<void(const capture::v1::Record &)>;
/* Called after each frame (`damaged`: it could not be read whole, and its
 * records, if any were visited, are not to be trusted); false stops. */
using FrameEndVisitor = std::function<bool(bool damaged)>;

/* The frames of `path` from the last to the first, each frame's records
 * visited one at a time (no frame is held as records). */
void scan_capture_frames_backwards(const std::string &path,
                                   const BackwardsVisitor &visit_record,
                                   const FrameEndVisitor &frame_done);

/* The header of `path`, from its first frame; false when there is none. */
bool read_capture_header(const std::string &path, capture::v1::Header &header);

} // namespace qprof
