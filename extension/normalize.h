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
 *
 * The text is at most max_bytes long, cut on a character boundary
 * (*clipped then tells). Only the first max_bytes of the statement are
 * copied or lexed, so a statement of any size costs a few times max_bytes
 * of memory at most. A statement cut after one of its constants ends with
 * the $n of the last constant that starts before the cut, followed by the
 * text up to the cut only when that constant is a plain number: the lexer
 * cannot tell where a cut string constant would have ended.
 *
 * *text_len receives the length. nullptr when the lexer cannot read the
 * statement with either value of standard_conforming_strings (lex_guard.h):
 * no text then, rather than one with its constants. May ereport (memory). */
char *normalize_statement(const char *source, int stmt_location, int stmt_len,
                          const JumbleState *jstate, int max_bytes,
                          int *text_len, bool *clipped);

} // namespace qprof
