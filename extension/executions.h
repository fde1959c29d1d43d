/*
 * executions.h — the executions a backend is running, from their start to
 * the sample that records them.
 *
 * An execution is opened when a tracked statement starts (ExecutorStart or
 * ProcessUtility) and closed when it ends or fails; closing it writes one
 * sample into the ring. The hooks in hooks.cpp drive this; nothing here
 * allocates or raises an error.
 */
#pragma once

#include <cstdint>

#include "sample.h"

extern "C" {
/* What this backend is running, for the BPF programs (DESIGN.md contract 4).
 * The library is loaded in the postmaster before fork, so this word has the
 * same address in every backend. bpf/qprof_io.h (struct
 * qprof_running_word) mirrors its layout. */
struct QprofRunningWord {
    volatile uint64_t exec_id; /* the execution running, 0 when idle */
    /* The top-level execution that ended last: the CPU time of the slice in
     * which it ended is reported after its end, up to ended_ns. */
    volatile uint64_t ended_exec_id;
    /* In a parallel worker, its leader's pid: exec_id is then the leader's
     * execution, which the worker's events belong to. 0 elsewhere. */
    volatile int32_t leader_pid;
    /* This backend's pid as PostgreSQL sees it (MyProcPid), which the
     * samples carry: in a container it differs from the kernel's pid of
     * the host. 0 until the backend's first execution. */
    volatile int32_t pid;
    /* kWordLayout: tells readers the fields below exist. */
    uint32_t layout;
    /* The address of this backend's wait_event_info (PGPROC's: where
     * PostgreSQL reports its waits), low 32 bits; the high ones are the
     * word's last field, which keeps the word one cache line. Set at the
     * backend's first execution, 0 before. */
    volatile uint32_t wait_event_address_lo;
    /* Monotonic ns (instr_time) at which the running or last top-level
     * execution began, its planning included: the CPU a backend spends on
     * a statement before that (reading and parsing it) is not the
     * execution's. 0 before the first. */
    volatile int64_t started_ns;
    /* Monotonic ns at which ended_exec_id ended, its commit included when
     * the commit was lent to it: the CPU the backend spends after that (the
     * next statement's reading and parsing, when the client sent it
     * already) is not the execution's. */
    volatile int64_t ended_ns;
    /* Once the backend has moved its word to its slot of the collector's
     * word slot map (word_slots.h): that map's token and the slot's index.
     * This word is then stale; 0 before. */
    volatile uint64_t slot_token;
    volatile uint32_t slot;
    volatile uint32_t wait_event_address_hi;
};
constexpr uint32_t kWordLayout = 0x35575051u; /* "QPW5" */
extern QprofRunningWord pg_qprof_running;
}

struct BufferUsage;
struct WalUsage;
struct MemoryContextData;

