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

/* The server watched: set by the loader, and changed by it when the server
 * restarts (another postmaster, maybe another address), so plain globals
 * that user space writes through the mapped .bss, not load-time constants.
 * It writes the address first: until the postmaster follows, the address
 * is read only for backends of the old postmaster, which are gone. */
__u32 postmaster_tgid = 0;
__u64 exec_word_address = 0;
/* With system call windows (--bpf-syscalls sampled), the loader adds one
 * before attaching the system call programs for a window. */
__u32 syscall_window = 0;
/* True when block_io_start exists (6.5+): requests are then claimed when
 * they are created, always in the submitting task; otherwise at issue. */
const volatile bool claim_requests_at_start = true;

/* The token of the word slot map (qprof_io.h), written by the loader
 * before it attaches; 0 when it has none and every word is read from the
 * backend's memory. */
__u64 word_slots_token = 0;

/* Entries in exec_io now (user space subtracts what it deletes) and the
 * most there ever were. */
__u64 live_entries = 0;
__u64 peak_entries = 0;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 32768); /* resized by the loader */
    __type(key, struct qprof_exec_key);
    __type(value, struct qprof_exec_io);
} exec_io SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct qprof_bpf_counters);
} counters SEC(".maps");

/* The last CPU slice of each ended execution: nearly every execution has
 * one, so it is appended to a ring of the CPU it ran on, which user space
 * maps and reads, rather than inserted in exec_io (a ring buffer map costs
 * about 90 ns an event, a hash insert more). One entry per possible CPU
 * (set by the loader); only sched_switch writes, and a program does not
 * nest on its CPU, so each ring has one writer. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, 1); /* resized by the loader */
    __type(key, __u32);
    __type(value, struct qprof_cpu_slice_ring);
} cpu_slices SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, QPROF_SLOT_MAP_SLOTS);
    __type(key, __u32);
    __type(value, struct qprof_running_word);
} word_slots SEC(".maps");

/* What we remember about a backend thread between two events: task storage,
 * found from the task in a few loads (a hash lookup cost sched_switch about
 * a third of its time), and freed with the task. */
struct backend_state {
    __u64 offcpu_since_ns; /* switch-out time, 0 when running */
    __u64 offcpu_exec_id;  /* execution read from the word at switch-out */
    __u64 syscall_start_ns;
    __u64 runtime_seen_ns;  /* the task's CPU time at its last switch-out */
    __u64 offcpu_oncpu_ns;  /* CPU time of the slice before the switch-out */
    __u64 settled_exec_id;  /* ended execution whose last slice is counted */
    __u64 ra_inode;         /* readahead window being filled */
    __u64 ra_first, ra_end; /* page indexes [first, end) */
    __u32 syscall_kind;     /* enum syscall_kind, while in a syscall */
    __u32 offcpu_in_io;     /* switched out in uninterruptible sleep */
    __u32 offcpu_pid;       /* whose execution offcpu_exec_id is */
    __u32 syscall_window;   /* syscall_window when the call began */
    __u32 word_slot;        /* its slot of word_slots, 0 until known */
#if QPROF_WAIT_SPLIT
    __u32 offcpu_wait_event; /* wait_event_info at switch-out, if asleep */
    __u64 offcpu_run_delay;  /* sched_info.run_delay at switch-out */
#else
    __u32 pad;
#endif
};

struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct backend_state);
} backends SEC(".maps");

/* Block requests in flight that a backend submitted. */
struct request_owner {
    __u64 exec_id;
    __u64 issue_ns;
    __u32 pid;
    __u32 pad;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64); /* struct request address */
    __type(value, struct request_owner);
} requests SEC(".maps");

/* Backends switched out while an execution ran, by thread id: at
 * switch-in, only those need their task storage (a helper call that the
 * common switch-in, a backend woken by its client between statements,
 * skips). Thread ids stay below PID_MAX_LIMIT (4M on 64-bit kernels), so
 * each has a byte of its own. Plain stores do: a task's switch-in comes
 * after its switch-out has finished, and a stale byte (a thread that
 * exited in between) only costs one lookup. 4 MB. */
