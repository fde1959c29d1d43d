/*
 * plan_id.cpp — the plan id (hash of a plan's shape, by OIDs, for every
 * recorded execution) and the portable shape id (same walk, by names).
 *
 * The shape is: node types, parallel awareness, join types, aggregate and
 * set-operation strategies, index scan directions, the relations and indexes
 * scanned or modified, and the tree (children in order, init plans and
 * subplans). Constants, costs, row estimates and target lists are left out,
 * so the same plan with other parameter values has the same id.
 *
 * plan_id_of() walks the PlannedStmt only: no allocation, no catalog
 * lookup, no lock; a few instructions per plan node.
 */
#include "plan_capture.h"
#include "plan_shape.h"

extern "C" {
#include "postgres.h"

#include "executor/execdesc.h"
#include "nodes/plannodes.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"
}

namespace qprof {

namespace {

/* Markers of the lists that hang off a node. */
enum ShapeMarker : uint64_t {
    kChildList = 0x4c4c,
    kInitPlans = 0x4950,
    kSubplans = 0x5350,
    kNoRelation = 0x30,
};

/* A 64-bit running hash of words: xor, multiply, rotate per word (a few
 * instructions), and a full avalanche at the end. */
struct ShapeHash {
    uint64_t h = 0x6a09e667f3bcc908ULL;

