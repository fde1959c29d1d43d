/*
 * settings.h — the pg_qprof.* configuration parameters.
 */
#pragma once

namespace qprof {

enum class TrackLevel { None = 0, Top = 1, All = 2 };

struct Settings {
    bool enabled;
    int track; /* TrackLevel */
    bool track_utility;
    double sample_rate;
    int min_duration_ms;
    int ring_size_mb;
};

extern Settings settings;

/* Defines every pg_qprof.* parameter and reserves the prefix. */
void define_settings();

} // namespace qprof