#define QPROF_TID_SLOTS (1u << 22)
__u8 offcpu_pending[QPROF_TID_SLOTS];

#define TASK_UNINTERRUPTIBLE_BIT 0x2
#define S_IFMT_BITS 00170000
#define S_IFREG_BITS 0100000

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

/* ---- read/write/fsync system calls ---- */

enum syscall_kind {
    SYSCALL_OTHER = 0,
    SYSCALL_READ = 1,
    SYSCALL_WRITE = 2,
    SYSCALL_FSYNC = 3,
};

/* System call numbers differ per architecture. */
static __always_inline enum syscall_kind syscall_kind_of(long id) {
#if defined(__TARGET_ARCH_arm64)
    switch (id) {
    case 63:  /* read */
    case 65:  /* readv */
    case 67:  /* pread64 */
    case 69:  /* preadv */
    case 286: /* preadv2 */
        return SYSCALL_READ;
    case 64:  /* write */
    case 66:  /* writev */
    case 68:  /* pwrite64 */
    case 70:  /* pwritev */
    case 287: /* pwritev2 */
        return SYSCALL_WRITE;
    case 82: /* fsync */
    case 83: /* fdatasync */
        return SYSCALL_FSYNC;
    }
#else
    switch (id) {
    case 0:   /* read */
    case 17:  /* pread64 */
    case 19:  /* readv */
    case 295: /* preadv */
    case 327: /* preadv2 */
        return SYSCALL_READ;
    case 1:   /* write */
    case 18:  /* pwrite64 */
    case 20:  /* writev */
    case 296: /* pwritev */
    case 328: /* pwritev2 */
        return SYSCALL_WRITE;
    case 74: /* fsync */
    case 75: /* fdatasync */
        return SYSCALL_FSYNC;
    }
#endif
    return SYSCALL_OTHER;
}

/* The number of the system call being left, as sys_exit does not pass it. */
static __always_inline long syscall_number(struct pt_regs *regs) {
#if defined(__TARGET_ARCH_arm64)
    return regs->syscallno;
#else
    return regs->orig_ax;
#endif
}

/* Sockets, pipes and signalfd reads are waits, not file I/O: only regular
 * files count. The descriptor table is read without its lock; a descriptor
 * closed meanwhile by another thread is not a concern for a backend. */
static __always_inline bool fd_is_regular_file(struct task_struct *task,
                                               long fd) {
    struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
    if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
        return false;
    struct file **fds = BPF_CORE_READ(fdt, fd);
    struct file *file = NULL;
    if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) != 0 || !file)
        return false;
    umode_t mode = BPF_CORE_READ(file, f_inode, i_mode);
    return (mode & S_IFMT_BITS) == S_IFREG_BITS;
}

/* A read/write/fsync call `id` begins in the current task, on descriptor
 * `fd` (unused for fsync). */
static __always_inline int syscall_entered(long id, long fd) {
    enum syscall_kind kind = syscall_kind_of(id);
    if (kind == SYSCALL_OTHER)
        return 0;
    struct task_struct *task = current_backend();
    if (!task)
        return 0;
    if (kind != SYSCALL_FSYNC && !fd_is_regular_file(task, fd))
        return 0;
    struct backend_state *st = backend_state_of(task);
    if (!st)
        return 0;
    st->syscall_kind = kind;
    st->syscall_window = syscall_window;
    st->syscall_start_ns = bpf_ktime_get_ns();
    return 0;
}

