/* The fleet report's catalog: the sums of the listed statements that the
 * catalog insights weigh (temporary files, cache hits, block read time),
 * and the catalog snapshot of each listed statement's database, rebuilt
 * from the catalog_* tables as the capture had it. */
#include "fleet_queries.h"

#include <algorithm>

namespace qprof::fleet {

namespace pb = capture::v1;

/* Each listed statement's spills and reads, over every execution (nested
 * too), as the report of files sums them (weighted; the largest spill of
 * one execution as it was). */
void FleetQueries::catalog_sums() {
    Rows rows = listed_statement_rows(
        "sum(weight * shared_blks_hit), sum(weight * blk_read_time_ns), "
        "sum(weight * temp_blks_written), max(temp_blks_written)",
        "", "", 4, "statements' reads and spills");
    for (const auto &row : rows) {
        FleetStatement *st = statement_of_row(row);
        if (st == nullptr)
            continue;
        st->shared_blks_hit = num(row[4]);
        st->blk_read_time_ns = num(row[5]);
        st->temp_blks_written = num(row[6]);
        st->max_temp_blks_written = num(row[7]);
    }
}

/* The newest snapshot of each listed statement's database: up to the
 * period's end with --until, else the newest of all (as the report of
 * files takes the newest its captures have). Databases an older qprof
 * exported, without the catalog tables, have none. */
void FleetQueries::catalogs() {
    if (r_.statements.empty() ||
        c_.select("SELECT name FROM system.tables WHERE database = " +
                  sql_quote(db_) + " AND name = 'catalog_snapshots'")
            .empty())
        return;
    std::string databases;
    for (const FleetStatement &st : r_.statements) {
        std::string pair = "(" + std::to_string(st.server_id) + ", " +
                           std::to_string(st.dbid) + ")";
        if (databases.find(pair) == std::string::npos)
            databases += (databases.empty() ? "" : ", ") + pair;
    }
    std::string until =
        f_.has_until ? "taken_unix_us <= " + std::to_string(f_.until_unix_us)
                     : "1";
    Rows rows = c_.select(
        "SELECT server_id, dbid, if(countIf(" + until + ") > 0, maxIf(" +
        "taken_unix_us, " + until +
        "), min(taken_unix_us)), any(database) FROM " +
        table("catalog_snapshots") + " FINAL WHERE (server_id, dbid) IN (" +
        databases + ") GROUP BY server_id, dbid ORDER BY server_id, dbid");
    check_columns(rows, 4, "catalog snapshots");
    std::string snapshots;
    for (const auto &row : rows) {
        FleetCatalog c;
        c.server_id = unum(row[0]);
        c.dbid = static_cast<uint32_t>(unum(row[1]));
        c.snapshot.set_dbid(c.dbid);
        c.snapshot.set_taken_unix_us(snum(row[2]));
        c.snapshot.set_database(row[3]);
        snapshots += std::string(snapshots.empty() ? "" : " OR ") +
                     "(server_id = " + row[0] +
                     " AND dbid = " + std::to_string(c.dbid) +
                     " AND taken_unix_us = " +
                     std::to_string(c.snapshot.taken_unix_us()) + ")";
        r_.catalogs.push_back(std::move(c));
    }
    if (r_.catalogs.empty())
        return;
    auto catalog_of = [&](const std::string &server_id,
                          const std::string &dbid) -> FleetCatalog * {
        for (FleetCatalog &c : r_.catalogs)
            if (c.server_id == unum(server_id) && c.dbid == unum(dbid))
                return &c;
        return nullptr;
    };
    rows = c_.select("SELECT server_id, dbid, oid, schema_name, name, kind, "
                     "total_bytes, table_bytes, reltuples, relpages, "
                     "seq_scan, idx_scan, n_live_tup, n_dead_tup FROM " +
                     table("catalog_relations") + " FINAL WHERE " + snapshots +
                     " ORDER BY server_id, dbid, schema_name, name");
    check_columns(rows, 14, "catalog relations");
    for (const auto &row : rows) {
        FleetCatalog *c = catalog_of(row[0], row[1]);
        if (c == nullptr)
            continue;
        pb::Relation *r = c->snapshot.add_relations();
        r->set_oid(static_cast<uint32_t>(unum(row[2])));
        r->set_schema(row[3]);
        r->set_name(row[4]);
        r->set_kind(row[5]);
        r->set_total_bytes(unum(row[6]));
        r->set_table_bytes(unum(row[7]));
        r->set_reltuples(num(row[8]));
        r->set_relpages(static_cast<uint32_t>(unum(row[9])));
        r->set_seq_scan(unum(row[10]));
        r->set_idx_scan(unum(row[11]));
        r->set_n_live_tup(unum(row[12]));
        r->set_n_dead_tup(unum(row[13]));
    }
    rows = c_.select("SELECT server_id, dbid, oid, table_oid, schema_name, "
                     "name, table_name, definition, bytes, is_unique, "
                     "is_primary, idx_scan FROM " +
                     table("catalog_indexes") + " FINAL WHERE " + snapshots +
                     " ORDER BY server_id, dbid, schema_name, name");
    check_columns(rows, 12, "catalog indexes");
    for (const auto &row : rows) {
        FleetCatalog *c = catalog_of(row[0], row[1]);
        if (c == nullptr)
            continue;
        pb::Index *x = c->snapshot.add_indexes();
        x->set_oid(static_cast<uint32_t>(unum(row[2])));
        x->set_table_oid(static_cast<uint32_t>(unum(row[3])));
        x->set_schema(row[4]);
        x->set_name(row[5]);
        x->set_table(row[6]);
        x->set_definition(row[7]);
        x->set_bytes(unum(row[8]));
        x->set_is_unique(row[9] == "1");
        x->set_is_primary(row[10] == "1");
        x->set_idx_scan(unum(row[11]));
    }
    rows = c_.select("SELECT server_id, dbid, name, value, unit FROM " +
                     table("catalog_settings") + " FINAL WHERE " + snapshots +
                     " ORDER BY server_id, dbid, name");
    check_columns(rows, 5, "catalog settings");
    for (const auto &row : rows) {
        FleetCatalog *c = catalog_of(row[0], row[1]);
        if (c == nullptr)
            continue;
        pb::Setting setting;
        setting.set_name(row[2]);
        setting.set_value(row[3]);
        setting.set_unit(row[4]);
        *c->snapshot.add_settings() = setting;
        c->settings.push_back(std::move(setting));
    }
    for (FleetStatement &st : r_.statements)
        for (size_t i = 0; i < r_.catalogs.size(); ++i)
            if (r_.catalogs[i].server_id == st.server_id &&
                r_.catalogs[i].dbid == st.dbid)
                st.catalog = static_cast<int>(i);
}

} // namespace qprof::fleet
