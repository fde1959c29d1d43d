/*
 * capture_writer.h — writes capture files: records are collected into a
 * frame, and a frame is compressed as one zstd frame, written and
 * fdatasync'ed in one go, so that a crash can only lose the frame being
 * built. Files are created with mode 0600 and rotated on request; a file
 * gets its capture name once its first frame (the header) is durable.
 * Strings are made valid UTF-8 and frames kept within the format's limits
 * (capture_format.h), so that every file written reads back.
 */
#pragma once

#include "qprof.pb.h"

#include <cstdint>
#include <string>
#include <string_view>

struct ZSTD_CCtx_s;

namespace qprof {

struct CaptureWriterOptions {
    std::string dir;        /* output directory (unused with to_stdout) */
    bool to_stdout = false; /* one endless stream on standard output */
    uint64_t rotate_bytes = 64ull << 20;
    double rotate_seconds = 3600;
    uint64_t retain_bytes = 0; /* 0 = keep every file */
    int zstd_level = 1;
};

class CaptureWriter {
  public:
    explicit CaptureWriter(CaptureWriterOptions options);
    ~CaptureWriter();
    CaptureWriter(const CaptureWriter &) = delete;
    CaptureWriter &operator=(const CaptureWriter &) = delete;

    /* Creates capture file number `file_index` (never reuses a name). */
    void open_file(uint64_t file_index);

    /* Adds a record to the frame being built. */
    void append(const capture::v1::Record &record);
    /* Adds a record already in wire format, given as two pieces. */
    void append_encoded(std::string_view head, std::string_view body);

    /* Compresses the frame, writes it and makes it durable. On failure the
     * file is cut back to its last complete frame and CaptureIoError is
     * thrown. */
    void flush_frame();

    bool frame_empty() const { return frame_.empty(); }
    size_t frame_bytes() const { return frame_.size(); }

    /* Size or age limit of the current file reached. */
    bool wants_rotation() const;

    /* Writes `trailer` as the file's last frame and closes it. */
    void close_file(const capture::v1::Trailer &trailer);

    /* Removes the oldest files of the directory beyond retain_bytes,
     * never the current one. */
    void apply_retention();

    bool file_open() const { return fd_ >= 0; }
    const std::string &current_name() const { return name_; }
    uint64_t file_bytes() const { return file_bytes_; }
    uint64_t total_bytes_written() const { return total_bytes_; }

  private:
    void append_valid(const capture::v1::Record &record);
    void make_room(size_t record_bytes);
    void publish_file();
    void discard_unnamed_file();
    void write_all(const char *data, size_t size);

    CaptureWriterOptions options_;
    ZSTD_CCtx_s *cctx_ = nullptr;
    int fd_ = -1;
    std::string name_;
    std::string path_;
    std::string partial_path_; /* the file's name until its header is in */
    bool named_ = false;
    std::string frame_;
    std::string compressed_;
    uint64_t file_bytes_ = 0;
    uint64_t total_bytes_ = 0;
    int64_t opened_unix_us_ = 0;
};

} // namespace qprof
