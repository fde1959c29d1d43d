/*
 * secret_mask.h — keeps credentials out of stored statement texts.
 *
 * Utility statements have no jumbled constants, so their texts are stored
 * as written, and some carry secrets: a role's PASSWORD '…', a user
 * mapping's OPTIONS (user '…', password '…'), a subscription's CONNECTION
 * string, a DO block or function body whose literal sets a password. Those
 * parts are replaced by ***: any string literal after PASSWORD or
 * CONNECTION, any string literal that contains the word password, and the
 * whole OPTIONS list of a user mapping. A server's or a table's OPTIONS are
 * not secret, and are kept (but a password in them is masked).
 */
#pragma once

struct Node;

namespace qprof {

/* The text to store for the utility statement `utility`, given its text
 * as written, text[0, *text_len), cut short when `clipped`. Returns `text`
 * itself when nothing needs masking, else a palloc'd masked text, its
 * length in *text_len. A cut text that may hold a secret is not lexed (the
 * lexer would fail on a cut literal): only its command tag is kept, as in
 * "ALTER ROLE ***", and so is one the lexer cannot read (lex_guard.h).
 * May ereport (memory). */
char *mask_utility_secrets(Node *utility, char *text, int *text_len,
                           bool clipped);

} // namespace qprof
