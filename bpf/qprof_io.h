/*
 * qprof_io.h — the records shared by the BPF programs (qprof_io.bpf.c) and
 * their loader (collector/bpf_attach.cpp).
 *
 * Kernel events of a PostgreSQL backend are added to one entry per
 * (pid, execution id), the execution id being the word the extension keeps
 * in the backend's memory (DESIGN.md contract 4). Plain fixed-width fields
 * only: the same bytes are read on both sides.
 */
#ifndef QPROF_IO_H
#define QPROF_IO_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* The word the extension keeps in every backend's memory, at the address
 * pg_qprof.exec_word() gives (struct QprofRunningWord in
 * extension/executions.h has the same layout). */
struct qprof_running_word {
    __u64 exec_id; /* the execution running, 0 when idle */
    /* the top-level execution that ended last: the on-CPU time reported
     * after its end, until the backend waits again, is its own */
    __u64 ended_exec_id;
    __u32 leader_pid; /* parallel worker: the leader whose execution exec_id
                         is; 0 in any other process */
    __u32 pid; /* the backend's pid in its own pid namespace (the pid its
                  samples carry); 0 before its first execution */
    __u32 layout; /* QPROF_WORD_LAYOUT once the fields below exist: a
                     server still running an older library has none */
    /* Layout QPW5 on: the address of the backend's wait_event_info
     * (PGPROC's, where PostgreSQL writes the wait event it reports), low
     * and high halves, the high one in the word's last 4 bytes: the word
     * stays one cache line. 0 until the backend's first execution. */
    __u32 wait_event_address_lo;
    /* CLOCK_MONOTONIC ns at which the running (or last) top-level execution
     * began, planning included; 0 before the first. The CPU a slice spent
     * before it (reading, parsing the statement) is not the execution's. */
    __u64 started_ns;
    /* CLOCK_MONOTONIC ns at which ended_exec_id ended, the commit that
     * followed it included (layout QPW3 on): the CPU spent after it is not
     * its own. */
    __u64 ended_ns;
    /* Once the backend has mapped its slot of the word slot map (below):
     * the map's token and the slot's index. From then on the backend writes
     * the word there, not here: a word with a token is stale. */
    __u64 slot_token;
    __u32 slot;
    __u32 wait_event_address_hi;
};
#define QPROF_WORD_LAYOUT 0x35575051u /* "QPW5" */
/* The layout before the wait event's address: slot_token is there. */
#define QPROF_WORD_LAYOUT_SLOTS 0x34575051u /* "QPW4" */
/* The layout before slot_token: ended_ns is there, slot_token is not. */
#define QPROF_WORD_LAYOUT_ENDED 0x33575051u /* "QPW3" */
/* The layout before ended_ns: started_ns is there, ended_ns is not. */
#define QPROF_WORD_LAYOUT_STARTED 0x32575051u /* "QPW2" */

/* The word slot map: an array of words that the loader pins in a BPF file
 * system and that backends map into their memory (BPF_F_MMAPABLE), one
 * slot each at index PGPROC number + 1. The programs read a backend's
 * slot with plain loads, where its own word takes a bpf_probe_read_user
 * (about 50 ns of sched_switch's 70 ns of work a run). Slot 0 is this
 * header, written by the loader when it creates the map. */
#define QPROF_SLOT_MAP_MAGIC 0x31534c5357505100ull /* "\0QPWSLS1" */
#define QPROF_SLOT_MAP_SLOTS 4096
struct qprof_slot_map_header {
    __u64 magic;
    __u64 token; /* random, never 0: which map a word's slot_token names */
    __u32 slots; /* the map's entries, the header's included */
    __u32 pad;
    __u64 unused[5];
};

/* Key of the per-execution map. */
struct qprof_exec_key {
    __u32 pid; /* the pid samples carry: PostgreSQL's, in its namespace */
    __u32 pad; /* always 0: keys are compared as bytes */
    __u64 exec_id;
};

