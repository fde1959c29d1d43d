/*
 * parallel_attribution.cpp — see parallel_attribution.h.
 *
 * One 64-bit slot per PGPROC, written only by its owner and only before a
 * parallel plan or a CREATE INDEX, REINDEX or VACUUM: no lock, no cost for
 * other statements. A worker reads its leader's slot while the leader waits
 * for it (Gather, or the end of the parallel build), so the value cannot
 * change under it.
 */
#include "parallel_attribution.h"

extern "C" {
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "port/atomics.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/guc.h"
}

#include "executions.h"
#include "word_slots.h"
#include "procs.h"

namespace qprof {

namespace {

pg_atomic_uint64 *leader_slots = nullptr;

/* pg_qprof.worker_attribution: on in a leader's session once it published,
 * so that its workers restore it, which runs assign_worker_attribution in
 * them before the operation they were started for. */
bool worker_attribution = false;
constexpr const char *kWorkerAttributionSetting = "pg_qprof.worker_attribution";

void assign_worker_attribution(bool newval, void *) {
    if (newval && InitializingParallelWorker)
        parallel_worker_adopt();
}

uint32_t slot_count() {
    return pgproc_count();
}

pg_atomic_uint64 *slot_of(const PGPROC *proc) {
    if (leader_slots == nullptr || proc == nullptr || proc->pgprocno < 0 ||
        static_cast<uint32_t>(proc->pgprocno) >= slot_count())
        return nullptr;
    return &leader_slots[proc->pgprocno];
}

} // namespace

size_t parallel_attribution_shmem_size() {
    return sizeof(pg_atomic_uint64) * slot_count();
}

void parallel_attribution_shmem_startup() {
    bool found = false;
    leader_slots = static_cast<pg_atomic_uint64 *>(
        ShmemInitStruct("pg_qprof parallel leaders",
                        parallel_attribution_shmem_size(), &found));
    if (found)
        return;
    for (uint32_t i = 0; i < slot_count(); i++)
        pg_atomic_init_u64(&leader_slots[i], 0);
}

void parallel_attribution_define_settings() {
    DefineCustomBoolVariable(
        kWorkerAttributionSetting,
        "Internal: lets parallel workers find their leader's execution.",
        "Set by pg_qprof itself in a session that launches parallel workers.",
        &worker_attribution, false, PGC_USERSET,
        GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE |
            GUC_NO_RESET_ALL,
        nullptr, assign_worker_attribution, nullptr);
}

void parallel_leader_publish(uint64_t exec_id) {
    pg_atomic_uint64 *slot = slot_of(MyProc);
    if (slot == nullptr)
        return;
    pg_atomic_write_u64(slot, exec_id);
    /* Once a session (again after a rollback undid it). Not in parallel
     * mode, where settings cannot change: the level only silences that. */
    if (!worker_attribution && !IsInParallelMode())
        (void)set_config_option(kWorkerAttributionSetting, "on", PGC_USERSET,
                                PGC_S_SESSION, GUC_ACTION_SET, true, DEBUG3,
                                false);
}

void parallel_worker_adopt() {
    const PGPROC *leader = MyProc ? MyProc->lockGroupLeader : nullptr;
    pg_atomic_uint64 *slot = slot_of(leader);
    if (slot == nullptr || leader == MyProc)
        return;
    /* the pid first: a BPF program that sees the leader's execution id
     * must also see whose it is */
    qprof_word->leader_pid = leader->pid;
    word_publish_identity();
    pg_memory_barrier();
    qprof_word->exec_id = pg_atomic_read_u64(slot);
    /* what the executor phases restore the word to when they end */
    running.exec_id = qprof_word->exec_id;
}

void parallel_worker_release() {
    running.exec_id = 0;
    /* the CPU time of its last slice, reported when it next switches out,
     * is still the leader's execution's (leader_pid stays) */
    qprof_word->ended_exec_id = qprof_word->exec_id;
    qprof_word->exec_id = 0;
}

} // namespace qprof