    void add(uint64_t v) {
        h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
        h = (h << 31) | (h >> 33);
    }
    void add_string(const char *s) {
        uint64_t word = 0;
        int n = 0;
        for (; *s; s++) {
            word = (word << 8) | uint8_t(*s);
            if (++n == 8) {
                add(word);
                word = 0;
                n = 0;
            }
        }
        add(word ^ (uint64_t(n) << 56));
    }
    uint64_t finish() const {
        uint64_t x = h;
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ULL;
        x ^= x >> 33;
        return x == 0 ? 1 : x; /* 0 means "no plan id" in a sample */
    }
};

/* Relations and indexes by OID: cheap, valid within one database. The
 * caller's tag word keeps a relation apart from an index. */
struct ByOid {
    static void relation(ShapeHash &h, uint64_t tag, Oid relid) {
        h.add(tag << 32 | relid);
    }
};

/* Relations and indexes by schema-qualified name: portable. */
struct ByName {
    static void relation(ShapeHash &h, uint64_t tag, Oid relid) {
        h.add(tag);
        char *relname = get_rel_name(relid);
        char *nspname =
            relname ? get_namespace_name(get_rel_namespace(relid)) : nullptr;
        if (relname == nullptr || nspname == nullptr) {
            h.add(kNoRelation); /* dropped meanwhile */
            return;
        }
        h.add_string(nspname);
        h.add_string(relname);
        pfree(relname);
        pfree(nspname);
    }
};

template <class Identity>
void hash_plan(ShapeHash &h, const PlannedStmt *stmt, const Plan *plan);

template <class Identity>
void hash_plan_list(ShapeHash &h, const PlannedStmt *stmt, const List *plans) {
    h.add(kChildList << 32 | uint32_t(list_length(plans)));
    const ListCell *lc;
    foreach (lc, plans)
        hash_plan<Identity>(h, stmt, static_cast<const Plan *>(lfirst(lc)));
}

/* The relation behind a range-table index, or its kind when not a table. */
template <class Identity>
void hash_range_entry(ShapeHash &h, const PlannedStmt *stmt, Index rti) {
    if (rti == 0 || rti > Index(list_length(stmt->rtable))) {
        h.add(kNoRelation);
        return;
    }
    const RangeTblEntry *rte = rt_fetch(rti, stmt->rtable);
    if (rte->rtekind == RTE_RELATION)
        Identity::relation(h, RTE_RELATION + 1, rte->relid);
    else
        h.add(uint64_t(rte->rtekind + 1) << 32);
}

/* Node-specific parts of the shape. */
template <class Identity>
void hash_node_details(ShapeHash &h, const PlannedStmt *stmt,
                       const Plan *plan) {
    NodeTag tag = nodeTag(plan);
    if (tag >= T_SeqScan && tag <= T_CustomScan)
        hash_range_entry<Identity>(
            h, stmt, reinterpret_cast<const Scan *>(plan)->scanrelid);

    switch (tag) {
    case T_IndexScan: {
        auto *scan = reinterpret_cast<const IndexScan *>(plan);
        Identity::relation(h, 0x100 + scan->indexorderdir + 1, scan->indexid);
        break;
    }
    case T_IndexOnlyScan: {
        auto *scan = reinterpret_cast<const IndexOnlyScan *>(plan);
        Identity::relation(h, 0x100 + scan->indexorderdir + 1, scan->indexid);
        break;
    }
    case T_BitmapIndexScan:
        Identity::relation(
            h, 0x100, reinterpret_cast<const BitmapIndexScan *>(plan)->indexid);
        break;
    case T_NestLoop:
    case T_MergeJoin:
    case T_HashJoin:
        h.add(reinterpret_cast<const Join *>(plan)->jointype);
        break;
    case T_Agg: {
        auto *agg = reinterpret_cast<const Agg *>(plan);
        h.add(uint64_t(agg->aggstrategy) << 32 | agg->aggsplit);
        break;
    }
    case T_SetOp: {
        auto *setop = reinterpret_cast<const SetOp *>(plan);
        h.add(uint64_t(setop->cmd) << 32 | setop->strategy);
        break;
    }
    case T_ModifyTable: {
        auto *modify = reinterpret_cast<const ModifyTable *>(plan);
        h.add(uint64_t(modify->operation) << 32 |
              uint32_t(list_length(modify->resultRelations)));
        const ListCell *lc;
        foreach (lc, modify->resultRelations)
            hash_range_entry<Identity>(h, stmt, Index(lfirst_int(lc)));
        break;
    }
    case T_Append:
        hash_plan_list<Identity>(
            h, stmt, reinterpret_cast<const Append *>(plan)->appendplans);
        break;
    case T_MergeAppend:
        hash_plan_list<Identity>(
            h, stmt, reinterpret_cast<const MergeAppend *>(plan)->mergeplans);
        break;
    case T_BitmapAnd:
        hash_plan_list<Identity>(
            h, stmt, reinterpret_cast<const BitmapAnd *>(plan)->bitmapplans);
        break;
    case T_BitmapOr:
        hash_plan_list<Identity>(
            h, stmt, reinterpret_cast<const BitmapOr *>(plan)->bitmapplans);
        break;
    case T_SubqueryScan:
        hash_plan<Identity>(
            h, stmt, reinterpret_cast<const SubqueryScan *>(plan)->subplan);
        break;
    case T_CustomScan:
        hash_plan_list<Identity>(
            h, stmt, reinterpret_cast<const CustomScan *>(plan)->custom_plans);
        break;
    default:
        break;
    }
}

/* Pre-order walk. The first word of a node says which children follow, so
 * the sequence of words determines the tree. */
template <class Identity>
void hash_plan(ShapeHash &h, const PlannedStmt *stmt, const Plan *plan) {
    if (plan == nullptr) {
        h.add(0); /* a list member or subquery plan that is absent */
        return;
    }
    h.add(uint64_t(nodeTag(plan)) | uint64_t(plan->parallel_aware) << 16 |
          uint64_t(plan->lefttree != nullptr) << 17 |
          uint64_t(plan->righttree != nullptr) << 18 |
          uint64_t(plan->initPlan != NIL) << 19);
    hash_node_details<Identity>(h, stmt, plan);
    if (plan->initPlan != NIL) {
        /* which subplans run once, attached where */
        h.add(kInitPlans << 32 | uint32_t(list_length(plan->initPlan)));
        const ListCell *lc;
        foreach (lc, plan->initPlan)
            h.add(static_cast<const SubPlan *>(lfirst(lc))->plan_id);
    }
    if (plan->lefttree != nullptr)
        hash_plan<Identity>(h, stmt, plan->lefttree);
    if (plan->righttree != nullptr)
        hash_plan<Identity>(h, stmt, plan->righttree);
}

template <class Identity> uint64_t hash_statement(const PlannedStmt *stmt) {
    ShapeHash h;
    h.add(stmt->commandType);
    hash_plan<Identity>(h, stmt, stmt->planTree);
    if (stmt->subplans != NIL) {
        /* init plans, subplans in expressions and CTEs, in plan_id order */
        h.add(kSubplans);
        hash_plan_list<Identity>(h, stmt, stmt->subplans);
    }
    return h.finish();
}

} // namespace

uint64_t plan_id_of(const QueryDesc *queryDesc) {
    const PlannedStmt *stmt = queryDesc->plannedstmt;
    if (stmt == nullptr || stmt->planTree == nullptr)
        return 0;
    return hash_statement<ByOid>(stmt);
}

uint64_t plan_shape_id_of(const QueryDesc *queryDesc) {
    const PlannedStmt *stmt = queryDesc->plannedstmt;
    if (stmt == nullptr || stmt->planTree == nullptr)
        return 0;
    return hash_statement<ByName>(stmt);
}

const char *plan_node_name(int node_tag) {
    switch (NodeTag(node_tag)) {
    case T_Result:
        return "Result";
    case T_ProjectSet:
        return "ProjectSet";
    case T_ModifyTable:
        return "ModifyTable";
    case T_Append:
        return "Append";
    case T_MergeAppend:
        return "Merge Append";
    case T_RecursiveUnion:
        return "Recursive Union";
    case T_BitmapAnd:
        return "BitmapAnd";
    case T_BitmapOr:
        return "BitmapOr";
    case T_SeqScan:
        return "Seq Scan";
    case T_SampleScan:
        return "Sample Scan";
    case T_IndexScan:
        return "Index Scan";
    case T_IndexOnlyScan:
        return "Index Only Scan";
    case T_BitmapIndexScan:
        return "Bitmap Index Scan";
    case T_BitmapHeapScan:
        return "Bitmap Heap Scan";
    case T_TidScan:
        return "Tid Scan";
    case T_TidRangeScan:
        return "Tid Range Scan";
    case T_SubqueryScan:
        return "Subquery Scan";
    case T_FunctionScan:
        return "Function Scan";
    case T_ValuesScan:
        return "Values Scan";
    case T_TableFuncScan:
        return "Table Function Scan";
    case T_CteScan:
        return "CTE Scan";
    case T_NamedTuplestoreScan:
        return "Named Tuplestore Scan";
    case T_WorkTableScan:
        return "WorkTable Scan";
    case T_ForeignScan:
        return "Foreign Scan";
    case T_CustomScan:
        return "Custom Scan";
    case T_NestLoop:
        return "Nested Loop";
    case T_MergeJoin:
        return "Merge Join";
    case T_HashJoin:
        return "Hash Join";
    case T_Material:
        return "Materialize";
    case T_Memoize:
        return "Memoize";
    case T_Sort:
        return "Sort";
    case T_IncrementalSort:
        return "Incremental Sort";
    case T_Group:
        return "Group";
    case T_Agg:
        return "Aggregate";
    case T_WindowAgg:
        return "WindowAgg";
    case T_Unique:
        return "Unique";
    case T_Gather:
        return "Gather";
    case T_GatherMerge:
        return "Gather Merge";
    case T_Hash:
        return "Hash";
    case T_SetOp:
        return "SetOp";
    case T_LockRows:
        return "LockRows";
    case T_Limit:
        return "Limit";
    default:
        return "Unknown";
    }
}

} // namespace qprof
