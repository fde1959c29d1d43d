/*
 * qprof_io.bpf.c — kernel I/O and scheduling events of PostgreSQL backends,
 * added to the execution each backend is running (DESIGN.md contract 4).
 *
 * Pull model: a backend publishes the id of its current execution in one
 * word of its memory (pg_qprof_exec_word, same address in every backend).
 * When an event of interest happens in a backend of our postmaster, we read
 * that word in the backend's own context and add the event to the entry of
 * (pid, execution id). Nothing fires per statement.
 *
 * Events. tp_btf programs, which need neither tracefs nor kprobes (this
 * kernel kind refuses fentry/fexit programs, EPERM at load even for root),
 * except for system calls:
 *   syscalls/sys_enter_*, sys_exit_*  read/write/fsync syscalls: count,
 *                                 bytes, latency. The trace events of the
 *                                 calls PostgreSQL does file I/O with
 *                                 (pread/pwrite families, fsync, fdatasync;
 *                                 the loader's list): while they are
 *                                 attached, every system call of the
 *                                 machine takes the kernel's traced path
 *                                 (12 to 45 ns a call, by machine)
 *   sys_enter/sys_exit            the same from the raw syscall tracepoints
 *                                 where tracefs is missing: every system
 *                                 call of the machine runs both programs
 *                                 (about 150 ns a call on the machine
 *                                 where the traced path costs 45)
 *   mm_filemap_add_to_page_cache  page-cache misses
 *   page_cache_ra_unbounded/order the readahead window being filled
 *   block_io_start/rq_issue/rq_complete  block requests and device time
 *   sched_switch                  off-CPU time, I/O wait or other, and
 *                                 on-CPU time of each slice (the task's
 *                                 sum_exec_runtime, just updated); the
 *                                 off-CPU time split into run queue time
 *                                 (the task's sched_info) and the wait
 *                                 event the backend reported
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "qprof_io.h"

char LICENSE[] SEC("license") = "GPL";

/* In this order: each part uses those before it. */
#include "qprof_io_maps.bpf.h"
#include "qprof_io_backend.bpf.h"
#include "qprof_io_syscalls.bpf.h"
#include "qprof_io_page_cache.bpf.h"
#include "qprof_io_block.bpf.h"
#include "qprof_io_waits.bpf.h"
#include "qprof_io_cpu.bpf.h"
