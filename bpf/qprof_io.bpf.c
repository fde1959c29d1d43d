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
 * Events (all attach points need neither tracefs nor kprobes):
 *   vfs_read/vfs_write (+v)  fentry/fexit   syscall count, bytes, latency
 *   vfs_fsync_range          fentry/fexit   fsync count, latency
 *   mm_filemap_add_to_page_cache  tp_btf    page-cache misses
 *   page_cache_ra_*          fentry/fexit   marks readahead
 *   block_io_start/rq_issue/rq_complete tp_btf  block requests
 *   sched_switch             tp_btf         on/off-CPU time
 *   sched_tick               fentry         on-CPU checkpoints
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "qprof_io.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load. */
const volatile __u32 postmaster_tgid = 0;
const volatile __u64 exec_word_address = 0;
/* True when block_io_start exists (6.5+): requests are then claimed when
 * they are created, always in the submitting task; otherwise at issue. */
const volatile bool claim_requests_at_start = true;

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

/* What we remember about a backend between two events. A hash keyed by tid
 * rather than task storage: it is written from sched_switch, under the
 * runqueue lock, where a preallocated map is the safe choice. LRU so the
 * state of exited backends goes away by itself. */
struct backend_state {
    __u64 oncpu_since_ns;  /* last switch-in or on-CPU checkpoint */
    __u64 offcpu_since_ns; /* switch-out time, 0 when running */
    __u64 offcpu_exec_id;  /* execution word read at switch-out */
    __u64 syscall_start_ns;
    __u64 fsync_start_ns;
    __u32 offcpu_in_io; /* switched out in uninterruptible sleep */
    __u32 readahead_depth;
    __u32 write_depth;
    __u32 syscall_is_write;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u32);
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

#define TASK_UNINTERRUPTIBLE_BIT 0x2
#define S_IFMT_BITS 00170000
#define S_IFREG_BITS 0100000

static __always_inline struct qprof_bpf_counters *my_counters(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&counters, &zero);
}

/* A backend (or auxiliary process) of our postmaster. */
static __always_inline bool is_backend(struct task_struct *task)
{
    return BPF_CORE_READ(task, real_parent, tgid) == postmaster_tgid;
}

/* The execution the current task is running; only valid when the current
 * task is a backend, as the word is read from the current address space. */
static __always_inline __u64 current_exec_id(void)
{
    __u64 exec_id = 0;

    if (bpf_probe_read_user(&exec_id, sizeof(exec_id),
                            (const void *)exec_word_address) != 0) {
        struct qprof_bpf_counters *c = my_counters();
        if (c)
            c->word_read_failures++;
        return 0;
    }
    return exec_id;
}

/* The entry of (pid, exec_id), created when missing; NULL when the map is
 * full (the event is counted as lost). */
static __always_inline struct qprof_exec_io *exec_entry(__u32 pid,
                                                        __u64 exec_id)
{
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
    io->last_event_ns = bpf_ktime_get_ns();
    return io;
}

static __always_inline struct backend_state *backend_state_of(__u32 tid,
                                                              bool create)
{
    struct backend_state *st = bpf_map_lookup_elem(&backends, &tid);

    if (st || !create)
        return st;
    struct backend_state fresh = {};
    bpf_map_update_elem(&backends, &tid, &fresh, BPF_NOEXIST);
    return bpf_map_lookup_elem(&backends, &tid);
}

static __always_inline struct task_struct *current_backend(void)
{
    struct task_struct *task = bpf_get_current_task_btf();

    return is_backend(task) ? task : NULL;
}

/* ---- read/write system calls on regular files ---- */

static __always_inline void file_io_enter(struct file *file, bool is_write)
{
    struct task_struct *task = current_backend();
    if (!task)
        return;
    /* Sockets, pipes and signalfd reads are waits, not file I/O. */
    umode_t mode = BPF_CORE_READ(file, f_inode, i_mode);
    if ((mode & S_IFMT_BITS) != S_IFREG_BITS)
        return;
    struct backend_state *st = backend_state_of(task->pid, true);
    if (!st)
        return;
    st->syscall_start_ns = bpf_ktime_get_ns();
    st->syscall_is_write = is_write;
    if (is_write)
        st->write_depth++;
}

static __always_inline void file_io_exit(long ret)
{
    struct task_struct *task = bpf_get_current_task_btf();
    struct backend_state *st = bpf_map_lookup_elem(&backends, &task->pid);
    if (!st || st->syscall_start_ns == 0)
        return;
    __u64 elapsed = bpf_ktime_get_ns() - st->syscall_start_ns;
    bool is_write = st->syscall_is_write;
    st->syscall_start_ns = 0;
    if (is_write && st->write_depth > 0)
        st->write_depth--;

    __u64 exec_id = current_exec_id();
    if (exec_id == 0)
        return;
    struct qprof_exec_io *io = exec_entry(task->tgid, exec_id);
    if (!io)
        return;
    __u64 bytes = ret > 0 ? (__u64)ret : 0;
    if (is_write) {
        __sync_fetch_and_add(&io->write_calls, 1);
        __sync_fetch_and_add(&io->write_bytes, bytes);
        __sync_fetch_and_add(&io->write_ns, elapsed);
    } else {
        __sync_fetch_and_add(&io->read_calls, 1);
        __sync_fetch_and_add(&io->read_bytes, bytes);
        __sync_fetch_and_add(&io->read_ns, elapsed);
    }
}

