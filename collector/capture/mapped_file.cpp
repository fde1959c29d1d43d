#include "mapped_file.h"
#include "errors.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace qprof {

MappedFile::MappedFile(const std::string &path) {
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
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
        void *p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int saved = errno;
            close(fd);
            throw CaptureIoError(describe_errno("cannot map " + path, saved));
        }
        data_ = static_cast<const uint8_t *>(p);
    }
    close(fd);
}

MappedFile::~MappedFile() {
    if (data_ != nullptr)
        munmap(const_cast<uint8_t *>(data_), size_);
}

} // namespace qprof
