#include "capture_reader.h"
#include "capture_format.h"
#include "errors.h"
#include "read_ahead.h"
#include "tag_set_fields.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader */
#include <zstd.h>
#include <zstd_errors.h>

namespace qprof {

namespace pb = capture::v1;

bool ReadSummary::damaged() const {
    for (const ReadProblem &problem : problems)
        if (problem.kind == ReadProblem::Kind::Damage)
            return true;
    return false;
}

namespace {

/* A regular file's bytes, mapped read-only. Anything else (a FIFO, a
 * device, a directory) is refused before it is read: a FIFO would block
 * and /dev/zero never ends. */
class MappedFile {
  public:
    explicit MappedFile(const std::string &path) {
        /* O_NONBLOCK: opening a FIFO must not wait for a writer */
        int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
            throw CaptureIoError(describe_errno("cannot open " + path, errno));
        struct stat st;
        if (fstat(fd, &st) != 0) {
            int saved = errno;
            close(fd);
            throw CaptureIoError(describe_errno("cannot stat " + path, saved));
        }
        if (!S_ISREG(st.st_mode)) {
            close(fd);
            throw CaptureIoError(path + " is not a regular file");
        }
        size_ = static_cast<size_t>(st.st_size);
        if (size_ > 0) {
            void *p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p == MAP_FAILED) {
                int saved = errno;
                close(fd);
                throw CaptureIoError(
                    describe_errno("cannot map " + path, saved));
            }
            data_ = static_cast<const uint8_t *>(p);
        }
        close(fd);
    }
    ~MappedFile() {
        if (data_ != nullptr)
            munmap(const_cast<uint8_t *>(data_), size_);
    }
    MappedFile(const MappedFile &) = delete;
    MappedFile &operator=(const MappedFile &) = delete;

    const uint8_t *data() const { return data_; }
    size_t size() const { return size_; }

