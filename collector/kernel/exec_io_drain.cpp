#include "exec_io_drain.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <stdexcept>

#include "libbpf_failure.h"

namespace qprof {

/* Entries are sums: what an execution's entry gathered in the kernel since
 * it was last drained adds to what was drained before. */
void add_exec_io(ExecIo &into, const qprof_exec_io &v) {
    into.read_calls += v.read_calls;
    into.read_bytes += v.read_bytes;
    into.read_ns += v.read_ns;
    into.write_calls += v.write_calls;
    into.write_bytes += v.write_bytes;
    into.write_ns += v.write_ns;
    into.fsync_calls += v.fsync_calls;
    into.fsync_ns += v.fsync_ns;
    into.page_cache_miss_pages += v.page_cache_miss_pages;
    into.readahead_pages += v.readahead_pages;
    into.block_requests += v.block_requests;
    into.block_bytes += v.block_bytes;
    into.block_device_ns += v.block_device_ns;
    into.offcpu_io_ns += v.offcpu_io_ns;
    into.offcpu_other_ns += v.offcpu_other_ns;
    into.oncpu_ns += v.oncpu_ns;
#if QPROF_WAIT_SPLIT
    into.runqueue_ns += v.runqueue_ns;
    into.runqueue_waits += v.runqueue_waits;
    static_assert(QPROF_WAIT_CLASSES == kWaitClasses);
    for (size_t c = 0; c < kWaitClasses; ++c) {
        into.wait_class_ns[c] += v.wait_class_ns[c];
        into.wait_class_count[c] += v.wait_class_count[c];
    }
    for (const qprof_wait_event_slot &slot : v.wait_events)
        if (slot.event != 0)
            into.add_wait_event(slot.event, slot.count, slot.ns);
#endif
}

void drain_entries(int map_fd, DrainBuffers &buffers,
                   const std::function<void(const qprof_exec_key &,
                                            const qprof_exec_io &)> &visit) {
    std::vector<qprof_exec_key> &keys = buffers.keys;
    std::vector<qprof_exec_io> &values = buffers.values;
    /* The batch token of a hash map is a bucket index; a key-sized buffer
     * is always large enough. */
    qprof_exec_key in_batch{}, out_batch{};
    bool first = true;
    for (;;) {
        uint32_t count = DrainBuffers::kChunk;
        int err = bpf_map_lookup_and_delete_batch(
            map_fd, first ? nullptr : &in_batch, &out_batch, keys.data(),
            values.data(), &count, nullptr);
        int saved_errno = errno;
        for (uint32_t i = 0; i < count; ++i)
            visit(keys[i], values[i]);
        if (err) {
            if (saved_errno == ENOENT) /* no more entries */
                return;
            throw std::runtime_error(
                bpf_failure("cannot drain the BPF entry map", saved_errno));
        }
        in_batch = out_batch;
        first = false;
    }
}

} // namespace qprof
