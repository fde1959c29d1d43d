/*
 * bpf_attach.cpp — loads the programs of bpf/qprof_io.bpf.c, attaches them,
 * and reads the per-execution entries they fill (see bpf_attach.h).
 */
#include "bpf_attach.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <mutex>

#include "qprof_io.h"
#include "qprof_io.skel.h"

namespace qprof {

namespace {

/* libbpf reports through a global print callback; keep its last warning so
 * that a failure can say what the kernel refused. */
std::mutex libbpf_log_mutex;
std::string libbpf_last_warning;

int remember_libbpf_warning(enum libbpf_print_level level, const char *fmt,
                            va_list args) {
    if (level == LIBBPF_DEBUG)
        return 0;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, args);
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == ' '))
        line[--len] = '\0';
    if (len == 0)
        return 0;
    const char *text = line;
    if (strncmp(text, "libbpf: ", 8) == 0)
        text += 8;
    std::lock_guard<std::mutex> guard(libbpf_log_mutex);
    libbpf_last_warning = text;
    return 0;
}

std::string failure(const std::string &what, int err) {
    std::string msg = what + ": " + strerror(err > 0 ? err : -err);
    if (err == EPERM || err == -EPERM || err == EACCES || err == -EACCES)
        msg += " (needs root, or CAP_BPF with CAP_PERFMON)";
    std::lock_guard<std::mutex> guard(libbpf_log_mutex);
    if (!libbpf_last_warning.empty())
        msg += " [libbpf: " + libbpf_last_warning + "]";
    return msg;
}

uint64_t monotonic_ns() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

ExecIo to_exec_io(const qprof_exec_io &v) {
    ExecIo io;
    io.read_calls = v.read_calls;
    io.read_bytes = v.read_bytes;
    io.read_ns = v.read_ns;
    io.write_calls = v.write_calls;
    io.write_bytes = v.write_bytes;
    io.write_ns = v.write_ns;
    io.fsync_calls = v.fsync_calls;
    io.fsync_ns = v.fsync_ns;
    io.page_cache_miss_pages = v.page_cache_miss_pages;
    io.readahead_pages = v.readahead_pages;
    io.block_requests = v.block_requests;
    io.block_bytes = v.block_bytes;
    io.block_device_ns = v.block_device_ns;
    io.offcpu_io_ns = v.offcpu_io_ns;
    io.offcpu_other_ns = v.offcpu_other_ns;
    io.oncpu_ns = v.oncpu_ns;
    return io;
}

/* Calls `visit` for every entry of the map, in batches of a few thousand. */
void visit_entries(int map_fd,
                   const std::function<void(const qprof_exec_key &,
                                            const qprof_exec_io &)> &visit) {
    const uint32_t chunk = 4096;
    std::vector<qprof_exec_key> keys(chunk);
    std::vector<qprof_exec_io> values(chunk);
    /* The batch token of a hash map is a bucket index; a key-sized buffer
     * is always large enough. */
    qprof_exec_key in_batch{}, out_batch{};
    bool first = true;
    for (;;) {
        uint32_t count = chunk;
        int err = bpf_map_lookup_batch(map_fd, first ? nullptr : &in_batch,
                                       &out_batch, keys.data(), values.data(),
                                       &count, nullptr);
        int saved_errno = errno;
        for (uint32_t i = 0; i < count; ++i)
            visit(keys[i], values[i]);
        if (err) {
            if (saved_errno == ENOENT) /* no more entries */
                return;
            throw std::runtime_error(
                failure("cannot read the BPF entry map", saved_errno));
        }
        in_batch = out_batch;
        first = false;
    }
}

struct SkeletonDeleter {
    void operator()(qprof_io_bpf *skel) const { qprof_io_bpf__destroy(skel); }
};

struct BtfDeleter {
    void operator()(struct btf *btf) const { btf__free(btf); }
};

} // namespace

struct BpfAttribution::Impl {
    std::unique_ptr<qprof_io_bpf, SkeletonDeleter> skel;
    int exec_io_fd = -1;
    int counters_fd = -1;
    uint32_t max_entries = 0;
    std::vector<std::string> attachments;
    /* Highest execution id passed to take() per pid: older entries of that
     * pid that are still in the map belong to executions without sample. */
    std::unordered_map<int32_t, uint64_t> last_taken_exec;
    uint64_t dropped_entries = 0;
    uint64_t last_stats_events = 0;
    uint64_t last_stats_ns = 0;

    void forget_entries(uint64_t n) {
        __atomic_fetch_sub(&skel->bss->live_entries, n, __ATOMIC_RELAXED);
    }
};