  private:
    const uint8_t *data_ = nullptr;
    size_t size_ = 0;
};

constexpr uint8_t kZstdMagic[4] = {0x28, 0xb5, 0x2f, 0xfd};

bool all_zero(const uint8_t *data, size_t size) {
    for (size_t i = 0; i < size; ++i)
        if (data[i] != 0)
            return false;
    return true;
}

/* Why a frame's header is not one the writer writes (a checksum, the
 * content size, no dictionary, within the limits), or "" when it is or
 * when `size` bytes do not hold the whole header yet. */
std::string frame_header_problem(const uint8_t *data, size_t size) {
    ZSTD_frameHeader header;
    size_t rc = ZSTD_getFrameHeader(&header, data, size);
    if (ZSTD_isError(rc))
        return std::string("not a zstd frame header: ") + ZSTD_getErrorName(rc);
    if (rc > 0)
        return "";
    if (header.frameType != ZSTD_frame)
        return "a skippable frame, which the writer never writes";
    if (header.frameContentSize == ZSTD_CONTENTSIZE_UNKNOWN)
        return "a frame without its content size";
    if (header.frameContentSize > kMaxFrameContentBytes)
        return "a frame claiming " + std::to_string(header.frameContentSize) +
               " bytes of content, over the format's limit of " +
               std::to_string(kMaxFrameContentBytes);
    if (header.windowSize > (1ull << kMaxWindowLog))
        return "a frame with a window of " + std::to_string(header.windowSize) +
               " bytes";
    if (header.dictID != 0)
        return "a frame that needs a dictionary";
    if (!header.checksumFlag)
        return "a frame without a checksum";
    return "";
}

struct FrameSpan {
    size_t offset;
    size_t size;
};

/* Why the blocks of a frame the file ends in are not what the writer
 * writes (zstd's decoder would wait for more input without a word), or
 * "". */
std::string unfinished_blocks_problem(const uint8_t *data, size_t size) {
    size_t pos = ZSTD_frameHeaderSize(data, size);
    if (ZSTD_isError(pos))
        return ""; /* the file ends inside the frame's header */
    while (pos + 3 <= size) {
        uint32_t header = data[pos] | (uint32_t(data[pos + 1]) << 8) |
                          (uint32_t(data[pos + 2]) << 16);
        bool last = header & 1;
        unsigned type = (header >> 1) & 3;
        size_t block_size = header >> 3;
        if (type == 3)
            return "a block of the reserved type at offset +" +
                   std::to_string(pos);
        if (block_size > ZSTD_BLOCKSIZE_MAX)
            return "a block of " + std::to_string(block_size) +
                   " bytes at offset +" + std::to_string(pos);
        if (block_size == 0 && !last)
            return "an empty block at offset +" + std::to_string(pos) +
                   ", which the writer never writes";
        if (last)
            break;
        pos += 3 + (type == 1 ? 1 : block_size);
    }
    return "";
}

/* A record that is a sample block and nothing else, as the writer writes
 * it: the block's own fields, and where its samples are. */
struct BlockWire {
    uint64_t epoch = 0, first_seq = 0;
    int64_t base_start_unix_us = 0;
    const uint8_t *fields = nullptr; /* the SampleBlock message */
    size_t size = 0;
};

/* Field numbers and wire types of the records read without protobuf. */
constexpr uint64_t kRecordSampleBlockTag =
    (pb::Record::kSampleBlockFieldNumber << 3) | 2;
constexpr uint64_t kRecordTagSetTag = (pb::Record::kTagSetFieldNumber << 3) | 2;
constexpr uint32_t kBlockEpochTag = (pb::SampleBlock::kEpochFieldNumber << 3);
constexpr uint32_t kBlockFirstSeqTag =
    (pb::SampleBlock::kFirstSeqFieldNumber << 3);
constexpr uint32_t kBlockBaseStartTag =
    (pb::SampleBlock::kBaseStartUnixUsFieldNumber << 3);
constexpr uint32_t kBlockSampleTag =
    (pb::SampleBlock::kSamplesFieldNumber << 3) | 2;

/* read_varint, a one-byte varint (a sample's tag) read inline: twice a
 * sample in each of the two walks over a block below. */
inline bool varint_at(const uint8_t *data, size_t size, size_t &pos,
                      uint64_t &value) {
    if (pos < size && data[pos] < 0x80) {
        value = data[pos++];
        return true;
    }
    return read_varint(data, size, pos, value);
}

/* Calls `visit(bytes, size)` for each sample of a block found by
 * sample_block_wire. */
template <typename Visit>
void for_each_sample_wire(const BlockWire &block, Visit visit) {
    size_t pos = 0;
    while (pos < block.size) {
        uint64_t tag = 0, value = 0;
        varint_at(block.fields, block.size, pos, tag);
        varint_at(block.fields, block.size, pos, value);
        if (tag != kBlockSampleTag)
            continue;
        if (!visit(block.fields + pos, static_cast<size_t>(value)))
            return;
        pos += value;
    }
}

/* Whether `record` is one sample block field with only the fields a
 * SampleBlock has, in well-formed wire format; fills `block`. Any other
 * record (or anything unusual) is parsed whole by protobuf instead, which
 * judges it as it judges every record. */
bool sample_block_wire(const uint8_t *record, size_t size, BlockWire &block) {
    size_t pos = 0;
    uint64_t tag = 0, length = 0;
    if (!read_varint(record, size, pos, tag) || tag != kRecordSampleBlockTag ||
        !read_varint(record, size, pos, length) || length != size - pos)
        return false;
    block.fields = record + pos;
    block.size = static_cast<size_t>(length);
    pos = 0;
    while (pos < block.size) {
        uint64_t value = 0;
        if (!varint_at(block.fields, block.size, pos, tag) ||
            !varint_at(block.fields, block.size, pos, value))
            return false;
        switch (tag) {
        case kBlockEpochTag:
            block.epoch = value;
            break;
        case kBlockFirstSeqTag:
            block.first_seq = value;
            break;
        case kBlockBaseStartTag:
            block.base_start_unix_us = static_cast<int64_t>(value);
            break;
        case kBlockSampleTag:
            if (value > block.size - pos)
                return false;
            pos += value;
            break;
        default:
            return false;
        }
    }
    return true;
}

/* The TagSet message of `record` when it is one tag set field and nothing
 * else, as the writer writes it; false for any other record, which
 * protobuf parses instead. */
bool tag_set_wire(const uint8_t *record, size_t size, const uint8_t *&fields,
                  size_t &fields_size) {
    size_t pos = 0;
    uint64_t tag = 0, length = 0;
    if (!read_varint(record, size, pos, tag) || tag != kRecordTagSetTag ||
        !read_varint(record, size, pos, length) || length != size - pos)
        return false;
    fields = record + pos;
    fields_size = static_cast<size_t>(length);
    return true;
}

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
    FrameDecoder() : dctx_(ZSTD_createDCtx()) {
        if (dctx_ == nullptr)
            throw std::bad_alloc();
        ZSTD_DCtx_setParameter(dctx_, ZSTD_d_windowLogMax, kMaxWindowLog);
    }
    ~FrameDecoder() {
        ZSTD_freeDCtx(dctx_);
        /* the arena goes first: it frees the blocks it added to ours */
        arena_.reset();
        if (arena_block_ && !spare_arena_block())
            spare_arena_block() = std::move(arena_block_);
    }
    FrameDecoder(const FrameDecoder &) = delete;
    FrameDecoder &operator=(const FrameDecoder &) = delete;

