/*
 * Placeholder until plan identity and the plan store land: no plan ids, no
 * actuals. The file is removed by the change that implements plan_capture.h.
 */
extern "C" {
#include "postgres.h"
}

#include "plan_capture.h"

namespace qprof {
void plans_define_settings() {}
void plans_shmem_request() {}
void plans_shmem_startup() {}
bool node_actuals_begin(QueryDesc *) { return false; }
bool plans_capture_end(QueryDesc *, int64_t, uint64_t, uint64_t, bool, double) {
    return false;
}
} // namespace qprof
