#include "mapped_file.h"
#include "errors.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace qprof {

MappedFile::MappedFile(const std::string &path, size_t begin, size_t limit) {
    /* O_NONBLOCK: opening a FIFO must not wait for a writer */
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        throw CaptureIoError(describe_errno("cannot open " + path, errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int saved = errno;
        close(fd);
        throw CaptureIoError(describe_errno("cannot stat " + path, saved));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        throw CaptureIoError(path + " is not a regular file");
    }
    size_ = std::min(static_cast<size_t>(st.st_size), limit);
    begin_ = std::min(begin, size_);
    /* from the page `begin` is in: mmap's offset is a multiple of it */
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_t first = begin_ / page * page;
    if (size_ > first) {
        mapped_bytes_ = size_ - first;
        void *p = mmap(nullptr, mapped_bytes_, PROT_READ, MAP_PRIVATE, fd,
                       static_cast<off_t>(first));
        if (p == MAP_FAILED) {
            int saved = errno;
            close(fd);
            throw CaptureIoError(describe_errno("cannot map " + path, saved));
        }
        mapping_ = p;
        /* file offsets index data() as they do a whole file's mapping */
        data_ = static_cast<const uint8_t *>(p) - first;
    }
    close(fd);
}

MappedFile::~MappedFile() {
    if (mapping_ != nullptr)
        munmap(mapping_, mapped_bytes_);
}

} // namespace qprof