    /* false when a visitor asked to stop */
    using Visit = std::function<bool(const pb::Record &record)>;

    /* Decodes the frame; a problem is added to `summary` (and nothing
     * visited) when it is damaged. */
    bool decode(const uint8_t *data, FrameSpan frame, ReadSummary &summary,
                const Visit &visit) {
        std::string why = decompress(data + frame.offset, frame.size);
        if (!why.empty()) {
            summary.problems.push_back(
                {ReadProblem::Kind::Damage, frame.offset, why});
            return true;
        }
        ++summary.frames;
        const uint8_t *bytes = plain_.data();
        size_t pos = 0;
        while (pos < plain_.size()) {
            size_t record_start = pos;
            uint64_t length = 0;
            /* lengths were checked while decompressing */
            read_varint(bytes, plain_.size(), pos, length);
            BlockWire block;
            const uint8_t *fields = nullptr;
            size_t fields_size = 0;
            RecordOutcome outcome = RecordOutcome::Read;
            bool read_here = false;
            if (visit_block_ && sample_block_wire(bytes + pos, length, block)) {
                outcome = visit_block_(block);
                read_here = true;
            } else if (visit_tag_set_ &&
                       tag_set_wire(bytes + pos, length, fields, fields_size)) {
                outcome = visit_tag_set_(fields, fields_size);
                read_here = true;
            }
            if (read_here) {
                if (outcome == RecordOutcome::Undecodable) {
                    summary.problems.push_back(
                        {ReadProblem::Kind::Damage, frame.offset,
                         "undecodable record at byte " +
                             std::to_string(record_start) + " of the frame"});
                    return true;
                }
                pos += length;
                ++summary.records;
                if (outcome == RecordOutcome::Stop)
                    return false;
                continue;
            }
            /* on the batch's arena, or one record at a time on an arena
             * whose first block is ours and kept: a block's samples take
             * no malloc each */
            google::protobuf::Arena *arena = batch_arena_;
            if (arena == nullptr) {
                arena = &record_arena();
                arena->Reset();
            }
            pb::Record &record =
                *google::protobuf::Arena::CreateMessage<pb::Record>(arena);
            bool parsed =
                record.ParseFromArray(bytes + pos, static_cast<int>(length));
            if (!parsed || record.kind_case() == pb::Record::KIND_NOT_SET) {
                summary.problems.push_back(
                    {ReadProblem::Kind::Damage, frame.offset,
                     (parsed ? "record with no kind at byte "
                             : "undecodable record at byte ") +
                         std::to_string(record_start) + " of the frame"});
                return true;
            }
            pos += length;
            ++summary.records;
            if (!visit(record))
                return false;
        }
        return true;
    }

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
    std::string decode_prefix(const uint8_t *data, size_t size) {
        unsigned long long content = ZSTD_getFrameContentSize(data, size);
        if (content == ZSTD_CONTENTSIZE_ERROR ||
            content == ZSTD_CONTENTSIZE_UNKNOWN)
            return ""; /* the file ends inside the frame's header */
        std::string why = inflate(data, size, content);
        if (!why.empty())
            return why;
        if (finished_)
            return "it is complete, yet the file does not read as frames";
        return "";
    }

  private:
    static constexpr size_t kChunk = 128 << 10;
    /* Records compress 3 to 10 times; a frame claiming far more (a damaged
     * or hostile one, most likely) is read the careful way, whose output
     * grows only as it comes, rather than given the room it claims. */
    static constexpr uint64_t kMaxWholeRatio = 64;