namespace qprof {

struct Execution;

/* What the code running now belongs to: saved and restored around every
 * phase of an execution (and around planning) so nested statements find
 * their parent. `tags` points to a copy owned by this file (an open
 * execution's, or the statement being planned), never into a statement's
 * text, which may be freed before the execution ends. */
struct RunningContext {
    uint64_t exec_id;
    const char *tags;  /* sqlcommenter body of the top-level statement */
    uint32_t tags_len; /* the whole comment's length: may exceed kTagBytes */
};

extern RunningContext running;
extern int nesting_level;

/* Set by pg_qprof.exclude_session(): a reader such as the collector asks
 * that its own polling not be recorded, without the superuser right that
 * pg_qprof.enabled needs. */
extern bool reader_session;

/* True when statements at `level` are recorded under the current settings
 * (and this is neither a parallel worker nor a reader session). */
bool level_is_tracked(int level);

/* Decides sampling for a new top-level statement (`queryid`), or uses the
 * decision planning_is_sampled drew for it; nested statements follow the
 * last decision. Counts a skipped execution when not sampled. */
bool statement_is_sampled(int level, int64_t queryid);

/* For the planner hook, when sample_rate < 1: whether the statement being
 * planned at `level` will be recorded. At level 0 the decision is drawn now
 * and kept for that statement's statement_is_sampled, so that the planning
 * of an unsampled statement is not timed at all; nothing is counted yet. */
bool planning_is_sampled(int level, int64_t queryid);

/* For a top-level statement that will run once (a simple query's), when
 * it is analyzed without a query id: draws its sampling decision then, so
 * that an unsampled statement is not even jumbled. Counts it skipped when
 * not sampled (its nested statements follow); a sampled statement, once
 * jumbled, keeps the decision for its planning and execution through
 * analysis_keep_decision. */
bool analysis_is_sampled();
void analysis_keep_decision(int64_t queryid);

/* Publishes in this backend's word its pid and where it reports its wait
 * event (MyProc's wait_event_info), which the BPF programs read at each
 * switch-out: at its first execution, and in a parallel worker when it
 * adopts its leader's execution (it has none of its own). */
void word_publish_identity();

/* Planning time measured by the planner hook for the statement about to
 * start at `level`; consumed by the next execution opened at that level with
 * the same queryid, and forgotten when the plan is only explained (a
 * cached plan is a copy of the planner's: its address tells nothing). */
void remember_planning(int level, int64_t queryid, uint64_t exec_id,
                       int64_t plan_time_ns);
void forget_planning(int level, int64_t queryid);
uint64_t next_exec_id();

/* Around planning: statements the planner runs (constant folding of
 * functions) are nested in the execution being planned, with its tags.
 * stmt_text is the statement's own text at level 0. */
RunningContext planning_enter(uint64_t exec_id, int level,
                              const char *stmt_text, size_t stmt_text_len);

/* Opens an execution keyed by `key` (the QueryDesc or the PlannedStmt of a
 * utility statement); stmt_text is the statement's own text, where a
 * top-level statement's tags are looked for (they are copied: the text may
 * be freed before the execution ends). Returns nullptr when too
 * many are open at once. */
Execution *execution_open(const void *key, int64_t queryid, SampleCmd cmd,
                          const char *stmt_text, size_t stmt_text_len,
                          int level);
Execution *execution_find(const void *key);

/* Ties an open execution to the memory of its query (the executor's query
 * context): when that memory is freed, whatever path frees it (ExecutorEnd,
 * a portal dropped at a (sub)transaction abort or ROLLBACK, a PL/pgSQL
 * exception block), an execution still open is closed, as abandoned. Takes
 * no memory from the context and cannot fail. */
void execution_tie_to_memory(Execution *e, MemoryContextData *query_memory);

/* The SQLSTATE of the last error this backend's hooks or its server log saw
 * in the current transaction, given to executions closed because their
 * query's memory was freed, and to a statement whose commit failed. */
void note_error(int sqlstate);

/* Makes `e` the running execution; returns what was running before. */
RunningContext execution_enter(Execution *e);
void execution_leave(RunningContext saved);

/* PostgreSQL 15 counts the rows of a portal's last run only (es_processed is
 * reset by each ExecutorRun): the rows of each run are added up here, so a
 * cursor or a PL/pgSQL FOR loop fetched in parts reports all its rows. */
void execution_add_rows(const void *key, uint64_t rows);
int64_t execution_rows(const Execution *e);

uint64_t execution_id(const Execution *e);
int64_t execution_queryid(const Execution *e);
void execution_set_instrumented(Execution *e, bool instrumented);
bool execution_instrumented(const Execution *e);
/* Nanoseconds since the execution was opened. */
int64_t execution_elapsed_ns(const Execution *e);

/* What is known only when the execution ends. */
struct ExecutionOutcome {
    int64_t exec_time_ns = -1; /* -1: measured when closed */
    int64_t rows = 0;
    uint64_t planid = 0;
    int sqlstate = 0;
    bool node_actuals = false;
    bool planning_only = false;
    /* a top-level statement whose transaction commits right after it (a
     * statement sent alone, or COMMIT): its sample is held until the
     * commit, which may still fail it (deferred constraints, 40001) */
    bool commits_after = false;
    int16_t parallel_workers_planned = 0;
    int16_t parallel_workers_launched = 0;
    int64_t jit_functions = 0;
    int64_t jit_generation_time_ns = 0, jit_inlining_time_ns = 0,
            jit_optimization_time_ns = 0, jit_emission_time_ns = 0;
};

/* True when a successful execution that took `elapsed_ns` is recorded
 * (pg_qprof.min_duration); counts it as skipped otherwise. */
bool execution_long_enough(int64_t elapsed_ns);

/* Tells the kernel's programs, through the word, that top-level execution
 * `e` ended `exec_time_ns` after its start: what the backend does after
 * (storing its plan, writing its sample) is neither in its sample's time
 * nor in its kernel facts. Nothing for a nested execution. */
void execution_publish_end(const Execution *e, int64_t exec_time_ns);

/* Writes the sample and forgets the execution. */
void execution_close(Execution *e, const ExecutionOutcome &outcome);
/* Forgets the execution without a sample (already counted as skipped). */
void execution_discard(Execution *e);

/* Records a statement that failed during planning, before any execution
 * was opened. */
void record_planning_failure(int64_t queryid, SampleCmd cmd, uint64_t exec_id,
                             const char *stmt_text, size_t stmt_text_len,
                             int level, int64_t start_ts, int64_t plan_time_ns,
                             int sqlstate);

/* The commit of an implicit transaction (a statement sent alone) flushes WAL
 * after the statement's execution has ended: the word names that execution
 * again from pre-commit to commit, so kernel I/O of the commit is its own. */
void commit_attribution_begin();
void commit_attribution_end();

/* The end of the transaction: the sample held for its commit is written,
 * failed when the transaction aborted. Errors seen until now are
 * forgotten. */
void transaction_ended(bool committed);
/* The end of a subtransaction: errors seen inside it are forgotten once its
 * portals are gone. */
void subtransaction_ended();

} // namespace qprof
