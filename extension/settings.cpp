/*
 * settings.cpp — definition and validation of the pg_qprof.* parameters.
 * Ranges are enforced by the GUC machinery, which gives the user a clear
 * "outside the valid range" or "invalid value" error.
 */
#include "settings.h"

#include <climits>

extern "C" {
#include "postgres.h"

#include "utils/guc.h"
}

#include "plan_capture.h"
#include "query_texts.h"

namespace qprof {

Settings settings = {
    true,                              /* enabled */
    static_cast<int>(TrackLevel::Top), /* track */
    true,                              /* track_utility */
    1.0,                               /* sample_rate */
    0,                                 /* min_duration_ms */
    16,                                /* ring_size_mb */
};

static const struct config_enum_entry track_options[] = {
    {"none", static_cast<int>(TrackLevel::None), false},
    {"top", static_cast<int>(TrackLevel::Top), false},
    {"all", static_cast<int>(TrackLevel::All), false},
    {nullptr, 0, false},
};

void define_settings() {
    DefineCustomBoolVariable("pg_qprof.enabled",
                             "Records a sample for each statement execution.",
                             nullptr, &settings.enabled, true, PGC_SUSET, 0,
                             nullptr, nullptr, nullptr);
    DefineCustomEnumVariable(
        "pg_qprof.track",
        "Which statements are recorded: none, top (top-level only) or all "
        "(nested statements too).",
        nullptr, &settings.track, static_cast<int>(TrackLevel::Top),
        track_options, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable(
        "pg_qprof.track_utility", "Records utility statements too.", nullptr,
        &settings.track_utility, true, PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomRealVariable(
        "pg_qprof.sample_rate",
        "Share of top-level statements recorded (0 to 1); nested statements "
        "follow their top-level statement.",
        nullptr, &settings.sample_rate, 1.0, 0.0, 1.0, PGC_SUSET, 0, nullptr,
        nullptr, nullptr);
    DefineCustomIntVariable(
        "pg_qprof.min_duration",
        "Executions shorter than this are counted but not recorded; failed "
        "executions are always recorded.",
        nullptr, &settings.min_duration_ms, 0, 0, INT_MAX, PGC_SUSET,
        GUC_UNIT_MS, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "pg_qprof.ring_size",
        "Size of the shared-memory sample ring (set at server start).", nullptr,
        &settings.ring_size_mb, 16, 1, 64 * 1024, PGC_POSTMASTER, GUC_UNIT_MB,
        nullptr, nullptr, nullptr);

    query_texts_define_settings();
    plans_define_settings();

    MarkGUCPrefixReserved("pg_qprof");
}

} // namespace qprof
