/*
 * empty_programs.bpf.c — programs that do nothing, on the tracepoints
 * bpf/qprof_io.bpf.c uses (a benchmark's baseline, not part of pg_qprof).
 *
 * A program attached to a tracepoint costs something before it runs a
 * single instruction: the kernel calls it at every hit, and attaching to
 * the raw syscall tracepoints puts every system call of the machine on its
 * slow path. tests/bpf/bench_overhead.sh compares these with pg_qprof's own
 * programs to tell that cost from what pg_qprof's programs do.
 */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id) { return 0; }

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret) { return 0; }

SEC("tp_btf/mm_filemap_add_to_page_cache")
int BPF_PROG(page_cache_add, struct folio *folio) { return 0; }

SEC("tp_btf/page_cache_ra_unbounded")
int BPF_PROG(ra_unbounded, struct inode *inode) { return 0; }

SEC("tp_btf/page_cache_ra_order")
int BPF_PROG(ra_order, struct inode *inode) { return 0; }

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq) { return 0; }

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq) { return 0; }

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt) { return 0; }

/* 6.5 and later; tests/bpf/attach_programs skips it on older kernels */
SEC("tp_btf/block_io_start")
int BPF_PROG(block_io_start, struct request *rq) { return 0; }
