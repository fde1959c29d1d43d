/*
 * normalize.h — turns the text of one statement into its normalized form:
 * every constant the query jumble recorded becomes $n, numbered after the
 * statement's own highest parameter, as pg_stat_statements shows them
 * (each element of a literal list is its own $n; a cast stays: $1::int).
 */
#pragma once

struct JumbleState;

namespace qprof {

/* A palloc'd normalized text of the statement at [stmt_location,
 * stmt_location + stmt_len) of source (stmt_location < 0: the whole string;
 * stmt_len <= 0: up to its end), surrounding white space removed. jstate
 * may be nullptr (utility statements): the text is then kept as written.
 * *text_len receives the length. May ereport (scanner). */
char *normalize_statement(const char *source, int stmt_location, int stmt_len,
                          const JumbleState *jstate, int *text_len);

} // namespace qprof
