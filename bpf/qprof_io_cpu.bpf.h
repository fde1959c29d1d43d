/*
 * qprof_io_cpu.bpf.h — on- and off-CPU time from sched_switch: the CPU
 * slices within an execution, the last slice of an ended execution, and
 * the off-CPU periods, split by qprof_io_waits.bpf.h (qprof_io.bpf.c, which
 * alone includes this file).
 */
#pragma once

#define TASK_UNINTERRUPTIBLE_BIT 0x2

/* Appends the last CPU slice of an ended execution to this CPU's ring. */
static __always_inline void append_ended_slice(__u32 pid, __u64 exec_id,
                                               __u64 oncpu_ns) {
    __u32 cpu = bpf_get_smp_processor_id();
    struct qprof_cpu_slice_ring *ring = bpf_map_lookup_elem(&cpu_slices, &cpu);
    if (!ring)
        return;
    __u64 head = ring->head;
    struct qprof_cpu_slice *slot =
        &ring->slots[head & (QPROF_CPU_SLICE_SLOTS - 1)];
    slot->pid = pid;
    slot->pad = 0;
    slot->exec_id = exec_id;
    slot->oncpu_ns = oncpu_ns;
    /* Publishes the slot: the reader must see its stores before the head.
     * x86 keeps stores in order, so a plain store after a compiler barrier
     * does; a locked add would also wait for the slot's cache line, which
     * the ring's stream of writes has usually lost (about 30 ns a run of
     * sched_switch). Other CPUs need the ordering of the atomic add. */
#if defined(__TARGET_ARCH_x86)
    asm volatile("" ::: "memory");
    *(volatile __u64 *)&ring->head = head + 1;
#else
    __sync_fetch_and_add(&ring->head, 1);
#endif
}

/* The part of a CPU slice ending `now` that lies within the backend's
 * current or last top-level execution: the slice began `slice` ns ago,
 * when the task was last switched in (on the CPU all along since), and the
 * CPU it spent before the execution began (reading and parsing the
 * statement) is not the execution's. A parallel worker's word has no start
 * of its own, nor has the word of an older library. */
static __always_inline __u64 slice_within_execution(
    const struct qprof_running_word *word, __u64 slice, __u64 now) {
    if ((word->layout != QPROF_WORD_LAYOUT &&
         word->layout != QPROF_WORD_LAYOUT_SLOTS &&
         word->layout != QPROF_WORD_LAYOUT_ENDED &&
         word->layout != QPROF_WORD_LAYOUT_STARTED) ||
        word->started_ns == 0 || word->leader_pid != 0 ||
        word->started_ns > now)
        return slice;
    __u64 since_start = now - word->started_ns;
    return since_start < slice ? since_start : slice;
}

/* The part of a CPU slice ending `now` that lies within the top-level
 * execution that ended last: from its start to its end. When the client
 * has sent the next statement already, the backend reads and parses it in
 * the same slice, before that statement's execution begins. */
static __always_inline __u64 slice_within_ended(
    const struct qprof_running_word *word, __u64 slice, __u64 now) {
    __u64 within = slice_within_execution(word, slice, now);
    if ((word->layout != QPROF_WORD_LAYOUT &&
         word->layout != QPROF_WORD_LAYOUT_SLOTS &&
         word->layout != QPROF_WORD_LAYOUT_ENDED) ||
        word->ended_ns == 0 ||
        word->leader_pid != 0 || word->ended_ns >= now)
        return within;
    __u64 after_end = now - word->ended_ns;
    return within > after_end ? within - after_end : 0;
}

/* Adds the backend's off-CPU period that began at its last switch-out,
 * `waited` ns long of which `queued` runnable, waiting for a CPU, and the
 * CPU slice before it, to the execution it ran then; the period is
 * closed. */
