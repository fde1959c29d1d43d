#include "capture_writer.h"
#include "capture_format.h"
#include "errors.h"

#include <cerrno>
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
    fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd_ < 0)
        throw CaptureIoError(describe_errno("cannot create " + path_, errno));
    /* 0600 whatever the umask: captures hold statement texts. */
    fchmod(fd_, 0600);
    sync_directory(options_.dir);
}

void CaptureWriter::append(const pb::Record &record) {
    size_t size = record.ByteSizeLong();
    append_varint(frame_, size);
    size_t offset = frame_.size();
    frame_.resize(offset + size);
    record.SerializeWithCachedSizesToArray(
        reinterpret_cast<uint8_t *>(&frame_[offset]));
}

void CaptureWriter::append_encoded(std::string_view head,
                                   std::string_view body) {
    append_varint(frame_, head.size() + body.size());
    frame_.append(head);
    frame_.append(body);
}

void CaptureWriter::write_all(const char *data, size_t size) {
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd_, data + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int saved = n < 0 ? errno : ENOSPC;
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
        if (ftruncate(fd_, static_cast<off_t>(file_bytes_)) == 0)
            lseek(fd_, static_cast<off_t>(file_bytes_), SEEK_SET);
        throw CaptureIoError(describe_errno("cannot sync " + path_, saved));
    }
    file_bytes_ += size;
    total_bytes_ += size;
    frame_.clear();
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
