/*
 * executions.cpp — open executions of this backend and the sample written
 * when each one closes. Backend-local state only; the one shared structure
 * touched is the ring.
 */
#include "executions.h"
#include "word_slots.h"

#include <cstring>

extern "C" {
#include "postgres.h"

#include "access/parallel.h"
#include "common/pg_prng.h"
#include "executor/instrument.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
}

#include "instr_ns.h"
#include "ring.h"
#include "settings.h"
#include "sqlcommenter.h"
#include "wait_sampler.h"

extern "C" {
QprofRunningWord pg_qprof_running = {0, 0, 0, 0, kWordLayout, 0, 0, 0, 0, 0, 0};
}

namespace qprof {

/* A slot of open_executions. An execution tied to its query's memory keeps
 * its slot after it closes, until that memory is freed: PostgreSQL keeps a
 * pointer to the slot's callback until then. */
enum class SlotState : uint8_t { Free, Open, Closed };

struct Execution {
    SlotState state;
    bool tied; /* on_memory_freed is registered on the query's memory */
    MemoryContextCallback on_memory_freed;
    const void *key;
    uint64_t exec_id;
    uint64_t parent_exec_id;
    int64_t queryid;
    int64_t plan_time_ns;
    int64_t start_wall_ns; /* its TimestampTz, in ns */
    instr_time start;
    BufferUsage buffers_at_start;
    WalUsage wal_at_start;
    /* the wait sampler's ticks of this backend when it opened, read only
     * while the sampler ran */
    bool waits_sampled;
    uint32_t wait_ticks_at_start[kSampledWaitClasses];
    uint32_t userid;
    int16_t level;
    SampleCmd cmd;
    bool instrumented;
    int64_t rows;      /* summed over the runs of a portal fetched in parts */
    uint32_t tags_len; /* the whole comment; cut to kTagBytes in the sample */
    char tags[kTagBytes];
};

RunningContext running = {0, nullptr, 0};
int nesting_level = 0;

namespace {

/* Executions open at once: nesting depth plus open cursors. Beyond this an
 * execution is not recorded and is counted (status.skipped_too_deep). */
constexpr int kMaxOpen = 64;
Execution open_executions[kMaxOpen];
/* The open ones, oldest first (indexes into open_executions): the newest
 * is looked up first. */
uint8_t open_order[kMaxOpen];
int open_count = 0;

/* The sqlcommenter comment of the top-level statement being planned,
 * looked for only when planning runs a statement (a function folded as a
 * constant): the text is still there then. */
const char *planning_text = nullptr;
size_t planning_text_len = 0;
bool planning_tags_found = false;
uint32_t planning_tags_len = 0;
char planning_tags[kTagBytes];

/* See note_error. */
int last_error_sqlstate = 0;

/* The sample of a top-level statement whose transaction commits right after
 * it, until the commit (ExecutionOutcome::commits_after). */
Sample held_sample;
bool sample_held = false;

uint64_t exec_counter = 0;

/* The wall clock minus the monotonic one, in ns, read at the last
 * top-level execution. Nested executions are placed in wall time from the
 * monotonic clock and this offset, as their durations are: so each lies
 * within its parent, which one wall-clock read each could not promise to
 * the microsecond. 0 until a first read. */
int64_t wall_minus_monotonic_ns = 0;

bool top_sampled = true;

/* The decision drawn for the top-level statement being analyzed or
 * planned (analysis_is_sampled, planning_is_sampled), until that
 * statement's statement_is_sampled. */
struct PlanningDecision {
    bool valid;
    int64_t queryid;
    bool sampled;
};
PlanningDecision planning_decision = {false, 0, true};

bool draw_top_sampling() {
    if (settings.sample_rate >= 1.0)
        return true;
    if (settings.sample_rate <= 0.0)
        return false;
    return pg_prng_double(&pg_global_prng_state) < settings.sample_rate;
}

struct PendingPlanning {
    bool valid;
    int level;
    int64_t queryid;
    uint64_t exec_id;
    int64_t plan_time_ns;
} pending = {false, 0, 0, 0, 0};

/* Client address, copied once per backend. */
bool client_known = false;
uint8_t client_family = 0;
uint8_t client_addr[16];

void learn_client_address() {
    client_known = true;
    if (MyProcPort == nullptr)
        return;
    const struct sockaddr *sa =
        reinterpret_cast<const struct sockaddr *>(&MyProcPort->raddr.addr);
    if (sa->sa_family == AF_INET) {
        const auto *in = reinterpret_cast<const struct sockaddr_in *>(sa);
        client_family = 4;
        memcpy(client_addr, &in->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const auto *in6 = reinterpret_cast<const struct sockaddr_in6 *>(sa);
        client_family = 6;
        memcpy(client_addr, &in6->sin6_addr, 16);
    }
}

void forget(Execution *e) {
    uint8_t index = static_cast<uint8_t>(e - open_executions);
    for (int i = open_count - 1; i >= 0; i--) {
        if (open_order[i] == index) {
            memmove(&open_order[i], &open_order[i + 1], open_count - 1 - i);
            open_count--;
            break;
        }
    }
    e->state = e->tied ? SlotState::Closed : SlotState::Free;
}

/* The waits the sampler found while `e` ran, nested executions' included
 * (their time is the parent's). Nothing when the sampler was off at either
 * end: the ticks then do not cover the execution. */
void fill_sampled_waits(Sample *s, const Execution *e) {
    uint32_t interval_us = e->waits_sampled ? wait_sample_interval_us() : 0;
    uint32_t now[kSampledWaitClasses];
    if (interval_us == 0 || !wait_ticks_read(now)) {
        s->wait_sample_interval_us = 0;
        memset(s->sampled_wait_ticks, 0, sizeof(s->sampled_wait_ticks));
        return;
    }
    s->wait_sample_interval_us = interval_us;
    /* modulo 2^32: the counters wrap */
    for (int c = 0; c < kSampledWaitClasses; c++)
        s->sampled_wait_ticks[c] = now[c] - e->wait_ticks_at_start[c];
}

Execution *free_slot() {
    for (int i = 0; i < kMaxOpen; i++)
        if (open_executions[i].state == SlotState::Free)
            return &open_executions[i];
    return nullptr;
}

/* Copies at most kTagBytes of a comment; its whole length is kept. */
uint32_t copy_tags(char *to, const char *from, size_t len) {
    size_t kept = len < kTagBytes ? len : kTagBytes;
    if (kept > 0)
        memcpy(to, from, kept);
    return static_cast<uint32_t>(len);
}

uint32_t tags_of_planned_statement() {
    if (!planning_tags_found) {
        const char *body = nullptr;
        size_t len = 0;
        planning_tags_len =
            find_sqlcommenter(planning_text, planning_text_len, &body, &len)
                ? copy_tags(planning_tags, body, len)
                : 0;
        planning_tags_found = true;
    }
    return planning_tags_len;
}

void on_query_memory_freed(void *arg);

void fill_identity(Sample *s, uint64_t exec_id, uint64_t parent_exec_id,
                   int level, SampleCmd cmd, int64_t queryid, uint32_t userid,
                   const char *tags, uint32_t tags_len) {
    s->exec_id = exec_id;
    s->parent_exec_id = parent_exec_id;
    s->pid = MyProcPid;
    s->nesting_level = static_cast<int16_t>(level);
    s->flags = level == 0 ? kFlagTopLevel : 0;
    s->cmd = cmd;
    s->dbid = MyDatabaseId;
    s->userid = userid;
    if (!client_known)
        learn_client_address();
    s->client_family = client_family;
    memcpy(s->client_addr, client_addr, sizeof(client_addr));
    uint32_t kept = tags_len < kTagBytes ? tags_len : kTagBytes;
    s->tags_len = static_cast<uint16_t>(kept);
    if (kept > 0)
        memcpy(s->tags, tags, kept);
    if (tags_len > kept)
        s->flags |= kFlagTagsTruncated;
    strlcpy(s->app_name, application_name ? application_name : "",
            kAppNameBytes);
    s->queryid = queryid;
}

/* Writes the held sample, if any, failed with `sqlstate` unless 0. */
void write_held_sample(int sqlstate) {
    if (!sample_held)
        return;
    sample_held = false;
    uint64_t ticket = 0;
    Sample *s = ring_begin_write(&ticket);
    if (s == nullptr)
        return;
    uint64_t seq = s->seq;
    memcpy(s, &held_sample, sample_used_bytes(held_sample));
    s->seq = seq;
    if (sqlstate != 0)
        s->sqlstate = sqlstate;
    ring_end_write(ticket);
}

} // namespace

bool reader_session = false;

namespace {
/* The top-level execution that ended last, and whether the word was lent to
 * it for the commit of its transaction. */
uint64_t last_top_level_exec_id = 0;
bool word_lent_for_commit = false;
} // namespace

void commit_attribution_begin() {
    if (qprof_word->exec_id == 0 && last_top_level_exec_id != 0) {
        qprof_word->exec_id = last_top_level_exec_id;
        word_lent_for_commit = true;
    }
}

void commit_attribution_end() {
    if (word_lent_for_commit) {
        /* the commit's CPU is the statement's, like its waits */
        if (qprof_word->ended_exec_id == qprof_word->exec_id) {
            instr_time now;
            INSTR_TIME_SET_CURRENT(now);
            qprof_word->ended_ns = instr_ns(now);
        }
        qprof_word->exec_id = 0;
        word_lent_for_commit = false;
    }
    last_top_level_exec_id = 0;
}

bool level_is_tracked(int level) {
    if (!settings.enabled || reader_session || IsParallelWorker())
        return false;
    switch (static_cast<TrackLevel>(settings.track)) {
    case TrackLevel::All:
        return true;
    case TrackLevel::Top:
        return level == 0;
    default:
        return false;
    }
}

bool statement_is_sampled(int level, int64_t queryid) {
    if (level == 0) {
        if (planning_decision.valid && planning_decision.queryid == queryid)
            top_sampled = planning_decision.sampled;
        else
            top_sampled = draw_top_sampling();
        planning_decision.valid = false;
    }
    if (!top_sampled)
        ring_count_skipped_by_sampling();
    return top_sampled;
}

bool planning_is_sampled(int level, int64_t queryid) {
    if (level > 0)
        return top_sampled;
    /* drawn already when the statement was analyzed */
    if (planning_decision.valid && planning_decision.queryid == queryid)
        return planning_decision.sampled;
    planning_decision = {true, queryid, draw_top_sampling()};
    return planning_decision.sampled;
}

bool analysis_is_sampled() {
    planning_decision.valid = false;
    top_sampled = draw_top_sampling();
    if (!top_sampled)
        ring_count_skipped_by_sampling();
    return top_sampled;
}

void analysis_keep_decision(int64_t queryid) {
    planning_decision = {true, queryid, top_sampled};
}

void word_publish_identity() {
    qprof_word->pid = MyProcPid;
    /* MyProc's by now: the BPF programs read the wait event there */
    uintptr_t wait_event = reinterpret_cast<uintptr_t>(my_wait_event_info);
    qprof_word->wait_event_address_lo = uint32_t(wait_event);
    qprof_word->wait_event_address_hi = uint32_t(uint64_t(wait_event) >> 32);
}

uint64_t next_exec_id() {
    /* this backend's first execution: the word was inherited from the
     * postmaster, it still says nothing about who we are; and the page
     * faults of the sampler's first read are taken before the execution's
     * window opens (wait_sampler.h) */
    if (unlikely(exec_counter == 0)) {
        word_publish_identity();
        wait_sampler_backend_attach();
    }
    if (qprof_word->exec_id == 0)
        word_slots_follow();
    return ++exec_counter;
}

void remember_planning(int level, int64_t queryid, uint64_t exec_id,
                       int64_t plan_time_ns) {
    pending = {true, level, queryid, exec_id, plan_time_ns};
}

void forget_planning(int level, int64_t queryid) {
    if (pending.valid && pending.level == level && pending.queryid == queryid)
        pending.valid = false;
}

RunningContext planning_enter(uint64_t exec_id, int level,
                              const char *stmt_text, size_t stmt_text_len) {
    RunningContext saved = running;
    running.exec_id = exec_id;
    if (level == 0) {
        planning_text = stmt_text;
        planning_text_len = stmt_text_len;
        planning_tags_found = false;
        running.tags = planning_tags;
        running.tags_len = 0; /* tags_of_planned_statement() */
    }
    qprof_word->exec_id = exec_id;
    return saved;
}

Execution *execution_open(const void *key, int64_t queryid, SampleCmd cmd,
                          const char *stmt_text, size_t stmt_text_len,
                          int level) {
    Execution *e = open_count < kMaxOpen ? free_slot() : nullptr;
    if (e == nullptr) {
        ring_count_skipped_too_deep();
        return nullptr;
    }
    e->state = SlotState::Open;
    e->tied = false;
    open_order[open_count++] = static_cast<uint8_t>(e - open_executions);
    e->key = key;
    e->queryid = queryid;
    e->cmd = cmd;
    e->level = static_cast<int16_t>(level);
    e->instrumented = false;
    e->parent_exec_id = level == 0 ? 0 : running.exec_id;
    e->userid = GetUserId();

    /* The planner hook chose the id of the execution it planned, so that
     * what happened while planning is attributed to it too. */
    bool planned =
        pending.valid && pending.level == level && pending.queryid == queryid;
    if (planned) {
        e->exec_id = pending.exec_id;
        e->plan_time_ns = pending.plan_time_ns;
    } else {
        e->exec_id = next_exec_id();
        e->plan_time_ns = 0;
    }
    pending.valid = false;

    if (level == 0) {
        const char *body = nullptr;
        size_t len = 0;
        e->tags_len = find_sqlcommenter(stmt_text, stmt_text_len, &body, &len)
                          ? copy_tags(e->tags, body, len)
                          : 0;
    } else {
        uint32_t len = running.tags == planning_tags
                           ? tags_of_planned_statement()
                           : running.tags_len;
        e->tags_len =
            running.tags != nullptr ? copy_tags(e->tags, running.tags, len) : 0;
    }

    e->rows = 0;
    e->buffers_at_start = pgBufferUsage;
    e->wal_at_start = pgWalUsage;
    e->waits_sampled = wait_sample_interval_us() != 0 &&
                       wait_ticks_read(e->wait_ticks_at_start);
    if (level == 0 || wall_minus_monotonic_ns == 0) {
        e->start_wall_ns = GetCurrentTimestamp() * 1000;
        INSTR_TIME_SET_CURRENT(e->start);
        wall_minus_monotonic_ns = e->start_wall_ns - instr_ns(e->start);
        /* a statement the planner hook saw began when its planning did */
        if (level == 0 && !planned)
            qprof_word->started_ns = instr_ns(e->start);
    } else {
        INSTR_TIME_SET_CURRENT(e->start);
        e->start_wall_ns = wall_minus_monotonic_ns + instr_ns(e->start);
    }
    return e;
}

Execution *execution_find(const void *key) {
    for (int i = open_count - 1; i >= 0; i--)
        if (open_executions[open_order[i]].key == key)
            return &open_executions[open_order[i]];
    return nullptr;
}

void execution_tie_to_memory(Execution *e, MemoryContextData *query_memory) {
    e->on_memory_freed.func = on_query_memory_freed;
    e->on_memory_freed.arg = e;
    MemoryContextRegisterResetCallback(query_memory, &e->on_memory_freed);
    e->tied = true;
}

void note_error(int sqlstate) {
    last_error_sqlstate = sqlstate;
}

RunningContext execution_enter(Execution *e) {
    RunningContext saved = running;
    running.exec_id = e->exec_id;
    running.tags = e->tags;
    running.tags_len = e->tags_len;
    qprof_word->exec_id = e->exec_id;
    return saved;
}

void execution_leave(RunningContext saved) {
    running = saved;
    qprof_word->exec_id = saved.exec_id;
}

void execution_add_rows(const void *key, uint64_t rows) {
    if (Execution *e = execution_find(key))
        e->rows += static_cast<int64_t>(rows);
}

int64_t execution_rows(const Execution *e) {
    return e->rows;
}

uint64_t execution_id(const Execution *e) {
    return e->exec_id;
}
int64_t execution_queryid(const Execution *e) {
    return e->queryid;
}
void execution_set_instrumented(Execution *e, bool instrumented) {
    e->instrumented = instrumented;
}
bool execution_instrumented(const Execution *e) {
    return e->instrumented;
}

int64_t execution_elapsed_ns(const Execution *e) {
    instr_time now;
    INSTR_TIME_SET_CURRENT(now);
    INSTR_TIME_SUBTRACT(now, e->start);
    return instr_ns(now);
}

bool execution_long_enough(int64_t elapsed_ns) {
    if (settings.min_duration_ms <= 0 ||
        elapsed_ns >= static_cast<int64_t>(settings.min_duration_ms) * 1000000)
        return true;
    ring_count_skipped_by_min_duration();
    return false;
}

void execution_publish_end(const Execution *e, int64_t exec_time_ns) {
    if (e->level != 0)
        return;
    qprof_word->ended_ns = instr_ns(e->start) + exec_time_ns;
    qprof_word->ended_exec_id = e->exec_id;
    qprof_word->exec_id = 0;
}

void execution_close(Execution *e, const ExecutionOutcome &out) {
    if (e->level == 0)
        last_top_level_exec_id = e->exec_id;
    int64_t exec_time_ns =
        out.exec_time_ns >= 0 ? out.exec_time_ns : execution_elapsed_ns(e);
    /* counters since the execution opened, straight into the sample */
    const BufferUsage &now = pgBufferUsage;
    const BufferUsage &then = e->buffers_at_start;

    /* A statement whose commit comes next is held until then. One sample
     * at most is held: statements that run after it in the same
     * transaction (pipelined ones, or the queries of deferred foreign keys
     * run by the commit) are written at once, and a failed commit fails
     * the first. */
    bool hold =
        out.commits_after && e->level == 0 && out.sqlstate == 0 && !sample_held;
    uint64_t ticket = 0;
    Sample *s = hold ? &held_sample : ring_begin_write(&ticket);
    if (s == nullptr) {
        forget(e);
        return;
    }
    /* the end, for the kernel's programs (ExecutorEnd published it before
     * storing the plan; a failed or utility statement ends here). The
     * collector keeps a last CPU slice that finds no sample (a full ring)
     * for a bounded time only. */
    if (e->level == 0) {
        qprof_word->ended_ns = instr_ns(e->start) + exec_time_ns;
        qprof_word->ended_exec_id = e->exec_id;
    }
    fill_identity(s, e->exec_id, e->parent_exec_id, e->level, e->cmd,
                  e->queryid, e->userid, e->tags, e->tags_len);
    if (out.node_actuals)
        s->flags |= kFlagNodeActuals;
    if (out.planning_only)
        s->flags |= kFlagPlanningOnly;
    s->planid = out.planid;
    s->start_ts = e->start_wall_ns / 1000;
    s->end_ts = (e->start_wall_ns + exec_time_ns) / 1000;
    s->plan_time_ns = e->plan_time_ns;
    s->exec_time_ns = exec_time_ns;
    s->rows = out.rows;
    s->shared_blks_hit = now.shared_blks_hit - then.shared_blks_hit;
    s->shared_blks_read = now.shared_blks_read - then.shared_blks_read;
    s->shared_blks_dirtied = now.shared_blks_dirtied - then.shared_blks_dirtied;
    s->shared_blks_written = now.shared_blks_written - then.shared_blks_written;
    s->local_blks_hit = now.local_blks_hit - then.local_blks_hit;
    s->local_blks_read = now.local_blks_read - then.local_blks_read;
    s->local_blks_dirtied = now.local_blks_dirtied - then.local_blks_dirtied;
    s->local_blks_written = now.local_blks_written - then.local_blks_written;
    s->temp_blks_read = now.temp_blks_read - then.temp_blks_read;
    s->temp_blks_written = now.temp_blks_written - then.temp_blks_written;
    s->blk_read_time_ns =
        instr_ns(now.blk_read_time) - instr_ns(then.blk_read_time);
    s->blk_write_time_ns =
        instr_ns(now.blk_write_time) - instr_ns(then.blk_write_time);
    s->temp_blk_read_time_ns =
        instr_ns(now.temp_blk_read_time) - instr_ns(then.temp_blk_read_time);
    s->temp_blk_write_time_ns =
        instr_ns(now.temp_blk_write_time) - instr_ns(then.temp_blk_write_time);
    s->wal_records = pgWalUsage.wal_records - e->wal_at_start.wal_records;
    s->wal_fpi = pgWalUsage.wal_fpi - e->wal_at_start.wal_fpi;
    s->wal_bytes =
        static_cast<int64_t>(pgWalUsage.wal_bytes - e->wal_at_start.wal_bytes);
    s->jit_functions = out.jit_functions;
    s->jit_generation_time_ns = out.jit_generation_time_ns;
    s->jit_inlining_time_ns = out.jit_inlining_time_ns;
    s->jit_optimization_time_ns = out.jit_optimization_time_ns;
    s->jit_emission_time_ns = out.jit_emission_time_ns;
    s->parallel_workers_planned = out.parallel_workers_planned;
    s->parallel_workers_launched = out.parallel_workers_launched;
    s->sqlstate = out.sqlstate;
    fill_sampled_waits(s, e);
    if (hold)
        sample_held = true;
    else
        ring_end_write(ticket);
    forget(e);
}

void execution_discard(Execution *e) {
    forget(e);
}

void record_planning_failure(int64_t queryid, SampleCmd cmd, uint64_t exec_id,
                             const char *stmt_text, size_t stmt_text_len,
                             int level, int64_t start_ts, int64_t plan_time_ns,
                             int sqlstate) {
    const char *tags = running.tags;
    size_t tags_len = running.tags_len;
    if (level == 0 &&
        !find_sqlcommenter(stmt_text, stmt_text_len, &tags, &tags_len)) {
        tags = nullptr;
        tags_len = 0;
    }
    uint64_t ticket = 0;
    Sample *s = ring_begin_write(&ticket);
    if (s == nullptr)
        return;
    /* zero the work counters: this statement never ran */
    memset(reinterpret_cast<char *>(s) + offsetof(Sample, exec_id), 0,
           offsetof(Sample, tags) - offsetof(Sample, exec_id));
    fill_identity(s, exec_id, running.exec_id, level, cmd, queryid, GetUserId(),
                  tags, static_cast<uint32_t>(tags_len));
    s->flags |= kFlagPlanningOnly;
    s->start_ts = start_ts;
    s->end_ts = start_ts + plan_time_ns / 1000;
    s->plan_time_ns = plan_time_ns;
    s->sqlstate = sqlstate;
    ring_end_write(ticket);
}

void transaction_ended(bool committed) {
    /* an implicit transaction aborts after its statement succeeded only on
     * an error at commit; its code is known when the log saw it */
    if (!committed)
        write_held_sample(last_error_sqlstate != 0
                              ? last_error_sqlstate
                              : ERRCODE_TRANSACTION_ROLLBACK);
    else
        write_held_sample(0);
    last_error_sqlstate = 0;
    pending.valid = false;
    /* an error no handler of ours saw may have left an execution entered */
    if (!committed && open_count == 0) {
        running = {0, nullptr, 0};
        qprof_word->exec_id = 0;
    }
}

void subtransaction_ended() {
    last_error_sqlstate = 0;
}

namespace {

/* The query's memory is being freed: an execution still open there was
 * abandoned (its portal dropped without ExecutorEnd). Runs inside
 * MemoryContextDelete, possibly during an abort: nothing here can fail. */
void on_query_memory_freed(void *arg) {
    Execution *e = static_cast<Execution *>(arg);
    e->tied = false;
    if (e->state == SlotState::Open) {
        ExecutionOutcome abandoned;
        abandoned.sqlstate = last_error_sqlstate;
        abandoned.rows = e->rows;
        execution_close(e, abandoned);
    }
    e->state = SlotState::Free;
}

} // namespace

} // namespace qprof
