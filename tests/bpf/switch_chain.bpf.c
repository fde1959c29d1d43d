/*
 * switch_chain.bpf.c — finds the context switches that the sched_switch
 * tracepoint does not report to BPF programs (bpf/README.md, "A switch-out
 * with no switch-in after it"); tests/bpf/switch_chain.sh attaches it.
 *
 * On each CPU, the task a reported switch goes to is the task the next
 * reported switch on that CPU leaves. When it is not, that task's
 * switch-out, and the switch-in of whatever ran after it, went unreported.
 * Counts them, and keeps the thread ids of the last of those tasks.
 */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define CHAIN_CPUS 1024
#define UNSEEN_SLOTS 4096 /* a power of two */

/* tid + 1 of the task the last reported switch on each CPU went to */
__u32 last_next[CHAIN_CPUS];
__u64 switches = 0;
__u64 breaks = 0;
/* the tasks whose switch-out went unreported, newest at unseen_head - 1 */
__u32 unseen_tid[UNSEEN_SLOTS];
__u64 unseen_head = 0;

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_chain, bool preempt, struct task_struct *prev,
             struct task_struct *next, unsigned int prev_state) {
    __u32 cpu = bpf_get_smp_processor_id();
    if (cpu >= CHAIN_CPUS)
        return 0;
    __sync_fetch_and_add(&switches, 1);
    __u32 expected = last_next[cpu];
    if (expected != 0 && expected != (__u32)prev->pid + 1) {
        __sync_fetch_and_add(&breaks, 1);
        __u64 head = __sync_fetch_and_add(&unseen_head, 1);
        unseen_tid[head & (UNSEEN_SLOTS - 1)] = expected - 1;
    }
    last_next[cpu] = (__u32)next->pid + 1;
    return 0;
}
