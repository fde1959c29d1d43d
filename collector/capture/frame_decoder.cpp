#include "frame_decoder.h"

#include <zstd.h>

namespace qprof {

namespace pb = capture::v1;

FrameDecoder::FrameDecoder() : dctx_(ZSTD_createDCtx()) {
    if (dctx_ == nullptr)
        throw std::bad_alloc();
    ZSTD_DCtx_setParameter(dctx_, ZSTD_d_windowLogMax, kMaxWindowLog);
}

FrameDecoder::~FrameDecoder() {
    ZSTD_freeDCtx(dctx_);
    /* the arena goes first: it frees the blocks it added to ours */
    arena_.reset();
    if (arena_block_ && !spare_arena_block())
        spare_arena_block() = std::move(arena_block_);
}

bool FrameDecoder::decode(const uint8_t *data, FrameSpan frame,
                          ReadSummary &summary, const Visit &visit) {
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

std::string FrameDecoder::decode_prefix(const uint8_t *data, size_t size) {
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

std::string FrameDecoder::decompress(const uint8_t *data, size_t size) {
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
               " bytes, not the " + std::to_string(content) + " it declares";
    if (next_record_ != plain_.size())
        return "the frame's last record is cut at byte " +
               std::to_string(next_record_);
    return "";
}

bool FrameDecoder::decompress_whole(const uint8_t *data, size_t size,
                                    uint64_t content) {
    plain_.clear();
    next_record_ = 0;
    finished_ = false;
    size_t rc = ZSTD_decompressDCtx(dctx_, plain_.make_room(content), content,
                                    data, size);
    if (ZSTD_isError(rc) || rc != content)
        return false;
    plain_.grow(rc);
    if (!check_record_boundaries(content).empty() ||
        next_record_ != plain_.size())
        return false;
    finished_ = true;
    return true;
}

std::string FrameDecoder::inflate(const uint8_t *data, size_t size,
                                  uint64_t content) {
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

std::string FrameDecoder::check_record_boundaries(uint64_t content) {
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
            return "record of " + std::to_string(length) + " bytes at byte " +
                   std::to_string(next_record_) +
                   " runs past the end of the frame";
        next_record_ = pos + length;
    }
    return "";
}

google::protobuf::ArenaOptions FrameDecoder::arena_options(char *block,
                                                           size_t size) {
    google::protobuf::ArenaOptions options;
    options.initial_block = block;
    options.initial_block_size = size;
    options.start_block_size = 64 * 1024;
    options.max_block_size = 8 << 20;
    return options;
}

google::protobuf::Arena &FrameDecoder::record_arena() {
    if (!arena_) {
        arena_block_ = std::move(spare_arena_block());
        if (!arena_block_)
            arena_block_.reset(new char[kArenaBlockBytes]);
        arena_.emplace(arena_options(arena_block_.get(), kArenaBlockBytes));
    }
    return *arena_;
}

std::unique_ptr<char[]> &FrameDecoder::spare_arena_block() {
    static thread_local std::unique_ptr<char[]> spare;
    return spare;
}
} // namespace qprof
