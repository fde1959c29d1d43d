#include "server_definitions.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

namespace qprof {

namespace pb = capture::v1;

namespace {

/* A bigint[] literal of the values. */
template <typename T> std::string bigint_array(const std::vector<T> &values) {
    std::string out = "{";
    for (size_t i = 0; i < values.size(); ++i) {
        if (i > 0)
            out += ',';
        out += std::to_string(static_cast<int64_t>(values[i]));
    }
    return out + "}";
}

bool parse_int64(const std::string &text, int64_t &value) {
    if (text.empty())
        return false;
    char *end = nullptr;
    errno = 0;
    value = std::strtoll(text.c_str(), &end, 10);
    return errno == 0 && end != nullptr && *end == '\0';
}

} // namespace

ServerDefinitions::ServerDefinitions(PgConnection &conn) : conn_(conn) {
    PgResult r = conn_.exec(
        "SELECT pg_catalog.to_regclass('pg_qprof.queries') IS NOT NULL,"
        " pg_catalog.to_regclass('pg_qprof.plans') IS NOT NULL,"
        " pg_catalog.to_regprocedure('pg_qprof.node_actuals(bigint)')"
        " IS NOT NULL,"
        " pg_catalog.to_regprocedure("
        "'pg_qprof.stored_plans(bigint[], bigint[])') IS NOT NULL,"
        " pg_catalog.to_regprocedure("
        "'pg_qprof.query_texts(oid[], oid[], bigint[])') IS NOT NULL");
    has_queries_view_ = r.text(0, 0) == "t";
    has_plans_ = r.text(0, 1) == "t";
    has_node_actuals_ = r.text(0, 2) == "t";
    has_plans_by_id_ = r.text(0, 3) == "t";
    has_texts_by_id_ = r.text(0, 4) == "t";
}

std::unordered_map<int64_t, std::string>
ServerDefinitions::query_texts(const std::vector<QueryKey> &queries) {
    std::unordered_map<int64_t, std::string> texts;
    if (queries.empty())
        return texts;
    std::vector<int64_t> userids, dbids, queryids;
    for (const QueryKey &q : queries) {
        userids.push_back(q.userid);
        dbids.push_back(q.dbid);
        queryids.push_back(q.queryid);
    }
    PgResult r =
        has_texts_by_id_
            /* one index probe per (user, database, queryid) */
            ? conn_.exec("SELECT queryid, query FROM pg_qprof.query_texts("
                         "$1::pg_catalog.oid[], $2::pg_catalog.oid[],"
                         " $3::bigint[]) WHERE query IS NOT NULL",
                         {bigint_array(userids), bigint_array(dbids),
                          bigint_array(queryids)})
            : has_queries_view_
                  ? conn_.exec("SELECT queryid, query FROM pg_qprof.queries"
                               " WHERE queryid OPERATOR(pg_catalog.=) ANY "
                               "($1::bigint[]) AND query IS NOT NULL",
                               {bigint_array(queryids)})
                  /* the samples view scans the whole ring: the last resort */
                  : conn_.exec(
                        "SELECT DISTINCT ON (queryid) queryid, query FROM "
                        "pg_qprof.samples"
                        " WHERE queryid OPERATOR(pg_catalog.=) ANY "
                        "($1::bigint[]) AND query IS NOT NULL",
                        {bigint_array(queryids)});
    for (int i = 0; i < r.rows(); ++i)
        texts.emplace(std::strtoll(r.value(i, 0), nullptr, 10), r.text(i, 1));
    return texts;
}

std::vector<pb::Plan> ServerDefinitions::plans(
    const std::vector<std::pair<int64_t, uint64_t>> &pairs) {
    std::vector<pb::Plan> out;
    if (!has_plans_ || pairs.empty())
        return out;
    std::vector<int64_t> queryids;
    std::vector<uint64_t> planids;
    for (const auto &pair : pairs) {
        queryids.push_back(pair.first);
        planids.push_back(pair.second);
    }
    PgResult r =
        has_plans_by_id_
            ? conn_.exec("SELECT * FROM pg_qprof.stored_plans("
                         "$1::bigint[], $2::bigint[])",
                         {bigint_array(queryids), bigint_array(planids)})
            : conn_.exec(
                  "SELECT * FROM pg_qprof.plans"
                  " WHERE planid OPERATOR(pg_catalog.=) ANY ($1::bigint[])",
                  {bigint_array(planids)});
    for (int i = 0; i < r.rows(); ++i) {
        pb::Plan plan;
        for (int c = 0; c < r.columns(); ++c) {
            if (r.is_null(i, c))
                continue;
            const char *name = r.column_name(c);
            std::string value = r.text(i, c);
            int64_t number = 0;
            if (std::strcmp(name, "planid") == 0 && parse_int64(value, number))
                plan.set_planid(number);
            else if (std::strcmp(name, "queryid") == 0 &&
                     parse_int64(value, number))
                plan.set_queryid(number);
            else if (std::strcmp(name, "shape_id") == 0 &&
                     parse_int64(value, number))
                plan.set_shape_id(number);
            else if (std::strcmp(name, "plan_text") == 0)
                plan.set_plan_text(value);
            else if (std::strcmp(name, "plan_json") == 0)
                plan.set_plan_json(value);
            else
                (*plan.mutable_extra())[name] = value;
        }
        out.push_back(std::move(plan));
    }
    return out;
}

std::vector<pb::NodeActuals>
ServerDefinitions::node_actuals(const std::vector<uint64_t> &seqs) {
    std::vector<pb::NodeActuals> out;
    if (!has_node_actuals_ || seqs.empty())
        return out;
    PgResult r =
        conn_.exec("SELECT s.seq AS qprof_sample_seq, n.*"
                   " FROM pg_catalog.unnest($1::bigint[])"
                   " AS s(seq), LATERAL pg_qprof.node_actuals(s.seq) AS n"
                   " ORDER BY 1",
                   {bigint_array(seqs)});
    std::map<uint64_t, pb::NodeActuals> by_seq;
    for (int i = 0; i < r.rows(); ++i) {
        uint64_t seq = std::strtoull(r.value(i, 0), nullptr, 10);
        pb::NodeActuals &actuals = by_seq[seq];
        actuals.set_seq(seq);
        pb::PlanNode *node = actuals.add_nodes();
        for (int c = 1; c < r.columns(); ++c) {
            if (r.is_null(i, c))
                continue;
            std::string name = r.column_name(c);
            std::string value = r.text(i, c);
            const char *v = value.c_str();
            if (name == "node_id")
                node->set_node_id(static_cast<uint32_t>(std::atoi(v)));
            else if (name == "parent_node_id" || name == "parent_id")
                node->set_parent_node_id(static_cast<uint32_t>(std::atoi(v)));
            else if (name == "node_type")
                node->set_node_type(value);
            else if (name == "relation" || name == "relation_name")
                node->set_relation(value);
            else if (name == "index_name")
                node->set_index_name(value);
            else if (name == "plan_rows")
                node->set_plan_rows(std::strtod(v, nullptr));
            else if (name == "actual_rows" || name == "rows")
                node->set_actual_rows(std::strtod(v, nullptr));
            else if (name == "loops" || name == "actual_loops")
                node->set_loops(std::strtod(v, nullptr));
            else if (name == "startup_time_ms")
                node->set_startup_time_ms(std::strtod(v, nullptr));
            else if (name == "total_time_ms")
                node->set_total_time_ms(std::strtod(v, nullptr));
            else if (name == "shared_blks_hit")
                node->set_shared_blks_hit(std::strtoull(v, nullptr, 10));
            else if (name == "shared_blks_read")
                node->set_shared_blks_read(std::strtoull(v, nullptr, 10));
            else if (name == "rows_removed_by_filter")
                node->set_rows_removed_by_filter(std::strtod(v, nullptr));
            else if (name == "rows_removed_by_join_filter")
                node->set_rows_removed_by_join_filter(std::strtod(v, nullptr));
            else if (name == "rows_removed_by_index_recheck")
                node->set_rows_removed_by_index_recheck(
                    std::strtod(v, nullptr));
            else if (name == "relid")
                node->set_relid(
                    static_cast<uint32_t>(std::strtoul(v, nullptr, 10)));
            else if (name == "indexid")
                node->set_indexid(
                    static_cast<uint32_t>(std::strtoul(v, nullptr, 10)));
            else if (name == "temp_blks_read")
                node->set_temp_blks_read(std::strtoull(v, nullptr, 10));
            else if (name == "temp_blks_written")
                node->set_temp_blks_written(std::strtoull(v, nullptr, 10));
            else
                (*node->mutable_extra())[name] = value;
        }
    }
    for (auto &entry : by_seq)
        out.push_back(std::move(entry.second));
    return out;
}

} // namespace qprof
