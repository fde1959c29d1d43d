/*
 * lex_guard.h — lexes a statement that the parser accepted without letting a
 * lexer error fail it.
 *
 * The texts are normalized and masked in post_parse_analyze, after the
 * statements before this one in the same query string have run: one of them
 * may have changed standard_conforming_strings, so the lexer, which reads the
 * setting when it starts, can see 'a\' as an unterminated string where the
 * parser saw a complete one. The statement must not fail for that.
 */
#pragma once

namespace qprof {

/* Calls lex(arg, standard_strings) with the session's
 * standard_conforming_strings, and once more with the other value when the
 * scanner raised a syntax error. Returns false when both raised: the caller
 * must do without the lexer. Any other error propagates. lex must only lex
 * (no locks, no shared state): it may be abandoned midway, and must start
 * its output afresh on each call. */
bool lex_statement(void (*lex)(void *arg, bool standard_strings), void *arg);

} // namespace qprof
