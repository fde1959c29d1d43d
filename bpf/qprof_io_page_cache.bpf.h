/*
 * qprof_io_page_cache.bpf.h — page-cache misses, and the pages readahead
 * brought in (qprof_io.bpf.c, which alone includes this file).
 */
#pragma once

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
