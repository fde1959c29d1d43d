/*
 * procs.h — how many PGPROC slots the server has: per-backend shared state
 * is indexed by pgprocno.
 */
#pragma once

extern "C" {
#include "postgres.h"

#include "access/twophase.h"
#include "miscadmin.h"
#include "storage/proc.h"
}

#include <cstdint>

namespace qprof {

/* every PGPROC: backends, auxiliary processes, prepared transactions */
inline uint32_t pgproc_count() {
    return static_cast<uint32_t>(MaxBackends + NUM_AUXILIARY_PROCS +
                                 max_prepared_xacts);
}

} // namespace qprof
