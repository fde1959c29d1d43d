/*
 * qprof_io_syscalls.bpf.h — read, write and fsync system calls on regular
 * files: calls, bytes and time, from the syscalls trace events of the file
 * calls or, without tracefs, from the raw sys_enter/sys_exit tracepoints
 * (qprof_io.bpf.c, which alone includes this file).
 */
#pragma once

#define S_IFMT_BITS 00170000
#define S_IFREG_BITS 0100000

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
