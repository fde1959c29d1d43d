/*
 * mapped_file.h — a capture file's bytes, mapped read-only, for the
 * capture reader. Only regular files are read.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace qprof {

/* A regular file's bytes, mapped read-only: the whole file, or the bytes
 * from `begin` to `limit` of it (what a reader of a file that grows has
 * not read yet, up to what is known to be written whole). Anything else
 * than a regular file (a FIFO, a device, a directory) is refused before it
 * is read: a FIFO would block and /dev/zero never ends. */
class MappedFile {
  public:
    /* Throws CaptureIoError when `path` cannot be opened or mapped, or is
     * not a regular file. */
    explicit MappedFile(const std::string &path, size_t begin = 0,
                        size_t limit = SIZE_MAX);
    ~MappedFile();
    MappedFile(const MappedFile &) = delete;
    MappedFile &operator=(const MappedFile &) = delete;

    /* data()[offset] is the byte at `offset` of the file, for offsets from
     * begin() to size(): the bytes before begin() are not mapped. */
    const uint8_t *data() const { return data_; }
    /* Where the mapped bytes end: the file's size, or `limit` when less. */
    size_t size() const { return size_; }
    size_t begin() const { return begin_; }

  private:
    const uint8_t *data_ = nullptr;
    void *mapping_ = nullptr;
    size_t mapped_bytes_ = 0;
    size_t begin_ = 0;
    size_t size_ = 0;
};

} // namespace qprof
