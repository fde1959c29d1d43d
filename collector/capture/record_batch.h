/*
 * record_batch.h — the records of a capture file parsed ahead of their
 * visitor (read_capture_file), handed from the thread that decompresses
 * and parses to the one that visits, through read_ahead.h.
 */
#pragma once

#include "qprof.pb.h"
#include "sample_codec.h"
#include "tag_set_fields.h"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

namespace qprof {

/* Records of a file parsed ahead of their visitor (read_capture_file),
 * on an arena of their own that is reset when the batch is reused; the
 * samples of sample blocks decoded, a block possibly over several batches
 * (small batches are still in a cache when their visitor reads them). */
class RecordBatch {
  public:
    /* A record, samples of one block, or a tag set. */
    struct Item {
        enum class Kind : uint8_t { Record, Samples, TagSet } kind;
        const capture::v1::Record *record; /* Kind::Record */
        uint64_t frame_offset;
        uint64_t epoch;      /* Kind::Samples */
        size_t first, count; /* samples[first, first + count), or the
                              * tag set tag_sets[first] */
    };
    static constexpr size_t kFullSamples = 1024;

    /* Empties the batch; the next records go on the arena returned. */
    google::protobuf::Arena &reuse() {
        items.clear();
        samples_used_ = tag_sets_used_ = 0;
        if (!arena_) {
            /* not zero-filled: only the pages used are touched */
            block_.reset(new char[kFirstBlockBytes]);
            google::protobuf::ArenaOptions options;
            options.initial_block = block_.get();
            options.initial_block_size = kFirstBlockBytes;
            options.start_block_size = 64 * 1024;
            options.max_block_size = 8 << 20;
            arena_.emplace(options);
        }
        arena_->Reset();
        return *arena_;
    }
    google::protobuf::Arena &arena() { return *arena_; }
    bool full() const {
        return items.size() >= kFullRecords || samples_used_ >= kFullSamples ||
               tag_sets_used_ >= kFullTagSets ||
               arena_->SpaceUsed() >= kFullBytes;
    }
    ~RecordBatch() { arena_.reset(); /* before the block it uses */ }

    /* Where to decode the next sample: a sample of an earlier use of the
     * batch, whose lists and strings are reused (no allocation once the
     * batches have been round a few times). */
    DecodedSample &next_sample() {
        if (samples_used_ == samples_.size()) {
            if (samples_.empty())
                samples_.reserve(kFullSamples);
            samples_.emplace_back();
        }
        return samples_[samples_used_];
    }
    /* Where a SamplePreparer puts its result of the sample next_sample()
     * gave: `bytes` on 64-byte lines of their own (reused). */
    void *next_prepared(size_t bytes) {
        size_t lines = (bytes + sizeof(Line) - 1) / sizeof(Line);
        if (lines != prepared_lines_) {
            prepared_.reset(new Line[lines * kFullSamples]);
            prepared_lines_ = lines;
        }
        return prepared_.get() + samples_used_ * lines;
    }
    /* Keeps the sample next_sample() gave. */
    void add_sample() { ++samples_used_; }
    size_t sample_count() const { return samples_used_; }
    const DecodedSample *samples() const { return samples_.data(); }

    /* Where to decode the next tag set, reused as samples are. */
    TagSetFields &next_tag_set() {
        if (tag_sets_used_ == tag_sets_.size())
            tag_sets_.emplace_back();
        return tag_sets_[tag_sets_used_];
    }
    /* Keeps the tag set next_tag_set() gave; its index. */
    size_t add_tag_set() { return tag_sets_used_++; }
    const TagSetFields &tag_set(size_t i) const { return tag_sets_[i]; }

    std::vector<Item> items;

  private:
    static constexpr size_t kFullBytes = 2 << 20;
    static constexpr size_t kFullRecords = 4096;
    static constexpr size_t kFirstBlockBytes = 256 << 10;
    static constexpr size_t kFullTagSets = 1024;
    std::vector<DecodedSample> samples_;
    size_t samples_used_ = 0;
    /* the prepared samples, kFullSamples at most as the samples */
    struct alignas(64) Line {
        unsigned char bytes[64];
    };
    std::unique_ptr<Line[]> prepared_;
    size_t prepared_lines_ = 0;
    /* a deque: the sets keep their place as it grows */
    std::deque<TagSetFields> tag_sets_;
    size_t tag_sets_used_ = 0;
    std::unique_ptr<char[]> block_; /* outlives arena_ */
    std::optional<google::protobuf::Arena> arena_;
};

/* Batches between the thread that decompresses and parses a file and the
 * one that visits its records: the parser fills one while the visitor has
 * one and others wait. */
constexpr size_t kRecordBatches = 4;

} // namespace qprof