static __always_inline void credit_offcpu(struct backend_state *st,
                                          __u64 waited, __u64 queued,
                                          __u64 now) {
    struct qprof_exec_io *io =
        exec_entry(st->offcpu_pid, st->offcpu_exec_id, now);
    if (io) {
        if (st->offcpu_in_io)
            __sync_fetch_and_add(&io->offcpu_io_ns, waited);
        else
            __sync_fetch_and_add(&io->offcpu_other_ns, waited);
        __sync_fetch_and_add(&io->oncpu_ns, st->offcpu_oncpu_ns);
        split_offcpu(io, st, waited, queued);
    }
    st->offcpu_since_ns = 0;
    st->offcpu_exec_id = 0;
    st->offcpu_oncpu_ns = 0;
}

/* At switch-out the leaving task is still `current`: its word is read in
 * its own address space. The scheduler has just brought the task's CPU
 * time up to date: the slice ending now (since its last switch-out) is
 * exact, and goes to the execution it ran for. A running execution's slice
 * is added at switch-in with the time it then spent off the CPU (one entry
 * lookup for both). A backend ends most statements within a slice and
 * switches out idle, waiting for its client: that slice goes to the
 * top-level execution that ended last, once, up to its end. Either way only
 * from the top-level execution's start on. */
static __always_inline void switched_out(struct task_struct *prev, bool preempt,
                                         unsigned int prev_state) {
    struct backend_state *st = backend_state_of(prev);
    if (!st)
        return;
    __u64 runtime = prev->se.sum_exec_runtime;
    /* first seen: the slice since the scheduler last picked it */
    __u64 since = st->runtime_seen_ns ? st->runtime_seen_ns
                                      : prev->se.prev_sum_exec_runtime;
    __u64 slice = runtime > since ? runtime - since : 0;
    st->runtime_seen_ns = runtime;
    if (st->offcpu_exec_id) {
        /* The period its last switch-out began is still open: no
         * sched_switch switched it back in (a few in thousands under load
         * here; bpf/README.md). It has run `slice` ns since, so it was off
         * the CPU the rest of the time. */
        __u64 now = bpf_ktime_get_ns();
        __u64 away =
            now > st->offcpu_since_ns ? now - st->offcpu_since_ns : 0;
        credit_offcpu(st, away > slice ? away - slice : 0,
                      queued_unseen(prev, st), now);
    }

    struct qprof_running_word word = {};
    if (!read_word(prev, st, &word))
        return;
    __u32 pid = word_owner(&word, prev);
    if (word.exec_id != 0) {
        __u64 now = bpf_ktime_get_ns();
        st->offcpu_since_ns = now;
        st->offcpu_exec_id = word.exec_id;
        st->offcpu_pid = pid;
        st->offcpu_oncpu_ns = slice_within_execution(&word, slice, now);
        /* A preempted task stays runnable whatever its state says. */
        st->offcpu_in_io = !preempt && (prev_state & TASK_UNINTERRUPTIBLE_BIT);
        note_switch_out(st, prev, &word, preempt, prev_state);
        offcpu_pending[prev->pid & (QPROF_TID_SLOTS - 1)] = 1;
        return;
    }
    if (word.ended_exec_id != 0 && st->settled_exec_id != word.ended_exec_id) {
        st->settled_exec_id = word.ended_exec_id;
        __u64 oncpu = slice_within_ended(&word, slice, bpf_ktime_get_ns());
        /* a slice that began after the end has nothing for it */
        if (oncpu)
            append_ended_slice(pid, word.ended_exec_id, oncpu);
    }
}

static __always_inline void switched_in(struct task_struct *next) {
    struct backend_state *st = known_backend(next);
    if (!st || !st->offcpu_exec_id)
        return;
    __u64 now = bpf_ktime_get_ns();
    credit_offcpu(st, now - st->offcpu_since_ns,
                  queued_since_switch_out(next, st), now);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev,
             struct task_struct *next, unsigned int prev_state) {
    /* the clock is read only where a time is kept: most switches of a
     * backend are idle ones, between statements */
    if (is_backend(prev))
        switched_out(prev, preempt, prev_state);
    if (is_backend(next)) {
        __u8 *pending = &offcpu_pending[next->pid & (QPROF_TID_SLOTS - 1)];
        if (*pending) {
            *pending = 0;
            switched_in(next);
        }
    }
    return 0;
}
