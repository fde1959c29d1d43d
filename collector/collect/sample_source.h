/*
 * sample_source.h — reads the ring, from the postmaster's memory where the
 * collector may (ring_memory.h) or else through the extension's SQL API
 * (pg_qprof.read_samples_packed, pg_qprof.status), and checks first that
 * the extension is there and that the role may read it.
 */
#pragma once

#include "pg_connection.h"
#include "ring_memory.h"
#include "sample_row.h"

#include <cstdint>
#include <memory>
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

/* Verifies the extension and the rights; ServerError says which is missing
 * and how to fix it. */
void verify_sample_access(PgConnection &conn);

RingStatus read_ring_status(PgConnection &conn);

/* Reads samples on a connection of its own, one request ahead, or from the
 * ring's memory. */
class SampleSource {
  public:
    explicit SampleSource(PgConnection &conn) : conn_(&conn) {}
    explicit SampleSource(std::unique_ptr<RingMemoryReader> memory)
        : memory_(std::move(memory)) {}
    bool reads_memory() const { return memory_ != nullptr; }

    /* Asks for the samples after `after_seq`, oldest first, at most
     * `max_rows`; receive() waits for them. At most one request is
     * outstanding, and the connection serves nothing else meanwhile. */
    void request(uint64_t after_seq, int max_rows);
    bool requested() const { return requested_; }

    /* Takes in what the server has sent so far for the outstanding request
     * without waiting, so that the server is never stalled on a full
     * socket while the previous batch is encoded. */
    void pump();

    /* Replaces `rows` with the answer to the outstanding request. */
    void receive(std::vector<SampleRow> &rows);

  private:
    PgConnection *conn_ = nullptr;
    std::unique_ptr<RingMemoryReader> memory_;
    uint64_t after_seq_ = 0; /* the outstanding request, read from memory */
    int max_rows_ = 0;
    bool prepared_ = false;
    bool packed_ = false; /* pg_qprof.read_samples_packed is used */
    bool requested_ = false;
};

} // namespace qprof
