#include "server_facts.h"
#include "capture_format.h"

#include <cstdlib>
#include <unistd.h>

namespace qprof {

namespace pb = capture::v1;

namespace {

/* Every operator and function below is qualified: the connection's
 * search_path is pg_catalog already (pg_connection.cpp), and a query must
 * not depend on it. No LIKE (its operator is looked up like any other). */

/* " AND <schema> is not a system schema" */
#define NOT_SYSTEM_SCHEMA(column)                                              \
    " AND " column " OPERATOR(pg_catalog.<>) ALL"                              \
    " ('{pg_catalog,information_schema}'::pg_catalog.name[])"                  \
    " AND NOT pg_catalog.starts_with(" column "::pg_catalog.text, 'pg_toast')"

uint64_t to_u64(const PgResult &r, int row, int column) {
    return r.is_null(row, column)
               ? 0
               : std::strtoull(r.value(row, column), nullptr, 10);
}

double to_double(const PgResult &r, int row, int column) {
    return r.is_null(row, column) ? 0
                                  : std::strtod(r.value(row, column), nullptr);
}

/* Splits a PostgreSQL text array literal ({a,"b c"}) into its elements. */
std::vector<std::string> array_elements(const std::string &literal) {
    std::vector<std::string> out;
    if (literal.size() < 2 || literal.front() != '{')
        return out;
    std::string current;
    bool quoted = false, in_element = false;
    for (size_t i = 1; i + 1 < literal.size(); ++i) {
        char c = literal[i];
        if (quoted) {
            if (c == '\\' && i + 2 < literal.size())
                current.push_back(literal[++i]);
            else if (c == '"')
                quoted = false;
            else
                current.push_back(c);
        } else if (c == '"') {
            quoted = in_element = true;
        } else if (c == ',') {
            out.push_back(current);
            current.clear();
            in_element = false;
        } else {
            current.push_back(c);
            in_element = true;
        }
    }
    if (in_element || !current.empty() || !out.empty())
        out.push_back(current);
    return out;
}

} // namespace

pb::ServerIdentity read_server_identity(PgConnection &conn) {
    PgResult r = conn.exec(
        "SELECT CASE WHEN pg_catalog.has_function_privilege("
        "'pg_catalog.pg_control_system()', 'EXECUTE') THEN (SELECT "
        "system_identifier FROM pg_catalog.pg_control_system()) END,"
        " pg_catalog.version(),"
        " pg_catalog.current_setting('server_version_num'),"
        " pg_catalog.current_database(),"
        " pg_catalog.current_setting('cluster_name'),"
        " coalesce(pg_catalog.host(pg_catalog.inet_server_addr()), ''),"
        " (extract(epoch FROM pg_catalog.pg_postmaster_start_time())"
        " OPERATOR(pg_catalog.*) 1000000)::pg_catalog.int8");
    pb::ServerIdentity id;
    id.set_system_identifier(to_u64(r, 0, 0));
    id.set_version(r.text(0, 1));
    id.set_version_num(static_cast<uint32_t>(to_u64(r, 0, 2)));
    id.set_database(r.text(0, 3));
    id.set_cluster_name(r.text(0, 4));
    id.set_server_addr(r.text(0, 5));
    id.set_postmaster_start_unix_us(
        static_cast<int64_t>(std::strtoll(r.value(0, 6), nullptr, 10)));
    id.set_host(conn.host());
    id.set_port(conn.port());
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    id.set_collector_host(host);
    /* Only a superuser may see the postmaster's pid (pg_qprof.exec_word). */
    if (conn.exec("SHOW is_superuser").text(0, 0) == "on") {
        PgResult pid =
            conn.exec("SELECT postmaster_pid FROM pg_qprof.exec_word()");
        id.set_postmaster_pid(static_cast<uint32_t>(to_u64(pid, 0, 0)));
    }
    return id;
}

void read_settings(PgConnection &conn,
                   google::protobuf::RepeatedPtrField<pb::Setting> *settings) {
    PgResult r = conn.exec(
        "SELECT name, setting, coalesce(unit, '') FROM pg_catalog.pg_settings"
        " WHERE name OPERATOR(pg_catalog.=) ANY (ARRAY['shared_buffers',"
        " 'work_mem',"
        " 'maintenance_work_mem', 'effective_cache_size', 'random_page_cost',"
        " 'seq_page_cost', 'cpu_tuple_cost', 'cpu_index_tuple_cost',"
        " 'cpu_operator_cost', 'effective_io_concurrency',"
        " 'max_connections', 'max_parallel_workers_per_gather',"
        " 'max_parallel_workers', 'max_worker_processes', 'jit',"
        " 'jit_above_cost', 'track_io_timing', 'track_wal_io_timing',"
        " 'default_statistics_target', 'wal_level', 'synchronous_commit',"
        " 'checkpoint_timeout', 'max_wal_size', 'autovacuum',"
        " 'huge_pages', 'block_size', 'server_version', 'TimeZone',"
        " 'compute_query_id', 'shared_preload_libraries']::pg_catalog.text[])"
        " OR pg_catalog.starts_with(name, 'pg_qprof.') ORDER BY name");
    for (int i = 0; i < r.rows(); ++i) {
        pb::Setting *s = settings->Add();
        s->set_name(r.text(i, 0));
        s->set_value(r.text(i, 1));
        s->set_unit(r.text(i, 2));
    }
}

pb::CatalogSnapshot read_catalog_snapshot(PgConnection &conn) {
    pb::CatalogSnapshot snap;
    snap.set_taken_unix_us(unix_now_us());
    PgResult db =
        conn.exec("SELECT pg_catalog.current_database(), oid FROM "
                  "pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) "
                  "pg_catalog.current_database()");
    snap.set_database(db.text(0, 0));
    snap.set_dbid(static_cast<uint32_t>(to_u64(db, 0, 1)));

    PgResult rel = conn.exec(
        "SELECT c.oid, n.nspname, c.relname, c.relkind::pg_catalog.text,"
        " pg_catalog.pg_total_relation_size(c.oid),"
        " pg_catalog.pg_relation_size(c.oid), c.reltuples, c.relpages,"
        " coalesce(s.seq_scan, 0), coalesce(s.idx_scan, 0),"
        " coalesce(s.n_live_tup, 0), coalesce(s.n_dead_tup, 0)"
        " FROM pg_catalog.pg_class c"
        " JOIN pg_catalog.pg_namespace n"
        " ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
        " LEFT JOIN pg_catalog.pg_stat_all_tables s"
        " ON s.relid OPERATOR(pg_catalog.=) c.oid"
        " WHERE c.relkind OPERATOR(pg_catalog.=) ANY"
        " ('{r,p,m}'::pg_catalog.\"char\"[])" NOT_SYSTEM_SCHEMA(
            "n.nspname") " ORDER BY 2, 3");
    for (int i = 0; i < rel.rows(); ++i) {
        pb::Relation *r = snap.add_relations();
        r->set_oid(static_cast<uint32_t>(to_u64(rel, i, 0)));
        r->set_schema(rel.text(i, 1));
        r->set_name(rel.text(i, 2));
        r->set_kind(rel.text(i, 3));
        r->set_total_bytes(to_u64(rel, i, 4));
        r->set_table_bytes(to_u64(rel, i, 5));
        r->set_reltuples(to_double(rel, i, 6));
        r->set_relpages(static_cast<uint32_t>(to_u64(rel, i, 7)));
        r->set_seq_scan(to_u64(rel, i, 8));
        r->set_idx_scan(to_u64(rel, i, 9));
        r->set_n_live_tup(to_u64(rel, i, 10));
        r->set_n_dead_tup(to_u64(rel, i, 11));
    }

    PgResult idx = conn.exec(
        "SELECT i.indexrelid, i.indrelid, n.nspname, c.relname, t.relname,"
        " pg_catalog.pg_get_indexdef(i.indexrelid),"
        " pg_catalog.pg_relation_size(i.indexrelid), i.indisunique,"
        " i.indisprimary, coalesce(s.idx_scan, 0)"
        " FROM pg_catalog.pg_index i"
        " JOIN pg_catalog.pg_class c"
        " ON c.oid OPERATOR(pg_catalog.=) i.indexrelid"
        " JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) i.indrelid"
        " JOIN pg_catalog.pg_namespace n"
        " ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
        " LEFT JOIN pg_catalog.pg_stat_all_indexes s"
        " ON s.indexrelid OPERATOR(pg_catalog.=) i.indexrelid"
        " WHERE true" NOT_SYSTEM_SCHEMA("n.nspname") " ORDER BY 3, 4");
    for (int i = 0; i < idx.rows(); ++i) {
        pb::Index *x = snap.add_indexes();
        x->set_oid(static_cast<uint32_t>(to_u64(idx, i, 0)));
        x->set_table_oid(static_cast<uint32_t>(to_u64(idx, i, 1)));
        x->set_schema(idx.text(i, 2));
        x->set_name(idx.text(i, 3));
        x->set_table(idx.text(i, 4));
        x->set_definition(idx.text(i, 5));
        x->set_bytes(to_u64(idx, i, 6));
        x->set_is_unique(idx.text(i, 7) == "t");
        x->set_is_primary(idx.text(i, 8) == "t");
        x->set_idx_scan(to_u64(idx, i, 9));
    }

    /* pg_stats shows only the columns the role may read: that is fine. */
    PgResult col = conn.exec(
        "SELECT schemaname, tablename, attname, null_frac, n_distinct,"
        " correlation, avg_width,"
        " (most_common_vals::pg_catalog.text::pg_catalog.text[])[1:5]"
        "::pg_catalog.text,"
        " most_common_freqs[1:5]::pg_catalog.text"
        " FROM pg_catalog.pg_stats"
        " WHERE schemaname OPERATOR(pg_catalog.<>) ALL"
        " ('{pg_catalog,information_schema}'::pg_catalog.name[])"
        " ORDER BY 1, 2, 3");
    for (int i = 0; i < col.rows(); ++i) {
        pb::ColumnStats *c = snap.add_columns();
        c->set_schema(col.text(i, 0));
        c->set_table(col.text(i, 1));
        c->set_column(col.text(i, 2));
        c->set_null_frac(static_cast<float>(to_double(col, i, 3)));
        c->set_n_distinct(static_cast<float>(to_double(col, i, 4)));
        c->set_correlation(static_cast<float>(to_double(col, i, 5)));
        c->set_avg_width(static_cast<int32_t>(to_double(col, i, 6)));
        if (!col.is_null(i, 7))
            for (const std::string &v : array_elements(col.text(i, 7)))
                c->add_most_common_vals(v);
        if (!col.is_null(i, 8))
            for (const std::string &f : array_elements(col.text(i, 8)))
                c->add_most_common_freqs(std::strtof(f.c_str(), nullptr));
    }
    read_settings(conn, snap.mutable_settings());
    return snap;
}

} // namespace qprof
