/*
 * qprof_io_waits.bpf.h — the wait split of an off-CPU period: the run
 * queue, and the PostgreSQL wait event the backend reported at its
 * switch-out; empty helpers when built without it (QPROF_WAIT_SPLIT 0).
 * Used by qprof_io_cpu.bpf.h (qprof_io.bpf.c, which alone includes this
 * file).
 */
#pragma once

#if QPROF_WAIT_SPLIT
/* Adds `slept` ns of an off-CPU period to the wait event `event` the
 * backend reported when it was switched out: its class, and its own slot
 * among the first QPROF_WAIT_EVENT_SLOTS events of the entry. */
static __always_inline void credit_wait_event(struct qprof_exec_io *io,
                                              __u32 event, __u64 slept) {
    __u32 class = event >> 24;
    if (class >= QPROF_WAIT_CLASSES)
        class = QPROF_WAIT_CLASSES - 1;
    __sync_fetch_and_add(&io->wait_class_ns[class], slept);
    __sync_fetch_and_add(&io->wait_class_count[class], 1);
    if (event == 0)
        return;
    for (int i = 0; i < QPROF_WAIT_EVENT_SLOTS; i++) {
        struct qprof_wait_event_slot *slot = &io->wait_events[i];
        __u32 seen = slot->event;
        /* parallel workers share their leader's entry: claim atomically */
        if (seen == 0) {
            seen = __sync_val_compare_and_swap(&slot->event, 0, event);
            if (seen == 0)
                seen = event;
        }
        if (seen == event) {
            __sync_fetch_and_add(&slot->count, 1);
            __sync_fetch_and_add(&slot->ns, slept);
            return;
        }
    }
}

/* Splits an off-CPU period `waited` ns long, of which `queued` runnable,
 * waiting for a CPU: that part to the run queue, the rest to the wait
 * event the backend reported at its switch-out. */
static __always_inline void split_offcpu(struct qprof_exec_io *io,
                                         const struct backend_state *st,
                                         __u64 waited, __u64 queued) {
    /* two clocks: the run queue's may run a little ahead */
    if (queued > waited)
        queued = waited;
    if (queued) {
        __sync_fetch_and_add(&io->runqueue_ns, queued);
        __sync_fetch_and_add(&io->runqueue_waits, 1);
    }
    if (waited > queued)
        credit_wait_event(io, st->offcpu_wait_event, waited - queued);
}

/* The time the task has waited runnable for a CPU, all its life (the
 * kernel's sched_info.run_delay, /proc/PID/schedstat's second field): up to
 * date at its switch-out, where the wait that ends at a switch-in is added
 * only after the sched_switch tracepoint. */
static __always_inline __u64 run_delay_of(struct task_struct *task) {
    if (!bpf_core_field_exists(task->sched_info))
        return 0;
    return task->sched_info.run_delay;
}

/* How long `prev`, switched out again with no switch-in seen, waited
 * runnable meanwhile: the unseen switch-in added its wait to the run
 * delay. */
static __always_inline __u64 queued_unseen(struct task_struct *prev,
                                           const struct backend_state *st) {
    __u64 delay = run_delay_of(prev);
    return delay > st->offcpu_run_delay ? delay - st->offcpu_run_delay : 0;
}

/* How long `next`, being switched in, waited runnable since its last
 * switch-out: what the run delay gained meanwhile (a wait cut by a
 * migration to another CPU), and the wait ending now, which the kernel adds
 * just after this tracepoint: from its last enqueue (last_queued) to the
 * run queue's clock, which the scheduler updated before this switch. */
static __always_inline __u64 queued_since_switch_out(struct task_struct *next,
                                                     struct backend_state *st) {
    if (!bpf_core_field_exists(next->sched_info))
        return 0;
    __u64 delay = next->sched_info.run_delay;
    __u64 queued =
        delay > st->offcpu_run_delay ? delay - st->offcpu_run_delay : 0;
    __u64 last_queued = next->sched_info.last_queued;
    /* the run queue the task is switched in on: this CPU's (through its
     * group's CFS queue; the per-CPU variable is not in kallsyms here) */
    struct cfs_rq *cfs = next->se.cfs_rq;
    if (last_queued && cfs && bpf_core_field_exists(cfs->rq)) {
        __u64 clock = cfs->rq->clock;
        if (clock > last_queued)
            queued += clock - last_queued;
    }
    return queued;
}

/* The wait event the backend reports now (its PGPROC wait_event_info,
 * whose address a QPW5 word holds), 0 when none or unknown. Read in its
 * own address space: the task must be current. */
static __always_inline __u32
reported_wait_event(const struct qprof_running_word *word) {
    if (word->layout != QPROF_WORD_LAYOUT)
        return 0;
    __u64 address = (__u64)word->wait_event_address_lo |
                    ((__u64)word->wait_event_address_hi << 32);
    __u32 event = 0;
    if (address == 0 ||
        bpf_probe_read_user(&event, sizeof(event), (const void *)address) != 0)
        return 0;
    return event;
}

/* At a switch-out that opens an off-CPU period: what the split needs at its
 * end, the run delay so far and, when the backend goes to sleep, the wait
 * event it reports. */
static __always_inline void
note_switch_out(struct backend_state *st, struct task_struct *prev,
                const struct qprof_running_word *word, bool preempt,
                unsigned int prev_state) {
    st->offcpu_run_delay = run_delay_of(prev);
    /* A runnable task waits for a CPU, not for its wait event. */
    st->offcpu_wait_event =
        !preempt && prev_state != 0 ? reported_wait_event(word) : 0;
}
#else
/* Built without the wait split (QPROF_WAIT_SPLIT 0): the program as it was
 * before it, off-CPU time as I/O or other only. */
static __always_inline void split_offcpu(struct qprof_exec_io *io,
                                         const struct backend_state *st,
                                         __u64 waited, __u64 queued) {}
static __always_inline __u64 queued_unseen(struct task_struct *prev,
                                           const struct backend_state *st) {
    return 0;
}
static __always_inline __u64 queued_since_switch_out(struct task_struct *next,
                                                     struct backend_state *st) {
    return 0;
}
static __always_inline void
note_switch_out(struct backend_state *st, struct task_struct *prev,
                const struct qprof_running_word *word, bool preempt,
                unsigned int prev_state) {}
#endif