SEC("fentry/vfs_read")
int BPF_PROG(vfs_read_enter, struct file *file)
{
    file_io_enter(file, false);
    return 0;
}

SEC("fexit/vfs_read")
int BPF_PROG(vfs_read_exit, struct file *file, char *buf, size_t count,
             loff_t *pos, ssize_t ret)
{
    file_io_exit(ret);
    return 0;
}

SEC("fentry/vfs_write")
int BPF_PROG(vfs_write_enter, struct file *file)
{
    file_io_enter(file, true);
    return 0;
}

SEC("fexit/vfs_write")
int BPF_PROG(vfs_write_exit, struct file *file, const char *buf,
             size_t count, loff_t *pos, ssize_t ret)
{
    file_io_exit(ret);
    return 0;
}

/* preadv/pwritev (PostgreSQL zero-fills new WAL segments with pwritev). */
SEC("fentry/vfs_readv")
int BPF_PROG(vfs_readv_enter, struct file *file)
{
    file_io_enter(file, false);
    return 0;
}

SEC("fexit/vfs_readv")
int BPF_PROG(vfs_readv_exit, struct file *file, const void *vec,
             unsigned long vlen, loff_t *pos, int flags, ssize_t ret)
{
    file_io_exit(ret);
    return 0;
}

SEC("fentry/vfs_writev")
int BPF_PROG(vfs_writev_enter, struct file *file)
{
    file_io_enter(file, true);
    return 0;
}

SEC("fexit/vfs_writev")
int BPF_PROG(vfs_writev_exit, struct file *file, const void *vec,
             unsigned long vlen, loff_t *pos, int flags, ssize_t ret)
{
    file_io_exit(ret);
    return 0;
}

/* ---- fsync/fdatasync ---- */

/* A separate start time: an O_SYNC write calls vfs_fsync_range from inside
 * vfs_write. */
SEC("fentry/vfs_fsync_range")
int BPF_PROG(fsync_enter)
{
    struct task_struct *task = current_backend();
    if (!task)
        return 0;
    struct backend_state *st = backend_state_of(task->pid, true);
    if (st)
        st->fsync_start_ns = bpf_ktime_get_ns();
    return 0;
}

SEC("fexit/vfs_fsync_range")
int BPF_PROG(fsync_exit)
{
    struct task_struct *task = bpf_get_current_task_btf();
    struct backend_state *st = bpf_map_lookup_elem(&backends, &task->pid);
    if (!st || st->fsync_start_ns == 0)
        return 0;
    __u64 elapsed = bpf_ktime_get_ns() - st->fsync_start_ns;
    st->fsync_start_ns = 0;
    __u64 exec_id = current_exec_id();
    if (exec_id == 0)
        return 0;
    struct qprof_exec_io *io = exec_entry(task->tgid, exec_id);
    if (!io)
        return 0;
    __sync_fetch_and_add(&io->fsync_calls, 1);
    __sync_fetch_and_add(&io->fsync_ns, elapsed);
    return 0;
}

/* ---- page cache ---- */

/* Local flavor of struct folio before 6.7, which kept the order in its own
 * byte instead of the low byte of _flags_1. */
struct folio___before_6_7 {
    unsigned char _folio_order;
} __attribute__((preserve_access_index));

/* Pages in a folio: 1, or 2^order for a large folio (PG_head set in the
 * first flags word, which is at offset 0 in every kernel version). */
