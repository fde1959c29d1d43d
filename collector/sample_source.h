/*
 * sample_source.h — reads the ring through the extension's SQL API
 * (pg_qprof.read_samples and pg_qprof.status) and checks first that the
 * extension is there and that the role may read it.
 */
#pragma once

#include "pg_connection.h"
#include "sample_row.h"

#include <cstdint>
#include <vector>

namespace qprof {

struct RingStatus {
    uint64_t epoch = 0;
    uint64_t capacity = 0;
    uint64_t head_seq = 0;
    uint64_t oldest_seq = 0;
    uint64_t samples_overwritten = 0;
    uint64_t samples_dropped = 0;
    uint64_t reset_seq = 0;
};

class SampleSource {
  public:
    /* Verifies the extension and the rights; ServerError says which is
     * missing and how to fix it. */
    explicit SampleSource(PgConnection &conn);

    RingStatus status();

    /* Replaces `rows` with the samples after `after_seq`, oldest first, at
     * most `max_rows`. */
    void read(uint64_t after_seq, int max_rows, std::vector<SampleRow> &rows);

  private:
    PgConnection &conn_;
    bool prepared_ = false;
};

} // namespace qprof
