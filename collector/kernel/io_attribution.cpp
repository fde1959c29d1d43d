#include "io_attribution.h"
#include "errors.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <limits>

#ifdef QPROF_WITH_BPF
#include "bpf_attach.h"
#include "host_pid.h"
#include "privileges.h"
#include "syscall_windows.h"

#include <unordered_map>
#include <unordered_set>
#endif

namespace qprof {

#ifdef QPROF_WITH_BPF

namespace {

/* Kernel events lost since the last report, with the remedy. Recorded in
 * the capture every time; told on stderr the first time, then at most
 * once a minute. */
struct LossReporter {
    uint64_t map_full_reported = 0;
    uint64_t slices_overwritten_reported = 0;
    std::chrono::steady_clock::time_point told{};
    bool ever_told = false;

    std::string notice(const BpfStats &stats) {
        uint64_t map_full = stats.map_full_events - map_full_reported;
        uint64_t overwritten =
            stats.slices_overwritten - slices_overwritten_reported;
        map_full_reported = stats.map_full_events;
        slices_overwritten_reported = stats.slices_overwritten;
        std::string text;
        if (map_full > 0)
            text = "BPF: " + std::to_string(map_full) +
                   " kernel events lost: the entry map was full (" +
                   std::to_string(stats.max_entries) +
                   " executions with events between two reads; "
                   "--bpf-map-entries sets it)";
        if (overwritten > 0)
            text += std::string(text.empty() ? "BPF: " : "; ") +
                    std::to_string(overwritten) +
                    " CPU slices of ended executions overwritten before "
                    "they were read (the collector fell behind)";
        if (text.empty())
            return "";
        text += "; some samples undercount their I/O or CPU time";
        auto now = std::chrono::steady_clock::now();
        if (!ever_told || now - told >= std::chrono::minutes(1)) {
            fprintf(stderr, "qprof collect: %s\n", text.c_str());
            told = now;
            ever_told = true;
        }
        return text;
    }
};

} // namespace

struct IoAttribution::State {
    std::unique_ptr<BpfAttribution> bpf;
    std::vector<ExecIo> batch; /* element i: the i-th row of the batch */
    std::vector<ExecKey> keys;
    /* element i: the i-th row of the batch began while the programs
     * watched its server, so its facts are whole */
    std::vector<uint8_t> watched;
    /* element i: the i-th row's facts include the system call fields */
    std::vector<uint8_t> syscalls_measured;
    /* --bpf-syscalls sampled, once the programs are loaded */
    std::unique_ptr<SyscallWindowSchedule> syscall_windows;
    bool syscall_window_failure_told = false;
    /* Unix time (µs) from which the programs watch the server's backends:
     * an execution that began earlier has part of its events unseen. */
    int64_t watching_since_us = std::numeric_limits<int64_t>::max();
    /* PostgreSQL runs in another pid namespace (a container): the pids of
     * its samples, which key the entries, are not this machine's */
    bool in_other_pid_namespace = false;
    LossReporter losses;
    /* Off-CPU time of the recorded children (and their own children) of
     * executions not read yet: children end, and come, before their parent. */
    std::unordered_map<ExecKey, uint64_t, ExecKeyHash> children_offcpu_ns;
};

namespace {

/* Parents that never come (not recorded: min_duration) must not pile up. */
constexpr size_t kMaxPendingParents = 65536;

/* The programs count CPU time in slices, at each switch-out, for the
 * execution the word names then: a nested execution (track = all) gets the
 * slices that end while it runs, which begin before it did, and not the
 * last part of its run, which goes to its parent. Its off-CPU time, though,
 * is exact, and every switch-out during it names it or one of the
 * executions it ran. So its CPU time is its own duration (planning and
 * execution) less the time it and those executions spent off the CPU,
 * counted inclusively like its duration. Not with parallel workers, whose
 * CPU time adds to the leader's. A child skipped by min_duration goes
 * unseen: its off-CPU time, shorter than min_duration, then counts as CPU
 * time of its parent. */
void nested_cpu_from_offcpu(
    const std::vector<SampleRow> &rows, std::vector<ExecIo> &facts,
    std::unordered_map<ExecKey, uint64_t, ExecKeyHash> &children_offcpu_ns) {
    for (size_t i = 0; i < rows.size() && i < facts.size(); ++i) {
        const SampleRow &row = rows[i];
        /* the common case, track = top: nothing to look up */
        if (row.nesting_level == 0 && children_offcpu_ns.empty())
            continue;
        ExecIo &io = facts[i];
        uint64_t offcpu_ns = io.offcpu_io_ns + io.offcpu_other_ns;
        auto children = children_offcpu_ns.find(ExecKey{row.pid, row.exec_id});
        if (children != children_offcpu_ns.end()) {
            offcpu_ns += children->second;
            children_offcpu_ns.erase(children);
        }
        if (row.nesting_level == 0)
            continue;
        uint64_t duration_ns = row.plan_time_ns + row.exec_time_ns;
        if (row.parallel_workers_launched == 0)
            io.oncpu_ns = duration_ns > offcpu_ns ? duration_ns - offcpu_ns : 0;
        if (children_offcpu_ns.size() >= kMaxPendingParents)
            children_offcpu_ns.clear();
        /* workers' off-CPU time adds to the leader's execution too: the
         * parent waited at most as long as this execution lasted */
        children_offcpu_ns[ExecKey{row.pid, row.parent_exec_id}] +=
            offcpu_ns < duration_ns ? offcpu_ns : duration_ns;
    }
}

int64_t unix_now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

struct ExecWord {
    int postmaster_pid = 0;      /* in the server's pid namespace */
    int host_postmaster_pid = 0; /* the kernel's, which the programs see */
    uint64_t address = 0;
    std::string slot_map_path; /* empty from a library without it */
};

/* Where the server's backends publish their execution: superuser only.
 * Throws HostPidNotFound when its postmaster is not a process of this
 * machine, or cannot be told apart. */
ExecWord read_exec_word(PgConnection &conn) {
    PgResult word = conn.exec(
        "SELECT postmaster_pid, word_address, "
        "(extract(epoch FROM pg_postmaster_start_time()) * 1e6)::bigint, "
        "coalesce(to_jsonb(w) ->> 'slot_map_path', '') "
        "FROM pg_qprof.exec_word() w");
    ExecWord w;
    w.postmaster_pid = std::atoi(word.value(0, 0));
    w.address =
        static_cast<uint64_t>(std::strtoll(word.value(0, 1), nullptr, 10));
    w.host_postmaster_pid = host_pid_of(
        w.postmaster_pid, std::strtoll(word.value(0, 2), nullptr, 10));
    w.slot_map_path = word.value(0, 3);
    return w;
}

} // namespace

IoAttribution::IoAttribution() : state_(std::make_unique<State>()) {}
IoAttribution::~IoAttribution() = default;

void IoAttribution::start(const IoAttributionOptions &options,
                          bool keep_memory_access, PgConnection &conn) {
    const std::string &mode = options.mode;
    const std::string &syscalls = options.syscalls;
    const SyscallWindows &windows = options.windows;
    if (mode == "off")
        return;
    std::string reason;
    try {
        ExecWord word = read_exec_word(conn);
        BpfOptions bpf_options;
        bpf_options.max_entries = options.map_entries;
        bpf_options.syscalls = syscalls == "off"   ? SyscallTracing::off
                               : syscalls == "raw" ? SyscallTracing::raw
                                                   : SyscallTracing::per_call;
        bpf_options.syscall_windows = windows.enabled;
        bpf_options.word_slots_path = word.slot_map_path;
        state_->bpf = std::make_unique<BpfAttribution>(
            word.host_postmaster_pid, word.address, bpf_options);
        if (state_->bpf->word_slots().rfind("none", 0) == 0)
            fprintf(stderr, "qprof collect: word slot map: %s\n",
                    state_->bpf->word_slots().c_str());
        state_->watching_since_us = unix_now_us();
        state_->in_other_pid_namespace =
            word.host_postmaster_pid != word.postmaster_pid;
        active_ = true;
        trace_syscalls_ = state_->bpf->syscalls_traced();
        if (syscalls != "off" && !trace_syscalls_)
            fprintf(stderr,
                    "qprof collect: the system call fields are off: %s\n",
                    state_->bpf->attachments().back().c_str());
        if (windows.enabled && trace_syscalls_) {
            state_->syscall_windows = std::make_unique<SyscallWindowSchedule>(
                int64_t(windows.window_seconds * 1e6),
                int64_t(windows.period_seconds * 1e6));
            follow_syscall_windows();
        }
        std::string failed = drop_capabilities_after_attach(
            keep_memory_access, state_->bpf->windows_need_perfmon());
        if (!failed.empty())
            fprintf(stderr,
                    "qprof collect: could not drop capabilities after "
                    "attaching the BPF programs: %s\n",
                    failed.c_str());
        return;
    } catch (const BpfUnavailable &unavailable) {
        reason = unavailable.what();
    } catch (const HostPidNotFound &not_found) {
        reason = not_found.what();
    } catch (const ServerError &refused) {
        reason = std::string("cannot locate the execution word (needs a "
                             "superuser connection): ") +
                 refused.what();
    }
    if (mode == "on")
        throw ServerError("BPF I/O attribution unavailable: " + reason);
    notice_ = "BPF I/O attribution unavailable, samples carry no I/O stats: " +
              reason;
    fprintf(stderr, "qprof collect: %s\n", notice_.c_str());
}

std::string IoAttribution::follow_server(PgConnection &conn) {
    if (!active_)
        return "";
    ExecWord word;
    std::string failure;
    try {
        word = read_exec_word(conn);
    } catch (const ServerError &refused) {
        failure = refused.what();
    } catch (const HostPidNotFound &not_found) {
        failure = not_found.what();
    }
    if (!failure.empty()) {
        /* Whatever runs now is unseen: no sample gets facts until a later
         * reconnection locates the word again. */
        state_->watching_since_us = std::numeric_limits<int64_t>::max();
        return "BPF: cannot locate the server's backends after "
               "reconnecting, samples carry no I/O stats until the next "
               "reconnection: " +
               failure;
    }
    BpfAttribution &bpf = *state_->bpf;
    state_->in_other_pid_namespace =
        word.host_postmaster_pid != word.postmaster_pid;
    bool moved = word.host_postmaster_pid != bpf.watched_postmaster() ||
                 word.address != bpf.watched_word_address();
    bool was_lost =
        state_->watching_since_us == std::numeric_limits<int64_t>::max();
    if (!moved && !was_lost)
        return "";
    bpf.watch(word.host_postmaster_pid, word.address);
    state_->watching_since_us = unix_now_us();
    return "BPF now watches the restarted server (postmaster pid " +
           std::to_string(word.postmaster_pid) +
           "); its executions that began before now carry no I/O stats";
}

void IoAttribution::read_slices() {
    if (!active_)
        return;
    state_->bpf->read_slices();
    follow_syscall_windows();
}

void IoAttribution::follow_syscall_windows() {
    SyscallWindowSchedule *schedule = state_->syscall_windows.get();
    if (!schedule)
        return;
    struct timespec wall = {}, monotonic = {};
    clock_gettime(CLOCK_REALTIME, &wall);
    clock_gettime(CLOCK_MONOTONIC, &monotonic);
    int64_t now_us = int64_t(wall.tv_sec) * 1000000 + wall.tv_nsec / 1000;
    schedule->clock_offset(now_us,
                           now_us - (int64_t(monotonic.tv_sec) * 1000000 +
                                     monotonic.tv_nsec / 1000));
    if (schedule->due_to_close(now_us)) {
        schedule->closed(now_us);
        state_->bpf->set_syscall_window(false, nullptr);
    } else if (schedule->due_to_open(now_us)) {
        std::string why;
        if (state_->bpf->set_syscall_window(true, &why)) {
            schedule->opened(unix_now_us());
        } else {
            schedule->open_failed(now_us);
            if (!state_->syscall_window_failure_told)
                fprintf(stderr,
                        "qprof collect: a system call window could not "
                        "open, its executions carry no system call "
                        "fields: %s\n",
                        why.c_str());
            state_->syscall_window_failure_told = true;
        }
    }
}

void IoAttribution::take(const std::vector<SampleRow> &rows) {
    if (!active_)
        return;
    /* a collector kept busy by full batches pauses seldom */
    follow_syscall_windows();
    state_->keys.clear();
    state_->watched.clear();
    state_->syscalls_measured.clear();
    SyscallWindowSchedule *windows = state_->syscall_windows.get();
    for (const SampleRow &row : rows) {
        state_->keys.push_back(ExecKey{row.pid, row.exec_id});
        /* its planning came first */
        int64_t began_us =
            row.start_unix_us - static_cast<int64_t>(row.plan_time_ns / 1000);
        state_->watched.push_back(began_us >= state_->watching_since_us);
        state_->syscalls_measured.push_back(
            trace_syscalls_ &&
            (!windows || windows->covers(began_us, row.end_unix_us)));
    }
    /* taken even when incomplete: the entries must leave the map */
    state_->batch = state_->bpf->take(state_->keys);
    nested_cpu_from_offcpu(rows, state_->batch, state_->children_offcpu_ns);
}

const ExecIo *IoAttribution::facts_of(size_t row_index) const {
    if (!active_ || row_index >= state_->batch.size() ||
        !state_->watched[row_index])
        return nullptr;
    return &state_->batch[row_index];
}

bool IoAttribution::syscalls_of(size_t row_index) const {
    return facts_of(row_index) != nullptr &&
           state_->syscalls_measured[row_index];
}

std::string IoAttribution::housekeeping(PgConnection &conn) {
    if (!active_)
        return "";
    if (state_->in_other_pid_namespace) {
        /* The entries' pids are the server's: ask it which are alive. */
        std::unordered_set<int32_t> alive;
        try {
            PgResult backends = conn.exec("SELECT pid FROM pg_stat_activity");
            for (int i = 0; i < backends.rows(); ++i)
                alive.insert(std::atoi(backends.value(i, 0)));
            state_->bpf->drop_unclaimed(
                std::chrono::seconds(30),
                [&alive](int32_t pid) { return alive.count(pid) != 0; });
        } catch (const ServerError &) {
            /* next time: keeping entries a little longer loses nothing */
        }
    } else {
        state_->bpf->drop_unclaimed(std::chrono::seconds(30));
    }
    return state_->losses.notice(state_->bpf->stats());
}

#else /* built without BPF support */

struct IoAttribution::State {};

IoAttribution::IoAttribution() = default;
IoAttribution::~IoAttribution() = default;

void IoAttribution::start(const IoAttributionOptions &options, bool,
                          PgConnection &) {
    const std::string &mode = options.mode;
    if (mode == "off")
        return;
    const char *reason = "qprof was built without BPF support";
    if (mode == "on")
        throw ServerError(std::string("BPF I/O attribution unavailable: ") +
                          reason);
    notice_ = std::string("BPF I/O attribution unavailable, samples carry "
                          "no I/O stats: ") +
              reason;
    fprintf(stderr, "qprof collect: %s\n", notice_.c_str());
}

std::string IoAttribution::follow_server(PgConnection &) {
    return "";
}
void IoAttribution::read_slices() {}
void IoAttribution::follow_syscall_windows() {}
bool IoAttribution::syscalls_of(size_t) const {
    return false;
}
void IoAttribution::take(const std::vector<SampleRow> &) {}
const ExecIo *IoAttribution::facts_of(size_t) const {
    return nullptr;
}
std::string IoAttribution::housekeeping(PgConnection &) {
    return "";
}

#endif

} // namespace qprof
