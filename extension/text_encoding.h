/*
 * text_encoding.h — brings a stored text, kept in the encoding of the
 * database it was seen in, into the encoding of the reader's database, as
 * pg_stat_statements does, but without failing the read: a character that
 * cannot be converted (or a byte that is not valid) becomes '?'.
 */
#pragma once

namespace qprof {

/* The text[0, len) of encoding `text_encoding` in the current database's
 * encoding: `text` itself when nothing changes, else a palloc'd converted
 * copy; its length in *out_len. Needs a transaction (it looks up the
 * conversion in the catalog). May ereport (memory), never for the text's
 * content. */
char *text_to_database_encoding(char *text, int len, int text_encoding,
                                int *out_len);

} // namespace qprof
