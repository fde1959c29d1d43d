/*
 * frame_decoder.h — decompresses one frame of a capture file and visits
 * its records, for the capture reader: within the format's limits, never
 * trusting the sizes a frame declares, records visited only once the
 * frame's checksum is verified.
 */
#pragma once

#include "capture_format.h"
#include "capture_reader.h"
#include "frame_checks.h"
#include "qprof.pb.h"
#include "record_wire.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>

typedef struct ZSTD_DCtx_s ZSTD_DCtx;

namespace qprof {

/* What became of a record given to a sample block's or tag set's
 * visitor. */
enum class RecordOutcome { Read, Undecodable, Stop };
using VisitBlock = std::function<RecordOutcome(const BlockWire &block)>;
using VisitTagSet =
    std::function<RecordOutcome(const uint8_t *fields, size_t size)>;

/* A frame's decompressed bytes: grown without being zero-filled first
 * (zstd writes every byte it reports), its room kept from frame to frame. */
class PlainBytes {
  public:
    const uint8_t *data() const { return data_.get(); }
    uint8_t *data() { return data_.get(); }
    size_t size() const { return size_; }
    void clear() { size_ = 0; }
    /* Room for `room` bytes after the first `size()`, which are kept. */
    uint8_t *make_room(size_t room) {
        if (room > capacity_ - size_) {
            /* doubling, but never past a frame's limit for it */
            size_t capacity =
                std::max(size_ + room,
                         std::min(capacity_ * 2, kMaxFrameContentBytes + 1));
            std::unique_ptr<uint8_t[]> bigger(new uint8_t[capacity]);
            if (size_ > 0)
                std::memcpy(bigger.get(), data_.get(), size_);
            data_ = std::move(bigger);
            capacity_ = capacity;
        }
        return data_.get() + size_;
    }
    /* `n` more bytes, written where make_room() said, are the content. */
    void grow(size_t n) { size_ += n; }

  private:
    std::unique_ptr<uint8_t[]> data_;
    size_t size_ = 0, capacity_ = 0;
};

/* Decompresses frames within the format's limits, without trusting what
 * a frame declares: the output grows as it comes, a frame producing more
 * than it declared is stopped there, and record boundaries are checked
 * while it decompresses so that a frame of empty records is stopped at
 * the first one. Records are visited only once the frame's checksum has
 * been verified. A frame that reads whole is decompressed in one call
 * straight into the output, which it needs to be no larger than it
 * declares (within the format's limit); any problem and it is read again
 * the careful way, which says what the problem is. */
class FrameDecoder {
  public:
    FrameDecoder();
    ~FrameDecoder();
    FrameDecoder(const FrameDecoder &) = delete;
    FrameDecoder &operator=(const FrameDecoder &) = delete;

    /* false when a visitor asked to stop */
    using Visit = std::function<bool(const capture::v1::Record &record)>;

    /* Decodes the frame; a problem is added to `summary` (and nothing
     * visited) when it is damaged. */
    bool decode(const uint8_t *data, FrameSpan frame, ReadSummary &summary,
                const Visit &visit);

    /* Records are parsed on `arena` from now on, and kept there until its
     * owner resets it (null: one at a time, each gone once visited). */
    void parse_on(google::protobuf::Arena *arena) { batch_arena_ = arena; }

    /* Records that are a sample block go to `visit` instead, unparsed. */
    void visit_blocks_with(VisitBlock visit) {
        visit_block_ = std::move(visit);
    }
    /* Records that are a tag set go to `visit` instead, unparsed. */
    void visit_tag_sets_with(VisitTagSet visit) {
        visit_tag_set_ = std::move(visit);
    }

    /* Decompresses a frame the file ends in the middle of, as far as it
     * goes: "" when what is there decodes (a truncated tail), else why
     * not. */
    std::string decode_prefix(const uint8_t *data, size_t size);

  private:
    static constexpr size_t kChunk = 128 << 10;
    /* Records compress 3 to 10 times; a frame claiming far more (a damaged
     * or hostile one, most likely) is read the careful way, whose output
     * grows only as it comes, rather than given the room it claims. */
    static constexpr uint64_t kMaxWholeRatio = 64;

    /* The frame's content into plain_; "" or why it is damaged. */
    std::string decompress(const uint8_t *data, size_t size);
    /* The whole frame into plain_ in one call, its content exactly the
     * size it declares (checked within the format's limit before) and its
     * records' boundaries right; false on any problem, plain_ then
     * unspecified. */
    bool decompress_whole(const uint8_t *data, size_t size, uint64_t content);
    /* Decompresses data[0, size) into plain_ as far as it goes, the output
     * growing as it comes (one byte more than `content` is a lie, and
     * stops it), record boundaries checked on the way; finished_ tells
     * whether the frame's end (and its checksum) was reached. */
    std::string inflate(const uint8_t *data, size_t size, uint64_t content);
    /* Follows the length prefixes through what is decompressed so far:
     * a record must have a kind (not be empty), stay within the format's
     * limit and within the frame. */
    std::string check_record_boundaries(uint64_t content);

    ZSTD_DCtx *dctx_;
    PlainBytes plain_;
    bool finished_ = false;
    size_t next_record_ = 0;
    static constexpr size_t kArenaBlockBytes = 8 << 20;
    static google::protobuf::ArenaOptions arena_options(char *block,
                                                        size_t size);
    /* The arena, made at the first record: its block is not zero-filled
     * (only the pages used are touched), and a decoder that reads no
     * record (a header check, a damaged file) costs nothing. */
    google::protobuf::Arena &record_arena();
    /* The block of a decoder gone, for the next one of the thread: every
     * file read makes a decoder (or three), and the kernel would map and
     * clear its 8 MiB each time. */
    static std::unique_ptr<char[]> &spare_arena_block();
    std::unique_ptr<char[]> arena_block_; /* outlives arena_ */
    std::optional<google::protobuf::Arena> arena_;
    google::protobuf::Arena *batch_arena_ = nullptr;
    VisitBlock visit_block_;
    VisitTagSet visit_tag_set_;
};

} // namespace qprof
