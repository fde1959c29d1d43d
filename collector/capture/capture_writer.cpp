#include "capture_writer.h"
#include "capture_format.h"
#include "errors.h"
#include "utf8_text.h"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

namespace qprof {

namespace pb = capture::v1;

CaptureWriter::CaptureWriter(CaptureWriterOptions options)
    : options_(std::move(options)) {
    cctx_ = ZSTD_createCCtx();
    if (cctx_ == nullptr)
        throw std::bad_alloc();
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, options_.zstd_level);
    /* A checksum per frame lets a reader tell damage from data. */
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_contentSizeFlag, 1);
    /* the window readers accept (capture_format.h) */
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_windowLog, kWriterWindowLog);
}

CaptureWriter::~CaptureWriter() {
    if (fd_ >= 0 && !options_.to_stdout)
        close(fd_);
    ZSTD_freeCCtx(cctx_);
}

void CaptureWriter::open_file(uint64_t file_index) {
    frame_.clear();
    file_bytes_ = 0;
    opened_unix_us_ = unix_now_us();
    if (options_.to_stdout) {
        fd_ = STDOUT_FILENO;
        name_ = "-";
        return;
    }
    name_ = capture_file_name(file_index, opened_unix_us_);
    path_ = options_.dir + "/" + name_;
    /* The file is written under a hidden name until its first frame (the
     * header) is durable: a capture file always starts with a header, and
     * a crash before it leaves no capture file. A partial file of an
     * earlier crash with the same index is overwritten. */
    partial_path_ =
        options_.dir + "/." + name_.substr(0, name_.find('-', 6)) + ".partial";
    fd_ = open(partial_path_.c_str(),
               O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0)
        throw CaptureIoError(
            describe_errno("cannot create " + partial_path_, errno));
    /* 0600 whatever the umask: captures hold statement texts. */
    fchmod(fd_, 0600);
    named_ = false;
}

/* The first frame is durable: the file takes its capture name. */
void CaptureWriter::publish_file() {
    if (rename(partial_path_.c_str(), path_.c_str()) != 0)
        throw CaptureIoError(describe_errno(
            "cannot rename " + partial_path_ + " to " + path_, errno));
    named_ = true;
    sync_directory(options_.dir);
}

void CaptureWriter::append(const pb::Record &record) {
    /* Bytes a SQL_ASCII database passed through would make the record
     * unreadable: they are replaced (definitions are few, so checking
     * them costs little). */
    if (!message_strings_valid(record)) {
        pb::Record valid = record;
        make_message_strings_valid(valid);
        append_valid(valid);
    } else {
        append_valid(record);
    }
}

void CaptureWriter::append_valid(const pb::Record &record) {
    size_t size = record.ByteSizeLong();
    if (size > kMaxRecordBytes) {
        /* Only a catalog snapshot of a huge database could come near: it
         * is left out, and the capture says so. */
        pb::Record notice;
        notice.mutable_notice()->set_unix_us(unix_now_us());
        notice.mutable_notice()->set_text(
            "a record of " + std::to_string(size) +
            " bytes was left out: records are limited to " +
            std::to_string(kMaxRecordBytes) + " bytes");
        append_valid(notice);
        return;
    }
    make_room(size);
    append_varint(frame_, size);
    size_t offset = frame_.size();
    frame_.resize(offset + size);
    record.SerializeWithCachedSizesToArray(
        reinterpret_cast<uint8_t *>(&frame_[offset]));
}

void CaptureWriter::append_encoded(std::string_view head,
                                   std::string_view body) {
    size_t size = head.size() + body.size();
    if (size > kMaxRecordBytes)
        throw CaptureIoError("a sample block of " + std::to_string(size) +
                             " bytes is over the capture format's limit (" +
                             std::to_string(kMaxRecordBytes) + ")");
    make_room(size);
    append_varint(frame_, size);
    frame_.append(head);
    frame_.append(body);
}

/* A frame stays within what readers accept: when a record would carry it
 * past kMaxFrameContentBytes, the frame is written first. */
void CaptureWriter::make_room(size_t record_bytes) {
    if (!frame_.empty() &&
        frame_.size() + record_bytes + 10 > kMaxFrameContentBytes)
        flush_frame();
}

/* A file whose header could not be written holds nothing: it goes. */
void CaptureWriter::discard_unnamed_file() {
    if (!options_.to_stdout && !named_ && fd_ >= 0)
        unlink(partial_path_.c_str());
}

void CaptureWriter::write_all(const char *data, size_t size) {
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd_, data + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int saved = n < 0 ? errno : ENOSPC;
            discard_unnamed_file();
            /* Cut the partial frame so the file stays readable. */
            if (!options_.to_stdout &&
                ftruncate(fd_, static_cast<off_t>(file_bytes_)) == 0)
                lseek(fd_, static_cast<off_t>(file_bytes_), SEEK_SET);
            throw CaptureIoError(describe_errno(
                "cannot write " + (options_.to_stdout ? "to stdout" : path_),
                saved));
        }
        done += static_cast<size_t>(n);
    }
}

void CaptureWriter::flush_frame() {
    if (frame_.empty())
        return;
    compressed_.resize(ZSTD_compressBound(frame_.size()));
    size_t size = ZSTD_compress2(cctx_, compressed_.data(), compressed_.size(),
                                 frame_.data(), frame_.size());
    if (ZSTD_isError(size))
        throw CaptureIoError(std::string("zstd compression failed: ") +
                             ZSTD_getErrorName(size));
    write_all(compressed_.data(), size);
    if (!options_.to_stdout && fdatasync(fd_) != 0) {
        int saved = errno;
        discard_unnamed_file();
        if (ftruncate(fd_, static_cast<off_t>(file_bytes_)) == 0)
            lseek(fd_, static_cast<off_t>(file_bytes_), SEEK_SET);
        throw CaptureIoError(describe_errno("cannot sync " + path_, saved));
    }
    file_bytes_ += size;
    total_bytes_ += size;
    frame_.clear();
    if (!options_.to_stdout && !named_)
        publish_file();
}

bool CaptureWriter::wants_rotation() const {
    if (options_.to_stdout || fd_ < 0)
        return false;
    if (options_.rotate_bytes > 0 && file_bytes_ >= options_.rotate_bytes)
        return true;
    double age_seconds = (unix_now_us() - opened_unix_us_) / 1e6;
    return options_.rotate_seconds > 0 &&
           age_seconds >= options_.rotate_seconds;
}

void CaptureWriter::close_file(const pb::Trailer &trailer) {
    if (fd_ < 0)
        return;
    pb::Record record;
    *record.mutable_trailer() = trailer;
    append(record);
    flush_frame();
    if (!options_.to_stdout)
        close(fd_);
    fd_ = -1;
}

void CaptureWriter::apply_retention() {
    if (options_.to_stdout || options_.retain_bytes == 0)
        return;
    std::vector<CaptureFileEntry> files = list_capture_files(options_.dir);
    uint64_t total = 0;
    for (const CaptureFileEntry &file : files)
        total += file.bytes;
    for (const CaptureFileEntry &file : files) {
        if (total <= options_.retain_bytes || file.name == name_)
            break;
        if (unlink(file.path.c_str()) == 0)
            total -= file.bytes;
    }
}

} // namespace qprof