    /* The frame's content into plain_; "" or why it is damaged. */
    std::string decompress(const uint8_t *data, size_t size) {
        std::string why = frame_header_problem(data, size);
        if (!why.empty())
            return why;
        unsigned long long content = ZSTD_getFrameContentSize(data, size);
        if (content == ZSTD_CONTENTSIZE_ERROR ||
            content == ZSTD_CONTENTSIZE_UNKNOWN)
            return "a frame without a valid content size";
        if (content <= size * kMaxWholeRatio &&
            decompress_whole(data, size, content))
            return "";
        why = inflate(data, size, content);
        if (!why.empty())
            return why;
        if (!finished_)
            return "frame ends before its content does";
        if (plain_.size() != content)
            return "frame holds " + std::to_string(plain_.size()) +
                   " bytes, not the " + std::to_string(content) +
                   " it declares";
        if (next_record_ != plain_.size())
            return "the frame's last record is cut at byte " +
                   std::to_string(next_record_);
        return "";
    }

    /* The whole frame into plain_ in one call, its content exactly the
     * size it declares (checked within the format's limit before) and its
     * records' boundaries right; false on any problem, plain_ then
     * unspecified. */
    bool decompress_whole(const uint8_t *data, size_t size, uint64_t content) {
        plain_.clear();
        next_record_ = 0;
        finished_ = false;
        size_t rc = ZSTD_decompressDCtx(dctx_, plain_.make_room(content),
                                        content, data, size);
        if (ZSTD_isError(rc) || rc != content)
            return false;
        plain_.grow(rc);
        if (!check_record_boundaries(content).empty() ||
            next_record_ != plain_.size())
            return false;
        finished_ = true;
        return true;
    }

    /* Decompresses data[0, size) into plain_ as far as it goes, the output
     * growing as it comes (one byte more than `content` is a lie, and
     * stops it), record boundaries checked on the way; finished_ tells
     * whether the frame's end (and its checksum) was reached. */
    std::string inflate(const uint8_t *data, size_t size, uint64_t content) {
        ZSTD_DCtx_reset(dctx_, ZSTD_reset_session_only);
        plain_.clear();
        next_record_ = 0;
        finished_ = false;
        ZSTD_inBuffer in{data, size, 0};
        for (;;) {
            size_t produced = plain_.size();
            size_t room = std::min<size_t>(kChunk, content + 1 - produced);
            ZSTD_outBuffer out{plain_.make_room(room), room, 0};
            size_t rc = ZSTD_decompressStream(dctx_, &out, &in);
            plain_.grow(out.pos);
            if (ZSTD_isError(rc))
                return std::string("frame does not decompress: ") +
                       ZSTD_getErrorName(rc);
            if (plain_.size() > content)
                return "frame holds more than the " + std::to_string(content) +
                       " bytes it declares";
            std::string why = check_record_boundaries(content);
            if (!why.empty())
                return why;
            if (rc == 0) {
                finished_ = true;
                return "";
            }
            if (out.pos == 0 && in.pos == in.size)
                return ""; /* all the input is in */
        }
    }

    /* Follows the length prefixes through what is decompressed so far:
     * a record must have a kind (not be empty), stay within the format's
     * limit and within the frame. */
    std::string check_record_boundaries(uint64_t content) {
        const uint8_t *bytes = plain_.data();
        while (next_record_ < plain_.size()) {
            size_t pos = next_record_;
            uint64_t length = 0;
            if (!read_varint(bytes, plain_.size(), pos, length)) {
                if (plain_.size() - next_record_ >= 10)
                    return "undecodable record length at byte " +
                           std::to_string(next_record_) + " of the frame";
                return ""; /* the rest of the varint is still to come */
            }
            if (length == 0)
                return "record with no kind at byte " +
                       std::to_string(next_record_) + " of the frame";
            if (length > kMaxRecordBytes || length > content - pos)
                return "record of " + std::to_string(length) +
                       " bytes at byte " + std::to_string(next_record_) +
                       " runs past the end of the frame";
            next_record_ = pos + length;
        }
        return "";
    }

