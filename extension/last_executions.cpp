/*
 * last_executions.cpp — pg_qprof.session_executions(n): the calling
 * session's last n top-level executions still in the ring, newest first,
 * with the fields a regression test may pin (the work, not the time). The
 * SQL function pg_qprof.last_executions (extension/sql/30_regression.sql)
 * adds the plan's shape from the plan store.
 *
 * Only this backend's own samples are returned (its pid and a start no
 * earlier than the backend's own, so a former backend with the same pid is
 * not read), so it needs no right beyond EXECUTE. The statements that called
 * it are left out, so that a test may call it after every statement and
 * still ask for more than one.
 *
 * Plain C style as in sql_api.cpp: PostgreSQL errors may longjmp through
 * this file, so no C++ object with a destructor lives here.
 */
#include <cstring>

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

#include "preload.h"
#include "ring.h"

using namespace qprof;

extern "C" {
PG_FUNCTION_INFO_V1(pg_qprof_session_executions);
}

namespace {

constexpr int kColumns = 14;
/* The query ids of the statements that called this function lately. */
constexpr int kCallerIds = 16;
int64 caller_queryids[kCallerIds];
int caller_next = 0;

void remember_caller() {
    int64 queryid = static_cast<int64>(pgstat_get_my_query_id());
    if (queryid == 0)
        return;
    for (int i = 0; i < kCallerIds; i++)
        if (caller_queryids[i] == queryid)
            return;
    caller_queryids[caller_next] = queryid;
    caller_next = (caller_next + 1) % kCallerIds;
}

bool is_caller(int64 queryid) {
    if (queryid == 0)
        return false;
    for (int i = 0; i < kCallerIds; i++)
        if (caller_queryids[i] == queryid)
            return true;
    return false;
}

/* A top-level execution of this very backend. */
bool own_top_level(const Sample &s) {
    return s.pid == MyProcPid && s.start_ts >= MyStartTimestamp &&
           s.nesting_level == 0 && !is_caller(s.queryid);
}

void fill_row(const Sample &s, int32 ordinal, Datum *v, bool *nulls) {
    memset(nulls, 0, sizeof(bool) * kColumns);
    int i = 0;
    v[i++] = Int32GetDatum(ordinal);
    v[i++] = Int64GetDatum(static_cast<int64>(s.seq));
    v[i++] = Int64GetDatum(static_cast<int64>(s.exec_id));
    v[i++] = ObjectIdGetDatum(s.dbid);
    v[i++] = Int64GetDatum(s.queryid);
    v[i++] = Int64GetDatum(static_cast<int64>(s.planid));
    nulls[i - 1] = s.planid == 0;
    v[i++] = CStringGetTextDatum(sample_cmd_name(s.cmd));
    v[i++] = CStringGetTextDatum(
        s.sqlstate == 0 ? "00000" : unpack_sql_state(s.sqlstate));
    v[i++] = Int64GetDatum(s.rows);
    v[i++] = Int64GetDatum(s.shared_blks_hit + s.shared_blks_read);
    v[i++] = Int64GetDatum(s.temp_blks_read);
    v[i++] = Int64GetDatum(s.temp_blks_written);
    v[i++] = Int64GetDatum(s.wal_records);
    v[i++] = Int64GetDatum(s.wal_bytes);
}

} // namespace

/* Scans the ring from its head backwards until n executions of this
 * backend are found or the ring's oldest sample is passed: at most the
 * ring's capacity, copied one sample at a time with no lock. */
extern "C" Datum pg_qprof_session_executions(PG_FUNCTION_ARGS) {
    require_preloaded(ring_ready());
    int32 wanted = PG_GETARG_INT32(0);
    if (wanted < 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("n must not be negative")));
    remember_caller();

    InitMaterializedSRF(fcinfo, 0);
    ReturnSetInfo *rsinfo =
        reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    RingStatus st = ring_status();
    Sample *sample = static_cast<Sample *>(palloc(sizeof(Sample)));
    Datum values[kColumns];
    bool nulls[kColumns];
    int32 found = 0;
    for (uint64 seq = st.head_seq;
         seq >= st.oldest_seq && seq > 0 && found < wanted; seq--) {
        CHECK_FOR_INTERRUPTS();
        if (ring_read(seq, st.head_seq, sample) != ReadResult::Ok ||
            !own_top_level(*sample))
            continue;
        fill_row(*sample, ++found, values, nulls);
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
    pfree(sample);
    return (Datum)0;
}