/* System call `id` returns `ret` in the current task. */
static __always_inline int syscall_left(long id, long ret) {
    /* Cheapest test first: most system calls of the machine are not ours. */
    if (syscall_kind_of(id) == SYSCALL_OTHER)
        return 0;
    struct task_struct *task = current_backend();
    if (!task)
        return 0;
    struct backend_state *st = known_backend(task);
    /* A call that began in an earlier window, whose end went unseen when
     * the programs were detached, is not this one. */
    if (!st || st->syscall_start_ns == 0 ||
        st->syscall_window != syscall_window)
        return 0;
    __u64 now = bpf_ktime_get_ns();
    __u64 elapsed = now - st->syscall_start_ns;
    enum syscall_kind kind = st->syscall_kind;
    st->syscall_start_ns = 0;
    st->syscall_kind = SYSCALL_OTHER;

    struct qprof_exec_key exec;
    if (!current_exec(task, st, &exec))
        return 0;
    struct qprof_exec_io *io = exec_entry(exec.pid, exec.exec_id, now);
    if (!io)
        return 0;
    __u64 bytes = ret > 0 ? (__u64)ret : 0;
    if (kind == SYSCALL_READ) {
        __sync_fetch_and_add(&io->read_calls, 1);
        __sync_fetch_and_add(&io->read_bytes, bytes);
        __sync_fetch_and_add(&io->read_ns, elapsed);
    } else if (kind == SYSCALL_WRITE) {
        __sync_fetch_and_add(&io->write_calls, 1);
        __sync_fetch_and_add(&io->write_bytes, bytes);
        __sync_fetch_and_add(&io->write_ns, elapsed);
    } else {
        __sync_fetch_and_add(&io->fsync_calls, 1);
        __sync_fetch_and_add(&io->fsync_ns, elapsed);
    }
    return 0;
}

/* The records of the syscalls:sys_enter_* and sys_exit_* trace events (see
 * their format files in tracefs): the common header, then the number. */
struct syscall_enter_record {
    __u64 common;
    int nr;
    unsigned long args[6];
};
struct syscall_exit_record {
    __u64 common;
    int nr;
    long ret;
};

/* Attached by the loader to the sys_enter_* events of the file calls. */
SEC("tracepoint")
int file_syscall_enter(struct syscall_enter_record *record) {
    return syscall_entered(record->nr, (long)record->args[0]);
}

/* Attached by the loader to the sys_exit_* events of the file calls. */
SEC("tracepoint")
int file_syscall_exit(struct syscall_exit_record *record) {
    return syscall_left(record->nr, record->ret);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id) {
    return syscall_entered(id, (long)PT_REGS_PARM1_CORE(regs));
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret) {
    return syscall_left(syscall_number(regs), ret);
}

/* ---- page cache ---- */

/* Local flavor of struct folio before 6.7, which kept the order in its own
 * byte instead of the low byte of _flags_1. */
struct folio___before_6_7 {
    unsigned char _folio_order;
} __attribute__((preserve_access_index));

/* Pages in a folio: 1, or 2^order for a large folio (PG_head set in the
 * first flags word, which is at offset 0 in every kernel version). */
static __always_inline __u64 folio_pages(struct folio *folio) {
    unsigned long flags = 0;
    bpf_probe_read_kernel(&flags, sizeof(flags), folio);
    int head_bit = bpf_core_enum_value(enum pageflags, PG_head);
    if (!(flags & (1UL << head_bit)))
        return 1;
    unsigned int order = 0;
    if (bpf_core_field_exists(folio->_flags_1)) {
        order = BPF_CORE_READ(folio, _flags_1) & 0xff;
    } else {
        struct folio___before_6_7 *old = (void *)folio;
        if (bpf_core_field_exists(old->_folio_order))
            order = BPF_CORE_READ(old, _folio_order);
    }
    return 1ULL << (order & 31);
}

/* A folio entered the page cache in this backend's context. Outside a
 * write system call, that is a read that had to go to storage. */