    ZSTD_DCtx *dctx_;
    PlainBytes plain_;
    bool finished_ = false;
    size_t next_record_ = 0;
    static constexpr size_t kArenaBlockBytes = 8 << 20;
    static google::protobuf::ArenaOptions arena_options(char *block,
                                                        size_t size) {
        google::protobuf::ArenaOptions options;
        options.initial_block = block;
        options.initial_block_size = size;
        options.start_block_size = 64 * 1024;
        options.max_block_size = 8 << 20;
        return options;
    }
    /* The arena, made at the first record: its block is not zero-filled
     * (only the pages used are touched), and a decoder that reads no
     * record (a header check, a damaged file) costs nothing. */
    google::protobuf::Arena &record_arena() {
        if (!arena_) {
            arena_block_ = std::move(spare_arena_block());
            if (!arena_block_)
                arena_block_.reset(new char[kArenaBlockBytes]);
            arena_.emplace(arena_options(arena_block_.get(), kArenaBlockBytes));
        }
        return *arena_;
    }
    /* The block of a decoder gone, for the next one of the thread: every
     * file read makes a decoder (or three), and the kernel would map and
     * clear its 8 MiB each time. */
    static std::unique_ptr<char[]> &spare_arena_block() {
        static thread_local std::unique_ptr<char[]> spare;
        return spare;
    }
    std::unique_ptr<char[]> arena_block_; /* outlives arena_ */
    std::optional<google::protobuf::Arena> arena_;
    google::protobuf::Arena *batch_arena_ = nullptr;
    VisitBlock visit_block_;
    VisitTagSet visit_tag_set_;
};

/* Records of a file parsed ahead of their visitor (read_capture_file),
 * on an arena of their own that is reset when the batch is reused; the
 * samples of sample blocks decoded, a block possibly over several batches
 * (small batches are still in a cache when their visitor reads them). */
class RecordBatch {
  public:
    /* A record, samples of one block, or a tag set. */
    struct Item {
        enum class Kind : uint8_t { Record, Samples, TagSet } kind;
        const pb::Record *record; /* Kind::Record */
        uint64_t frame_offset;
        uint64_t epoch;      /* Kind::Samples */
        size_t first, count; /* samples[first, first + count), or the
                              * tag set tag_sets[first] */
    };
    static constexpr size_t kFullSamples = 1024;

    /* Empties the batch; the next records go on the arena returned. */
    google::protobuf::Arena &reuse() {
        items.clear();
        samples_used_ = tag_sets_used_ = 0;
        if (!arena_) {
            /* not zero-filled: only the pages used are touched */
            block_.reset(new char[kFirstBlockBytes]);
            google::protobuf::ArenaOptions options;
            options.initial_block = block_.get();
            options.initial_block_size = kFirstBlockBytes;
            options.start_block_size = 64 * 1024;
            options.max_block_size = 8 << 20;
            arena_.emplace(options);
        }
        arena_->Reset();
        return *arena_;
    }
    google::protobuf::Arena &arena() { return *arena_; }
    bool full() const {
        return items.size() >= kFullRecords || samples_used_ >= kFullSamples ||
               tag_sets_used_ >= kFullTagSets ||
               arena_->SpaceUsed() >= kFullBytes;
    }
    ~RecordBatch() { arena_.reset(); /* before the block it uses */ }

    /* Where to decode the next sample: a sample of an earlier use of the
     * batch, whose lists and strings are reused (no allocation once the
     * batches have been round a few times). */
    DecodedSample &next_sample() {
        if (samples_used_ == samples_.size()) {
            if (samples_.empty())
                samples_.reserve(kFullSamples);
            samples_.emplace_back();
        }
        return samples_[samples_used_];
    }
    /* Keeps the sample next_sample() gave. */
    void add_sample() { ++samples_used_; }
    size_t sample_count() const { return samples_used_; }
    const DecodedSample *samples() const { return samples_.data(); }

    /* Where to decode the next tag set, reused as samples are. */
    TagSetFields &next_tag_set() {
        if (tag_sets_used_ == tag_sets_.size())
            tag_sets_.emplace_back();
        return tag_sets_[tag_sets_used_];
    }
    /* Keeps the tag set next_tag_set() gave; its index. */
    size_t add_tag_set() { return tag_sets_used_++; }
    const TagSetFields &tag_set(size_t i) const { return tag_sets_[i]; }

    std::vector<Item> items;

