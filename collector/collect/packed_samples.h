/*
 * packed_samples.h — decoding of pg_qprof.read_samples_packed: one bytea of
 * raw sample structs (extension/sample.h), the collector's fast path.
 */
#pragma once

#include "sample_row.h"

#include <cstddef>
#include <string>
#include <vector>

namespace qprof {

struct Sample;

/* One sample, as the ring holds it, as a row. */
void sample_to_row(const Sample &s, SampleRow &r);

/* Replaces `rows` with the samples of one packed answer. Throws
 * ServerError when the answer is not in the layout this collector was
 * built with (another version of the extension). */
void decode_packed_samples(const char *data, size_t length,
                           std::vector<SampleRow> &rows);

} // namespace qprof
