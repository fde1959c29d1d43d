/*
 * secret_mask.cpp — masks the credentials of utility statements before
 * their text is stored (rules in secret_mask.h).
 *
 * Only statements that may hold a secret are lexed: user mappings,
 * subscriptions, and any statement whose text contains the word
 * "password". A cut text is never lexed, and one the lexer cannot read
 * (lex_guard.h) keeps its command tag only.
 *
 * Plain C style: this runs code that may ereport, so no frame here has a
 * destructor to run.
 */
#include "secret_mask.h"
#include "lex_guard.h"

extern "C" {
#include "postgres.h"

#include "common/keywords.h"
#include "nodes/parsenodes.h"
#include "parser/scanner.h"
/* the parser's token numbers; needs scanner.h first */
#include "parser/gram.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/palloc.h"
}

#include <cstring>

namespace qprof {

namespace {

constexpr const char kMask[] = "***";
constexpr int kMaskBytes = sizeof(kMask) - 1;

/* A part of the text to replace by kMask. */
struct MaskSpan {
    int start;
    int end;
};

struct MaskSpans {
    MaskSpan *spans;
    int count;
    int allocated;
};

void add_span(MaskSpans *list, int start, int end) {
    if (list->count == list->allocated) {
        list->allocated *= 2;
        list->spans = static_cast<MaskSpan *>(
            repalloc(list->spans, sizeof(MaskSpan) * list->allocated));
    }
    list->spans[list->count].start = start;
    list->spans[list->count].end = end;
    list->count++;
}

/* Whether text[0, len) contains `word` (lower case), ignoring case. */
bool contains_word(const char *text, int len, const char *word) {
    int word_len = int(strlen(word));
    for (int i = 0; i + word_len <= len; i++) {
        int j = 0;
        while (j < word_len && pg_ascii_tolower(static_cast<unsigned char>(
                                   text[i + j])) == word[j])
            j++;
        if (j == word_len)
            return true;
    }
    return false;
}

bool is_user_mapping(const Node *utility) {
    return IsA(utility, CreateUserMappingStmt) ||
           IsA(utility, AlterUserMappingStmt);
}

bool may_hold_secret(const Node *utility, const char *text, int len) {
    return is_user_mapping(utility) || IsA(utility, CreateSubscriptionStmt) ||
           IsA(utility, AlterSubscriptionStmt) ||
           IsA(utility, CreateRoleStmt) || IsA(utility, AlterRoleStmt) ||
           contains_word(text, len, "password");
}

/* A lexing pass that lists the parts to mask. */
struct SecretPass {
    const char *stmt;
    bool mask_options; /* a user mapping: its whole OPTIONS list */
    MaskSpans *found;
};

/* Lexes the whole statement and lists the parts to mask. */
void find_secrets(void *arg, bool standard_strings) {
    auto *pass = static_cast<SecretPass *>(arg);
    MaskSpans *found = pass->found;
    core_yy_extra_type yyextra;
    core_YYSTYPE yylval;
    YYLTYPE yylloc;
    core_yyscan_t scanner =
        scanner_init(pass->stmt, &yyextra, &ScanKeywords, ScanKeywordTokens);
    yyextra.escape_string_warning = false;
    yyextra.standard_conforming_strings = standard_strings;

    found->count = 0;
    int prev_tok = 0;
    int options_start = -1; /* inside a user mapping's OPTIONS ( ... ) */
    int depth = 0;
    for (;;) {
        int tok = core_yylex(&yylval, &yylloc, scanner);
        if (tok == 0)
            break;
        if (options_start >= 0) {
            if (tok == '(')
                depth++;
            else if (tok == ')' && --depth == 0) {
                add_span(found, options_start, yylloc);
                options_start = -1;
            }
        } else if (pass->mask_options && prev_tok == OPTIONS && tok == '(') {
            options_start = yylloc + 1;
            depth = 1;
        } else if (tok == SCONST || tok == USCONST) {
            /* flex ends the current token with a NUL in its buffer */
            int end = yylloc + int(strlen(yyextra.scanbuf + yylloc));
            if (prev_tok == PASSWORD || prev_tok == CONNECTION ||
                contains_word(yyextra.scanbuf + yylloc, end - yylloc,
                              "password"))
                add_span(found, yylloc, end);
        }
        prev_tok = tok;
    }
    if (options_start >= 0) /* not closed: mask to the end */
        add_span(found, options_start, int(strlen(pass->stmt)));
    scanner_finish(scanner);
}

/* What is kept of a statement whose secrets cannot be found: its command
 * tag. */
char *command_tag_only(Node *utility, int *text_len) {
    char *tag =
        psprintf("%s %s", GetCommandTagName(CreateCommandTag(utility)), kMask);
    *text_len = int(strlen(tag));
    return tag;
}

} // namespace

char *mask_utility_secrets(Node *utility, char *text, int *text_len,
                           bool clipped) {
    int len = *text_len;
    if (utility == nullptr || !may_hold_secret(utility, text, len))
        return text;
    if (clipped)
        return command_tag_only(utility, text_len);

    MaskSpans found;
    found.count = 0;
    found.allocated = 4;
    found.spans =
        static_cast<MaskSpan *>(palloc(sizeof(MaskSpan) * found.allocated));
    SecretPass pass = {text, is_user_mapping(utility), &found};
    if (!lex_statement(find_secrets, &pass)) {
        pfree(found.spans);
        return command_tag_only(utility, text_len);
    }
    if (found.count == 0) {
        pfree(found.spans);
        return text;
    }

    char *out = static_cast<char *>(
        palloc(size_t(len) + size_t(found.count) * kMaskBytes + 1));
    int out_len = 0;
    int copied_to = 0;
    for (int i = 0; i < found.count; i++) {
        memcpy(out + out_len, text + copied_to,
               found.spans[i].start - copied_to);
        out_len += found.spans[i].start - copied_to;
        memcpy(out + out_len, kMask, kMaskBytes);
        out_len += kMaskBytes;
        copied_to = found.spans[i].end;
    }
    memcpy(out + out_len, text + copied_to, len - copied_to);
    out_len += len - copied_to;
    out[out_len] = '\0';
    pfree(found.spans);
    *text_len = out_len;
    return out;
}

} // namespace qprof