  private:
    static constexpr size_t kFullBytes = 2 << 20;
    static constexpr size_t kFullRecords = 4096;
    static constexpr size_t kFirstBlockBytes = 256 << 10;
    static constexpr size_t kFullTagSets = 1024;
    std::vector<DecodedSample> samples_;
    size_t samples_used_ = 0;
    /* a deque: the sets keep their place as it grows */
    std::deque<TagSetFields> tag_sets_;
    size_t tag_sets_used_ = 0;
    std::unique_ptr<char[]> block_; /* outlives arena_ */
    std::optional<google::protobuf::Arena> arena_;
};

/* Batches between the thread that decompresses and parses a file and the
 * one that visits its records: the parser fills one while the visitor has
 * one and others wait. */
constexpr size_t kRecordBatches = 4;

/* Where the frames of a file are, found from the frame headers alone (no
 * decompression). Only the last frame may be unfinished (what a crash in
 * the middle of a write leaves), and only when nothing after it reads as
 * a frame: anything else that is not a frame is damage. */
class FrameScanner {
  public:
    FrameScanner(const MappedFile &file, ReadSummary &summary,
                 FrameDecoder &decoder)
        : file_(file), summary_(summary), decoder_(decoder) {}

    bool next(FrameSpan &frame) {
        if (offset_ >= file_.size())
            return false;
        const uint8_t *data = file_.data() + offset_;
        size_t remaining = file_.size() - offset_;
        size_t frame_size = ZSTD_findFrameCompressedSize(data, remaining);
        if (ZSTD_isError(frame_size)) {
            classify_rest(frame_size);
            offset_ = file_.size();
            return false;
        }
        frame = {offset_, frame_size};
        offset_ += frame_size;
        return true;
    }

  private:
    void problem(ReadProblem::Kind kind, const std::string &what) {
        summary_.problems.push_back({kind, offset_, what});
    }

    /* The offset of a complete frame after `from`, or 0. */
    size_t complete_frame_after(size_t from) const {
        const uint8_t *data = file_.data();
        size_t size = file_.size();
        while (from + 4 <= size) {
            const void *hit =
                memmem(data + from, size - from, kZstdMagic, sizeof kZstdMagic);
            if (hit == nullptr)
                return 0;
            size_t at =
                static_cast<size_t>(static_cast<const uint8_t *>(hit) - data);
            size_t frame_size =
                ZSTD_findFrameCompressedSize(data + at, size - at);
            if (!ZSTD_isError(frame_size) &&
                frame_header_problem(data + at, frame_size).empty())
                return at;
            from = at + 1;
        }
        return 0;
    }

    void classify_rest(size_t error) {
        const uint8_t *data = file_.data() + offset_;
        size_t remaining = file_.size() - offset_;
        using Kind = ReadProblem::Kind;
        /* some file systems leave zeroes where a crash cut a write */
        if (all_zero(data, remaining)) {
            problem(Kind::TruncatedTail,
                    "truncated tail: " + std::to_string(remaining) +
                        " zero bytes skipped");
            return;
        }
        if (std::memcmp(data, kZstdMagic, std::min<size_t>(remaining, 4)) !=
            0) {
            problem(Kind::Damage, "not a zstd frame (no magic number)");
            return;
        }
        if (remaining >= 4 &&
            ZSTD_getErrorCode(error) != ZSTD_error_srcSize_wrong) {
            problem(Kind::Damage, std::string("not a zstd frame: ") +
                                      ZSTD_getErrorName(error));
            return;
        }
        std::string why = frame_header_problem(data, remaining);
        if (!why.empty()) {
            problem(Kind::Damage, "unfinished frame: " + why);
            return;
        }
        if (size_t next = complete_frame_after(offset_ + 1)) {
            problem(Kind::Damage,
                    "a frame runs past its end into the frame at offset " +
                        std::to_string(next) +
                        " (damage in its block headers, not a truncated "
                        "tail)");
            return;
        }
        why = unfinished_blocks_problem(data, remaining);
        if (!why.empty()) {
            problem(Kind::Damage, "unfinished frame with " + why);
            return;
        }
        why = decoder_.decode_prefix(data, remaining);
        if (!why.empty()) {
            problem(Kind::Damage, "unfinished frame at the end, but " + why);
            return;
        }
        problem(Kind::TruncatedTail,
                "truncated tail: " + std::to_string(remaining) +
                    " bytes of an unfinished frame skipped");
    }

