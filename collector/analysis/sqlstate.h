/*
 * sqlstate.h — names of SQLSTATE codes and classes (PostgreSQL's
 * errcodes.txt, the ones a report meets), and which mean a timeout or a
 * cancel.
 */
#pragma once

#include <string>

namespace qprof {

/* "query_canceled" for 57014; the class's name for codes not listed. */
std::string sqlstate_name(const std::string &sqlstate);
/* "Operator Intervention" for 57014. */
std::string sqlstate_class_name(const std::string &sqlstate);
/* 57014 (statement_timeout and cancels share it), 55P03, 25P03 */
bool sqlstate_is_timeout(const std::string &sqlstate);
bool sqlstate_is_cancel(const std::string &sqlstate);

} // namespace qprof
