/*
 * capture_format.h — the framing of capture files (qprof.proto has the
 * records): names of files in an output directory, the varint length
 * prefix, and the version a reader checks.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace qprof {

/* Header.format_version written by this collector. */
constexpr uint32_t kFormatVersion = 1;

/* Limits of what the writer produces, which a reader enforces: anything
 * beyond them is damage (or a hostile file), never a reason to allocate.
 * A frame's content (its records with their length prefixes) stays under
 * kMaxFrameContentBytes; one record under kMaxRecordBytes; a sample block
 * holds at most kMaxFrameRecords samples (about 750 bytes each at most). */
constexpr size_t kMaxFrameContentBytes = size_t(64) << 20;
constexpr size_t kMaxRecordBytes = kMaxFrameContentBytes - 16;
constexpr uint32_t kMaxFrameRecords = 65536;
/* zstd window: the writer compresses with a window of 2^19 bytes (zstd's
 * own for level 1; smaller frames get a window of their size), so a
 * reader needs 1 MiB at most for it, whatever the frame's size. */
constexpr int kWriterWindowLog = 19;
constexpr int kMaxWindowLog = 20;

/* Collector version recorded in every header. */
constexpr const char *kCollectorVersion = "1.0";

/* Capture files are "<prefix>-<index, 6 digits>-<UTC time>.qprof", so that
 * names sort in the order they were written. */
constexpr const char *kCaptureSuffix = ".qprof";

std::string capture_file_name(uint64_t file_index, int64_t unix_us);

/* The index in a capture file name, or 0 when the name is not one. */
uint64_t capture_file_index(const std::string &name);

struct CaptureFileEntry {
    std::string path;
    std::string name;
    uint64_t index = 0;
    uint64_t bytes = 0;
};

/* Capture files of a directory, oldest (lowest index) first. */
std::vector<CaptureFileEntry> list_capture_files(const std::string &dir);

/* Appends `value` as a base-128 varint. */
void append_varint(std::string &out, uint64_t value);

/* Reads a varint at data[pos..end); false when it runs past the end or is
 * longer than 10 bytes. */
bool read_varint(const uint8_t *data, size_t end, size_t &pos, uint64_t &value);

/* Microseconds since the Unix epoch, now. */
int64_t unix_now_us();

/* fsync of a directory, so that a created or renamed entry survives. */
void sync_directory(const std::string &dir);

} // namespace qprof