    const MappedFile &file_;
    ReadSummary &summary_;
    FrameDecoder &decoder_;
    size_t offset_ = 0;
};

const char *record_kind_name(const pb::Record &record) {
    const google::protobuf::FieldDescriptor *field =
        pb::Record::GetReflection()->GetOneofFieldDescriptor(
            record, pb::Record::descriptor()->FindOneofByName("kind"));
    return field == nullptr ? "record with no kind" : field->name().c_str();
}

/* Why the first record of a file is not a header this reader reads, or
 * "". */
std::string header_problem(const pb::Record &first) {
    if (!first.has_header())
        return std::string("no header: the file's first record is a ") +
               record_kind_name(first);
    uint32_t version = first.header().format_version();
    if (version == 0)
        return "header without a format version (0 is not a version)";
    if (version > kFormatVersion)
        return "format version " + std::to_string(version) +
               " is newer than this qprof reads (" +
               std::to_string(kFormatVersion) + ")";
    return "";
}

/* The frames of a file, first to last (the scan records any problem of
 * its tail in `summary`). */
std::vector<FrameSpan> locate_frames(const MappedFile &file,
                                     ReadSummary &summary,
                                     FrameDecoder &decoder) {
    std::vector<FrameSpan> frames;
    FrameScanner scanner(file, summary, decoder);
    FrameSpan frame;
    while (scanner.next(frame))
        frames.push_back(frame);
    return frames;
}

} // namespace

ReadSummary read_capture_file(const std::string &path,
                              const RecordVisitor &visit) {
    return read_capture_file(path, visit, SamplesVisitor());
}

ReadSummary read_capture_file(const std::string &path,
                              const RecordVisitor &visit,
                              const SamplesVisitor &visit_samples) {
    return read_capture_file(path, visit, visit_samples, TagSetVisitor());
}

