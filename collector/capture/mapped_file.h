/*
 * mapped_file.h — a capture file's bytes, mapped read-only, for the
 * capture reader. Only regular files are read.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace qprof {

/* A regular file's bytes, mapped read-only. Anything else (a FIFO, a
 * device, a directory) is refused before it is read: a FIFO would block
 * and /dev/zero never ends. */
class MappedFile {
  public:
    /* Throws CaptureIoError when `path` cannot be opened or mapped, or is
     * not a regular file. */
    explicit MappedFile(const std::string &path);
    ~MappedFile();
    MappedFile(const MappedFile &) = delete;
    MappedFile &operator=(const MappedFile &) = delete;

    const uint8_t *data() const { return data_; }
    size_t size() const { return size_; }

  private:
    const uint8_t *data_ = nullptr;
    size_t size_ = 0;
};

} // namespace qprof
