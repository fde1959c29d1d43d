/*
 * pg_qprof.cpp — library entry point: settings, shared memory and hooks.
 *
 * The library must be preloaded: its shared memory is sized at server start
 * and its execution word must sit at the same address in every backend.
 */
extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/queryjumble.h"

PG_MODULE_MAGIC;

void _PG_init(void);
}

#include "hooks.h"
#include "parallel_attribution.h"
#include "preload.h"
#include "plan_capture.h"
#include "query_texts.h"
#include "ring.h"
#include "settings.h"
#include "wait_sampler.h"

namespace {

shmem_request_hook_type prev_shmem_request = nullptr;
shmem_startup_hook_type prev_shmem_startup = nullptr;

void qprof_shmem_request() {
    if (prev_shmem_request)
        prev_shmem_request();
    RequestAddinShmemSpace(qprof::ring_shmem_size());
    RequestAddinShmemSpace(qprof::parallel_attribution_shmem_size());
    qprof::query_texts_shmem_request();
    qprof::plans_shmem_request();
    RequestAddinShmemSpace(qprof::wait_sampler_shmem_size());
}

void qprof_shmem_startup() {
    if (prev_shmem_startup)
        prev_shmem_startup();
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    qprof::ring_shmem_startup();
    qprof::parallel_attribution_shmem_startup();
    qprof::query_texts_shmem_startup();
    qprof::plans_shmem_startup();
    qprof::wait_sampler_shmem_startup();
    LWLockRelease(AddinShmemInitLock);
}

} // namespace

void qprof::require_preloaded(bool ready) {
    if (!ready)
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("pg_qprof must be loaded via shared_preload_libraries"),
                 errhint("Add pg_qprof to shared_preload_libraries in "
                         "postgresql.conf and restart the server.")));
}

void _PG_init(void) {
    qprof::require_preloaded(process_shared_preload_libraries_in_progress);

    qprof::define_settings();
    qprof::parallel_attribution_define_settings();
    qprof::wait_sampler_define_settings();

    prev_shmem_request = shmem_request_hook;
    shmem_request_hook = qprof_shmem_request;
    prev_shmem_startup = shmem_startup_hook;
    shmem_startup_hook = qprof_shmem_startup;

    qprof::install_hooks();
    qprof::wait_sampler_register();
}
