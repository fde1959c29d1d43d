#include "frame_checks.h"
#include "capture_format.h"

#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader */
#include <zstd.h>

namespace qprof {

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

} // namespace qprof
