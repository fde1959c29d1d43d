/*
 * bpf_attach.h — kernel I/O and scheduling facts per execution, from the BPF
 * programs in bpf/qprof_io.bpf.c (DESIGN.md contract 4).
 *
 * Use:
 *   // postmaster_pid and word_address come from SELECT * FROM
 *   // pg_qprof.exec_word(); the constructor throws BpfUnavailable with a
 *   // one-line reason when BPF cannot be loaded (no CAP_BPF/CAP_PERFMON,
 *   // no BTF, ...): --bpf auto says it once and goes on without I/O data,
 *   // --bpf on fails with that message.
 *   qprof::BpfAttribution bpf(postmaster_pid, word_address);
 *   ...
 *   // after reading a batch of samples:
 *   auto io = bpf.take(keys_of_the_samples); // io[i] is keys[i]'s
 *   // all zero for an execution without kernel event
 *   bpf.drop_unclaimed(std::chrono::seconds(30));
 *   auto st = bpf.stats(); // events/s, losses, peak map size
 *
 * Entries are keyed by the pid PostgreSQL gives the backend (the pid its
 * samples carry), even when it runs in a container; `postmaster_pid` is the
 * kernel's pid of the postmaster (host_pid.h finds it).
 *
 * Not thread-safe: call it from one thread.
 */
#pragma once

#include "exec_io.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace qprof {

/* BPF cannot be loaded or attached here; what() says why, in one line. */
class BpfUnavailable : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/* One execution of one backend. */
struct ExecKey {
    int32_t pid = 0;
    uint64_t exec_id = 0;
    bool operator==(const ExecKey &o) const {
        return pid == o.pid && exec_id == o.exec_id;
    }
};

struct ExecKeyHash {
    size_t operator()(const ExecKey &k) const {
        return std::hash<uint64_t>()(k.exec_id * 0x9E3779B97F4A7C15ull ^
                                     static_cast<uint32_t>(k.pid));
    }
};

/* Health of the attachment. */
struct BpfStats {
    uint64_t events = 0;             /* events attributed since attach */
    uint64_t lost_events = 0;        /* the two below, together */
    uint64_t map_full_events = 0;    /* dropped because the map was full */
    uint64_t slices_overwritten = 0; /* CPU slices not read in time */
    uint64_t word_read_failures = 0; /* execution word unreadable */
    uint64_t word_reads_probed = 0;  /* words read in a backend's memory */
    uint64_t word_reads_mapped = 0;  /* words read in the word slot map */
    uint64_t word_stale = 0;         /* words in a slot of another map */
    double events_per_sec = 0;       /* since the previous stats() call */
    uint64_t entries = 0;            /* entries in the kernel's map now */
    uint64_t held_entries = 0;    /* drained from the kernel, not claimed yet */
    uint64_t peak_entries = 0;    /* most entries at once since attach */
    uint64_t max_entries = 0;     /* capacity of the map */
    uint64_t dropped_entries = 0; /* removed by drop_unclaimed(), or the
                                     oldest when too many are held */
};

/* Where the read/write/fsync system call fields come from. */
enum class SyscallTracing {
    off,      /* nowhere: they stay at zero */
    per_call, /* the trace events of the positional read/write calls and
                 fsync (tracefs ids): while they are attached, any system
                 call of the machine takes the kernel's traced path (about
                 45 ns here) and the watched ones run the program; where
                 tracefs or the events are missing, raw */
    raw,      /* the raw sys_enter/sys_exit tracepoints: every system call
                 of the machine runs both programs (about 150 ns here) */
};

struct BpfOptions {
    uint32_t max_entries = 32768; /* executions with events, at once */
    SyscallTracing syscalls = SyscallTracing::per_call;
    /* The system call programs are attached only while the caller opens a
     * window (set_syscall_window): the machine pays for system call
     * tracing only then. Opening the trace events again needs CAP_PERFMON
     * (windows_need_perfmon()); attaching the loaded raw programs again
     * needs no capability. */
    bool syscall_windows = false;
    /* Where the word slot map is pinned (pg_qprof.exec_word()'s
     * slot_map_path; word_slot_map.h), or empty: every word is then read
     * from the backend's memory. */
    std::string word_slots_path;
};

class BpfAttribution {
  public:
    /* Loads and attaches the programs for the backends of the postmaster
     * `postmaster_pid`, reading the execution word at `word_address` in
     * each backend. Throws BpfUnavailable. */
    BpfAttribution(int postmaster_pid, uint64_t word_address,
                   const BpfOptions &options = BpfOptions());
    ~BpfAttribution(); /* detaches everything */
    BpfAttribution(const BpfAttribution &) = delete;
    BpfAttribution &operator=(const BpfAttribution &) = delete;

    /* Watches the backends of another postmaster from now on: the server
     * restarted. Needs no privilege (the programs stay attached). */
    void watch(int postmaster_pid, uint64_t word_address);
    int watched_postmaster() const;
    uint64_t watched_word_address() const;

    /* Removes and returns what the kernel gathered for these executions:
     * element i is keys[i]'s, all zero when it had no kernel event. */
    std::vector<ExecIo> take(const std::vector<ExecKey> &keys);

    /* Copies the CPU slices the programs wrote since the last call out of
     * their per-CPU rings, which hold about 0.2 s of a busy CPU: cheap (no
     * system call), for the pauses between two take() calls. */
    void read_slices();

    /* Every execution with events not taken yet, left in place (tools and
     * tests). */
    std::unordered_map<ExecKey, ExecIo, ExecKeyHash> peek_all();

    /* Drops entries no sample will claim: those without an event for
     * `idle` whose backend has exited or has had a later execution taken
     * (sampled out, below min_duration, lost from the ring). Whether a
     * backend is alive is `alive(pid)` when given, else whether this
     * machine has that pid (not when the server runs in a container).
     * Returns how many were dropped. */
    size_t drop_unclaimed(std::chrono::nanoseconds idle,
                          const std::function<bool(int32_t)> &alive = {});

    BpfStats stats();

    /* Names of the kernel attachments in use, e.g. for a capture header. */
    const std::vector<std::string> &attachments() const;
    /* The word slot map in use ("pinned at PATH", "reused at PATH"), or
     * why there is none; empty when none was asked for. */
    const std::string &word_slots() const;
    /* Some system call programs are attached, or can be in windows: the
     * syscall fields are measured (see SyscallTracing; attachments() says
     * which, or why not). */
    bool syscalls_traced() const;

    /* BpfOptions::syscall_windows: attaches the system call programs
     * (true), or detaches them. A call that begins in one window and ends
     * after it is not counted in the next. Returns false, with the reason
     * in *why, when they cannot be attached; nothing to do without
     * windows. */
    bool set_syscall_window(bool open, std::string *why);
    /* Windows attach trace events: the caller must keep CAP_PERFMON. */
    bool windows_need_perfmon() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace qprof
