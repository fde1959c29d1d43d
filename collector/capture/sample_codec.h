/*
 * sample_codec.h — the delta encoding of SampleBlock (see qprof.proto):
 * the encoder turns rows into compact Sample messages, written straight in
 * wire format; the decoder gives back absolute values. Both restart at
 * every block.
 */
#pragma once

#include "exec_io.h"
#include "qprof.pb.h"
#include "sample_fields.h"
#include "sample_row.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace qprof {

/* References to definitions the sample points at (0 = none). */
struct SampleRefs {
    uint32_t application_name_id = 0;
    uint32_t client_addr_id = 0;
    uint32_t tag_set_id = 0;
    uint32_t query_ref = 0;
    uint32_t plan_ref = 0;
};

/* Builds one SampleBlock record in wire format (wire_writer.h). */
class SampleBlockEncoder {
  public:
    /* Starts a new, empty block. */
    void begin(uint64_t epoch, uint64_t first_seq, int64_t base_start_unix_us);

    /* Appends `row`. `io` is what the kernel did for it, or null when BPF is
     * off (Sample.io absent); with_syscalls says whether IoStats carries the
     * system call fields. */
    void add(const SampleRow &row, const SampleRefs &refs, const ExecIo *io,
             bool with_syscalls);

    bool active() const { return active_; }
    size_t size() const { return count_; }

    /* The block as a Record (its sample_block) in two pieces, to write one
     * after the other: head (record tag, length, block fields) and body (the
     * samples). Valid until the next call. */
    void record(std::string_view *head, std::string_view *body);

    /* Forgets the block (after it was written). */
    void end();

  private:
    bool active_ = false;
    size_t count_ = 0;
    uint64_t epoch_ = 0;
    uint64_t first_seq_ = 0;
    int64_t base_start_us_ = 0;
    uint64_t prev_seq_ = 0;
    int64_t prev_start_us_ = 0;
    int32_t prev_pid_ = 0;
    std::unordered_map<int32_t, uint64_t> last_exec_id_of_pid_;
    std::string samples_;
    std::string head_;
};

/* A sample with its identity and times made absolute. */
struct DecodedSample {
    uint64_t epoch = 0;
    uint64_t seq = 0;
    int32_t pid = 0;
    uint64_t exec_id = 0;
    uint64_t parent_exec_id = 0;
    int64_t start_unix_us = 0;
    int64_t end_unix_us = 0;
    /* what a SamplePreparer (capture_reader.h) made of it on the parsing
     * thread, or null (on the same cache line as the fields above) */
    const void *prepared = nullptr;
    SampleFields sample; /* the other fields */
};

/* Decodes the samples of one block, one after the other, and makes them
 * absolute (the delta encoding of qprof.proto's SampleBlock). */
class SampleBlockDecoder {
  public:
    SampleBlockDecoder(uint64_t epoch, uint64_t first_seq,
                       int64_t base_start_unix_us);
    /* Reads the next sample, the encoded Sample message `data`, into `out`
     * (reused: what it holds is replaced); false when it does not decode
     * (decode_sample_fields), and the block is then damaged. */
    bool next(const uint8_t *data, size_t size, DecodedSample &out);

  private:
    uint64_t epoch_;
    uint64_t seq_;
    int64_t start_us_;
    int32_t pid_ = 0;
    std::unordered_map<int32_t, uint64_t> last_exec_id_of_pid_;
};

/* Calls `visit` for each sample of `block` (parsed by protobuf), in
 * order. */
void decode_sample_block(
    const capture::v1::SampleBlock &block,
    const std::function<void(const DecodedSample &)> &visit);
/* The same, each with its message (what `qprof dump` shows field by
 * field). */
void decode_sample_messages(
    const capture::v1::SampleBlock &block,
    const std::function<void(const DecodedSample &,
                             const capture::v1::Sample &)> &visit);

/* Seq of the last sample of `block` (0 when empty). */
uint64_t last_seq_of_block(const capture::v1::SampleBlock &block);

} // namespace qprof
