#include "resume_state.h"
#include "capture_format.h"
#include "capture_reader.h"
#include "errors.h"
#include "sample_codec.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <unistd.h>

namespace qprof {

namespace pb = capture::v1;

namespace {

ResumePoint read_state_file(const std::string &dir) {
    ResumePoint point;
    std::ifstream in(dir + "/" + kStateFileName);
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
 * its end. */
bool last_position_in_file(const std::string &path, ResumePoint &point) {
    bool found = false;
    read_capture_frames_backwards(
        path, [&](const std::vector<pb::Record> &records) {
            for (auto r = records.rbegin(); r != records.rend(); ++r) {
                if (r->has_sample_block() &&
                    r->sample_block().samples_size() > 0) {
                    point.epoch = r->sample_block().epoch();
                    point.last_seq = last_seq_of_block(r->sample_block());
                    found = true;
                } else if (r->has_epoch_change()) {
                    point.epoch = r->epoch_change().new_epoch();
                    point.last_seq = 0;
                    found = true;
                }
                if (found)
                    return false;
            }
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

void save_resume_state(const std::string &dir, const ResumePoint &point) {
    std::string path = dir + "/" + kStateFileName;
    std::string tmp = path + ".tmp";
    char text[160];
    int length = snprintf(
        text, sizeof text, "epoch %llu\nlast_seq %llu\nnext_file_index %llu\n",
        static_cast<unsigned long long>(point.epoch),
        static_cast<unsigned long long>(point.last_seq),
        static_cast<unsigned long long>(point.next_file_index));
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        throw CaptureIoError(describe_errno("cannot write " + tmp, errno));
    bool ok = write(fd, text, static_cast<size_t>(length)) == length &&
              fdatasync(fd) == 0;
    int saved = errno;
    close(fd);
    if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
        if (ok)
            saved = errno;
        unlink(tmp.c_str());
        throw CaptureIoError(describe_errno("cannot write " + path,
                                            saved == 0 ? ENOSPC : saved));
    }
}

} // namespace qprof