/* The wait split below (run queue time and wait events, issue 29) is built
 * in unless QPROF_WAIT_SPLIT is 0 (`make -C collector WAIT_SPLIT=0`): the
 * programs then keep off-CPU time as I/O or other only, with the entry of
 * before the split. Only a benchmark's baseline, the cost of the split
 * measured against it (docs/overhead.md); the programs and their loader
 * must be built alike. */
#ifndef QPROF_WAIT_SPLIT
#define QPROF_WAIT_SPLIT 1
#endif

/* PostgreSQL's wait event classes are the top byte of wait_event_info
 * (PG_WAIT_LWLOCK 0x01 ... PG_WAIT_IO 0x0A); 0 is "no wait event", and
 * any class above 0x0A counts in the last slot. */
#define QPROF_WAIT_CLASSES 12
#define QPROF_WAIT_EVENT_SLOTS 8
struct qprof_wait_event_slot {
    __u32 event; /* wait_event_info; 0 while the slot is free */
    __u32 count; /* off-CPU periods credited to it */
    __u64 ns;
};

/* What the kernel did for one execution. Zero where nothing happened. */
struct qprof_exec_io {
    /* read/write system calls on regular files (read, pread64, readv,
     * preadv, preadv2 and their write forms): calls, bytes returned, time
     * in the call */
    __u64 read_calls, read_bytes, read_ns;
    __u64 write_calls, write_bytes, write_ns;
    /* fsync and fdatasync system calls, and their time */
    __u64 fsync_calls, fsync_ns;
    /* pages this backend brought into the page cache outside of writes
     * (reads that went to storage), and those of them readahead added */
    __u64 page_cache_miss_pages, readahead_pages;
    /* block requests this backend submitted: count, bytes completed, time
     * from issue to the device to completion */
    __u64 block_requests, block_bytes, block_device_ns;
    /* time off the CPU in uninterruptible sleep (I/O), other off-CPU time
     * (sleeps, locks, latches, waiting for a CPU), and time on the CPU */
    __u64 offcpu_io_ns, offcpu_other_ns, oncpu_ns;
    /* bpf_ktime_get_ns() of the last event added (CLOCK_MONOTONIC) */
    __u64 last_event_ns;
#if QPROF_WAIT_SPLIT
    /* The off-CPU time above, split another way (both sums are the same
     * periods): waiting for a CPU (the task runnable: preempted, or woken
     * and not yet run; the kernel's sched_info run delay), and the rest of
     * each period by the wait event the backend reported at its switch-out
     * (PGPROC wait_event_info): per class (index: the class byte, 0 for no
     * wait event reported), and per event in the first
     * QPROF_WAIT_EVENT_SLOTS events met; later ones count in their class
     * only. */
    __u64 runqueue_ns, runqueue_waits;
    __u64 wait_class_ns[QPROF_WAIT_CLASSES];
    __u32 wait_class_count[QPROF_WAIT_CLASSES];
    struct qprof_wait_event_slot wait_events[QPROF_WAIT_EVENT_SLOTS];
#endif
};

/* The CPU time of the last slice of an ended top-level execution: reported
 * after its end, when the backend next switches out. */
struct qprof_cpu_slice {
    __u32 pid;
    __u32 pad;
    __u64 exec_id;
    __u64 oncpu_ns;
};

/* One CPU's slices, newest at head - 1: user space reads from where it
 * stopped; a reader more than QPROF_CPU_SLICE_SLOTS behind has lost the
 * oldest. A power of two. */
#define QPROF_CPU_SLICE_SLOTS 16384
struct qprof_cpu_slice_ring {
    __u64 head; /* slices written on this CPU since the programs loaded */
    struct qprof_cpu_slice slots[QPROF_CPU_SLICE_SLOTS];
};

/* Per-CPU counters of the programs themselves. */
struct qprof_bpf_counters {
    __u64 events;             /* events added to an entry */
    __u64 lost_events;        /* events dropped: the entry map was full */
    __u64 word_read_failures; /* the execution word could not be read */
    __u64 word_reads_probed;  /* words read from a backend's memory */
    __u64 word_reads_mapped;  /* words read from the word slot map */
    __u64 word_stale;         /* words in a slot of another map */
};

#endif /* QPROF_IO_H */
