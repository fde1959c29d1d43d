/*
 * qprof_io_maps.bpf.h — the state of the BPF programs (qprof_io.bpf.c, which
 * alone includes this file): the globals the loader sets, the maps user
 * space reads, and what the programs remember per backend thread and per
 * block request.
 */
#pragma once

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
