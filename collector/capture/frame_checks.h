/*
 * frame_checks.h — what the capture reader checks of a zstd frame before
 * it decompresses anything: that its header is one the writer writes, and
 * that the blocks of a frame a file ends in are not damage posing as a
 * truncated tail.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace qprof {

/* how every zstd frame begins */
inline constexpr uint8_t kZstdMagic[4] = {0x28, 0xb5, 0x2f, 0xfd};

/* Where a frame is in its file. */
struct FrameSpan {
    size_t offset;
    size_t size;
};

/* Whether the bytes are all zero (what some file systems leave where a
 * crash cut a write). */
bool all_zero(const uint8_t *data, size_t size);

/* Why a frame's header is not one the writer writes (a checksum, the
 * content size, no dictionary, within the limits), or "" when it is or
 * when `size` bytes do not hold the whole header yet. */
std::string frame_header_problem(const uint8_t *data, size_t size);

/* Why the blocks of a frame the file ends in are not what the writer
 * writes (zstd's decoder would wait for more input without a word), or
 * "". */
std::string unfinished_blocks_problem(const uint8_t *data, size_t size);

} // namespace qprof
