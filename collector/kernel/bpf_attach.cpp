/*
 * bpf_attach.cpp — loads the programs of bpf/qprof_io.bpf.c, attaches them,
 * and reads the per-execution entries they fill (see bpf_attach.h).
 */
#include "bpf_attach.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <functional>
#include <system_error>
#include <thread>

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec_io_drain.h"
#include "libbpf_failure.h"
#include "qprof_io.h"
#include "qprof_io.skel.h"
#include "syscall_attach.h"
#include "word_slot_map.h"

namespace qprof {

namespace {

uint64_t monotonic_ns() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

struct SkeletonDeleter {
    void operator()(qprof_io_bpf *skel) const { qprof_io_bpf__destroy(skel); }
};

struct BtfDeleter {
    void operator()(struct btf *btf) const { btf__free(btf); }
};

/* What was drained from the kernel for one execution, until its sample
 * claims it. */
struct HeldIo {
    ExecIo io;
    uint64_t last_event_ns = 0; /* CLOCK_MONOTONIC */
};

} // namespace

struct BpfAttribution::Impl {
    std::unique_ptr<qprof_io_bpf, SkeletonDeleter> skel;
    /* Attached by hand, not by the skeleton: the system call programs.
     * Declared after skel, so destroyed first. */
    std::vector<Link> syscall_links;
    /* BpfOptions::syscall_windows with system call programs to attach:
     * syscall_links are attached while a window is open, to the trace
     * events `file_event_ids` (enter and exit of each of kFileSyscalls)
     * when there are any, else to the raw tracepoints */
    bool syscall_windows = false;
    std::vector<uint64_t> file_event_ids;
    /* Closing a trace event waits for the kernel's RCU grace periods, about
     * 70 ms each here: a window's links are closed by these threads, one
     * per link, while the collector goes on. Joined before the next window
     * opens, and before the skeleton goes. */
    std::vector<std::thread> closing;

    void close_syscall_links();
    void wait_closed();
    /* After load, when no pinned map could be reused: pins the programs'
     * own word slot map; its token, 0 when it could not. */
    uint64_t pin_word_slots(int postmaster_pid, const std::string &path);
    /* The cpu_slices map, mapped read-only: one ring per possible CPU,
     * `slice_ring_stride` bytes apart; slice_tail[cpu] slices read. */
    const uint8_t *slice_rings = nullptr;
    size_t slice_rings_bytes = 0;
    size_t slice_ring_stride = 0;
    std::vector<uint64_t> slice_tail;
    uint64_t slices_read = 0, slices_lost = 0;
    int exec_io_fd = -1;
    DrainBuffers drain_buffers;
    int counters_fd = -1;
    uint32_t max_entries = 0;
    std::vector<std::string> attachments;
    std::string word_slots;
    /* Every drain empties the kernel's map into `held` (a running execution
     * gets a new entry for its next events, added here at the next drain);
     * samples claim from it. At most held_limit executions. */
    std::unordered_map<ExecKey, HeldIo, ExecKeyHash> held;
    size_t held_limit = 0;
    uint64_t drain_now_ns = 0;
    /* During take(): the batch being claimed, and what it gets. */
    BatchIndex batch_index;
    const BatchIndex *claiming = nullptr;
    std::vector<ExecIo> *claimed = nullptr;

    /* Where the kernel facts of `key` go: its sample in the batch being
     * claimed, else `held`. */
    ExecIo &destination(const ExecKey &key, uint64_t event_ns) {
        if (claiming) {
            int64_t pos = claiming->find(key);
            if (pos >= 0)
                return (*claimed)[size_t(pos)];
        }
        HeldIo &h = held[key];
        h.last_event_ns = std::max(h.last_event_ns, event_ns);
        return h.io;
    }
    /* Highest execution id passed to take() per pid: older entries of that
     * pid that are still held belong to executions without sample. */
    std::unordered_map<int32_t, uint64_t> last_taken_exec;
    uint64_t dropped_entries = 0;
    uint64_t last_stats_events = 0;
    uint64_t last_stats_ns = 0;

