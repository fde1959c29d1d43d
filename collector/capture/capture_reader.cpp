#include "capture_reader.h"
#include "capture_format.h"
#include "frame_checks.h"
#include "frame_decoder.h"
#include "frame_scanner.h"
#include "mapped_file.h"
#include "read_ahead.h"
#include "record_batch.h"
#include "record_wire.h"
#include "tag_set_fields.h"

namespace qprof {

namespace pb = capture::v1;

bool ReadSummary::damaged() const {
    for (const ReadProblem &problem : problems)
        if (problem.kind == ReadProblem::Kind::Damage)
            return true;
    return false;
}

namespace {

/* The name of the record's kind, for a message. */
const char *record_kind_name(const pb::Record &record) {
    const google::protobuf::FieldDescriptor *field =
        pb::Record::GetReflection()->GetOneofFieldDescriptor(
            record, pb::Record::descriptor()->FindOneofByName("kind"));
    return field == nullptr ? "record with no kind" : field->name().c_str();
}

/* Why the first record of a file is not a header this reader reads, or
 * "". */
std::string header_problem(const pb::Record &first) {
    if (!first.has_header())
        return std::string("no header: the file's first record is a ") +
               record_kind_name(first);
    uint32_t version = first.header().format_version();
    if (version == 0)
        return "header without a format version (0 is not a version)";
    if (version > kFormatVersion)
        return "format version " + std::to_string(version) +
               " is newer than this qprof reads (" +
               std::to_string(kFormatVersion) + ")";
    return "";
}

} // namespace

ReadSummary read_capture_file(const std::string &path,
                              const RecordVisitor &visit) {
    return read_capture_file(path, visit, SamplesVisitor());
}

ReadSummary read_capture_file(const std::string &path,
                              const RecordVisitor &visit,
                              const SamplesVisitor &visit_samples) {
    return read_capture_file(path, visit, visit_samples, TagSetVisitor());
}

ReadSummary read_capture_file(const std::string &path,
                              const RecordVisitor &visit,
                              const SamplesVisitor &visit_samples,
                              const TagSetVisitor &visit_tag_set,
                              const SamplePreparer *preparer,
                              const ReadRange &range) {
    MappedFile file(path, range.from, range.limit);
    ReadSummary summary;
    summary.file_bytes = file.size();
    summary.read_from = summary.frames_end = file.begin();
    /* the header is the first record of the file's first frame */
    bool from_start = file.begin() == 0;
    bool first = from_start;
    /* A second thread decompresses and parses the records ahead of the
     * visitor, which runs here: `summary` is the parser's until run()
     * returns. */
    ReadAhead<RecordBatch> ahead(kRecordBatches);
    auto parse = [&] {
        FrameDecoder decoder;
        FrameScanner scanner(file, summary, decoder);
        RecordBatch *batch = &ahead.empty_buffer();
        decoder.parse_on(&batch->reuse());
        auto next_batch = [&] {
            ahead.publish(*batch);
            batch = &ahead.empty_buffer();
            decoder.parse_on(&batch->reuse());
        };
        bool stop = false;
        FrameSpan frame;
        auto header_refused = [&](const std::string &why) {
            summary.problems.push_back(
                {ReadProblem::Kind::Damage, frame.offset, why + "; not read"});
        };
        if (visit_samples) {
            decoder.visit_blocks_with([&](const BlockWire &block) {
                if (first) {
                    first = false;
                    header_refused("no header: the file's first record is a "
                                   "sample_block");
                    return RecordOutcome::Stop;
                }
                SampleBlockDecoder samples(block.epoch, block.first_seq,
                                           block.base_start_unix_us);
                auto open_item = [&] {
                    batch->items.push_back({RecordBatch::Item::Kind::Samples,
                                            nullptr, frame.offset, block.epoch,
                                            batch->sample_count(), 0});
                };
                bool item_open = false, decoded = true, any = false;
                for_each_sample_wire(block, [&](const uint8_t *bytes,
                                                size_t size) {
                    DecodedSample &sample = batch->next_sample();
                    if (!samples.next(bytes, size, sample)) {
                        decoded = false;
                        return false;
                    }
                    sample.prepared = nullptr;
                    if (preparer != nullptr) {
                        void *at =
                            batch->next_prepared(preparer->prepared_bytes());
                        preparer->prepare(sample, at);
                        sample.prepared = at;
                    }
                    if (!item_open)
                        open_item();
                    item_open = any = true;
                    batch->add_sample();
                    ++batch->items.back().count;
                    if (batch->sample_count() >= RecordBatch::kFullSamples) {
                        next_batch();
                        item_open = false;
                    }
                    return true;
                });
                if (!any)
                    open_item(); /* an empty block still has its epoch */
                if (!decoded)
                    return RecordOutcome::Undecodable;
                if (batch->full())
                    next_batch();
                return RecordOutcome::Read;
            });
        }
        if (visit_tag_set) {
            decoder.visit_tag_sets_with([&](const uint8_t *fields,
                                            size_t size) {
                if (first) {
                    first = false;
                    header_refused("no header: the file's first record is a "
                                   "tag_set");
                    return RecordOutcome::Stop;
                }
                if (!decode_tag_set_fields(fields, size, batch->next_tag_set()))
                    return RecordOutcome::Undecodable;
                batch->items.push_back({RecordBatch::Item::Kind::TagSet,
                                        nullptr, frame.offset, 0,
                                        batch->add_tag_set(), 1});
                if (batch->full())
                    next_batch();
                return RecordOutcome::Read;
            });
        }
        while (!stop && scanner.next(frame)) {
            stop = !decoder.decode(
                file.data(), frame, summary, [&](const pb::Record &record) {
                    if (first) {
                        first = false;
                        std::string why = header_problem(record);
                        if (!why.empty()) {
                            header_refused(why);
                            return false;
                        }
                    }
                    batch->items.push_back({RecordBatch::Item::Kind::Record,
                                            &record, frame.offset, 0, 0, 0});
                    if (batch->full())
                        next_batch();
                    return true;
                });
        }
        ahead.publish(*batch);
        summary.frames_end = scanner.frames_end();
    };
    ahead.run(parse, [&](const RecordBatch &batch) {
        for (const RecordBatch::Item &item : batch.items) {
            switch (item.kind) {
            case RecordBatch::Item::Kind::Record:
                visit(*item.record, item.frame_offset);
                break;
            case RecordBatch::Item::Kind::Samples:
                visit_samples(item.epoch, batch.samples() + item.first,
                              item.count, item.frame_offset);
                break;
            case RecordBatch::Item::Kind::TagSet:
                visit_tag_set(batch.tag_set(item.first), item.frame_offset);
                break;
            }
        }
    });
    /* A file cut inside its first frame (a copy cut short, or a crash of
     * a writer older than the partial names) is a truncated tail with
     * nothing before it; any other file without a header is no capture. */
    bool cut_in_first_frame =
        summary.problems.size() == 1 && summary.problems[0].offset == 0 &&
        summary.problems[0].kind == ReadProblem::Kind::TruncatedTail &&
        file.size() > 0 && file.data()[0] == kZstdMagic[0];
    if (from_start && first && !cut_in_first_frame)
        summary.problems.push_back(
            {ReadProblem::Kind::Damage, 0,
             file.size() == 0 ? "empty file: no header"
                              : "no header: no frame of the file decodes"});
    return summary;
}

void scan_capture_frames_backwards(const std::string &path,
                                   const BackwardsVisitor &visit_record,
                                   const FrameEndVisitor &frame_done) {
    MappedFile file(path);
    ReadSummary summary;
    FrameDecoder decoder;
    std::vector<FrameSpan> frames = locate_frames(file, summary, decoder);
    for (auto frame = frames.rbegin(); frame != frames.rend(); ++frame) {
        size_t problems = summary.problems.size();
        decoder.decode(file.data(), *frame, summary,
                       [&](const pb::Record &record) {
                           visit_record(record);
                           return true;
                       });
        bool damaged = summary.problems.size() != problems;
        if (!frame_done(damaged))
            return;
    }
}

void read_capture_frames_backwards(const std::string &path,
                                   const FrameVisitor &visit_frame) {
    std::vector<pb::Record> records;
    scan_capture_frames_backwards(
        path, [&](const pb::Record &record) { records.push_back(record); },
        [&](bool damaged) {
            if (damaged) {
                records.clear();
                return true;
            }
            bool more = visit_frame(records);
            records.clear();
            return more;
        });
}

bool read_capture_header(const std::string &path, pb::Header &header) {
    MappedFile file(path);
    ReadSummary summary;
    FrameDecoder decoder;
    FrameScanner scanner(file, summary, decoder);
    FrameSpan frame;
    if (!scanner.next(frame))
        return false;
    bool found = false;
    decoder.decode(file.data(), frame, summary, [&](const pb::Record &record) {
        if (record.has_header()) {
            header = record.header();
            found = true;
        }
        return false; /* the first record only */
    });
    return found;
}

} // namespace qprof
