#include "capture_format.h"
#include "errors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

namespace qprof {

std::string capture_file_name(uint64_t file_index, int64_t unix_us) {
    time_t seconds = static_cast<time_t>(unix_us / 1000000);
    struct tm utc;
    gmtime_r(&seconds, &utc);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
    char name[96];
    snprintf(name, sizeof name, "qprof-%06llu-%s%s",
             static_cast<unsigned long long>(file_index), stamp,
             kCaptureSuffix);
    return name;
}

uint64_t capture_file_index(const std::string &name) {
    const std::string prefix = "qprof-";
    const std::string suffix = kCaptureSuffix;
    if (name.size() <= prefix.size() + suffix.size() ||
        name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
        return 0;
    uint64_t index = 0;
    size_t pos = prefix.size();
    while (pos < name.size() && name[pos] >= '0' && name[pos] <= '9')
        index = index * 10 + static_cast<uint64_t>(name[pos++] - '0');
    if (pos == prefix.size() || pos >= name.size() || name[pos] != '-')
        return 0;
    return index;
}

std::vector<CaptureFileEntry> list_capture_files(const std::string &dir) {
    std::vector<CaptureFileEntry> files;
    DIR *d = opendir(dir.c_str());
    if (d == nullptr)
        throw CaptureIoError(
            describe_errno("cannot open directory " + dir, errno));
    while (struct dirent *entry = readdir(d)) {
        CaptureFileEntry file;
        file.name = entry->d_name;
        file.index = capture_file_index(file.name);
        if (file.index == 0)
            continue;
        file.path = dir + "/" + file.name;
        struct stat st;
        if (stat(file.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        file.bytes = static_cast<uint64_t>(st.st_size);
        files.push_back(std::move(file));
    }
    closedir(d);
    std::sort(files.begin(), files.end(),
              [](const CaptureFileEntry &a, const CaptureFileEntry &b) {
                  return a.index < b.index;
              });
    return files;
}

void append_varint(std::string &out, uint64_t value) {
    while (value >= 0x80) {
        out.push_back(static_cast<char>((value & 0x7f) | 0x80));
        value >>= 7;
    }
    out.push_back(static_cast<char>(value));
}

bool read_varint(const uint8_t *data, size_t end, size_t &pos,
                 uint64_t &value) {
    value = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (pos >= end)
            return false;
        uint8_t byte = data[pos++];
        value |= static_cast<uint64_t>(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0)
            return true;
    }
    return false;
}

int64_t unix_now_us() {
    struct timeval tv;
    gettimeofday(&tv, nullptr);
    return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

void sync_directory(const std::string &dir) {
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        throw CaptureIoError(
            describe_errno("cannot open directory " + dir, errno));
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    if (rc != 0)
        throw CaptureIoError(
            describe_errno("cannot sync directory " + dir, saved));
}

} // namespace qprof
