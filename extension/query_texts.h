/*
 * query_texts.h — normalized query text, stored once per (userid, dbid,
 * queryid) in bounded shared memory (DESIGN.md contract 3), as
 * pg_stat_statements keys it: the same statement of two users may differ in
 * its comments, and each user sees only its own. A text keeps the encoding
 * of its database and is converted to the reader's.
 *
 * Settings: pg_qprof.max_query_texts (entries), pg_qprof.query_texts_size
 * (kB of text). Eviction: oldest stored text first; an evicted text is
 * stored again the next time its statement is parsed.
 */
#pragma once

#include <cstdint>

#include "shared_store.h"

struct ParseState;
struct Query;
struct JumbleState;

namespace qprof {

/* Registers the pg_qprof.* settings of the text store; from _PG_init,
 * before the shared memory is requested. */
void query_texts_define_settings();

/* Shared memory: request from shmem_request_hook, attach/create from
 * shmem_startup_hook (called with AddinShmemInitLock held). */
void query_texts_shmem_request();
void query_texts_shmem_startup();

/* Called from post_parse_analyze for every statement that has a queryid.
 * Must cost next to nothing when the queryid is already stored: no lock, no
 * allocation. May ereport (the caller is plain C-style code). */
void query_texts_remember(ParseState *pstate, Query *query,
                          JumbleState *jstate);

/* A palloc'd copy of the text stored for (userid, dbid, queryid), in the
 * current database's encoding, or nullptr when unknown or evicted. Never
 * returns the text of another user, database or queryid. The caller decides
 * whether its reader may see it. May ereport. */
char *query_texts_lookup(uint32_t userid, uint32_t dbid, int64_t queryid);

/* Counters of the text store, for pg_qprof.store_status(). */
struct QueryTextCounters {
    StoreFigures store;
    uint64_t truncated;
};
QueryTextCounters query_texts_counters();

} // namespace qprof
