/*
 * collector.h — `qprof collect`: drains the sample ring (from the server's
 * memory, or through SQL) into capture files, durably and without
 * duplicates across restarts.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace qprof {

struct CollectOptions {
    std::string dsn;
    std::string out_dir;
    std::string label;
    bool to_stdout = false;
    bool once = false;           /* drain what is there, then exit */
    double duration_seconds = 0; /* 0 = until SIGTERM/SIGINT */
    uint64_t rotate_bytes = 64ull << 20;
    double rotate_seconds = 3600;
    uint64_t retain_bytes = 0;       /* 0 = keep all files */
    uint32_t frame_records = 8192;   /* samples per frame at most */
    double frame_seconds = 1.0;      /* a frame is closed at least this often */
    int batch_rows = 5000;           /* rows per read_samples call */
    double poll_seconds = 0.2;       /* pause when the ring had nothing new */
    double catalog_seconds = 300;    /* catalog snapshot period */
    std::string bpf = "auto";        /* auto | on | off */
    std::string bpf_syscalls = "on"; /* on | raw | sampled | off */
    /* system call windows (syscall_windows.h): with sampled, or raw when
     * asked for */
    bool bpf_syscall_windows = false;
    double bpf_syscall_window_seconds = 2;
    double bpf_syscall_period_seconds = 20;
    /* executions with kernel events the BPF map holds between two reads */
    uint32_t bpf_map_entries = 32768;
    std::string ring_read = "auto"; /* auto | memory | sql */
    int zstd_level = 1;
    /* --metrics-listen HOST:PORT: Prometheus metrics there (metrics.h) */
    std::string metrics_listen;
    size_t metrics_statements = 100; /* statements with their own series */
    size_t metrics_groups = 50;      /* routes, applications: the same */
    double metrics_rebalance_seconds = 60;
    /* --clickhouse URL: each capture file exported when it is closed
     * (folder_export.h), into --clickhouse-database */
    std::string clickhouse_url;
    std::string clickhouse_database = "qprof";
    /* --delete-exported: the files exported are deleted, but the last */
    bool delete_exported = false;
};

/* Runs the collector; returns the exit status. Throws the errors of
 * errors.h for the caller to report. */
int run_collect(const CollectOptions &options);

/* Set by SIGTERM/SIGINT: finish the frame, close the file, exit. */
void request_stop();

} // namespace qprof
