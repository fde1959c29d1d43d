/*
 * normalize.cpp — normalized statement text from the constant locations the
 * query jumble records (JumbleState::clocations).
 *
 * The jumble knows where each constant starts but not how long it is, so the
 * statement is run through PostgreSQL's own lexer: a constant is the token
 * that starts at a recorded location (with the minus signs before it for a
 * negative number, whose location is its first minus sign). After
 * core_yylex returns, flex has put a NUL right after the current token in
 * the scanner's copy of the text, which gives the token's exact length
 * (quotes, escapes and comments are the lexer's business, not ours).
 *
 * A huge statement is cut before anything is copied (normalize.h says
 * where), so its size never decides how much is allocated. The lexer runs
 * under lex_guard.h: a statement it cannot lex is not failed, it just has
 * no text.
 *
 * Plain C style: this runs code that may ereport, so no frame here has a
 * destructor to run.
 */
#include "normalize.h"
#include "lex_guard.h"

extern "C" {
#include "postgres.h"

#include "common/keywords.h"
#include "mb/pg_wchar.h"
#include "parser/scanner.h"
#include "parser/scansup.h"
#include "utils/queryjumble.h"
}

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace qprof {

namespace {

/* One constant to replace, as offsets into the statement text. */
struct ConstantSpan {
    int start;
    int end;
};

/* An output buffer that keeps its first `cap` bytes and drops the rest. */
struct BoundedText {
    char *data;
    int len;
    int cap;
};

void bounded_init(BoundedText *out, int cap) {
    out->data = static_cast<char *>(palloc(size_t(cap) + 1));
    out->len = 0;
    out->cap = cap;
}

void bounded_append(BoundedText *out, const char *bytes, int n) {
    int room = out->cap - out->len;
    if (n > room)
        n = room;
    if (n <= 0)
        return;
    memcpy(out->data + out->len, bytes, n);
    out->len += n;
}

void bounded_append_param(BoundedText *out, int param_no) {
    char param[16];
    int n = snprintf(param, sizeof(param), "$%d", param_no);
    bounded_append(out, param, n);
}

int compare_ints(const void *a, const void *b) {
    int x = *static_cast<const int *>(a);
    int y = *static_cast<const int *>(b);
    return (x > y) - (x < y);
}

/* The statement's place in source, surrounding white space removed. */
void statement_bounds(const char *source, int stmt_location, int stmt_len,
                      int *start_out, int *len_out) {
    int start = stmt_location < 0 ? 0 : stmt_location;
    int len = stmt_len > 0 && stmt_location >= 0 ? stmt_len
                                                 : int(strlen(source + start));
    while (len > 0 && scanner_isspace(source[start])) {
        start++;
        len--;
    }
    while (len > 0 && scanner_isspace(source[start + len - 1]))
        len--;
    *start_out = start;
    *len_out = len;
}

/* Sorted, distinct constant locations inside [0, limit) of the statement
 * that starts at stmt_start of the source. Returns their count. */
int constant_starts(const JumbleState *jstate, int stmt_start, int limit,
                    int **starts_out) {
    int in_range = 0;
    for (int i = 0; i < jstate->clocations_count; i++) {
        int loc = jstate->clocations[i].location - stmt_start;
        if (loc >= 0 && loc < limit)
            in_range++;
    }
    int *starts = static_cast<int *>(palloc(sizeof(int) * (in_range + 1)));
    int n = 0;
    for (int i = 0; i < jstate->clocations_count && n < in_range; i++) {
        int loc = jstate->clocations[i].location - stmt_start;
        if (loc >= 0 && loc < limit)
            starts[n++] = loc;
    }
    qsort(starts, n, sizeof(int), compare_ints);
    int distinct = 0;
    for (int i = 0; i < n; i++)
        if (distinct == 0 || starts[distinct - 1] != starts[i])
            starts[distinct++] = starts[i];
    *starts_out = starts;
    return distinct;
}

/* A lexing pass that finds where each constant token ends. */
struct SpanPass {
    const char *stmt;
    const int *starts;
    int nstarts;
    ConstantSpan *spans;
    int nspans;
};

/* Fills pass->spans by lexing the statement. Constants whose location is
 * not the start of a token are dropped (left as written). */
void find_constant_spans(void *arg, bool standard_strings) {
    auto *pass = static_cast<SpanPass *>(arg);
    const int *starts = pass->starts;
    int nstarts = pass->nstarts;
    core_yy_extra_type yyextra;
    core_YYSTYPE yylval;
    YYLTYPE yylloc;
    core_yyscan_t scanner =
        scanner_init(pass->stmt, &yyextra, &ScanKeywords, ScanKeywordTokens);
    /* the statement was parsed already; warnings would be noise here */
    yyextra.escape_string_warning = false;
    yyextra.standard_conforming_strings = standard_strings;

    int next = 0;
    pass->nspans = 0;
    while (next < nstarts) {
        int tok = core_yylex(&yylval, &yylloc, scanner);
        if (tok == 0)
            break;
        while (next < nstarts && starts[next] < yylloc)
            next++; /* location inside an earlier token: not a constant */
        if (next == nstarts || starts[next] != yylloc)
            continue;
        int start = yylloc;
        /* a negated constant: its location is the (first) minus sign */
        while (tok == '-') {
            tok = core_yylex(&yylval, &yylloc, scanner);
            if (tok == 0)
                break;
        }
        if (tok == 0)
            break;
        int end = yylloc + int(strlen(yyextra.scanbuf + yylloc));
        pass->spans[pass->nspans].start = start;
        pass->spans[pass->nspans].end = end;
        pass->nspans++;
        next++;
    }
    scanner_finish(scanner);
}

/* Where the numeric constant that starts at stmt[start] (minus signs
 * first, if negated) ends, when that is plainly before limit; -1 when it is
 * not a plain number or may go on past limit. A cut statement ends with its
 * last constant, and then with what follows it up to the cut when that
 * constant is a number, so that a huge comment after it is kept in part. */
int numeric_constant_end(const char *stmt, int start, int limit) {
    int i = start;
    while (i < limit && (stmt[i] == '-' || scanner_isspace(stmt[i])))
        i++;
    int digits_start = i;
    while (i < limit && isdigit(static_cast<unsigned char>(stmt[i])))
        i++;
    bool has_digits = i > digits_start;
    if (i < limit && stmt[i] == '.') {
        i++;
        int fraction_start = i;
        while (i < limit && isdigit(static_cast<unsigned char>(stmt[i])))
            i++;
        has_digits = has_digits || i > fraction_start;
    }
    if (!has_digits)
        return -1;
    if (i < limit && (stmt[i] == 'e' || stmt[i] == 'E')) {
        int j = i + 1;
        if (j < limit && (stmt[j] == '+' || stmt[j] == '-'))
            j++;
        int exponent_start = j;
        while (j < limit && isdigit(static_cast<unsigned char>(stmt[j])))
            j++;
        if (j == exponent_start)
            return -1;
        i = j;
    }
    if (i >= limit)
        return -1;
    unsigned char next = static_cast<unsigned char>(stmt[i]);
    if (isalnum(next) || next == '_' || next == '.' || next == '$' ||
        next >= 0x80)
        return -1;
    return i;
}

} // namespace

char *normalize_statement(const char *source, int stmt_location, int stmt_len,
                          const JumbleState *jstate, int max_bytes,
                          int *text_len, bool *clipped) {
    int start, len;
    statement_bounds(source, stmt_location, stmt_len, &start, &len);
    bool cut = len > max_bytes;
    int keep = cut ? pg_mbcliplen(source + start, len, max_bytes) : len;

    int *starts = nullptr;
    int nstarts = 0;
    if (jstate != nullptr && jstate->clocations_count > 0)
        nstarts = constant_starts(jstate, start, keep, &starts);

    /* The lexer must never reach the end of its input inside a token (it
     * would raise an error): it reads the whole statement, or, when the
     * statement is cut, only up to the last constant that starts before the
     * cut, which is a token start. That constant becomes the last $n; the
     * text after it is kept up to the cut only when it is a number whose
     * end is plain (no constant follows it before the cut). */
    bool ends_in_constant = cut && nstarts > 0;
    int lex_len = ends_in_constant ? starts[nstarts - 1] : keep;
    int lexed_starts = ends_in_constant ? nstarts - 1 : nstarts;
    int tail_start = ends_in_constant
                         ? numeric_constant_end(source + start, lex_len, keep)
                         : -1;

    char *stmt = static_cast<char *>(palloc(size_t(lex_len) + 1));
    memcpy(stmt, source + start, lex_len);
    stmt[lex_len] = '\0';
    ConstantSpan *spans = nullptr;
    int nspans = 0;
    if (lexed_starts > 0) {
        spans = static_cast<ConstantSpan *>(
            palloc(sizeof(ConstantSpan) * lexed_starts));
        SpanPass pass = {stmt, starts, lexed_starts, spans, 0};
        if (!lex_statement(find_constant_spans, &pass)) {
            pfree(stmt);
            pfree(starts);
            pfree(spans);
            *text_len = 0;
            *clipped = cut;
            return nullptr;
        }
        nspans = pass.nspans;
    }

    /* one byte more than allowed tells that the text had to be cut */
    BoundedText out;
    bounded_init(&out, max_bytes + 1);
    int copied_to = 0;
    int param_no = jstate != nullptr ? jstate->highest_extern_param_id : 0;
    for (int i = 0; i < nspans; i++) {
        bounded_append(&out, stmt + copied_to, spans[i].start - copied_to);
        bounded_append_param(&out, ++param_no);
        copied_to = spans[i].end;
    }
    bounded_append(&out, stmt + copied_to, lex_len - copied_to);
    if (ends_in_constant) {
        bounded_append_param(&out, ++param_no);
        if (tail_start >= 0)
            bounded_append(&out, source + start + tail_start,
                           keep - tail_start);
    }
    if (out.len > max_bytes) {
        out.len = pg_mbcliplen(out.data, out.len, max_bytes);
        cut = true;
    }
    out.data[out.len] = '\0';

    pfree(stmt);
    if (starts != nullptr)
        pfree(starts);
    if (spans != nullptr)
        pfree(spans);
    *text_len = out.len;
    *clipped = cut;
    return out.data;
}

} // namespace qprof
