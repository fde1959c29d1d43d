/*
 * exec_io.h — what the kernel did for one execution, as the BPF programs
 * count it (the capture's IoStats). Plain data, also in builds without BPF.
 */
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace qprof {

/* Off-CPU time credited to one PostgreSQL wait event (its wait_event_info)
 * and how many off-CPU periods it took. */
struct WaitEventTime {
    uint32_t event = 0;
    uint64_t count = 0;
    uint64_t ns = 0;
};

/* Wait event classes are the top byte of wait_event_info (PG_WAIT_LWLOCK
 * 0x01 ... PG_WAIT_IO 0x0A): index 0 is "no wait event reported", the last
 * index any class above 0x0A (QPROF_WAIT_CLASSES in bpf/qprof_io.h). */
constexpr size_t kWaitClasses = 12;

/* What the kernel did for one execution (the capture's IoStats). */
struct ExecIo {
    uint64_t read_calls = 0, read_bytes = 0, read_ns = 0;
    uint64_t write_calls = 0, write_bytes = 0, write_ns = 0;
    uint64_t fsync_calls = 0, fsync_ns = 0;
    uint64_t page_cache_miss_pages = 0, readahead_pages = 0;
    uint64_t block_requests = 0, block_bytes = 0, block_device_ns = 0;
    uint64_t offcpu_io_ns = 0, offcpu_other_ns = 0, oncpu_ns = 0;
    /* The off-CPU time (offcpu_io_ns + offcpu_other_ns) split another way:
     * runnable waiting for a CPU, then the rest by the wait event reported
     * at each switch-out, per class; wait_events holds the events the
     * programs kept apart (at most 8 an entry), each also in its class. */
    uint64_t runqueue_ns = 0, runqueue_waits = 0;
    std::array<uint64_t, kWaitClasses> wait_class_ns{}, wait_class_count{};
    std::vector<WaitEventTime> wait_events;

    void add_wait_event(uint32_t event, uint64_t count, uint64_t ns) {
        for (WaitEventTime &w : wait_events)
            if (w.event == event) {
                w.count += count;
                w.ns += ns;
                return;
            }
        wait_events.push_back(WaitEventTime{event, count, ns});
    }

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
        runqueue_ns += o.runqueue_ns;
        runqueue_waits += o.runqueue_waits;
        for (size_t c = 0; c < kWaitClasses; ++c) {
            wait_class_ns[c] += o.wait_class_ns[c];
            wait_class_count[c] += o.wait_class_count[c];
        }
        for (const WaitEventTime &w : o.wait_events)
            add_wait_event(w.event, w.count, w.ns);
    }
};

} // namespace qprof