    void forget_entries(uint64_t n) {
        __atomic_fetch_sub(&skel->bss->live_entries, n, __ATOMIC_RELAXED);
    }

    ~Impl() {
        wait_closed();
        if (slice_rings)
            munmap(const_cast<uint8_t *>(slice_rings), slice_rings_bytes);
    }

    void map_slice_rings() {
        int ncpus = libbpf_num_possible_cpus();
        if (ncpus <= 0)
            throw BpfUnavailable(bpf_failure("cannot count the CPUs", ncpus));
        const bpf_map *map = skel->maps.cpu_slices;
        /* array elements are 8-byte aligned */
        slice_ring_stride = (size_t(bpf_map__value_size(map)) + 7) & ~size_t(7);
        size_t page = size_t(sysconf(_SC_PAGESIZE));
        slice_rings_bytes =
            (slice_ring_stride * size_t(ncpus) + page - 1) / page * page;
        void *mapped = mmap(nullptr, slice_rings_bytes, PROT_READ, MAP_SHARED,
                            bpf_map__fd(map), 0);
        if (mapped == MAP_FAILED)
            throw BpfUnavailable(
                bpf_failure("cannot map the CPU slice rings", errno));
        slice_rings = static_cast<const uint8_t *>(mapped);
        slice_tail.assign(size_t(ncpus), 0);
    }

    /* Adds the slices written since the last read to `held`. A slot the
     * program overwrote while it was copied (the reader more than a ring
     * behind) is counted lost, not used. */
    void read_cpu_slices() {
        for (size_t cpu = 0; cpu < slice_tail.size(); ++cpu) {
            const auto *ring = reinterpret_cast<const qprof_cpu_slice_ring *>(
                slice_rings + cpu * slice_ring_stride);
            uint64_t head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
            uint64_t &tail = slice_tail[cpu];
            if (head - tail > QPROF_CPU_SLICE_SLOTS) {
                slices_lost += head - tail - QPROF_CPU_SLICE_SLOTS;
                tail = head - QPROF_CPU_SLICE_SLOTS;
            }
            copied.clear();
            for (uint64_t i = tail; i < head; ++i)
                copied.push_back(ring->slots[i & (QPROF_CPU_SLICE_SLOTS - 1)]);
            uint64_t after = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
            uint64_t first_intact = after > QPROF_CPU_SLICE_SLOTS
                                        ? after - QPROF_CPU_SLICE_SLOTS
                                        : 0;
            for (uint64_t i = tail; i < head; ++i) {
                if (i < first_intact) {
                    ++slices_lost;
                    continue;
                }
                const qprof_cpu_slice &slice = copied[i - tail];
                pending_slices.push_back(
                    PendingSlice{ExecKey{int32_t(slice.pid), slice.exec_id},
                                 slice.oncpu_ns, drain_now_ns});
                ++slices_read;
            }
            tail = head;
        }
    }
    std::vector<qprof_cpu_slice> copied;

    /* Slices wait in read order, unhashed, for the batch that holds their
     * sample (usually the next: the collector reads a batch while later
     * executions run). Claimed ones go to their sample; those not claimed
     * within kSliceWaitNs, or beyond the bound, go to `held`. */
    struct PendingSlice {
        ExecKey key;
        uint64_t oncpu_ns;
        uint64_t read_ns;
    };
    static constexpr uint64_t kSliceWaitNs = 5'000'000'000ull;
    std::vector<PendingSlice> pending_slices;

    void settle_slices() {
        size_t over = pending_slices.size() > held_limit
                          ? pending_slices.size() - held_limit
                          : 0;
        size_t kept = 0;
        for (size_t i = 0; i < pending_slices.size(); ++i) {
            const PendingSlice &p = pending_slices[i];
            if (claiming) {
                int64_t pos = claiming->find(p.key);
                if (pos >= 0) {
                    (*claimed)[size_t(pos)].oncpu_ns += p.oncpu_ns;
                    continue;
                }
            }
            if (i < over || p.read_ns + kSliceWaitNs < drain_now_ns) {
                HeldIo &h = held[p.key];
                h.io.oncpu_ns += p.oncpu_ns;
                h.last_event_ns = std::max(h.last_event_ns, p.read_ns);
                continue;
            }
            pending_slices[kept++] = p;
        }
        pending_slices.resize(kept);
    }