ReadSummary read_capture_file(const std::string &path,
                              const RecordVisitor &visit,
                              const SamplesVisitor &visit_samples,
                              const TagSetVisitor &visit_tag_set) {
    MappedFile file(path);
    ReadSummary summary;
    summary.file_bytes = file.size();
    bool first = true;
    /* A second thread decompresses and parses the records ahead of the
     * visitor, which runs here: `summary` is the parser's until run()
     * returns. */
    ReadAhead<RecordBatch> ahead(kRecordBatches);
    auto parse = [&] {
        FrameDecoder decoder;
        FrameScanner scanner(file, summary, decoder);
        RecordBatch *batch = &ahead.empty_buffer();
        decoder.parse_on(&batch->reuse());
        auto next_batch = [&] {
            ahead.publish(*batch);
            batch = &ahead.empty_buffer();
            decoder.parse_on(&batch->reuse());
        };
        bool stop = false;
        FrameSpan frame;
        auto header_refused = [&](const std::string &why) {
            summary.problems.push_back(
                {ReadProblem::Kind::Damage, frame.offset, why + "; not read"});
        };
        if (visit_samples) {
            decoder.visit_blocks_with([&](const BlockWire &block) {
                if (first) {
                    first = false;
                    header_refused("no header: the file's first record is a "
                                   "sample_block");
                    return RecordOutcome::Stop;
                }
                SampleBlockDecoder samples(block.epoch, block.first_seq,
                                           block.base_start_unix_us);
                auto open_item = [&] {
                    batch->items.push_back({RecordBatch::Item::Kind::Samples,
                                            nullptr, frame.offset, block.epoch,
                                            batch->sample_count(), 0});
                };
                bool item_open = false, decoded = true, any = false;
                for_each_sample_wire(block, [&](const uint8_t *bytes,
                                                size_t size) {
                    if (!samples.next(bytes, size, batch->next_sample())) {
                        decoded = false;
                        return false;
                    }
                    if (!item_open)
                        open_item();
                    item_open = any = true;
                    batch->add_sample();
                    ++batch->items.back().count;
                    if (batch->sample_count() >= RecordBatch::kFullSamples) {
                        next_batch();
                        item_open = false;
                    }
                    return true;
                });
                if (!any)
                    open_item(); /* an empty block still has its epoch */
                if (!decoded)
                    return RecordOutcome::Undecodable;
                if (batch->full())
                    next_batch();
                return RecordOutcome::Read;
            });
        }
        if (visit_tag_set) {
            decoder.visit_tag_sets_with([&](const uint8_t *fields,
                                            size_t size) {
                if (first) {
                    first = false;
                    header_refused("no header: the file's first record is a "
                                   "tag_set");
                    return RecordOutcome::Stop;
                }
                if (!decode_tag_set_fields(fields, size, batch->next_tag_set()))
                    return RecordOutcome::Undecodable;
                batch->items.push_back({RecordBatch::Item::Kind::TagSet,
                                        nullptr, frame.offset, 0,
                                        batch->add_tag_set(), 1});
                if (batch->full())
                    next_batch();
                return RecordOutcome::Read;
            });
        }
        while (!stop && scanner.next(frame)) {
            stop = !decoder.decode(
                file.data(), frame, summary, [&](const pb::Record &record) {
                    if (first) {
                        first = false;
                        std::string why = header_problem(record);
                        if (!why.empty()) {
                            header_refused(why);
                            return false;
                        }
                    }
                    batch->items.push_back({RecordBatch::Item::Kind::Record,
                                            &record, frame.offset, 0, 0, 0});
                    if (batch->full())
                        next_batch();
                    return true;
                });
        }
        ahead.publish(*batch);
    };
    ahead.run(parse, [&](const RecordBatch &batch) {
        for (const RecordBatch::Item &item : batch.items) {
            switch (item.kind) {
            case RecordBatch::Item::Kind::Record:
                visit(*item.record, item.frame_offset);
                break;
            case RecordBatch::Item::Kind::Samples:
                visit_samples(item.epoch, batch.samples() + item.first,
                              item.count, item.frame_offset);
                break;
            case RecordBatch::Item::Kind::TagSet:
                visit_tag_set(batch.tag_set(item.first), item.frame_offset);
                break;
            }
        }
    });
    /* A file cut inside its first frame (a copy cut short, or a crash of
     * a writer older than the partial names) is a truncated tail with
     * nothing before it; any other file without a header is no capture. */
    bool cut_in_first_frame =
        summary.problems.size() == 1 && summary.problems[0].offset == 0 &&
        summary.problems[0].kind == ReadProblem::Kind::TruncatedTail &&
        file.size() > 0 && file.data()[0] == kZstdMagic[0];
    if (first && !cut_in_first_frame)
        summary.problems.push_back(
            {ReadProblem::Kind::Damage, 0,
             file.size() == 0 ? "empty file: no header"
                              : "no header: no frame of the file decodes"});
    return summary;
}

void scan_capture_frames_backwards(const std::string &path,
                                   const BackwardsVisitor &visit_record,
                                   const FrameEndVisitor &frame_done) {
    MappedFile file(path);
    ReadSummary summary;
    FrameDecoder decoder;
    std::vector<FrameSpan> frames = locate_frames(file, summary, decoder);
    for (auto frame = frames.rbegin(); frame != frames.rend(); ++frame) {
        size_t problems = summary.problems.size();
        decoder.decode(file.data(), *frame, summary,
                       [&](const pb::Record &record) {
                           visit_record(record);
                           return true;
                       });
        bool damaged = summary.problems.size() != problems;
        if (!frame_done(damaged))
            return;
    }
}

void read_capture_frames_backwards(const std::string &path,
                                   const FrameVisitor &visit_frame) {
    std::vector<pb::Record> records;
    scan_capture_frames_backwards(
        path, [&](const pb::Record &record) { records.push_back(record); },
        [&](bool damaged) {
            if (damaged) {
                records.clear();
                return true;
            }
            bool more = visit_frame(records);
            records.clear();
            return more;
        });
}

bool read_capture_header(const std::string &path, pb::Header &header) {
    MappedFile file(path);
    ReadSummary summary;
    FrameDecoder decoder;
    FrameScanner scanner(file, summary, decoder);
    FrameSpan frame;
    if (!scanner.next(frame))
        return false;
    bool found = false;
    decoder.decode(file.data(), frame, summary, [&](const pb::Record &record) {
        if (record.has_header()) {
            header = record.header();
            found = true;
        }
        return false; /* the first record only */
    });
    return found;
}

} // namespace qprof
