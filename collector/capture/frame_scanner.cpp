#include "frame_scanner.h"

#include <algorithm>
#include <cstring>
#include <zstd.h>
#include <zstd_errors.h>

namespace qprof {

bool FrameScanner::next(FrameSpan &frame) {
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
    frames_end_ = offset_;
    return true;
}

void FrameScanner::problem(ReadProblem::Kind kind, const std::string &what) {
    summary_.problems.push_back({kind, offset_, what});
}

size_t FrameScanner::complete_frame_after(size_t from) const {
    const uint8_t *data = file_.data();
    size_t size = file_.size();
    while (from + 4 <= size) {
        const void *hit =
            memmem(data + from, size - from, kZstdMagic, sizeof kZstdMagic);
        if (hit == nullptr)
            return 0;
        size_t at =
            static_cast<size_t>(static_cast<const uint8_t *>(hit) - data);
        size_t frame_size = ZSTD_findFrameCompressedSize(data + at, size - at);
        if (!ZSTD_isError(frame_size) &&
            frame_header_problem(data + at, frame_size).empty())
            return at;
        from = at + 1;
    }
    return 0;
}

void FrameScanner::classify_rest(size_t error) {
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
    if (std::memcmp(data, kZstdMagic, std::min<size_t>(remaining, 4)) != 0) {
        problem(Kind::Damage, "not a zstd frame (no magic number)");
        return;
    }
    if (remaining >= 4 &&
        ZSTD_getErrorCode(error) != ZSTD_error_srcSize_wrong) {
        problem(Kind::Damage,
                std::string("not a zstd frame: ") + ZSTD_getErrorName(error));
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

} // namespace qprof
