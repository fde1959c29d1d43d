/*
 * exec_io.h — what the kernel did for one execution, as the BPF programs
 * count it (the capture's IoStats). Plain data, also in builds without BPF.
 */
#pragma once

#include <cstdint>

namespace qprof {

/* What the kernel did for one execution (the capture's IoStats). */
struct ExecIo {
    uint64_t read_calls = 0, read_bytes = 0, read_ns = 0;
    uint64_t write_calls = 0, write_bytes = 0, write_ns = 0;
    uint64_t fsync_calls = 0, fsync_ns = 0;
    uint64_t page_cache_miss_pages = 0, readahead_pages = 0;
    uint64_t block_requests = 0, block_bytes = 0, block_device_ns = 0;
    uint64_t offcpu_io_ns = 0, offcpu_other_ns = 0, oncpu_ns = 0;

    void add(const ExecIo &o) {
        read_calls += o.read_calls;
        read_bytes += o.read_bytes;
        read_ns += o.read_ns;
        write_calls += o.write_calls;
        write_bytes += o.write_bytes;
        write_ns += o.write_ns;
        fsync_calls += o.fsync_calls;
        fsync_ns += o.fsync_ns;
        page_cache_miss_pages += o.page_cache_miss_pages;
        readahead_pages += o.readahead_pages;
        block_requests += o.block_requests;
        block_bytes += o.block_bytes;
        block_device_ns += o.block_device_ns;
        offcpu_io_ns += o.offcpu_io_ns;
        offcpu_other_ns += o.offcpu_other_ns;
        oncpu_ns += o.oncpu_ns;
    }
};

} // namespace qprof