namespace {

/* Which optional attach points this kernel has; a program whose target is
 * missing is not loaded rather than failing the whole load. */
void choose_programs(qprof_io_bpf *skel, bool trace_syscalls,
                     std::vector<std::string> &attached) {
    std::unique_ptr<struct btf, BtfDeleter> vmlinux(btf__load_vmlinux_btf());
    if (!vmlinux)
        throw BpfUnavailable(failure(
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
    for (const char *required :
         {"sched_switch", "sched_stat_runtime", "mm_filemap_add_to_page_cache",
          "block_rq_issue", "block_rq_complete"})
        if (!has_tracepoint(required))
            throw BpfUnavailable(std::string("kernel has no tracepoint ") +
                                 required + " in its BTF");
    attached = {"tp_btf/sched_switch", "tp_btf/sched_stat_runtime",
                "tp_btf/mm_filemap_add_to_page_cache", "tp_btf/block_rq_issue",
                "tp_btf/block_rq_complete"};

    optional(trace_syscalls && has_tracepoint("sys_enter") &&
                 has_tracepoint("sys_exit"),
             {p.sys_enter, p.sys_exit}, "tp_btf/sys_enter,sys_exit");
    optional(has_tracepoint("page_cache_ra_unbounded"), {p.ra_unbounded},
             "tp_btf/page_cache_ra_unbounded");
    optional(has_tracepoint("page_cache_ra_order"), {p.ra_order},
             "tp_btf/page_cache_ra_order");
    bool io_start = has_tracepoint("block_io_start");
    optional(io_start, {p.block_io_start}, "tp_btf/block_io_start");
    skel->rodata->claim_requests_at_start = io_start;
}

} // namespace

BpfAttribution::BpfAttribution(int postmaster_pid, uint64_t word_address,
                               const BpfOptions &options)
    : impl_(new Impl) {
    if (postmaster_pid <= 0 || word_address == 0)
        throw BpfUnavailable("no postmaster pid or execution word address");
    libbpf_set_print(remember_libbpf_warning);

    impl_->skel.reset(qprof_io_bpf__open());
    if (!impl_->skel)
        throw BpfUnavailable(failure("cannot open the BPF object", errno));
    qprof_io_bpf *skel = impl_->skel.get();
    skel->rodata->postmaster_tgid = uint32_t(postmaster_pid);
    skel->rodata->exec_word_address = word_address;
    impl_->max_entries = options.max_entries;
    int err = bpf_map__set_max_entries(skel->maps.exec_io, options.max_entries);
    if (err)
        throw BpfUnavailable(failure("cannot size the entry map", err));
    choose_programs(skel, options.trace_syscalls, impl_->attachments);

    err = qprof_io_bpf__load(skel);
    if (err)
        throw BpfUnavailable(failure("cannot load the BPF programs", err));
    err = qprof_io_bpf__attach(skel);
    if (err)
        throw BpfUnavailable(failure("cannot attach the BPF programs", err));

    impl_->exec_io_fd = bpf_map__fd(skel->maps.exec_io);
    impl_->counters_fd = bpf_map__fd(skel->maps.counters);
    impl_->last_stats_ns = monotonic_ns();
}

BpfAttribution::~BpfAttribution() = default;

const std::vector<std::string> &BpfAttribution::attachments() const {
    return impl_->attachments;
}

std::unordered_map<ExecKey, ExecIo, ExecKeyHash>
BpfAttribution::peek_all() const {
    std::unordered_map<ExecKey, ExecIo, ExecKeyHash> all;
    visit_entries(impl_->exec_io_fd, [&](const qprof_exec_key &key,
                                         const qprof_exec_io &value) {
        all[ExecKey{int32_t(key.pid), key.exec_id}] = to_exec_io(value);
    });
    return all;
}

std::unordered_map<ExecKey, ExecIo, ExecKeyHash>
BpfAttribution::take(const std::vector<ExecKey> &keys) {
    std::unordered_map<ExecKey, ExecIo, ExecKeyHash> taken;
    if (keys.empty())
        return taken;
    /* One batch read tells which keys have an entry; only those cost a
     * syscall each. Removing them one by one returns their exact final
     * value, even if an event lands between the two steps. */
    auto present = peek_all();
    for (const ExecKey &k : keys) {
        uint64_t &last = impl_->last_taken_exec[k.pid];
        if (k.exec_id > last)
            last = k.exec_id;
        if (present.find(k) == present.end())
            continue;
        qprof_exec_key key{uint32_t(k.pid), 0, k.exec_id};
        qprof_exec_io value{};
        if (bpf_map_lookup_and_delete_elem(impl_->exec_io_fd, &key, &value) ==
            0) {
            taken[k] = to_exec_io(value);
            impl_->forget_entries(1);
        }
    }
    return taken;
}

size_t BpfAttribution::drop_unclaimed(std::chrono::nanoseconds idle) {
    uint64_t now = monotonic_ns();
    uint64_t idle_ns = uint64_t(idle.count());
    size_t dropped = 0;
    std::vector<qprof_exec_key> doomed;
    visit_entries(impl_->exec_io_fd,
                  [&](const qprof_exec_key &key, const qprof_exec_io &value) {
                      if (value.last_event_ns + idle_ns > now)
                          return;
                      int32_t pid = int32_t(key.pid);
                      bool exited = kill(pid, 0) != 0 && errno == ESRCH;
                      auto last = impl_->last_taken_exec.find(pid);
                      bool superseded = last != impl_->last_taken_exec.end() &&
                                        key.exec_id < last->second;
                      if (exited || superseded)
                          doomed.push_back(key);
                  });
    for (const qprof_exec_key &key : doomed) {
        if (bpf_map_delete_elem(impl_->exec_io_fd, &key) == 0) {
            ++dropped;
            impl_->forget_entries(1);
        }
        int32_t pid = int32_t(key.pid);
        if (kill(pid, 0) != 0 && errno == ESRCH)
            impl_->last_taken_exec.erase(pid);
    }
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
                st.lost_events += c.lost_events;
                st.word_read_failures += c.word_read_failures;
            }
        }
    }
    uint64_t now = monotonic_ns();
    if (now > impl_->last_stats_ns)
        st.events_per_sec = double(st.events - impl_->last_stats_events) * 1e9 /
                            double(now - impl_->last_stats_ns);
    impl_->last_stats_events = st.events;
    impl_->last_stats_ns = now;

    const qprof_io_bpf *skel = impl_->skel.get();
    st.entries = __atomic_load_n(&skel->bss->live_entries, __ATOMIC_RELAXED);
    st.peak_entries =
        __atomic_load_n(&skel->bss->peak_entries, __ATOMIC_RELAXED);
    st.max_entries = impl_->max_entries;
    st.dropped_entries = impl_->dropped_entries;
    return st;
}

} // namespace qprof
