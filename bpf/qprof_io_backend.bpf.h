/*
 * qprof_io_backend.bpf.h — whose event it is (qprof_io.bpf.c, which alone
 * includes this file): a backend of the watched postmaster, its state, the
 * execution its running word names, and that execution's entry in exec_io.
 */
#pragma once

static __always_inline struct qprof_bpf_counters *my_counters(void) {
    __u32 zero = 0;
    return bpf_map_lookup_elem(&counters, &zero);
}

/* A backend (or auxiliary process) of our postmaster. This runs for every
 * system call and context switch of the machine: plain loads through BTF
 * pointers (CO-RE relocated), no helper call. */
static __always_inline bool is_backend(struct task_struct *task) {
    return task->real_parent->tgid == postmaster_tgid;
}

/* The state of a backend thread, created (zeroed) on first use; NULL when
 * it cannot be allocated. */
static __always_inline struct backend_state *
backend_state_of(struct task_struct *task) {
    return bpf_task_storage_get(&backends, task, NULL,
                                BPF_LOCAL_STORAGE_GET_F_CREATE);
}

/* The state of a backend thread, without creating it. */
static __always_inline struct backend_state *
known_backend(struct task_struct *task) {
    return bpf_task_storage_get(&backends, task, NULL, 0);
}

/* Copies slot `slot` of word_slots into *word; false when out of range. */
static __always_inline bool read_slot(__u32 slot, struct qprof_running_word *word) {
    struct qprof_running_word *mapped = bpf_map_lookup_elem(&word_slots, &slot);
    if (!mapped || slot == 0)
        return false;
    *word = *mapped;
    return true;
}

/* The word of the current task `task` (so only valid when the current task
 * is a backend), `st` its state if the caller has it. From its slot of
 * word_slots once the backend has mapped one: a few loads. Until then from
 * the backend's memory, in the current address space; that read also
 * finds the slot. False when it cannot be read. */
static __always_inline bool read_word(struct task_struct *task,
                                      struct backend_state *st,
                                      struct qprof_running_word *word) {
    /* An exiting backend has released its memory: it runs nothing. */
    if (!task->mm)
        return false;
    __u64 token = word_slots_token;
    struct qprof_bpf_counters *c = my_counters();
    if (token) {
        if (!st)
            st = known_backend(task);
        if (st && st->word_slot && read_slot(st->word_slot, word)) {
            if (c)
                c->word_reads_mapped++;
            return true;
        }
    }
    if (c)
        c->word_reads_probed++;
    /* The read fails when the word's page is not resident, which happens
     * only before the backend ever wrote it: the word is then 0. */
    if (bpf_probe_read_user(word, sizeof(*word),
                            (const void *)exec_word_address) != 0) {
        if (c)
            c->word_read_failures++;
        return false;
    }
    if ((word->layout != QPROF_WORD_LAYOUT &&
         word->layout != QPROF_WORD_LAYOUT_SLOTS) ||
        word->slot_token == 0)
        return true;
    /* The backend writes its slot now; this copy is stale. */
    __u32 slot = word->slot;
    if (word->slot_token != token || !read_slot(slot, word)) {
        /* a slot of a map this loader does not have */
        if (c)
            c->word_stale++;
        return false;
    }
    if (st)
        st->word_slot = slot;
    return true;
}

/* Whose execution the word names: a parallel worker's leader, else the
 * backend itself, by the pid PostgreSQL knows it by (its samples' pid, which
 * in a container is not the kernel's tgid), or its tgid when the word does
 * not say (a library from before the word had the pid). */
static __always_inline __u32 word_owner(const struct qprof_running_word *word,
                                        struct task_struct *task) {
    if (word->leader_pid)
        return word->leader_pid;
    return word->pid ? word->pid : task->tgid;
}

/* The execution the current task `task` works for, as a map key: its own
 * (pid, word), or for a parallel worker its leader's. False when it runs
 * none. */
static __always_inline bool current_exec(struct task_struct *task,
                                         struct backend_state *st,
                                         struct qprof_exec_key *key) {
    struct qprof_running_word word = {};

    if (!read_word(task, st, &word) || word.exec_id == 0)
        return false;
    key->pid = word_owner(&word, task);
    key->pad = 0;
    key->exec_id = word.exec_id;
    return true;
}

/* The entry of (pid, exec_id), created when missing and marked as touched
 * at `now`; NULL when the map is full (the event is counted as lost). */
static __always_inline struct qprof_exec_io *
exec_entry(__u32 pid, __u64 exec_id, __u64 now) {
    struct qprof_exec_key key = {.pid = pid, .pad = 0, .exec_id = exec_id};
    struct qprof_exec_io *io = bpf_map_lookup_elem(&exec_io, &key);
    struct qprof_bpf_counters *c = my_counters();

    if (!io) {
        struct qprof_exec_io zero = {};
        long err = bpf_map_update_elem(&exec_io, &key, &zero, BPF_NOEXIST);
        if (err == 0) {
            __u64 live = __sync_add_and_fetch(&live_entries, 1);
            __u64 peak = peak_entries;
            /* One attempt is enough: losing the race means another CPU
             * raised the peak at the same moment. */
            if (live > peak)
                __sync_val_compare_and_swap(&peak_entries, peak, live);
        } else if (err != -17 /* EEXIST: another CPU created it */) {
            if (c)
                c->lost_events++;
            return NULL;
        }
        io = bpf_map_lookup_elem(&exec_io, &key);
        if (!io)
            return NULL;
    }
    if (c)
        c->events++;
    io->last_event_ns = now;
    return io;
}

static __always_inline struct task_struct *current_backend(void) {
    struct task_struct *task = bpf_get_current_task_btf();

    return is_backend(task) ? task : NULL;
}
