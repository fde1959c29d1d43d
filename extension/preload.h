/*
 * preload.h — the one error every entry point raises when the library was
 * not preloaded (its shared memory then does not exist).
 */
#pragma once

namespace qprof {

/* Raises "pg_qprof must be loaded via shared_preload_libraries", with the
 * fix as hint, unless `ready`. */
void require_preloaded(bool ready);

} // namespace qprof