static __always_inline __u64 folio_pages(struct folio *folio)
{
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

/* A folio entered the page cache in this backend's context: outside a
 * write, that is a read that had to go to storage. */
SEC("tp_btf/mm_filemap_add_to_page_cache")
int BPF_PROG(page_cache_add, struct folio *folio)
{
    struct task_struct *task = current_backend();
    if (!task)
        return 0;
    struct backend_state *st = bpf_map_lookup_elem(&backends, &task->pid);
    if (st && st->write_depth > 0)
        return 0;
    __u64 exec_id = current_exec_id();
    if (exec_id == 0)
        return 0;
    struct qprof_exec_io *io = exec_entry(task->tgid, exec_id);
    if (!io)
        return 0;
    __u64 pages = folio_pages(folio);
    __sync_fetch_and_add(&io->page_cache_miss_pages, pages);
    if (st && st->readahead_depth > 0)
        __sync_fetch_and_add(&io->readahead_pages, pages);
    return 0;
}

/* page_cache_ra_order may fall back to page_cache_ra_unbounded, hence a
 * depth rather than a flag. */
static __always_inline void readahead_enter(void)
{
    struct task_struct *task = current_backend();
    if (!task)
        return;
    struct backend_state *st = backend_state_of(task->pid, true);
    if (st)
        st->readahead_depth++;
}

static __always_inline void readahead_exit(void)
{
    struct task_struct *task = bpf_get_current_task_btf();
    struct backend_state *st = bpf_map_lookup_elem(&backends, &task->pid);
    if (st && st->readahead_depth > 0)
        st->readahead_depth--;
}

SEC("fentry/page_cache_ra_unbounded")
int BPF_PROG(ra_unbounded_enter)
{
    readahead_enter();
    return 0;
}

SEC("fexit/page_cache_ra_unbounded")
int BPF_PROG(ra_unbounded_exit)
{
    readahead_exit();
    return 0;
}

SEC("fentry/page_cache_ra_order")
int BPF_PROG(ra_order_enter)
{
    readahead_enter();
    return 0;
}

SEC("fexit/page_cache_ra_order")
int BPF_PROG(ra_order_exit)
{
    readahead_exit();
    return 0;
}

/* ---- block I/O ---- */

/* Remembers which execution submitted `rq`. Runs in the submitting task. */
static __always_inline void claim_request(struct request *rq)
{
    struct task_struct *task = current_backend();
    if (!task)
        return;
    __u64 exec_id = current_exec_id();
    if (exec_id == 0)
        return;
    __u64 key = (__u64)rq;
    struct request_owner owner = {.exec_id = exec_id, .pid = task->tgid};
    bpf_map_update_elem(&requests, &key, &owner, BPF_ANY);
}

SEC("tp_btf/block_io_start")
int BPF_PROG(block_io_start, struct request *rq)
{
    claim_request(rq);
    return 0;
}

/* With mq-deadline, dispatch to the device may run in a kworker: the owner
 * is the task that created the request, not the one issuing it. */
SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq)
{
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
             unsigned int nr_bytes)
{
    __u64 key = (__u64)rq;
    struct request_owner *owner = bpf_map_lookup_elem(&requests, &key);
    if (!owner)
        return 0;
    struct qprof_exec_io *io = exec_entry(owner->pid, owner->exec_id);
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

/* Adds the on-CPU time since the last checkpoint to the execution running
 * now. Between two checkpoints the word may have changed; checkpoints at
 * every tick bound the error to one tick per execution boundary. */
static __always_inline void oncpu_checkpoint(struct task_struct *task,
                                             struct backend_state *st,
                                             __u64 exec_id, __u64 now)
{
    if (st->oncpu_since_ns && exec_id) {
        struct qprof_exec_io *io = exec_entry(task->tgid, exec_id);
        if (io)
            __sync_fetch_and_add(&io->oncpu_ns, now - st->oncpu_since_ns);
    }
    st->oncpu_since_ns = now;
}

/* At switch-out the leaving task is still `current`: its word is read in
 * its own address space, and kept for the switch-in, which runs in the
 * context of another task. */
static __always_inline void switched_out(struct task_struct *prev,
                                         bool preempt,
                                         unsigned int prev_state, __u64 now)
{
    struct backend_state *st = backend_state_of(prev->pid, true);
    if (!st)
        return;
    __u64 exec_id = current_exec_id();
    oncpu_checkpoint(prev, st, exec_id, now);
    st->oncpu_since_ns = 0;
    st->offcpu_since_ns = now;
    st->offcpu_exec_id = exec_id;
    /* A preempted task stays runnable whatever its state says. */
    st->offcpu_in_io = !preempt && (prev_state & TASK_UNINTERRUPTIBLE_BIT);
}

static __always_inline void switched_in(struct task_struct *next, __u64 now)
{
    struct backend_state *st = backend_state_of(next->pid, true);
    if (!st)
        return;
    if (st->offcpu_since_ns && st->offcpu_exec_id) {
        struct qprof_exec_io *io =
            exec_entry(next->tgid, st->offcpu_exec_id);
        if (io) {
            __u64 waited = now - st->offcpu_since_ns;
            if (st->offcpu_in_io)
                __sync_fetch_and_add(&io->offcpu_io_ns, waited);
            else
                __sync_fetch_and_add(&io->offcpu_other_ns, waited);
        }
    }
    st->offcpu_since_ns = 0;
    st->offcpu_exec_id = 0;
    st->oncpu_since_ns = now;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev,
             struct task_struct *next, unsigned int prev_state)
{
    __u64 now = bpf_ktime_get_ns();

    if (is_backend(prev))
        switched_out(prev, preempt, prev_state, now);
    if (is_backend(next))
        switched_in(next, now);
    return 0;
}

/* The scheduler tick interrupts the running task: an on-CPU checkpoint, so
 * that a backend running many statements without sleeping still has its
 * CPU time split between them. (sched_tick was scheduler_tick before 6.10;
 * the loader picks the name.) */
SEC("fentry/sched_tick")
int BPF_PROG(sched_tick)
{
    struct task_struct *task = current_backend();
    if (!task)
        return 0;
    struct backend_state *st = backend_state_of(task->pid, true);
    if (!st)
        return 0;
    oncpu_checkpoint(task, st, current_exec_id(), bpf_ktime_get_ns());
    return 0;
}