SEC("tp_btf/mm_filemap_add_to_page_cache")
int BPF_PROG(page_cache_add, struct folio *folio) {
    struct task_struct *task = current_backend();
    if (!task)
        return 0;
    struct backend_state *st = known_backend(task);
    if (st && st->syscall_kind == SYSCALL_WRITE)
        return 0;
    struct qprof_exec_key exec;
    if (!current_exec(task, st, &exec))
        return 0;
    struct qprof_exec_io *io =
        exec_entry(exec.pid, exec.exec_id, bpf_ktime_get_ns());
    if (!io)
        return 0;
    __u64 pages = folio_pages(folio);
    __sync_fetch_and_add(&io->page_cache_miss_pages, pages);
    if (st && st->ra_inode) {
        __u64 inode = (__u64)BPF_CORE_READ(folio, mapping, host);
        __u64 index = BPF_CORE_READ(folio, index);
        if (inode == st->ra_inode && index >= st->ra_first &&
            index < st->ra_end)
            __sync_fetch_and_add(&io->readahead_pages, pages);
    }
    return 0;
}

/* Readahead announces the window it is about to fill; the pages then added
 * inside it are readahead pages. Remembering the window, not counting it,
 * avoids counting twice when page_cache_ra_order falls back to
 * page_cache_ra_unbounded, and counts only pages that were really missing. */
static __always_inline void note_readahead(struct inode *inode, __u64 index,
                                           __u64 nr_pages) {
    struct task_struct *task = current_backend();
    if (!task)
        return;
    struct backend_state *st = backend_state_of(task);
    if (!st)
        return;
    st->ra_inode = (__u64)inode;
    st->ra_first = index;
    st->ra_end = index + nr_pages;
}

SEC("tp_btf/page_cache_ra_unbounded")
int BPF_PROG(ra_unbounded, struct inode *inode, unsigned long index,
             unsigned long nr_to_read, unsigned long lookahead_size) {
    note_readahead(inode, index, nr_to_read);
    return 0;
}

SEC("tp_btf/page_cache_ra_order")
int BPF_PROG(ra_order, struct inode *inode, unsigned long index,
             struct file_ra_state *ra) {
    note_readahead(inode, index, BPF_CORE_READ(ra, size));
    return 0;
}

/* ---- block I/O ---- */

/* Remembers which execution submitted `rq`. Runs in the submitting task. */
static __always_inline void claim_request(struct request *rq) {
    struct task_struct *task = current_backend();
    if (!task)
        return;
    struct qprof_exec_key exec;
    if (!current_exec(task, NULL, &exec))
        return;
    __u64 key = (__u64)rq;
    struct request_owner owner = {.exec_id = exec.exec_id, .pid = exec.pid};
    bpf_map_update_elem(&requests, &key, &owner, BPF_ANY);
}

SEC("tp_btf/block_io_start")
int BPF_PROG(block_io_start, struct request *rq) {
    claim_request(rq);
    return 0;
}

/* With mq-deadline, dispatch to the device may run in a kworker: the owner
 * is the task that created the request, not the one issuing it. */
SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq) {
    if (!claim_requests_at_start)
        claim_request(rq);
    __u64 key = (__u64)rq;
    struct request_owner *owner = bpf_map_lookup_elem(&requests, &key);
    if (owner)
        owner->issue_ns = bpf_ktime_get_ns();
    return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq, int error,
             unsigned int nr_bytes) {
    __u64 key = (__u64)rq;
    struct request_owner *owner = bpf_map_lookup_elem(&requests, &key);
    if (!owner)
        return 0;
    struct qprof_exec_io *io =
        exec_entry(owner->pid, owner->exec_id, bpf_ktime_get_ns());
    if (io)
        __sync_fetch_and_add(&io->block_bytes, nr_bytes);
    /* A request may complete in parts; __data_len still holds what was
     * left before this part. */
    if (nr_bytes < BPF_CORE_READ(rq, __data_len))
        return 0;
    if (io) {
        __sync_fetch_and_add(&io->block_requests, 1);
        if (owner->issue_ns)
            __sync_fetch_and_add(&io->block_device_ns,
                                 bpf_ktime_get_ns() - owner->issue_ns);
    }
    bpf_map_delete_elem(&requests, &key);
    return 0;
}

/* ---- on/off-CPU time ---- */

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