    /* Moves what the kernel gathered since the last drain into `held`. */
    void drain() {
        drain_now_ns = monotonic_ns();
        read_cpu_slices();
        settle_slices();
        uint64_t removed = 0;
        drain_entries(
            exec_io_fd, drain_buffers,
            [&](const qprof_exec_key &key, const qprof_exec_io &v) {
                add_exec_io(destination(ExecKey{int32_t(key.pid), key.exec_id},
                                        v.last_event_ns),
                            v);
                ++removed;
            });
        forget_entries(removed);
        if (held.size() > held_limit)
            evict_oldest(held.size() - held_limit * 3 / 4);
    }

    /* Bounds `held` when samples stop claiming (a collector far behind):
     * the executions without an event for longest go first. */
    void evict_oldest(size_t n) {
        std::vector<std::pair<uint64_t, ExecKey>> by_age;
        by_age.reserve(held.size());
        for (const auto &[key, h] : held)
            by_age.emplace_back(h.last_event_ns, key);
        std::nth_element(
            by_age.begin(), by_age.begin() + ptrdiff_t(n), by_age.end(),
            [](const auto &a, const auto &b) { return a.first < b.first; });
        for (size_t i = 0; i < n; ++i)
            held.erase(by_age[i].second);
        dropped_entries += n;
    }
};

namespace {

/* Which optional attach points this kernel has; a program whose target is
 * missing is not loaded rather than failing the whole load. Returns whether
 * the raw syscall programs are loaded (for attach_syscall_programs). */
bool choose_programs(qprof_io_bpf *skel, SyscallTracing syscalls,
                     std::vector<std::string> &attached) {
    std::unique_ptr<struct btf, BtfDeleter> vmlinux(btf__load_vmlinux_btf());
    if (!vmlinux)
        throw BpfUnavailable(bpf_failure(
            "cannot read the kernel's BTF (/sys/kernel/btf/vmlinux)", errno));
    auto has_tracepoint = [&](const char *name) {
        std::string type = std::string("btf_trace_") + name;
        return btf__find_by_name_kind(vmlinux.get(), type.c_str(),
                                      BTF_KIND_TYPEDEF) >= 0;
    };
    auto optional = [&](bool present,
                        std::initializer_list<bpf_program *> progs,
                        const char *what) {
        for (bpf_program *p : progs)
            bpf_program__set_autoload(p, present);
        if (present)
            attached.push_back(what);
    };

    auto &p = skel->progs;
    for (const char *required : {"sched_switch", "mm_filemap_add_to_page_cache",
                                 "block_rq_issue", "block_rq_complete"})
        if (!has_tracepoint(required))
            throw BpfUnavailable(std::string("kernel has no tracepoint ") +
                                 required + " in its BTF");
    attached = {"tp_btf/sched_switch", "tp_btf/mm_filemap_add_to_page_cache",
                "tp_btf/block_rq_issue", "tp_btf/block_rq_complete"};

    /* Both kinds of system call programs are loaded; which one is attached
     * is known only once the trace events have been tried (see
     * attach_syscall_programs). */
    bool per_call = syscalls == SyscallTracing::per_call;
    bpf_program__set_autoload(p.file_syscall_enter, per_call);
    bpf_program__set_autoload(p.file_syscall_exit, per_call);
    bool raw = syscalls != SyscallTracing::off && has_tracepoint("sys_enter") &&
               has_tracepoint("sys_exit");
    bpf_program__set_autoload(p.sys_enter, raw);
    bpf_program__set_autoload(p.sys_exit, raw);
    for (bpf_program *attached_by_hand :
         {p.file_syscall_enter, p.file_syscall_exit, p.sys_enter, p.sys_exit})
        bpf_program__set_autoattach(attached_by_hand, false);

    optional(has_tracepoint("page_cache_ra_unbounded"), {p.ra_unbounded},
             "tp_btf/page_cache_ra_unbounded");
    optional(has_tracepoint("page_cache_ra_order"), {p.ra_order},
             "tp_btf/page_cache_ra_order");
    bool io_start = has_tracepoint("block_io_start");
    optional(io_start, {p.block_io_start}, "tp_btf/block_io_start");
    skel->rodata->claim_requests_at_start = io_start;
    return raw;
}

/* Before load: has the programs use the word slot map pinned at `path`
 * when it is compatible. Its token, or 0. */
uint64_t reuse_word_slots(qprof_io_bpf *skel, const std::string &path) {
    uint64_t token = 0;
    int fd = open_pinned_word_slots(path, &token);
    if (fd < 0)
        return 0;
    int err = bpf_map__reuse_fd(skel->maps.word_slots, fd);
    close(fd); /* reuse_fd keeps a duplicate */
    return err == 0 ? token : 0;
}

} // namespace

BpfAttribution::BpfAttribution(int postmaster_pid, uint64_t word_address,
                               const BpfOptions &options)
    : impl_(new Impl) {
    if (postmaster_pid <= 0 || word_address == 0)
        throw BpfUnavailable("no postmaster pid or execution word address");
    keep_libbpf_warnings();

    impl_->skel.reset(qprof_io_bpf__open());
    if (!impl_->skel)
        throw BpfUnavailable(bpf_failure("cannot open the BPF object", errno));
    qprof_io_bpf *skel = impl_->skel.get();
    skel->bss->postmaster_tgid = uint32_t(postmaster_pid);
    skel->bss->exec_word_address = word_address;
    impl_->max_entries = options.max_entries;
    int err = bpf_map__set_max_entries(skel->maps.exec_io, options.max_entries);
    if (err)
        throw BpfUnavailable(bpf_failure("cannot size the entry map", err));
    bool raw_syscalls_loaded =
        choose_programs(skel, options.syscalls, impl_->attachments);

    err = bpf_map__set_max_entries(
        skel->maps.cpu_slices,
        uint32_t(std::max(libbpf_num_possible_cpus(), 1)));
    if (err)
        throw BpfUnavailable(
            bpf_failure("cannot size the CPU slice rings", err));
    uint64_t slot_token = 0;
    if (!options.word_slots_path.empty())
        slot_token = reuse_word_slots(skel, options.word_slots_path);
    err = qprof_io_bpf__load(skel);
    if (err)
        throw BpfUnavailable(bpf_failure("cannot load the BPF programs", err));
    if (!options.word_slots_path.empty() && slot_token == 0)
        slot_token =
            impl_->pin_word_slots(postmaster_pid, options.word_slots_path);
    else if (slot_token != 0)
        impl_->word_slots = "reused at " + options.word_slots_path;
    skel->bss->word_slots_token = slot_token;
    err = qprof_io_bpf__attach(skel);
    if (err)
        throw BpfUnavailable(
            bpf_failure("cannot attach the BPF programs", err));
    SyscallAttachment syscalls = attach_syscall_programs(
        skel, options, raw_syscalls_loaded, impl_->attachments);
    impl_->syscall_links = std::move(syscalls.links);
    impl_->syscall_windows = syscalls.windows;
    impl_->file_event_ids = std::move(syscalls.window_event_ids);

    impl_->exec_io_fd = bpf_map__fd(skel->maps.exec_io);
    impl_->held_limit = size_t(options.max_entries) * 4;
    impl_->map_slice_rings();
    impl_->counters_fd = bpf_map__fd(skel->maps.counters);
    impl_->last_stats_ns = monotonic_ns();
}

BpfAttribution::~BpfAttribution() = default;

uint64_t BpfAttribution::Impl::pin_word_slots(int postmaster_pid,
                                              const std::string &path) {
    /* the map belongs to the server's OS user, the postmaster's */
    struct stat owner;
    std::string why;
    uint64_t token = 0;
    std::string proc = "/proc/" + std::to_string(postmaster_pid);
    if (stat(proc.c_str(), &owner) != 0)
        why =
            "cannot find the server's OS user: " + std::string(strerror(errno));
    else
        token = pin_new_word_slots(bpf_map__fd(skel->maps.word_slots), path,
                                   owner.st_uid, owner.st_gid, &why);
    word_slots = token != 0 ? "pinned at " + path
                            : "none, words are read in each backend's memory "
                              "(" +
                                  why + ")";
    return token;
}

const std::string &BpfAttribution::word_slots() const {
    return impl_->word_slots;
}

void BpfAttribution::Impl::close_syscall_links() {
    for (Link &link : syscall_links) {
        struct bpf_link *closed = link.release();
        try {
            closing.emplace_back([closed] { bpf_link__destroy(closed); });
        } catch (const std::system_error &) {
            bpf_link__destroy(closed); /* no thread: close it here */
        }
    }
    syscall_links.clear();
}

void BpfAttribution::Impl::wait_closed() {
    for (std::thread &thread : closing)
        thread.join();
    closing.clear();
}

void BpfAttribution::watch(int postmaster_pid, uint64_t word_address) {
    if (postmaster_pid <= 0 || word_address == 0)
        return;
    qprof_io_bpf *skel = impl_->skel.get();
    /* The address first: the programs read it only for backends of the
     * postmaster they watch, and the old one's backends are gone. */
    __atomic_store_n(&skel->bss->exec_word_address, word_address,
                     __ATOMIC_RELEASE);
    __atomic_store_n(&skel->bss->postmaster_tgid, uint32_t(postmaster_pid),
                     __ATOMIC_RELEASE);
}

int BpfAttribution::watched_postmaster() const {
    return int(
        __atomic_load_n(&impl_->skel->bss->postmaster_tgid, __ATOMIC_RELAXED));
}

uint64_t BpfAttribution::watched_word_address() const {
    return __atomic_load_n(&impl_->skel->bss->exec_word_address,
                           __ATOMIC_RELAXED);
}

void BpfAttribution::read_slices() {
    impl_->drain_now_ns = monotonic_ns();
    impl_->read_cpu_slices();
}

const std::vector<std::string> &BpfAttribution::attachments() const {
    return impl_->attachments;
}

bool BpfAttribution::syscalls_traced() const {
    return !impl_->syscall_links.empty() || impl_->syscall_windows;
}

bool BpfAttribution::set_syscall_window(bool open, std::string *why) {
    if (!impl_->syscall_windows)
        return false;
    if (!open) {
        impl_->close_syscall_links();
        return true;
    }
    if (!impl_->syscall_links.empty())
        return true;
    impl_->wait_closed();
    qprof_io_bpf *skel = impl_->skel.get();
    /* Before attaching: calls the programs saw begin in the last window
     * must not be taken for calls of this one. */
    __atomic_add_fetch(&skel->bss->syscall_window, 1, __ATOMIC_RELEASE);
    impl_->syscall_links =
        impl_->file_event_ids.empty()
            ? attach_raw_syscall_programs(skel, why)
            : attach_to_file_syscall_events(skel, impl_->file_event_ids, why);
    return !impl_->syscall_links.empty();
}

bool BpfAttribution::windows_need_perfmon() const {
    return impl_->syscall_windows && !impl_->file_event_ids.empty();
}

std::unordered_map<ExecKey, ExecIo, ExecKeyHash> BpfAttribution::peek_all() {
    impl_->drain();
    std::unordered_map<ExecKey, ExecIo, ExecKeyHash> all;
    for (const auto &[key, h] : impl_->held)
        all[key] = h.io;
    for (const auto &slice : impl_->pending_slices)
        all[slice.key].oncpu_ns += slice.oncpu_ns;
    return all;
}

std::vector<ExecIo> BpfAttribution::take(const std::vector<ExecKey> &keys) {
    std::vector<ExecIo> taken(keys.size());
    if (keys.empty())
        return taken;
    Impl &im = *impl_;
    im.batch_index.build(keys);
    /* what earlier drains held for them (running then, or reported late) */
    for (auto it = im.held.begin(); it != im.held.end();) {
        int64_t pos = im.batch_index.find(it->first);
        if (pos < 0) {
            ++it;
            continue;
        }
        taken[size_t(pos)].add(it->second.io);
        it = im.held.erase(it);
    }
    im.claiming = &im.batch_index;
    im.claimed = &taken;
    try {
        im.drain();
    } catch (...) {
        im.claiming = nullptr;
        im.claimed = nullptr;
        throw;
    }
    im.claiming = nullptr;
    im.claimed = nullptr;
    for (const ExecKey &k : keys) {
        uint64_t &last = im.last_taken_exec[k.pid];
        if (k.exec_id > last)
            last = k.exec_id;
    }
    return taken;
}

size_t
BpfAttribution::drop_unclaimed(std::chrono::nanoseconds idle,
                               const std::function<bool(int32_t)> &alive) {
    uint64_t now = monotonic_ns();
    uint64_t idle_ns = uint64_t(idle.count());
    impl_->drain();
    size_t dropped = 0;
    std::vector<int32_t> exited_pids;
    for (auto it = impl_->held.begin(); it != impl_->held.end();) {
        const ExecKey &key = it->first;
        if (it->second.last_event_ns + idle_ns > now) {
            ++it;
            continue;
        }
        bool exited =
            alive ? !alive(key.pid) : kill(key.pid, 0) != 0 && errno == ESRCH;
        auto last = impl_->last_taken_exec.find(key.pid);
        bool superseded =
            last != impl_->last_taken_exec.end() && key.exec_id < last->second;
        if (exited)
            exited_pids.push_back(key.pid);
        if (exited || superseded) {
            it = impl_->held.erase(it);
            ++dropped;
        } else {
            ++it;
        }
    }
    for (int32_t pid : exited_pids)
        impl_->last_taken_exec.erase(pid);
    impl_->dropped_entries += dropped;
    return dropped;
}

BpfStats BpfAttribution::stats() {
    BpfStats st;
    int ncpus = libbpf_num_possible_cpus();
    if (ncpus > 0) {
        std::vector<qprof_bpf_counters> per_cpu(static_cast<size_t>(ncpus));
        uint32_t zero = 0;
        if (bpf_map_lookup_elem(impl_->counters_fd, &zero, per_cpu.data()) ==
            0) {
            for (const auto &c : per_cpu) {
                st.events += c.events;
                st.map_full_events += c.lost_events;
                st.word_read_failures += c.word_read_failures;
                st.word_reads_probed += c.word_reads_probed;
                st.word_reads_mapped += c.word_reads_mapped;
                st.word_stale += c.word_stale;
            }
        }
    }
    st.events += impl_->slices_read;
    st.slices_overwritten = impl_->slices_lost;
    st.lost_events = st.map_full_events + st.slices_overwritten;
    uint64_t now = monotonic_ns();
    if (now > impl_->last_stats_ns)
        st.events_per_sec = double(st.events - impl_->last_stats_events) * 1e9 /
                            double(now - impl_->last_stats_ns);
    impl_->last_stats_events = st.events;
    impl_->last_stats_ns = now;

    const qprof_io_bpf *skel = impl_->skel.get();
    st.entries = __atomic_load_n(&skel->bss->live_entries, __ATOMIC_RELAXED);
    st.held_entries = impl_->held.size() + impl_->pending_slices.size();
    st.peak_entries =
        __atomic_load_n(&skel->bss->peak_entries, __ATOMIC_RELAXED);
    st.max_entries = impl_->max_entries;
    st.dropped_entries = impl_->dropped_entries;
    return st;
}

} // namespace qprof
