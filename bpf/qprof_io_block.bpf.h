/*
 * qprof_io_block.bpf.h — block requests a backend submitted: bytes,
 * requests and device time, to the execution that submitted them
 * (qprof_io.bpf.c, which alone includes this file).
 */
#pragma once

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
