/*
 * text_encoding.cpp — converts a stored text to the reader's database
 * encoding, substituting what cannot be converted.
 *
 * pg_any_to_server() raises an error on the first character the target
 * encoding lacks; a reader of the text store must not fail for that. The
 * conversion function is called with noError (PostgreSQL 14 and later),
 * which stops at such a character: it becomes '?', and conversion goes on
 * after it. Input is fed in chunks so that the output buffer stays small
 * whatever the text's size. Encodings with no direct conversion go through
 * UTF-8; a text of SQL_ASCII (no known encoding) keeps the bytes that are
 * valid in the reader's encoding.
 *
 * Plain C style: this runs code that may ereport, so no frame here has a
 * destructor to run.
 */
#include "text_encoding.h"

extern "C" {
#include "postgres.h"

#include "catalog/namespace.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/memutils.h"
}

#include <cstring>

namespace qprof {

namespace {

constexpr int kChunkBytes = 64 * 1024;
constexpr int kChunkOutBytes = kChunkBytes * MAX_CONVERSION_GROWTH + 1;
constexpr char kSubstitute = '?';

/* A converted text stays allocatable however much the conversion grows it
 * (up to MAX_CONVERSION_GROWTH times): it is cut at half the largest
 * allocation. */
int output_limit(int len) {
    int64 limit = int64(len) * MAX_CONVERSION_GROWTH;
    int64 largest = int64(MaxAllocSize / 2);
    return int(limit < largest ? limit : largest);
}

/* Appends bytes of `encoding` to out, cut on a character boundary so that
 * out stays within limit. Returns false when it had to cut. */
bool append_within(StringInfo out, const char *bytes, int n, int encoding,
                   int limit) {
    bool fits = out->len + n <= limit;
    if (!fits)
        n = pg_encoding_mbcliplen(encoding, bytes, n, limit - out->len);
    appendBinaryStringInfo(out, bytes, n);
    return fits;
}

/* Converts text[0, len) with the conversion function proc. */
void convert_substituting(Oid proc, const char *text, int len, int src, int dst,
                          StringInfo out, int limit) {
    auto *buf = static_cast<unsigned char *>(palloc(kChunkOutBytes));
    int pos = 0;
    while (pos < len && out->len < limit) {
        int chunk = len - pos < kChunkBytes ? len - pos : kChunkBytes;
        int chunk_end = pos + chunk;
        buf[0] = '\0';
        int done = pg_do_encoding_conversion_buf(
            proc, src, dst,
            reinterpret_cast<unsigned char *>(const_cast<char *>(text)) + pos,
            chunk, buf, kChunkOutBytes, true);
        const char *converted = reinterpret_cast<const char *>(buf);
        if (!append_within(out, converted, int(strlen(converted)), dst, limit))
            break;
        pos += done;
        if (pos >= chunk_end)
            continue;
        /* stopped near the chunk's end: maybe a character cut in two, or one
         * that needs the bytes after it; the next chunk starts there */
        if (chunk_end < len && chunk_end - pos < MAX_CONVERSION_INPUT_LENGTH)
            continue;
        /* a character the target encoding lacks, or an invalid one */
        int char_len = pg_encoding_mblen(src, text + pos);
        if (char_len < 1)
            char_len = 1;
        if (char_len > len - pos)
            char_len = len - pos;
        appendStringInfoChar(out, kSubstitute);
        pos += char_len;
    }
    pfree(buf);
}

/* Keeps the bytes of text[0, len) that are valid in `encoding`. */
void keep_valid(const char *text, int len, int encoding, StringInfo out,
                int limit) {
    int pos = 0;
    while (pos < len && out->len < limit) {
        int valid = pg_encoding_verifymbstr(encoding, text + pos, len - pos);
        if (!append_within(out, text + pos, valid, encoding, limit))
            break;
        pos += valid;
        if (pos < len) {
            appendStringInfoChar(out, kSubstitute);
            pos++;
        }
    }
}

bool is_known_encoding(int encoding) {
    return encoding != PG_SQL_ASCII && PG_VALID_BE_ENCODING(encoding);
}

} // namespace

char *text_to_database_encoding(char *text, int len, int text_encoding,
                                int *out_len) {
    int db = GetDatabaseEncoding();
    *out_len = len;
    if (text_encoding == db || db == PG_SQL_ASCII)
        return text;

    StringInfoData out;
    initStringInfo(&out);
    int limit = output_limit(len);
    Oid direct = is_known_encoding(text_encoding)
                     ? FindDefaultConversionProc(text_encoding, db)
                     : InvalidOid;
    Oid to_utf8 = InvalidOid;
    Oid from_utf8 = InvalidOid;
    if (!OidIsValid(direct) && is_known_encoding(text_encoding) &&
        text_encoding != PG_UTF8 && db != PG_UTF8) {
        to_utf8 = FindDefaultConversionProc(text_encoding, PG_UTF8);
        from_utf8 = FindDefaultConversionProc(PG_UTF8, db);
    }

    if (OidIsValid(direct)) {
        convert_substituting(direct, text, len, text_encoding, db, &out, limit);
    } else if (OidIsValid(to_utf8) && OidIsValid(from_utf8)) {
        StringInfoData utf8;
        initStringInfo(&utf8);
        convert_substituting(to_utf8, text, len, text_encoding, PG_UTF8, &utf8,
                             limit);
        convert_substituting(from_utf8, utf8.data, utf8.len, PG_UTF8, db, &out,
                             limit);
        pfree(utf8.data);
    } else {
        keep_valid(text, len, db, &out, limit);
    }
    *out_len = out.len;
    return out.data;
}

} // namespace qprof
