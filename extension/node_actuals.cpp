/*
 * node_actuals.cpp — per-node actuals of a sampled share of executions, in a
 * bounded shared-memory log keyed by (pid, exec_id), readable from SQL.
 *
 * A chosen execution runs with the executor's own instrumentation (rows and
 * buffers; timers only with pg_qprof.analyze_timing). At ExecutorEnd the
 * per-node Instrumentation is copied out; workers of a parallel plan have
 * been added into the leader's nodes by then (ExecParallelCleanup), which
 * is how EXPLAIN ANALYZE sums them. Eviction: oldest kept execution first.
 *
 * Keeping them never fails the user's statement, and costs no
 * subtransaction: the copy allocates without raising (out of memory drops
 * the actuals), skips a node still running rather than let InstrEndLoop()
 * raise, and stops descending where planstate_tree_walker()'s stack check
 * would raise.
 */
#include "node_actuals.h"
#include "plan_capture.h"
#include "plan_shape.h"
#include "preload.h"
#include "shared_store.h"
#include "store_read.h"

extern "C" {
#include "postgres.h"

#include "executor/execdesc.h"
#include "executor/instrument.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "common/pg_prng.h"
#include "nodes/execnodes.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
}

#include <cmath>
#include <cstring>

namespace qprof {

namespace {

constexpr const char *kTrancheName = "pg_qprof_node_actuals";

double analyze_sample_rate = 0.0;
int analyze_min_duration_ms = 0;
bool analyze_timing = false;
int node_actuals_size_kb = 4096;

/* One plan node of one execution. Counts are totals over all loops and all
 * parallel processes; EXPLAIN ANALYZE shows rows and times per loop. */
struct NodeActual {
    int32_t node_id;        /* Plan.plan_node_id */
    int32_t parent_node_id; /* -1 for the top node of the plan */
    int32_t node_tag;
    uint32_t relid;   /* scanned relation, 0 if none */
    uint32_t indexid; /* scanned index, 0 if none */
    double plan_rows; /* the planner's estimate per loop */
    double actual_rows;
    double loops;
    double removed_by_filter;
    double removed_by_join_filter;
    double removed_by_index_recheck;
    int64_t shared_blks_hit, shared_blks_read;
    int64_t temp_blks_read, temp_blks_written;
    double startup_ms, total_ms; /* NaN when timing was off */
};

/* Payload of one record: an execution's header and its nodes. */
struct ActualsRecord {
    int32_t pid;
    uint32_t node_count;
    uint64_t exec_id;
    int64_t queryid;
    uint64_t planid;
    NodeActual nodes[1];
};

struct ActualsShared {
    LWLock *lock;
    std::atomic<uint64_t> skipped_short; /* under analyze_min_duration */
    SharedStore store;                   /* last: its log follows */
};

ActualsShared *shared = nullptr;

uint64_t log_bytes() {
    return uint64_t(node_actuals_size_kb) * 1024;
}

size_t shared_size() {
    return offsetof(ActualsShared, store) +
           store_shmem_size(0, log_bytes(), false);
}

/* State of one walk over the plan state tree. */
struct Collector {
    const PlannedStmt *stmt;
    NodeActual *nodes; /* nullptr once an allocation failed */
    int count;
    int capacity;
    int parent_node_id;
};

/* Room for one more node; false when memory ran out (nothing raised). */
bool reserve_node(Collector *c) {
    if (c->nodes == nullptr)
        return false;
    if (c->count < c->capacity)
        return true;
    auto *bigger = static_cast<NodeActual *>(palloc_extended(
        sizeof(NodeActual) * c->capacity * 2, MCXT_ALLOC_NO_OOM));
    if (bigger == nullptr) {
        pfree(c->nodes);
        c->nodes = nullptr;
        return false;
    }
    memcpy(bigger, c->nodes, sizeof(NodeActual) * c->count);
    pfree(c->nodes);
    c->nodes = bigger;
    c->capacity *= 2;
    return true;
}

/* Whether planstate_tree_walker()'s check_stack_depth() could raise: the
 * stack is measured from a frame 16 kB below this one, further down than
 * the walker's own frames reach before their check. */
__attribute__((noinline)) bool stack_nearly_full() {
    volatile char margin[16384];
    margin[0] = 0;
    margin[sizeof(margin) - 1] = 0;
    return stack_is_too_deep();
}

uint32_t relid_of_scan(const PlannedStmt *stmt, const Plan *plan) {
    NodeTag tag = nodeTag(plan);
    if (tag < T_SeqScan || tag > T_CustomScan)
        return 0;
    Index rti = reinterpret_cast<const Scan *>(plan)->scanrelid;
    if (rti == 0 || rti > Index(list_length(stmt->rtable)))
        return 0;
    const RangeTblEntry *rte = rt_fetch(rti, stmt->rtable);
    return rte->rtekind == RTE_RELATION ? rte->relid : 0;
}

uint32_t indexid_of_scan(const Plan *plan) {
    switch (nodeTag(plan)) {
    case T_IndexScan:
        return reinterpret_cast<const IndexScan *>(plan)->indexid;
    case T_IndexOnlyScan:
        return reinterpret_cast<const IndexOnlyScan *>(plan)->indexid;
    case T_BitmapIndexScan:
        return reinterpret_cast<const BitmapIndexScan *>(plan)->indexid;
    default:
        return 0;
    }
}

/* Which counter means what depends on the node, as EXPLAIN reads them:
 * joins count the join filter in nfiltered1 and the filter in nfiltered2;
 * other nodes count the filter in nfiltered1 and the index recheck in
 * nfiltered2. */
void fill_filtered(NodeActual *n, NodeTag tag, const Instrumentation *instr) {
    switch (tag) {
    case T_NestLoop:
    case T_MergeJoin:
    case T_HashJoin:
        n->removed_by_join_filter = instr->nfiltered1;
        n->removed_by_filter = instr->nfiltered2;
        break;
    case T_IndexScan:
    case T_IndexOnlyScan:
    case T_BitmapHeapScan:
        n->removed_by_filter = instr->nfiltered1;
        n->removed_by_index_recheck = instr->nfiltered2;
        break;
    default:
        n->removed_by_filter = instr->nfiltered1;
        break;
    }
}

bool collect_node(PlanState *ps, void *arg) {
    auto *c = static_cast<Collector *>(arg);
    if (!reserve_node(c))
        return true; /* stops the walk */
    const Plan *plan = ps->plan;
    NodeActual *n = &c->nodes[c->count++];
    memset(n, 0, sizeof(*n));
    n->node_id = plan->plan_node_id;
    n->parent_node_id = c->parent_node_id;
    n->node_tag = nodeTag(plan);
    n->relid = relid_of_scan(c->stmt, plan);
    n->indexid = indexid_of_scan(plan);
    n->plan_rows = plan->plan_rows;
    n->startup_ms = NAN;
    n->total_ms = NAN;
    if (Instrumentation *instr = ps->instrument) {
        /* folds a last unfinished loop in; raises for a node stopped inside
         * a loop (not seen at ExecutorEnd), whose counts are taken as is */
        if (!instr->running || INSTR_TIME_IS_ZERO(instr->starttime))
            InstrEndLoop(instr);
        n->actual_rows = instr->ntuples;
        n->loops = instr->nloops;
        fill_filtered(n, nodeTag(plan), instr);
        n->shared_blks_hit = instr->bufusage.shared_blks_hit;
        n->shared_blks_read = instr->bufusage.shared_blks_read;
        n->temp_blks_read = instr->bufusage.temp_blks_read;
        n->temp_blks_written = instr->bufusage.temp_blks_written;
        if (instr->need_timer) {
            n->startup_ms = instr->startup * 1000.0;
            n->total_ms = instr->total * 1000.0;
        }
    }
    if (stack_nearly_full())
        return false; /* its children are left out */
    int saved_parent = c->parent_node_id;
    c->parent_node_id = plan->plan_node_id;
    /* planstate_tree_walker takes an old-style untyped function pointer */
    bool stopped =
        planstate_tree_walker(ps,
                              reinterpret_cast<bool (*)()>(
                                  reinterpret_cast<void (*)()>(collect_node)),
                              c);
    c->parent_node_id = saved_parent;
    return stopped;
}

} // namespace

void node_actuals_define_settings() {
    DefineCustomRealVariable(
        "pg_qprof.analyze_sample_rate",
        "Share of recorded executions run with per-node instrumentation.",
        "0 disables per-node actuals; 1 instruments every execution.",
        &analyze_sample_rate, 0.0, 0.0, 1.0, PGC_SUSET, 0, nullptr, nullptr,
        nullptr);
    DefineCustomIntVariable(
        "pg_qprof.analyze_min_duration",
        "Per-node actuals are kept only for executions at least this long.",
        nullptr, &analyze_min_duration_ms, 0, 0, INT_MAX, PGC_SUSET,
        GUC_UNIT_MS, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable("pg_qprof.analyze_timing",
                             "Time every plan node of instrumented executions.",
                             "Costs two clock reads per row and node.",
                             &analyze_timing, false, PGC_SUSET, 0, nullptr,
                             nullptr, nullptr);
    DefineCustomIntVariable(
        "pg_qprof.node_actuals_size", "Shared memory for per-node actuals.",
        "When full, the actuals of the oldest execution are evicted.",
        &node_actuals_size_kb, 4096, 64, 1024 * 1024, PGC_POSTMASTER,
        GUC_UNIT_KB, nullptr, nullptr, nullptr);
}

void node_actuals_shmem_request() {
    RequestAddinShmemSpace(shared_size());
    RequestNamedLWLockTranche(kTrancheName, 1);
}

void node_actuals_shmem_startup() {
    bool found;
    shared = static_cast<ActualsShared *>(
        ShmemInitStruct("pg_qprof node actuals", shared_size(), &found));
    if (!found) {
        shared->lock = &GetNamedLWLockTranche(kTrancheName)[0].lock;
        shared->skipped_short.store(0);
        store_init(&shared->store, 0, log_bytes(), false);
    }
}

bool node_actuals_begin(QueryDesc *queryDesc) {
    if (analyze_sample_rate <= 0.0 || shared == nullptr)
        return false;
    /* 53 random bits against rate * 2^53: pg_prng_double() would add a
     * libm call per statement */
    if (analyze_sample_rate < 1.0 &&
        double(pg_prng_uint64(&pg_global_prng_state) >> 11) >=
            analyze_sample_rate * 9007199254740992.0)
        return false;
    queryDesc->instrument_options |= INSTRUMENT_ROWS | INSTRUMENT_BUFFERS;
    if (analyze_timing)
        queryDesc->instrument_options |= INSTRUMENT_TIMER;
    return true;
}

bool node_actuals_keep(QueryDesc *queryDesc, int64_t queryid, uint64_t planid,
                       uint64_t exec_id, double exec_time_ms) {
    if (shared == nullptr || queryDesc->planstate == nullptr)
        return false;
    if (exec_time_ms < analyze_min_duration_ms) {
        shared->skipped_short.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    Collector c;
    c.stmt = queryDesc->plannedstmt;
    c.capacity = 16;
    c.count = 0;
    c.parent_node_id = -1;
    c.nodes = static_cast<NodeActual *>(
        palloc_extended(sizeof(NodeActual) * c.capacity, MCXT_ALLOC_NO_OOM));
    collect_node(queryDesc->planstate, &c);
    if (c.nodes == nullptr)
        return false; /* out of memory: these actuals are not kept */

    uint32_t payload =
        offsetof(ActualsRecord, nodes) + sizeof(NodeActual) * c.count;
    LWLockAcquire(shared->lock, LW_EXCLUSIVE);
    auto *rec = static_cast<ActualsRecord *>(
        store_append(&shared->store, exec_id, payload));
    if (rec != nullptr) {
        rec->pid = MyProcPid;
        rec->node_count = c.count;
        rec->exec_id = exec_id;
        rec->queryid = queryid;
        rec->planid = planid;
        memcpy(rec->nodes, c.nodes, sizeof(NodeActual) * c.count);
    }
    LWLockRelease(shared->lock);
    pfree(c.nodes);
    return rec != nullptr;
}

NodeActualsCounters node_actuals_counters() {
    NodeActualsCounters c{};
    if (shared == nullptr)
        return c;
    c.store = store_figures(&shared->store);
    c.skipped_short = shared->skipped_short.load();
    return c;
}

} // namespace qprof

/* ---- SQL: pg_qprof.read_node_actuals(pid, exec_id) ---------------------- */

namespace {

/* Which executions to return; a null argument matches any. */
struct ActualsFilter {
    bool any_pid;
    int32_t pid;
    bool any_exec;
    uint64_t exec_id;
};

bool actuals_wanted(const void *payload, uint32_t, const void *arg) {
    auto *f = static_cast<const ActualsFilter *>(arg);
    auto *rec = static_cast<const qprof::ActualsRecord *>(payload);
    return (f->any_pid || rec->pid == f->pid) &&
           (f->any_exec || rec->exec_id == f->exec_id);
}

constexpr int kActualsColumns = 21;

/* The rows of one kept execution, built from its copy. */
void put_actuals_rows(ReturnSetInfo *rsinfo, const qprof::ActualsRecord *rec) {
    for (uint32_t i = 0; i < rec->node_count; i++) {
        const qprof::NodeActual *n = &rec->nodes[i];
        Datum v[kActualsColumns];
        bool nulls[kActualsColumns];
        memset(nulls, 0, sizeof(nulls));
        v[0] = Int32GetDatum(rec->pid);
        v[1] = Int64GetDatum(int64(rec->exec_id));
        v[2] = Int64GetDatum(rec->queryid);
        v[3] = Int64GetDatum(int64(rec->planid));
        v[4] = Int32GetDatum(n->node_id);
        v[5] = Int32GetDatum(n->parent_node_id);
        nulls[5] = n->parent_node_id < 0;
        v[6] = PointerGetDatum(
            cstring_to_text(qprof::plan_node_name(n->node_tag)));
        v[7] = ObjectIdGetDatum(n->relid);
        nulls[7] = n->relid == 0;
        v[8] = ObjectIdGetDatum(n->indexid);
        nulls[8] = n->indexid == 0;
        v[9] = Float8GetDatum(n->plan_rows);
        v[10] = Float8GetDatum(n->actual_rows);
        v[11] = Int64GetDatum(int64(n->loops));
        v[12] = Float8GetDatum(n->removed_by_filter);
        v[13] = Float8GetDatum(n->removed_by_join_filter);
        v[14] = Float8GetDatum(n->removed_by_index_recheck);
        v[15] = Int64GetDatum(n->shared_blks_hit);
        v[16] = Int64GetDatum(n->shared_blks_read);
        v[17] = Int64GetDatum(n->temp_blks_read);
        v[18] = Int64GetDatum(n->temp_blks_written);
        v[19] = Float8GetDatum(n->startup_ms);
        nulls[19] = std::isnan(n->startup_ms);
        v[20] = Float8GetDatum(n->total_ms);
        nulls[20] = std::isnan(n->total_ms);
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
    }
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(pg_qprof_read_node_actuals);
}

/* Per-node actuals of the kept executions, oldest first, optionally of one
 * pid and/or one execution id. The wanted executions are copied out under
 * the lock, their rows built after. */
extern "C" Datum pg_qprof_read_node_actuals(PG_FUNCTION_ARGS) {
    InitMaterializedSRF(fcinfo, 0);
    qprof::require_preloaded(qprof::shared != nullptr);
    ActualsFilter f;
    f.any_pid = PG_ARGISNULL(0);
    f.pid = f.any_pid ? 0 : PG_GETARG_INT32(0);
    f.any_exec = PG_ARGISNULL(1);
    f.exec_id = f.any_exec ? 0 : uint64_t(PG_GETARG_INT64(1));
    qprof::StoreCopy *copies;
    int count =
        qprof::store_copy_matching(&qprof::shared->store, qprof::shared->lock,
                                   actuals_wanted, &f, &copies);
    auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    for (int i = 0; i < count; i++)
        put_actuals_rows(rsinfo, static_cast<const qprof::ActualsRecord *>(
                                     copies[i].payload));
    return (Datum)0;
}
