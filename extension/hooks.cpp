/*
 * hooks.cpp — the planner, executor and utility hooks: every statement of
 * every backend passes through here, so the untracked path does nothing but
 * chain to the previous hook.
 *
 * Error contract: this file is written in plain C style (no objects with
 * destructors), because PostgreSQL errors longjmp through it. Failures are
 * caught with PG_TRY around the wrapped call, recorded with their SQLSTATE
 * and re-thrown unchanged.
 */
#include <cstring>

extern "C" {
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "executor/executor.h"
#include "jit/jit.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "parser/analyze.h"
#include "portability/instr_time.h"
#include "tcop/utility.h"
#include "utils/elog.h"
#include "utils/queryjumble.h"
#include "utils/timestamp.h"
}

#include "executions.h"
#include "word_slots.h"
#include "hooks.h"
#include "instr_ns.h"
#include "parallel_attribution.h"
#include "plan_capture.h"
#include "query_texts.h"
#include "settings.h"
#include "sqlcommenter.h"

namespace qprof {

namespace {

post_parse_analyze_hook_type prev_post_parse_analyze = nullptr;
planner_hook_type prev_planner = nullptr;
ExecutorStart_hook_type prev_ExecutorStart = nullptr;
ExecutorRun_hook_type prev_ExecutorRun = nullptr;
ExecutorFinish_hook_type prev_ExecutorFinish = nullptr;
ExecutorEnd_hook_type prev_ExecutorEnd = nullptr;
ProcessUtility_hook_type prev_ProcessUtility = nullptr;
emit_log_hook_type prev_emit_log = nullptr;

/* Whether the commit to come can still fail the transaction: deferred
 * constraints need a transaction that wrote (it has an xid), serialization
 * failures a serializable one. A read-only statement sent alone, the common
 * case, is then written at once rather than held (executions.h). */
bool commit_may_fail() {
    return TransactionIdIsValid(GetTopTransactionIdIfAny()) ||
           IsolationIsSerializable();
}

SampleCmd cmd_of(CmdType type) {
    switch (type) {
    case CMD_SELECT:
        return SampleCmd::Select;
    case CMD_UPDATE:
        return SampleCmd::Update;
    case CMD_INSERT:
        return SampleCmd::Insert;
    case CMD_DELETE:
        return SampleCmd::Delete;
    case CMD_MERGE:
        return SampleCmd::Merge;
    case CMD_UTILITY:
        return SampleCmd::Utility;
    default:
        return SampleCmd::Unknown;
    }
}

bool is_tracked_utility(const Node *stmt) {
    /* EXECUTE is recorded by the executor hooks of the statement it runs;
     * PREPARE and DEALLOCATE are bookkeeping (pg_stat_statements agrees). */
    return !IsA(stmt, ExecuteStmt) && !IsA(stmt, PrepareStmt) &&
           !IsA(stmt, DeallocateStmt);
}

/* Whether this backend may analyze at the top level a statement it runs
 * more than once: one prepared by the extended protocol's Parse message or
 * by PREPARE is analyzed again, at the top level, when its cached plan is
 * invalidated. Until then, every statement analyzed at the top level is a
 * simple query's, which runs once. */
bool backend_reuses_statements = false;

/* Whether the statement being analyzed needs a query id. Only a statement
 * that runs once, at the top level, and that will not be recorded can do
 * without: it is the one case where pg_qprof knows, before jumbling, that
 * nothing will ever ask for its id. */
bool query_id_needed(const ParseState *pstate, const Query *query,
                     bool *decision_drawn) {
    if (nesting_level > 0 || IsBackgroundWorker)
        return true;
    /* the Parse message's analysis; also PREPARE's, at any level (below) */
    if (pstate->p_paramref_hook != nullptr)
        backend_reuses_statements = true;
    if (backend_reuses_statements)
        return true;
    if (!level_is_tracked(0))
        return false;
    if (query->commandType == CMD_UTILITY &&
        (!settings.track_utility || !is_tracked_utility(query->utilityStmt)))
        return false;
    if (settings.sample_rate >= 1.0)
        return true;
    *decision_drawn = true;
    return analysis_is_sampled();
}

/* JumbleQuery, which expects query ids to be on. When it fails (stack
 * depth), the (sub)transaction's abort turns them back off
 * (jumbling_failed): the core would jumble every statement otherwise. A
 * PG_TRY here would cost every statement a sigsetjmp. */
bool jumbling = false;
bool query_id_enabled_before = false;

JumbleState *jumble(Query *query, const char *text) {
    query_id_enabled_before = query_id_enabled;
    query_id_enabled = true;
    jumbling = true;
    JumbleState *jstate = JumbleQuery(query, text);
    jumbling = false;
    query_id_enabled = query_id_enabled_before;
    return jstate;
}

void jumbling_failed() {
    if (jumbling) {
        jumbling = false;
        query_id_enabled = query_id_enabled_before;
    }
}

/* pg_qprof does not turn compute_query_id's `auto` on for every statement,
 * as pg_stat_statements does: it jumbles the statements itself, all but
 * those no one will ask the id of (query_id_needed). The jumbling costs
 * about 2.5% of a point SELECT. When compute_query_id is `on`, or a module
 * turned `auto` on, the core has jumbled the statement already. */
void qprof_post_parse_analyze(ParseState *pstate, Query *query,
                              JumbleState *jstate) {
    bool decision_drawn = false;
    if (query->queryId == 0 && compute_query_id != COMPUTE_QUERY_ID_OFF &&
        query_id_needed(pstate, query, &decision_drawn)) {
        jstate = jumble(query, pstate->p_sourcetext);
        if (decision_drawn)
            analysis_keep_decision(query->queryId);
    }
    if (prev_post_parse_analyze)
        prev_post_parse_analyze(pstate, query, jstate);
    if (settings.enabled && query->queryId != 0)
        query_texts_remember(pstate, query, jstate);
}

PlannedStmt *qprof_planner(Query *parse, const char *query_string,
                           int cursor_options, ParamListInfo bound_params) {
    if (parse->queryId == 0 || !level_is_tracked(nesting_level) ||
        query_string == nullptr ||
        (settings.sample_rate < 1.0 &&
         !planning_is_sampled(nesting_level, parse->queryId))) {
        if (prev_planner)
            return prev_planner(parse, query_string, cursor_options,
                                bound_params);
        return standard_planner(parse, query_string, cursor_options,
                                bound_params);
    }

    PlannedStmt *volatile result = nullptr;
    uint64_t exec_id = next_exec_id();
    instr_time start;
    INSTR_TIME_SET_CURRENT(start);
    if (nesting_level == 0)
        qprof_word->started_ns = instr_ns(start);
    const char *text = nullptr;
    size_t text_len = 0;
    if (nesting_level == 0)
        text_len = statement_text(query_string, parse->stmt_location,
                                  parse->stmt_len, &text);
    /* what planning runs (functions folded as constants) is nested in the
     * statement planned */
    RunningContext saved =
        planning_enter(exec_id, nesting_level, text, text_len);
    nesting_level++;
    PG_TRY();
    {
        if (prev_planner)
            result =
                prev_planner(parse, query_string, cursor_options, bound_params);
        else
            result = standard_planner(parse, query_string, cursor_options,
                                      bound_params);
    }
    PG_CATCH();
    {
        nesting_level--;
        execution_leave(saved);
        int sqlstate = geterrcode();
        note_error(sqlstate);
        instr_time elapsed;
        INSTR_TIME_SET_CURRENT(elapsed);
        INSTR_TIME_SUBTRACT(elapsed, start);
        /* planning-time failures (1/0 folded as a constant, bad casts) are
         * failed executions of this statement */
        if (statement_is_sampled(nesting_level, parse->queryId)) {
            record_planning_failure(parse->queryId, cmd_of(parse->commandType),
                                    exec_id, text, text_len, nesting_level,
                                    GetCurrentTimestamp() -
                                        instr_ns(elapsed) / 1000,
                                    instr_ns(elapsed), sqlstate);
        }
        PG_RE_THROW();
    }
    PG_END_TRY();
    nesting_level--;
    execution_leave(saved);

    instr_time elapsed;
    INSTR_TIME_SET_CURRENT(elapsed);
    INSTR_TIME_SUBTRACT(elapsed, start);
    remember_planning(nesting_level, parse->queryId, exec_id,
                      instr_ns(elapsed));
    return result;
}

/* In a PG_CATCH block: records the execution keyed by `key`, if it is still
 * open, as failed with the SQLSTATE of the error being handled. */
void close_failed_execution(const void *key) {
    int sqlstate = geterrcode();
    note_error(sqlstate);
    Execution *e = execution_find(key);
    if (e != nullptr) {
        ExecutionOutcome failed;
        failed.sqlstate = sqlstate;
        execution_close(e, failed);
    }
}

void run_ExecutorStart(QueryDesc *query_desc, int eflags) {
    if (prev_ExecutorStart)
        prev_ExecutorStart(query_desc, eflags);
    else
        standard_ExecutorStart(query_desc, eflags);
}

void qprof_ExecutorStart(QueryDesc *query_desc, int eflags) {
    if (IsParallelWorker()) {
        /* not an execution of its own: its kernel events are the leader's */
        if (nesting_level == 0)
            parallel_worker_adopt();
        run_ExecutorStart(query_desc, eflags);
        return;
    }
    int64_t queryid = query_desc->plannedstmt->queryId;
    if (eflags & EXEC_FLAG_EXPLAIN_ONLY) {
        /* planned to be explained only: no execution will claim it */
        forget_planning(nesting_level, queryid);
        run_ExecutorStart(query_desc, eflags);
        return;
    }
    if (queryid == 0 || !level_is_tracked(nesting_level) ||
        !statement_is_sampled(nesting_level, queryid)) {
        run_ExecutorStart(query_desc, eflags);
        return;
    }
    const PlannedStmt *stmt = query_desc->plannedstmt;
    const char *text = nullptr;
    size_t text_len = 0;
    if (nesting_level == 0)
        text_len = statement_text(query_desc->sourceText, stmt->stmt_location,
                                  stmt->stmt_len, &text);
    Execution *e =
        execution_open(query_desc, queryid, cmd_of(query_desc->operation), text,
                       text_len, nesting_level);
    if (e == nullptr) {
        run_ExecutorStart(query_desc, eflags);
        return;
    }
    RunningContext saved = execution_enter(e);
    PG_TRY();
    {
        execution_set_instrumented(e, node_actuals_begin(query_desc));
        /* before standard_ExecutorStart enters parallel mode */
        if (stmt->parallelModeNeeded)
            parallel_leader_publish(qprof_word->exec_id);
        run_ExecutorStart(query_desc, eflags);
        /* closed whatever ends the query, ExecutorEnd or not */
        execution_tie_to_memory(e, query_desc->estate->es_query_cxt);
    }
    PG_CATCH();
    {
        execution_leave(saved);
        close_failed_execution(query_desc);
        PG_RE_THROW();
    }
    PG_END_TRY();
    execution_leave(saved);
}

/* Runs one phase (Run or Finish) of an execution with the nesting level and
 * the running execution set, recording the execution if the phase fails.
 * `phase` is a lambda capturing by reference: nothing to destroy on longjmp. */
template <typename Phase> void run_phase(QueryDesc *query_desc, Phase phase) {
    Execution *e = execution_find(query_desc);
    RunningContext saved = running;
    if (e != nullptr)
        saved = execution_enter(e);
    nesting_level++;
    PG_TRY();
    { phase(); }
    PG_CATCH();
    {
        nesting_level--;
        execution_leave(saved);
        close_failed_execution(query_desc);
        PG_RE_THROW();
    }
    PG_END_TRY();
    nesting_level--;
    execution_leave(saved);
}

void qprof_ExecutorRun(QueryDesc *query_desc, ScanDirection direction,
                       uint64 count, bool execute_once) {
    run_phase(query_desc, [&]() {
        /* the workers this run may launch work for the running execution */
        if (query_desc->plannedstmt->parallelModeNeeded)
            parallel_leader_publish(qprof_word->exec_id);
        if (prev_ExecutorRun)
            prev_ExecutorRun(query_desc, direction, count, execute_once);
        else
            standard_ExecutorRun(query_desc, direction, count, execute_once);
        execution_add_rows(query_desc, query_desc->estate->es_processed);
    });
}

void qprof_ExecutorFinish(QueryDesc *query_desc) {
    run_phase(query_desc, [&]() {
        if (prev_ExecutorFinish)
            prev_ExecutorFinish(query_desc);
        else
            standard_ExecutorFinish(query_desc);
    });
}

/* Workers planned and launched by the Gather nodes of a parallel plan. */
bool count_parallel_workers(PlanState *node, void *context) {
    if (node == nullptr)
        return false;
    ExecutionOutcome *out = static_cast<ExecutionOutcome *>(context);
    if (IsA(node, GatherState)) {
        out->parallel_workers_planned +=
            reinterpret_cast<Gather *>(node->plan)->num_workers;
        out->parallel_workers_launched +=
            reinterpret_cast<GatherState *>(node)->nworkers_launched;
    } else if (IsA(node, GatherMergeState)) {
        out->parallel_workers_planned +=
            reinterpret_cast<GatherMerge *>(node->plan)->num_workers;
        out->parallel_workers_launched +=
            reinterpret_cast<GatherMergeState *>(node)->nworkers_launched;
    }
    return planstate_tree_walker(
        node,
        reinterpret_cast<bool (*)()>(
            reinterpret_cast<void (*)()>(count_parallel_workers)),
        context);
}

void add_jit(ExecutionOutcome *out, const JitInstrumentation *ji) {
    out->jit_functions += static_cast<int64_t>(ji->created_functions);
    out->jit_generation_time_ns += instr_ns(ji->generation_counter);
    out->jit_inlining_time_ns += instr_ns(ji->inlining_counter);
    out->jit_optimization_time_ns += instr_ns(ji->optimization_counter);
    out->jit_emission_time_ns += instr_ns(ji->emission_counter);
}

void run_ExecutorEnd(QueryDesc *query_desc) {
    if (prev_ExecutorEnd)
        prev_ExecutorEnd(query_desc);
    else
        standard_ExecutorEnd(query_desc);
}

void qprof_ExecutorEnd(QueryDesc *query_desc) {
    if (IsParallelWorker()) {
        if (nesting_level == 0)
            parallel_worker_release();
        run_ExecutorEnd(query_desc);
        return;
    }
    Execution *e = execution_find(query_desc);
    if (e == nullptr) {
        run_ExecutorEnd(query_desc);
        return;
    }
    int64_t elapsed_ns = execution_elapsed_ns(e);
    if (!execution_long_enough(elapsed_ns)) {
        execution_discard(e);
        run_ExecutorEnd(query_desc);
        return;
    }

    RunningContext saved = execution_enter(e);
    /* a preemption while the plan is stored is not the statement's */
    execution_publish_end(e, elapsed_ns);
    ExecutionOutcome out;
    out.exec_time_ns = elapsed_ns;
    out.commits_after =
        nesting_level == 0 && !IsTransactionBlock() && commit_may_fail();
    EState *estate = query_desc->estate;
    out.rows = execution_rows(e);
    if (query_desc->plannedstmt->parallelModeNeeded &&
        query_desc->planstate != nullptr)
        count_parallel_workers(query_desc->planstate, &out);
    if (estate->es_jit != nullptr)
        add_jit(&out, &estate->es_jit->instr);
    if (estate->es_jit_worker_instr != nullptr)
        add_jit(&out, estate->es_jit_worker_instr);

    /* Neither raises: a plan that cannot be stored is counted, never an
     * error of the statement's (plan_capture.h). */
    out.planid = plan_id_of(query_desc);
    out.node_actuals = plans_capture_end(
        query_desc, execution_queryid(e), out.planid, execution_id(e),
        execution_instrumented(e), static_cast<double>(elapsed_ns) / 1e6);
    execution_close(e, out);
    execution_leave(saved);
    run_ExecutorEnd(query_desc);
}

/* Utility statements that may run parallel workers of their own (index
 * builds, index vacuuming), with no executor plan. */
bool may_launch_workers(Node *stmt) {
    return IsA(stmt, IndexStmt) || IsA(stmt, ReindexStmt) ||
           IsA(stmt, VacuumStmt);
}

/* COMMIT (or END): the transaction commits once the statement has ended. */
bool is_commit(const Node *stmt) {
    return IsA(stmt, TransactionStmt) &&
           reinterpret_cast<const TransactionStmt *>(stmt)->kind ==
               TRANS_STMT_COMMIT;
}

/* Rows reported by the utility statements that process rows. */
int64_t utility_rows(const QueryCompletion *qc) {
    if (qc == nullptr)
        return 0;
    switch (qc->commandTag) {
    case CMDTAG_COPY:
    case CMDTAG_FETCH:
    case CMDTAG_SELECT:
    case CMDTAG_REFRESH_MATERIALIZED_VIEW:
        return static_cast<int64_t>(qc->nprocessed);
    default:
        return 0;
    }
}

void run_ProcessUtility(PlannedStmt *pstmt, const char *query_string,
                        bool read_only_tree, ProcessUtilityContext context,
                        ParamListInfo params, QueryEnvironment *query_env,
                        DestReceiver *dest, QueryCompletion *qc) {
    if (prev_ProcessUtility)
        prev_ProcessUtility(pstmt, query_string, read_only_tree, context,
                            params, query_env, dest, qc);
    else
        standard_ProcessUtility(pstmt, query_string, read_only_tree, context,
                                params, query_env, dest, qc);
}

void qprof_ProcessUtility(PlannedStmt *pstmt, const char *query_string,
                          bool read_only_tree, ProcessUtilityContext context,
                          ParamListInfo params, QueryEnvironment *query_env,
                          DestReceiver *dest, QueryCompletion *qc) {
    Node *stmt = pstmt->utilityStmt;
    Execution *e = nullptr;
    if (IsA(stmt, PrepareStmt))
        backend_reuses_statements = true;
    if (pstmt->queryId != 0 && settings.track_utility &&
        level_is_tracked(nesting_level) && is_tracked_utility(stmt) &&
        statement_is_sampled(nesting_level, pstmt->queryId)) {
        const char *text = nullptr;
        size_t text_len = 0;
        if (nesting_level == 0)
            text_len = statement_text(query_string, pstmt->stmt_location,
                                      pstmt->stmt_len, &text);
        e = execution_open(pstmt, pstmt->queryId, SampleCmd::Utility, text,
                           text_len, nesting_level);
    }
    if (e == nullptr) {
        /* not recorded: its workers must not adopt an older execution */
        if (may_launch_workers(stmt))
            parallel_leader_publish(qprof_word->exec_id);
        /* The statement EXECUTE runs is the top-level one; the statements
         * run inside any other utility statement are nested in it. */
        if (IsA(stmt, ExecuteStmt)) {
            run_ProcessUtility(pstmt, query_string, read_only_tree, context,
                               params, query_env, dest, qc);
            return;
        }
        nesting_level++;
        PG_TRY();
        {
            run_ProcessUtility(pstmt, query_string, read_only_tree, context,
                               params, query_env, dest, qc);
        }
        PG_FINALLY();
        { nesting_level--; }
        PG_END_TRY();
        return;
    }

    RunningContext saved = execution_enter(e);
    if (may_launch_workers(stmt))
        parallel_leader_publish(qprof_word->exec_id);
    nesting_level++;
    PG_TRY();
    {
        run_ProcessUtility(pstmt, query_string, read_only_tree, context, params,
                           query_env, dest, qc);
    }
    PG_CATCH();
    {
        nesting_level--;
        execution_leave(saved);
        close_failed_execution(pstmt);
        PG_RE_THROW();
    }
    PG_END_TRY();
    nesting_level--;
    execution_leave(saved);

    /* the statement may have ended the transaction that opened it (COMMIT,
     * or a procedure's own COMMIT): look it up again */
    e = execution_find(pstmt);
    if (e == nullptr)
        return;
    if (!execution_long_enough(execution_elapsed_ns(e))) {
        execution_discard(e);
        return;
    }
    ExecutionOutcome out;
    out.rows = utility_rows(qc);
    out.commits_after = nesting_level == 0 &&
                        (!IsTransactionBlock() || is_commit(stmt)) &&
                        commit_may_fail();
    execution_close(e, out);
}

/* Errors raised outside the hooks' own handlers (at commit, or in a
 * PL/pgSQL body between two fetches of a loop's cursor) are known here
 * only when they are logged; nothing depends on it but the SQLSTATE given
 * to the executions they end. */
void qprof_emit_log(ErrorData *edata) {
    if (edata->elevel >= ERROR)
        note_error(edata->sqlerrcode);
    if (prev_emit_log)
        prev_emit_log(edata);
}

/* Executions are closed with their query's memory (execution_tie_to_memory),
 * not here; here ends the sample held for the commit. */
void qprof_xact_callback(XactEvent event, void *arg) {
    switch (event) {
    case XACT_EVENT_PRE_COMMIT:
        /* only a transaction that wrote can wait at its commit (for its
         * WAL to be flushed, for a standby): a read-only commit is the
         * backend's cleanup, not the statement's */
        if (TransactionIdIsValid(GetTopTransactionIdIfAny()))
            commit_attribution_begin();
        break;
    case XACT_EVENT_COMMIT:
    case XACT_EVENT_PREPARE:
        commit_attribution_end();
        transaction_ended(true);
        break;
    case XACT_EVENT_ABORT:
        jumbling_failed();
        commit_attribution_end();
        transaction_ended(false);
        break;
    default:
        break;
    }
}

void qprof_subxact_callback(SubXactEvent event, SubTransactionId,
                            SubTransactionId, void *) {
    if (event == SUBXACT_EVENT_ABORT_SUB) {
        jumbling_failed();
        subtransaction_ended();
    }
}

} // namespace

void install_hooks() {
    prev_post_parse_analyze = post_parse_analyze_hook;
    post_parse_analyze_hook = qprof_post_parse_analyze;
    prev_planner = planner_hook;
    planner_hook = qprof_planner;
    prev_ExecutorStart = ExecutorStart_hook;
    ExecutorStart_hook = qprof_ExecutorStart;
    prev_ExecutorRun = ExecutorRun_hook;
    ExecutorRun_hook = qprof_ExecutorRun;
    prev_ExecutorFinish = ExecutorFinish_hook;
    ExecutorFinish_hook = qprof_ExecutorFinish;
    prev_ExecutorEnd = ExecutorEnd_hook;
    ExecutorEnd_hook = qprof_ExecutorEnd;
    prev_ProcessUtility = ProcessUtility_hook;
    ProcessUtility_hook = qprof_ProcessUtility;
    prev_emit_log = emit_log_hook;
    emit_log_hook = qprof_emit_log;
    RegisterXactCallback(qprof_xact_callback, nullptr);
    RegisterSubXactCallback(qprof_subxact_callback, nullptr);
}

} // namespace qprof
