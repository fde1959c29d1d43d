/*
 * Placeholder until per-node actuals land: no execution is instrumented.
 * The file is removed by the change that implements node_actuals_begin.
 */
extern "C" {
#include "postgres.h"
}

#include "plan_capture.h"

namespace qprof {
bool node_actuals_begin(QueryDesc *) { return false; }
} // namespace qprof
