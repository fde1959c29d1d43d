/*
 * server_facts.h — what a capture records about the server besides the
 * samples: its identity, the settings that matter for analysis, and a
 * catalog snapshot of the connected database.
 */
#pragma once

#include "pg_connection.h"
#include "qprof.pb.h"

namespace qprof {

capture::v1::ServerIdentity read_server_identity(PgConnection &conn);

/* Settings that explain plans and I/O (memory, costs, parallelism, I/O
 * timing) plus every pg_qprof.* setting. */
void read_settings(
    PgConnection &conn,
    google::protobuf::RepeatedPtrField<capture::v1::Setting> *settings);

/* Tables and indexes with sizes and definitions, column statistics
 * summaries, and the settings, for the database the collector is
 * connected to. */
capture::v1::CatalogSnapshot read_catalog_snapshot(PgConnection &conn);

} // namespace qprof
