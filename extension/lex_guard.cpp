/*
 * lex_guard.cpp — catches the scanner's syntax errors around a lexing pass
 * (see lex_guard.h).
 *
 * The error is caught without a subtransaction: the pass only lexes, so
 * nothing is left to undo but memory of the current context, which its
 * owner frees. errfinish() clears the interrupt holdoff counts before it
 * jumps; they are restored here. Only ERRCODE_SYNTAX_ERROR, the scanner's
 * code, is caught: out of memory and the rest go on to fail the statement
 * as before.
 *
 * Plain C style: PG_TRY/PG_CATCH here, so no frame has a destructor to run.
 */
#include "lex_guard.h"

extern "C" {
#include "postgres.h"

#include "miscadmin.h"
#include "parser/parser.h"
#include "utils/elog.h"
}

namespace qprof {

namespace {

/* One pass; false when the scanner raised a syntax error. */
bool lex_once(void (*lex)(void *, bool), void *arg, bool standard_strings) {
    MemoryContext context = CurrentMemoryContext;
    uint32 holdoff = InterruptHoldoffCount;
    uint32 cancel_holdoff = QueryCancelHoldoffCount;
    volatile bool lexed = true;
    PG_TRY();
    { lex(arg, standard_strings); }
    PG_CATCH();
    {
        MemoryContextSwitchTo(context);
        if (geterrcode() != ERRCODE_SYNTAX_ERROR)
            PG_RE_THROW();
        FlushErrorState();
        InterruptHoldoffCount = holdoff;
        QueryCancelHoldoffCount = cancel_holdoff;
        lexed = false;
    }
    PG_END_TRY();
    return lexed;
}

} // namespace

bool lex_statement(void (*lex)(void *arg, bool standard_strings), void *arg) {
    return lex_once(lex, arg, standard_conforming_strings) ||
           lex_once(lex, arg, !standard_conforming_strings);
}

} // namespace qprof
