/*
 * io_attribution.h — joins the kernel I/O facts of the BPF programs
 * (bpf_attach.h) to the samples, by (pid, exec_id). `--bpf off` or a build
 * without BPF leaves Sample.io absent; `--bpf auto` says once why BPF is
 * unavailable and goes on; `--bpf on` fails instead.
 */
#pragma once

#include "exec_io.h"
#include "pg_connection.h"
#include "sample_row.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace qprof {

/* --bpf-syscalls sampled (or raw with --bpf-syscall-windows): the system
 * call programs are attached for `window_seconds` every `period_seconds`;
 * only executions that ran within a window carry the system call fields. */
struct SyscallWindows {
    bool enabled = false;
    double window_seconds = 2;
    double period_seconds = 20;
};

/* What `qprof collect` asks of the BPF programs. */
struct IoAttributionOptions {
    std::string mode = "auto";    /* --bpf: auto | on | off */
    std::string syscalls = "on";  /* --bpf-syscalls: on | raw | sampled | off */
    SyscallWindows windows;       /* --bpf-syscall-windows */
    uint32_t map_entries = 32768; /* --bpf-map-entries */
};

class IoAttribution {
  public:
    IoAttribution();
    ~IoAttribution();

    /* mode: auto | on | off. Throws ServerError when mode is on and BPF
     * cannot be used. Once attached, the capabilities loading needed are
     * dropped; `keep_memory_access` keeps those mapping the ring from the
     * postmaster's memory needs. */
    /* syscalls: on | raw | sampled | off, as SyscallTracing per_call | raw
     * | per_call | off; `windows` are used when enabled (sampled). With
     * windows on trace events, CAP_PERFMON is kept. `map_entries`: the
     * executions with kernel events the map holds between two reads. */
    void start(const IoAttributionOptions &options, bool keep_memory_access,
               PgConnection &conn);

    bool active() const { return active_; }
    /* the system call fields are filled (--bpf-syscalls on, raw or sampled,
     * and programs could be attached for them): on every sample, or with
     * sampled on those syscalls_of() says */
    bool syscalls_traced() const { return active_ && trace_syscalls_; }

    /* Why BPF is not in use, when it was asked for (auto); else empty. */
    const std::string &notice() const { return notice_; }

    /* After each reconnection: when the server restarted (another
     * postmaster), the programs watch the new one from now on. Returns a
     * notice when that happened, else an empty string. */
    std::string follow_server(PgConnection &conn);

    /* Between two reads of the ring: copies out the CPU slices of the BPF
     * programs' per-CPU rings, which hold about 0.2 s of a busy CPU. Cheap
     * (no system call); call it at least every 0.05 s. With sampled system
     * calls, also opens and closes their windows when due. */
    void read_slices();

    /* Takes the kernel facts of a batch of samples out of the BPF map. */
    void take(const std::vector<SampleRow> &rows);

    /* What take() found for the row at `row_index` of its batch (zero when
     * the execution had no kernel event); null when BPF is not active, or
     * when the execution began before the programs watched its server
     * (before the collector started, or before it followed a restart):
     * part of its events went unseen. */
    const ExecIo *facts_of(size_t row_index) const;
    /* Whether the facts of that row include the system call fields: always
     * when they are traced, except with sampled: only when the execution
     * began after a window opened and ended (with its commit) before it
     * closed. */
    bool syscalls_of(size_t row_index) const;

    /* Forgets map entries no sample will claim; call now and then.
     * Returns a notice when kernel events were lost since the last call
     * (the BPF map was full), else an empty string. */
    std::string housekeeping(PgConnection &conn);

  private:
    struct State;
    void follow_syscall_windows();
    std::unique_ptr<State> state_;
    bool active_ = false;
    bool trace_syscalls_ = false;
    std::string notice_;
};

} // namespace qprof
