#include "resume_state.h"
#include "capture_format.h"
#include "capture_reader.h"
#include "errors.h"
#include "sample_codec.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <sstream>
#include <unistd.h>

namespace qprof {

namespace pb = capture::v1;

namespace {

/* The checksum of a state file's lines before its `check` line. */
uint64_t state_check(const char *text, size_t length) {
    uint64_t hash = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < length; ++i)
        hash = (hash ^ static_cast<unsigned char>(text[i])) * 1099511628211ull;
    return hash;
}

ResumePoint read_state_file(const std::string &dir) {
    ResumePoint point;
    std::ifstream file(dir + "/" + kStateFileName);
    std::string text((std::istreambuf_iterator<char>(file)),
                     std::istreambuf_iterator<char>());
    /* A torn update fails its check: the capture files decide alone. (A
     * file without a check line is an older collector's, written whole
     * and renamed.) */
    size_t check_at = text.find("check ");
    if (check_at != std::string::npos &&
        state_check(text.data(), check_at) !=
            strtoull(text.c_str() + check_at + 6, nullptr, 10))
        return point;
    std::istringstream in(text.substr(0, check_at));
    std::string key;
    uint64_t value = 0;
    while (in >> key >> value) {
        if (key == "epoch")
            point.epoch = value;
        else if (key == "last_seq")
            point.last_seq = value;
        else if (key == "next_file_index")
            point.next_file_index = std::max<uint64_t>(value, 1);
    }
    point.known = point.epoch != 0;
    return point;
}

/* The last (epoch, seq) position recorded in one capture file, read from
 * its end a frame at a time and a record at a time: nothing but the last
 * position seen is kept (a hostile frame of millions of records costs no
 * memory). */
bool last_position_in_file(const std::string &path, ResumePoint &point) {
    bool found = false;
    ResumePoint in_frame;
    bool frame_has_position = false;
    scan_capture_frames_backwards(
        path,
        [&](const pb::Record &r) {
            if (r.has_sample_block() && r.sample_block().samples_size() > 0) {
                in_frame.epoch = r.sample_block().epoch();
                in_frame.last_seq = last_seq_of_block(r.sample_block());
                frame_has_position = true;
            } else if (r.has_epoch_change()) {
                in_frame.epoch = r.epoch_change().new_epoch();
                in_frame.last_seq = 0;
                frame_has_position = true;
            }
        },
        [&](bool damaged) {
            if (frame_has_position && !damaged) {
                point.epoch = in_frame.epoch;
                point.last_seq = in_frame.last_seq;
                found = true;
                return false;
            }
            frame_has_position = false;
            return true;
        });
    pb::Header header;
    if (found && read_capture_header(path, header))
        point.system_identifier = header.server().system_identifier();
    return found;
}

} // namespace

ResumePoint find_resume_point(const std::string &dir) {
    ResumePoint state = read_state_file(dir);
    std::vector<CaptureFileEntry> files = list_capture_files(dir);
    if (!files.empty())
        state.next_file_index =
            std::max(state.next_file_index, files.back().index + 1);

    for (auto it = files.rbegin(); it != files.rend(); ++it) {
        ResumePoint from_file;
        if (!last_position_in_file(it->path, from_file))
            continue;
        /* The files are authoritative: the state file is written after the
         * data is durable, so it can only lag behind them. */
        from_file.known = true;
        from_file.next_file_index = state.next_file_index;
        return from_file;
    }
    return state;
}

ResumeStateFile::~ResumeStateFile() {
    if (fd_ >= 0)
        close(fd_);
}

void ResumeStateFile::save(const ResumePoint &point) {
    std::string path = dir_ + "/" + kStateFileName;
    if (fd_ < 0) {
        fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd_ < 0)
            throw CaptureIoError(describe_errno("cannot write " + path, errno));
    }
    /* fixed widths: every update has the same length */
    char text[160];
    int length =
        snprintf(text, sizeof text,
                 "epoch %020llu\nlast_seq %020llu\nnext_file_index %020llu\n",
                 static_cast<unsigned long long>(point.epoch),
                 static_cast<unsigned long long>(point.last_seq),
                 static_cast<unsigned long long>(point.next_file_index));
    length += snprintf(
        text + length, sizeof text - size_t(length), "check %020llu\n",
        static_cast<unsigned long long>(state_check(text, size_t(length))));
    /* the file's size is set once (it may hold an older, other text) */
    bool ok = pwrite(fd_, text, size_t(length), 0) == length &&
              (sized_ || ftruncate(fd_, length) == 0) && fdatasync(fd_) == 0;
    sized_ = ok;
    if (!ok) {
        int saved = errno;
        throw CaptureIoError(describe_errno("cannot write " + path,
                                            saved == 0 ? ENOSPC : saved));
    }
}

} // namespace qprof
