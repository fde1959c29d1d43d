/*
 * wait_sampler.cpp — see wait_sampler.h.
 *
 * The worker needs shared memory only (no database connection). It sleeps
 * on its latch until the next sampling time; the times are kept on a fixed
 * schedule, so a late wake-up does not make the next one late too, and a
 * sweep that comes more than one interval late credits the intervals it
 * missed (at most kMaxCatchUpTicks), so that the ticks stand for time even
 * on a loaded machine. What a sweep reads of a PGPROC is one 32-bit word
 * written by its owner, read without a lock as pg_stat_activity reads it.
 *
 * Error contract: plain C style, no object with a destructor; nothing here
 * raises an error of its own.
 */
#include "wait_sampler.h"

extern "C" {
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "portability/instr_time.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/guc.h"

PGDLLEXPORT void pg_qprof_wait_sampler_main(Datum);
}

#include "instr_ns.h"
#include "procs.h"

namespace qprof {

namespace {

/* One backend's ticks, written by the worker only; a cache line each, so
 * that the backends reading theirs do not share lines. */
struct alignas(64) WaitTicks {
    pg_atomic_uint32 ticks[kSampledWaitClasses];
};

struct SamplerHeader {
    /* the interval the worker samples at, µs; 0 = not sampling */
    pg_atomic_uint32 interval_us;
    uint32_t backends; /* WaitTicks that follow */
};

SamplerHeader *header = nullptr;
WaitTicks *backend_ticks = nullptr;

/* pg_qprof.wait_sample_interval, ms; 0 turns sampling off */
int interval_ms = 10;
constexpr int kMaxIntervalMs = 1000;

/* Intervals one late sweep credits at most: a worker stopped for longer
 * (a debugger, a machine that froze) does not invent long waits. */
constexpr uint32_t kMaxCatchUpTicks = 10;

/* When off, the worker wakes this often (ms) to see whether it was
 * switched on (a reload also wakes it at once). */
constexpr long kIdleWakeMs = 60 * 1000;

size_t header_bytes() {
    return TYPEALIGN(64, sizeof(SamplerHeader));
}

/* The class of wait_event_info: its top byte, classes above IO (0x0A) in
 * the last slot. */
uint32_t class_slot(uint32_t wait_event_info) {
    uint32_t cls = wait_event_info >> 24;
    return cls < kSampledWaitClasses - 1 ? cls : kSampledWaitClasses - 1;
}

/* Credits `ticks` to every backend found waiting. */
void sweep(uint32_t ticks) {
    uint32_t n = header->backends;
    if (n > ProcGlobal->allProcCount)
        n = ProcGlobal->allProcCount;
    for (uint32_t i = 0; i < n; i++) {
        const PGPROC *proc = &ProcGlobal->allProcs[i];
        if (proc == MyProc)
            continue;
        uint32_t info =
            *reinterpret_cast<const volatile uint32 *>(&proc->wait_event_info);
        if (info == 0)
            continue;
        pg_atomic_uint32 *counter = &backend_ticks[i].ticks[class_slot(info)];
        /* single writer: a plain store, no bus lock */
        pg_atomic_write_u32(counter, pg_atomic_read_u32(counter) + ticks);
    }
}

int64_t now_ns() {
    instr_time now;
    INSTR_TIME_SET_CURRENT(now);
    return instr_ns(now);
}

void publish_interval(int ms) {
    pg_atomic_write_u32(&header->interval_us, static_cast<uint32_t>(ms) * 1000);
}

void on_worker_exit(int, Datum) {
    if (header != nullptr)
        publish_interval(0);
}

void run_sampler() {
    on_shmem_exit(on_worker_exit, (Datum)0);
    int current_ms = interval_ms;
    publish_interval(current_ms);
    int64_t next_ns = now_ns() + static_cast<int64_t>(current_ms) * 1000000;
    for (;;) {
        long timeout_ms = kIdleWakeMs;
        if (current_ms > 0) {
            int64_t left_ns = next_ns - now_ns();
            timeout_ms = left_ns > 0
                             ? static_cast<long>((left_ns + 999999) / 1000000)
                             : 0;
        }
        if (timeout_ms > 0)
            (void)WaitLatch(MyLatch,
                            WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                            timeout_ms, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
        if (ShutdownRequestPending)
            break;
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
            if (interval_ms != current_ms) {
                current_ms = interval_ms;
                publish_interval(current_ms);
                next_ns = now_ns() + static_cast<int64_t>(current_ms) * 1000000;
                continue;
            }
        }
        if (current_ms <= 0)
            continue;
        int64_t interval_ns = static_cast<int64_t>(current_ms) * 1000000;
        int64_t late_ns = now_ns() - next_ns;
        if (late_ns < 0)
            continue; /* woken early (the latch) */
        uint64_t due = 1 + static_cast<uint64_t>(late_ns / interval_ns);
        uint32_t ticks = due < kMaxCatchUpTicks ? static_cast<uint32_t>(due)
                                                : kMaxCatchUpTicks;
        sweep(ticks);
        next_ns += static_cast<int64_t>(due) * interval_ns;
    }
}

} // namespace

size_t wait_sampler_shmem_size() {
    return header_bytes() + sizeof(WaitTicks) * pgproc_count();
}

void wait_sampler_shmem_startup() {
    bool found = false;
    char *base = static_cast<char *>(ShmemInitStruct(
        "pg_qprof wait sampler", wait_sampler_shmem_size(), &found));
    header = reinterpret_cast<SamplerHeader *>(base);
    backend_ticks = reinterpret_cast<WaitTicks *>(base + header_bytes());
    if (found)
        return;
    pg_atomic_init_u32(&header->interval_us, 0);
    header->backends = pgproc_count();
    for (uint32_t i = 0; i < header->backends; i++)
        for (uint32_t c = 0; c < kSampledWaitClasses; c++)
            pg_atomic_init_u32(&backend_ticks[i].ticks[c], 0);
}

void wait_sampler_define_settings() {
    DefineCustomIntVariable(
        "pg_qprof.wait_sample_interval",
        "How often the wait sampler looks at what each backend waits for; "
        "each execution's sample carries the waits found, per wait event "
        "class. 0 turns sampling off.",
        nullptr, &interval_ms, 10, 0, kMaxIntervalMs, PGC_SIGHUP, GUC_UNIT_MS,
        nullptr, nullptr, nullptr);
}

void wait_sampler_register() {
    BackgroundWorker worker;
    memset(&worker, 0, sizeof(worker));
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
    worker.bgw_start_time = BgWorkerStart_PostmasterStart;
    worker.bgw_restart_time = 1;
    snprintf(worker.bgw_name, BGW_MAXLEN, "pg_qprof wait sampler");
    snprintf(worker.bgw_type, BGW_MAXLEN, "pg_qprof wait sampler");
    snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_qprof");
    snprintf(worker.bgw_function_name, BGW_MAXLEN,
             "pg_qprof_wait_sampler_main");
    RegisterBackgroundWorker(&worker);
}

uint32_t wait_sample_interval_us() {
    return header != nullptr ? pg_atomic_read_u32(&header->interval_us) : 0;
}

void wait_sampler_backend_attach() {
    if (header == nullptr)
        return;
    (void)wait_sample_interval_us();
    uint32_t ticks[kSampledWaitClasses];
    (void)wait_ticks_read(ticks);
}

bool wait_ticks_read(uint32_t ticks[kSampledWaitClasses]) {
    if (backend_ticks == nullptr || MyProc == nullptr || MyProc->pgprocno < 0 ||
        static_cast<uint32_t>(MyProc->pgprocno) >= header->backends)
        return false;
    const WaitTicks &mine = backend_ticks[MyProc->pgprocno];
    for (uint32_t c = 0; c < kSampledWaitClasses; c++)
        ticks[c] =
            pg_atomic_read_u32(const_cast<pg_atomic_uint32 *>(&mine.ticks[c]));
    return true;
}

} // namespace qprof

void pg_qprof_wait_sampler_main(Datum) {
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
    BackgroundWorkerUnblockSignals();
    qprof::run_sampler();
    proc_exit(0);
}
