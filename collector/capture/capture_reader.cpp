#include "capture_reader.h"
#include "capture_format.h"
#include "errors.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
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

/* A file's bytes, mapped read-only. */
class MappedFile {
  public:
    explicit MappedFile(const std::string &path) {
        int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            throw CaptureIoError(describe_errno("cannot open " + path, errno));
        struct stat st;
        if (fstat(fd, &st) != 0) {
            int saved = errno;
            close(fd);
            throw CaptureIoError(describe_errno("cannot stat " + path, saved));
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

bool all_zero(const uint8_t *data, size_t size) {
    for (size_t i = 0; i < size; ++i)
        if (data[i] != 0)
            return false;
    return true;
}

} // namespace

namespace {

struct FrameSpan {
    size_t offset;
    size_t size;
};

/* Where the frames of a file are, found from the frame headers alone (no
 * decompression); a tail that is not a frame is recorded in `summary`. */
std::vector<FrameSpan> locate_frames(const MappedFile &file,
                                     ReadSummary &summary) {
    std::vector<FrameSpan> frames;
    const uint8_t *data = file.data();
    size_t offset = 0;
    while (offset < file.size()) {
        size_t remaining = file.size() - offset;
        size_t frame_size =
            ZSTD_findFrameCompressedSize(data + offset, remaining);
        if (ZSTD_isError(frame_size)) {
            /* A crash leaves a prefix of a frame, or on some file systems
             * zeroes: that is a truncated tail. Anything else is damage. */
            bool prefix =
                ZSTD_getErrorCode(frame_size) == ZSTD_error_srcSize_wrong ||
                remaining < 4;
            if (prefix || all_zero(data + offset, remaining))
                summary.problems.push_back(
                    {ReadProblem::Kind::TruncatedTail, offset,
                     "truncated tail: " + std::to_string(remaining) +
                         " bytes of an unfinished frame skipped"});
            else
                summary.problems.push_back({ReadProblem::Kind::Damage, offset,
                                            std::string("not a zstd frame: ") +
                                                ZSTD_getErrorName(frame_size)});
            break;
        }
        frames.push_back({offset, frame_size});
        offset += frame_size;
    }
    return frames;
}

/* Decompresses one frame and calls `visit` for each of its records. */
class FrameDecoder {
  public:
    FrameDecoder() : dctx_(ZSTD_createDCtx()) {
        if (dctx_ == nullptr)
            throw std::bad_alloc();
    }
    ~FrameDecoder() { ZSTD_freeDCtx(dctx_); }
    FrameDecoder(const FrameDecoder &) = delete;
    FrameDecoder &operator=(const FrameDecoder &) = delete;

    void decode(const MappedFile &file, FrameSpan frame, ReadSummary &summary,
                const RecordVisitor &visit) {
        const uint8_t *data = file.data() + frame.offset;
        unsigned long long content = ZSTD_getFrameContentSize(data, frame.size);
        if (content == ZSTD_CONTENTSIZE_ERROR ||
            content == ZSTD_CONTENTSIZE_UNKNOWN || content > (1ull << 31)) {
            summary.problems.push_back({ReadProblem::Kind::Damage, frame.offset,
                                        "frame without a valid content size"});
            return;
        }
        plain_.resize(content);
        size_t got = ZSTD_decompressDCtx(dctx_, plain_.data(), plain_.size(),
                                         data, frame.size);
        if (ZSTD_isError(got) || got != content) {
            summary.problems.push_back(
                {ReadProblem::Kind::Damage, frame.offset,
                 std::string("frame does not decompress: ") +
                     (ZSTD_isError(got) ? ZSTD_getErrorName(got)
                                        : "short content")});
            return;
        }
        ++summary.frames;

        const uint8_t *bytes = reinterpret_cast<const uint8_t *>(plain_.data());
        size_t pos = 0;
        while (pos < plain_.size()) {
            size_t record_start = pos;
            uint64_t length = 0;
            if (!read_varint(bytes, plain_.size(), pos, length) ||
                length > plain_.size() - pos ||
                !record_.ParseFromArray(bytes + pos,
                                        static_cast<int>(length))) {
                summary.problems.push_back(
                    {ReadProblem::Kind::Damage, frame.offset,
                     "undecodable record at byte " +
                         std::to_string(record_start) + " of the frame"});
                return;
            }
            pos += length;
            ++summary.records;
            visit(record_, frame.offset);
        }
    }

  private:
    ZSTD_DCtx *dctx_;
    std::string plain_;
    pb::Record record_;
};

} // namespace

ReadSummary read_capture_file(const std::string &path,
                              const RecordVisitor &visit) {
    MappedFile file(path);
    ReadSummary summary;
    summary.file_bytes = file.size();
    FrameDecoder decoder;
    for (FrameSpan frame : locate_frames(file, summary))
        decoder.decode(file, frame, summary, visit);
    return summary;
}

void read_capture_frames_backwards(const std::string &path,
                                   const FrameVisitor &visit_frame) {
    MappedFile file(path);
    ReadSummary summary;
    FrameDecoder decoder;
    std::vector<FrameSpan> frames = locate_frames(file, summary);
    std::vector<pb::Record> records;
    for (auto frame = frames.rbegin(); frame != frames.rend(); ++frame) {
        records.clear();
        decoder.decode(file, *frame, summary,
                       [&records](const pb::Record &record, uint64_t) {
                           records.push_back(record);
                       });
        if (!visit_frame(records))
            return;
    }
}

bool read_capture_header(const std::string &path, pb::Header &header) {
    MappedFile file(path);
    ReadSummary summary;
    std::vector<FrameSpan> frames = locate_frames(file, summary);
    if (frames.empty())
        return false;
    bool found = false, first = true;
    FrameDecoder decoder;
    decoder.decode(file, frames.front(), summary,
                   [&](const pb::Record &record, uint64_t) {
                       if (first && record.has_header()) {
                           header = record.header();
                           found = true;
                       }
                       first = false;
                   });
    return found;
}

} // namespace qprof
