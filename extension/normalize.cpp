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
 * Plain C style: this runs code that may ereport, so no frame here has a
 * destructor to run.
 */
#include "normalize.h"

extern "C" {
#include "postgres.h"

#include "common/keywords.h"
#include "parser/scanner.h"
#include "parser/scansup.h"
#include "utils/queryjumble.h"
}

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

int compare_ints(const void *a, const void *b) {
    int x = *static_cast<const int *>(a);
    int y = *static_cast<const int *>(b);
    return (x > y) - (x < y);
}

/* Sorted, distinct constant locations inside [0, stmt_len) of the statement
 * that starts at stmt_start of the source. Returns their count. */
int constant_starts(const JumbleState *jstate, int stmt_start, int stmt_len,
                    int **starts_out) {
    int *starts = static_cast<int *>(
        palloc(sizeof(int) * (jstate->clocations_count + 1)));
    int n = 0;
    for (int i = 0; i < jstate->clocations_count; i++) {
        int loc = jstate->clocations[i].location - stmt_start;
        if (loc >= 0 && loc < stmt_len)
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

/* Finds where each constant token ends by lexing the statement. Constants
 * whose location is not the start of a token are dropped (left as written).
 * Returns the number of spans filled. */
int constant_spans(const char *stmt, const int *starts, int nstarts,
                   ConstantSpan *spans) {
    core_yy_extra_type yyextra;
    core_YYSTYPE yylval;
    YYLTYPE yylloc;
    core_yyscan_t scanner =
        scanner_init(stmt, &yyextra, &ScanKeywords, ScanKeywordTokens);
    /* the statement was parsed already; warnings would be noise here */
    yyextra.escape_string_warning = false;

    int next = 0;
    int nspans = 0;
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
        spans[nspans].start = start;
        spans[nspans].end = end;
        nspans++;
        next++;
    }
    scanner_finish(scanner);
    return nspans;
}

} // namespace

char *normalize_statement(const char *source, int stmt_location, int stmt_len,
                          const JumbleState *jstate, int *text_len) {
    int start = stmt_location < 0 ? 0 : stmt_location;
    int len = stmt_len > 0 && stmt_location >= 0 ? stmt_len
                                                 : int(strlen(source + start));
    while (len > 0 && scanner_isspace(source[start])) {
        start++;
        len--;
    }
    while (len > 0 && scanner_isspace(source[start + len - 1]))
        len--;

    char *stmt = static_cast<char *>(palloc(len + 1));
    memcpy(stmt, source + start, len);
    stmt[len] = '\0';
    *text_len = len;
    if (jstate == nullptr || jstate->clocations_count == 0)
        return stmt;

    int *starts;
    int nstarts = constant_starts(jstate, start, len, &starts);
    if (nstarts == 0)
        return stmt;
    ConstantSpan *spans =
        static_cast<ConstantSpan *>(palloc(sizeof(ConstantSpan) * nstarts));
    int nspans = constant_spans(stmt, starts, nstarts, spans);

    /* "$" plus at most 10 digits replaces a constant of at least 1 byte */
    char *out = static_cast<char *>(palloc(len + nspans * 11 + 1));
    int out_len = 0;
    int copied_to = 0;
    int param_no = jstate->highest_extern_param_id;
    for (int i = 0; i < nspans; i++) {
        memcpy(out + out_len, stmt + copied_to, spans[i].start - copied_to);
        out_len += spans[i].start - copied_to;
        out_len += snprintf(out + out_len, 12, "$%d", ++param_no);
        copied_to = spans[i].end;
    }
    memcpy(out + out_len, stmt + copied_to, len - copied_to);
    out_len += len - copied_to;
    out[out_len] = '\0';

    pfree(stmt);
    pfree(starts);
    pfree(spans);
    *text_len = out_len;
    return out;
}

} // namespace qprof
