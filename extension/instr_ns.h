/*
 * instr_ns.h — nanoseconds of a PostgreSQL instr_time (a struct timespec in
 * PostgreSQL 15). Include after the PostgreSQL headers.
 */
#pragma once

#include <cstdint>

namespace qprof {

inline int64_t instr_ns(const instr_time &t) {
    return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

} // namespace qprof
