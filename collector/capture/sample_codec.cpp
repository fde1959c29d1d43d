#include "sample_codec.h"
#include "capture_format.h"
#include "wait_events.h"
#include "wire_writer.h"

#include <algorithm>

namespace qprof {

namespace pb = capture::v1;

namespace {

/* Field numbers of qprof.proto used by the encoder. */
enum RecordField : uint32_t { kRecordSampleBlock = 6 };
enum SampleBlockField : uint32_t {
    kBlockEpoch = 1,
    kBlockFirstSeq = 2,
    kBlockBaseStart = 3,
    kBlockSamples = 4,
};
enum SampleField : uint32_t {
    kSeqSkip = 1,
    kPid,
    kExecIdDelta,
    kParentExecDistance,
    kNestingLevel,
    kToplevel,
    kHasNodeActuals,
    kDbid,
    kUserid,
    kApplicationNameId,
    kClientAddrId,
    kTagSetId,
    kQueryRef,
    kPlanRef,
    kCmd,
    kStartDeltaUs,
    kDurationUs,
    kPlanTimeNs,
    kExecTimeNs,
    kRows,
    kSharedBlksHit,
    kSharedBlksRead,
    kSharedBlksDirtied,
    kSharedBlksWritten,
    kLocalBlksHit,
    kLocalBlksRead,
    kLocalBlksDirtied,
    kLocalBlksWritten,
    kTempBlksRead,
    kTempBlksWritten,
    kBlkReadTimeNs,
    kBlkWriteTimeNs,
    kTempBlkReadTimeNs,
    kTempBlkWriteTimeNs,
    kWalRecords,
    kWalFpi,
    kWalBytes,
    kJitFunctions,
    kJitGenerationTimeNs,
    kJitInliningTimeNs,
    kJitOptimizationTimeNs,
    kJitEmissionTimeNs,
    kParallelWorkersPlanned,
    kParallelWorkersLaunched,
    kSqlstate,
    kIo,
    kSampledWaits,
};
enum SampledWaitsField : uint32_t { kSampledInterval = 1, kSampledClasses };
enum IoStatsField : uint32_t {
    kReadSyscalls = 1,
    kReadBytes,
    kReadLatencyNs,
    kWriteSyscalls,
    kWriteBytes,
    kWriteLatencyNs,
    kFsyncCalls,
    kFsyncLatencyNs,
    kPageCacheMisses,
    kReadaheadPages,
    kBlockRequests,
    kBlockBytes,
    kBlockLatencyNs,
    kOffcpuIoWaitNs,
    kOffcpuOtherNs,
    kOncpuNs,
    kRunqueueNs,
    kRunqueueWaits,
    kWaitClassTimes,
    kWaitEventTimes,
    kOtherWaitEventsNs,
    kOtherWaitEventsCount,
    kOffcpuNoWaitEventNs,
    kOffcpuNoWaitEventCount,
};
enum WaitClassTimeField : uint32_t { kClassId = 1, kClassNs, kClassCount };
enum WaitEventTimeField : uint32_t {
    kEventInfo = 1,
    kEventName,
    kEventNs,
    kEventCount,
};

/* The numbers above are qprof.proto's: checked against the generated code. */
static_assert(static_cast<int>(kSeqSkip) == pb::Sample::kSeqSkipFieldNumber);
static_assert(static_cast<int>(kPid) == pb::Sample::kPidFieldNumber);
static_assert(static_cast<int>(kExecIdDelta) ==
              pb::Sample::kExecIdDeltaFieldNumber);
static_assert(static_cast<int>(kParentExecDistance) ==
              pb::Sample::kParentExecDistanceFieldNumber);
static_assert(static_cast<int>(kNestingLevel) ==
              pb::Sample::kNestingLevelFieldNumber);
static_assert(static_cast<int>(kToplevel) == pb::Sample::kToplevelFieldNumber);
static_assert(static_cast<int>(kHasNodeActuals) ==
              pb::Sample::kHasNodeActualsFieldNumber);
static_assert(static_cast<int>(kDbid) == pb::Sample::kDbidFieldNumber);
static_assert(static_cast<int>(kUserid) == pb::Sample::kUseridFieldNumber);
static_assert(static_cast<int>(kApplicationNameId) ==
              pb::Sample::kApplicationNameIdFieldNumber);
static_assert(static_cast<int>(kClientAddrId) ==
              pb::Sample::kClientAddrIdFieldNumber);
static_assert(static_cast<int>(kTagSetId) == pb::Sample::kTagSetIdFieldNumber);
static_assert(static_cast<int>(kQueryRef) == pb::Sample::kQueryRefFieldNumber);
static_assert(static_cast<int>(kPlanRef) == pb::Sample::kPlanRefFieldNumber);
static_assert(static_cast<int>(kCmd) == pb::Sample::kCmdFieldNumber);
static_assert(static_cast<int>(kStartDeltaUs) ==
              pb::Sample::kStartDeltaUsFieldNumber);
static_assert(static_cast<int>(kDurationUs) ==
              pb::Sample::kDurationUsFieldNumber);
static_assert(static_cast<int>(kPlanTimeNs) ==
              pb::Sample::kPlanTimeNsFieldNumber);
static_assert(static_cast<int>(kExecTimeNs) ==
              pb::Sample::kExecTimeNsFieldNumber);
static_assert(static_cast<int>(kRows) == pb::Sample::kRowsFieldNumber);
static_assert(static_cast<int>(kSharedBlksHit) ==
              pb::Sample::kSharedBlksHitFieldNumber);
static_assert(static_cast<int>(kSharedBlksRead) ==
              pb::Sample::kSharedBlksReadFieldNumber);
static_assert(static_cast<int>(kSharedBlksDirtied) ==
              pb::Sample::kSharedBlksDirtiedFieldNumber);
static_assert(static_cast<int>(kSharedBlksWritten) ==
              pb::Sample::kSharedBlksWrittenFieldNumber);
static_assert(static_cast<int>(kLocalBlksHit) ==
              pb::Sample::kLocalBlksHitFieldNumber);
static_assert(static_cast<int>(kLocalBlksRead) ==
              pb::Sample::kLocalBlksReadFieldNumber);
static_assert(static_cast<int>(kLocalBlksDirtied) ==
              pb::Sample::kLocalBlksDirtiedFieldNumber);
static_assert(static_cast<int>(kLocalBlksWritten) ==
              pb::Sample::kLocalBlksWrittenFieldNumber);
static_assert(static_cast<int>(kTempBlksRead) ==
              pb::Sample::kTempBlksReadFieldNumber);
static_assert(static_cast<int>(kTempBlksWritten) ==
              pb::Sample::kTempBlksWrittenFieldNumber);
static_assert(static_cast<int>(kBlkReadTimeNs) ==
              pb::Sample::kBlkReadTimeNsFieldNumber);
static_assert(static_cast<int>(kBlkWriteTimeNs) ==
              pb::Sample::kBlkWriteTimeNsFieldNumber);
static_assert(static_cast<int>(kTempBlkReadTimeNs) ==
              pb::Sample::kTempBlkReadTimeNsFieldNumber);
static_assert(static_cast<int>(kTempBlkWriteTimeNs) ==
              pb::Sample::kTempBlkWriteTimeNsFieldNumber);
static_assert(static_cast<int>(kWalRecords) ==
              pb::Sample::kWalRecordsFieldNumber);
static_assert(static_cast<int>(kWalFpi) == pb::Sample::kWalFpiFieldNumber);
static_assert(static_cast<int>(kWalBytes) == pb::Sample::kWalBytesFieldNumber);
static_assert(static_cast<int>(kJitFunctions) ==
              pb::Sample::kJitFunctionsFieldNumber);
static_assert(static_cast<int>(kJitGenerationTimeNs) ==
              pb::Sample::kJitGenerationTimeNsFieldNumber);
static_assert(static_cast<int>(kJitInliningTimeNs) ==
              pb::Sample::kJitInliningTimeNsFieldNumber);
static_assert(static_cast<int>(kJitOptimizationTimeNs) ==
              pb::Sample::kJitOptimizationTimeNsFieldNumber);
static_assert(static_cast<int>(kJitEmissionTimeNs) ==
              pb::Sample::kJitEmissionTimeNsFieldNumber);
static_assert(static_cast<int>(kParallelWorkersPlanned) ==
              pb::Sample::kParallelWorkersPlannedFieldNumber);
static_assert(static_cast<int>(kParallelWorkersLaunched) ==
              pb::Sample::kParallelWorkersLaunchedFieldNumber);
static_assert(static_cast<int>(kSqlstate) == pb::Sample::kSqlstateFieldNumber);
static_assert(static_cast<int>(kIo) == pb::Sample::kIoFieldNumber);
static_assert(static_cast<int>(kSampledWaits) ==
              pb::Sample::kSampledWaitsFieldNumber);
static_assert(static_cast<int>(kSampledInterval) ==
              pb::SampledWaits::kIntervalUsFieldNumber);
static_assert(static_cast<int>(kSampledClasses) ==
              pb::SampledWaits::kClassesFieldNumber);
static_assert(static_cast<int>(kReadSyscalls) ==
              pb::IoStats::kReadSyscallsFieldNumber);
static_assert(static_cast<int>(kReadBytes) ==
              pb::IoStats::kReadBytesFieldNumber);
static_assert(static_cast<int>(kReadLatencyNs) ==
              pb::IoStats::kReadLatencyNsFieldNumber);
static_assert(static_cast<int>(kWriteSyscalls) ==
              pb::IoStats::kWriteSyscallsFieldNumber);
static_assert(static_cast<int>(kWriteBytes) ==
              pb::IoStats::kWriteBytesFieldNumber);
static_assert(static_cast<int>(kWriteLatencyNs) ==
              pb::IoStats::kWriteLatencyNsFieldNumber);
static_assert(static_cast<int>(kFsyncCalls) ==
              pb::IoStats::kFsyncCallsFieldNumber);
static_assert(static_cast<int>(kFsyncLatencyNs) ==
              pb::IoStats::kFsyncLatencyNsFieldNumber);
static_assert(static_cast<int>(kPageCacheMisses) ==
              pb::IoStats::kPageCacheMissesFieldNumber);
static_assert(static_cast<int>(kReadaheadPages) ==
              pb::IoStats::kReadaheadPagesFieldNumber);
static_assert(static_cast<int>(kBlockRequests) ==
              pb::IoStats::kBlockRequestsFieldNumber);
static_assert(static_cast<int>(kBlockBytes) ==
              pb::IoStats::kBlockBytesFieldNumber);
static_assert(static_cast<int>(kBlockLatencyNs) ==
              pb::IoStats::kBlockLatencyNsFieldNumber);
static_assert(static_cast<int>(kOffcpuIoWaitNs) ==
              pb::IoStats::kOffcpuIoWaitNsFieldNumber);
static_assert(static_cast<int>(kOffcpuOtherNs) ==
              pb::IoStats::kOffcpuOtherNsFieldNumber);
static_assert(static_cast<int>(kOncpuNs) == pb::IoStats::kOncpuNsFieldNumber);
static_assert(static_cast<int>(kRunqueueNs) ==
              pb::IoStats::kRunqueueNsFieldNumber);
static_assert(static_cast<int>(kWaitClassTimes) ==
              pb::IoStats::kWaitClassesFieldNumber);
static_assert(static_cast<int>(kWaitEventTimes) ==
              pb::IoStats::kWaitEventsFieldNumber);
static_assert(static_cast<int>(kOffcpuNoWaitEventCount) ==
              pb::IoStats::kOffcpuNoWaitEventCountFieldNumber);
static_assert(static_cast<int>(kClassCount) ==
              pb::WaitClassTime::kCountFieldNumber);
static_assert(static_cast<int>(kEventCount) ==
              pb::WaitEventTime::kCountFieldNumber);
static_assert(static_cast<int>(kBlockSamples) ==
              pb::SampleBlock::kSamplesFieldNumber);
static_assert(static_cast<int>(kBlockEpoch) ==
              pb::SampleBlock::kEpochFieldNumber);
static_assert(static_cast<int>(kBlockFirstSeq) ==
              pb::SampleBlock::kFirstSeqFieldNumber);
static_assert(static_cast<int>(kBlockBaseStart) ==
              pb::SampleBlock::kBaseStartUnixUsFieldNumber);
static_assert(static_cast<int>(kRecordSampleBlock) ==
              pb::Record::kSampleBlockFieldNumber);

/* The events a sample lists apart, the largest; the others are summed. */
constexpr size_t kListedWaitEvents = 5;
constexpr size_t kMaxWaitEventNameBytes = 64;
/* Upper bounds of an encoded WaitClassTime and WaitEventTime (tag and
 * length, then fields of at most 2 + 10 bytes), and IoStats (24 scalar
 * fields, the classes but "none", the listed events) and Sample (45 scalar
 * fields, a short SQLSTATE, the IoStats). */
constexpr size_t kMaxWaitClassBytes = 3 + 3 * 12;
constexpr size_t kMaxWaitEventBytes = 3 + 3 * 12 + 3 + kMaxWaitEventNameBytes;
constexpr size_t kMaxIoStatsBytes = 24 * 12 +
                                    (kWaitClasses - 1) * kMaxWaitClassBytes +
                                    kListedWaitEvents * kMaxWaitEventBytes;
constexpr size_t kMaxSqlstateBytes = 16;
constexpr size_t kMaxSampledWaitsBytes =
    12 + (kWaitClasses - 1) * kMaxWaitClassBytes;
constexpr size_t kMaxSampleBytes = 45 * 12 + (3 + kMaxSqlstateBytes) +
                                   (3 + kMaxIoStatsBytes) +
                                   (3 + kMaxSampledWaitsBytes);

/* The sampler's ticks per class, as ticks and time at its resolution. */
void encode_sampled_waits(const SampleRow &row, WireWriter &w) {
    w.uint_field(kSampledInterval, row.wait_sample_interval_us);
    for (size_t c = 1; c < kWaitClasses; ++c) {
        uint64_t ticks = row.sampled_wait_ticks[c];
        if (ticks == 0)
            continue;
        char buffer[kMaxWaitClassBytes];
        WireWriter wc(buffer);
        wc.uint_field(kClassId, c);
        wc.uint_field(kClassNs, ticks * row.wait_sample_interval_us * 1000);
        wc.uint_field(kClassCount, ticks);
        w.message_field(kSampledClasses, wc);
    }
}

/* The off-CPU time by cause: run queue, each wait event class, the
 * largest events, the rest summed, and no wait event. */
void encode_waits(const ExecIo &e, WireWriter &w) {
    w.uint_field(kRunqueueNs, e.runqueue_ns);
    w.uint_field(kRunqueueWaits, e.runqueue_waits);
    uint64_t classes_ns = 0, classes_count = 0;
    for (size_t c = 1; c < kWaitClasses; ++c) {
        if (e.wait_class_ns[c] == 0 && e.wait_class_count[c] == 0)
            continue;
        char buffer[kMaxWaitClassBytes];
        WireWriter wc(buffer);
        wc.uint_field(kClassId, c);
        wc.uint_field(kClassNs, e.wait_class_ns[c]);
        wc.uint_field(kClassCount, e.wait_class_count[c]);
        w.message_field(kWaitClassTimes, wc);
        classes_ns += e.wait_class_ns[c];
        classes_count += e.wait_class_count[c];
    }
    /* the largest events, by time, then by number for the same bytes */
    WaitEventTime listed[kListedWaitEvents];
    size_t n = 0;
    for (const WaitEventTime &ev : e.wait_events) {
        auto larger = [](const WaitEventTime &a, const WaitEventTime &b) {
            return a.ns != b.ns ? a.ns > b.ns : a.event < b.event;
        };
        if (n < kListedWaitEvents)
            listed[n++] = ev;
        else if (larger(ev, listed[n - 1]))
            listed[n - 1] = ev;
        else
            continue;
        std::sort(listed, listed + n, larger);
    }
    uint64_t listed_ns = 0, listed_count = 0;
    for (size_t i = 0; i < n; ++i) {
        char buffer[kMaxWaitEventBytes];
        WireWriter we(buffer);
        std::string name = wait_event_name(listed[i].event);
        we.uint_field(kEventInfo, listed[i].event);
        we.string_field(kEventName, name.data(),
                        std::min(name.size(), kMaxWaitEventNameBytes));
        we.uint_field(kEventNs, listed[i].ns);
        we.uint_field(kEventCount, listed[i].count);
        w.message_field(kWaitEventTimes, we);
        listed_ns += listed[i].ns;
        listed_count += listed[i].count;
    }
    w.uint_field(kOtherWaitEventsNs,
                 classes_ns > listed_ns ? classes_ns - listed_ns : 0);
    w.uint_field(kOtherWaitEventsCount, classes_count > listed_count
                                            ? classes_count - listed_count
                                            : 0);
    w.uint_field(kOffcpuNoWaitEventNs, e.wait_class_ns[0]);
    w.uint_field(kOffcpuNoWaitEventCount, e.wait_class_count[0]);
}

void encode_io(const ExecIo &e, bool with_syscalls, WireWriter &w) {
    if (with_syscalls) {
        w.present_uint_field(kReadSyscalls, e.read_calls);
        w.present_uint_field(kReadBytes, e.read_bytes);
        w.present_uint_field(kReadLatencyNs, e.read_ns);
        w.present_uint_field(kWriteSyscalls, e.write_calls);
        w.present_uint_field(kWriteBytes, e.write_bytes);
        w.present_uint_field(kWriteLatencyNs, e.write_ns);
        w.present_uint_field(kFsyncCalls, e.fsync_calls);
        w.present_uint_field(kFsyncLatencyNs, e.fsync_ns);
    }
    w.uint_field(kPageCacheMisses, e.page_cache_miss_pages);
    w.uint_field(kReadaheadPages, e.readahead_pages);
    w.uint_field(kBlockRequests, e.block_requests);
    w.uint_field(kBlockBytes, e.block_bytes);
    w.uint_field(kBlockLatencyNs, e.block_device_ns);
    w.uint_field(kOffcpuIoWaitNs, e.offcpu_io_ns);
    w.uint_field(kOffcpuOtherNs, e.offcpu_other_ns);
    w.uint_field(kOncpuNs, e.oncpu_ns);
    encode_waits(e, w);
}

} // namespace

void SampleBlockEncoder::begin(uint64_t epoch, uint64_t first_seq,
                               int64_t base_start_unix_us) {
    active_ = true;
    count_ = 0;
    epoch_ = epoch;
    first_seq_ = first_seq;
    base_start_us_ = base_start_unix_us;
    prev_seq_ = first_seq - 1;
    prev_start_us_ = base_start_unix_us;
    prev_pid_ = 0;
    last_exec_id_of_pid_.clear();
    samples_.clear();
}

void SampleBlockEncoder::add(const SampleRow &row, const SampleRefs &refs,
                             const ExecIo *io, bool with_syscalls) {
    char buffer[kMaxSampleBytes];
    WireWriter w(buffer);
    w.uint_field(kSeqSkip, row.seq - prev_seq_ - 1);
    prev_seq_ = row.seq;
    if (row.pid != prev_pid_)
        w.int_field(kPid, row.pid);
    prev_pid_ = row.pid;
    uint64_t &last_exec_id = last_exec_id_of_pid_[row.pid];
    w.sint_field(kExecIdDelta,
                 static_cast<int64_t>(row.exec_id - last_exec_id));
    last_exec_id = row.exec_id;
    if (row.parent_exec_id != 0)
        w.sint_field(kParentExecDistance,
                     static_cast<int64_t>(row.exec_id - row.parent_exec_id));
    w.uint_field(kNestingLevel, row.nesting_level);
    w.uint_field(kToplevel, row.toplevel);
    w.uint_field(kHasNodeActuals, row.has_node_actuals);

    w.uint_field(kDbid, row.dbid);
    w.uint_field(kUserid, row.userid);
    w.uint_field(kApplicationNameId, refs.application_name_id);
    w.uint_field(kClientAddrId, refs.client_addr_id);
    w.uint_field(kTagSetId, refs.tag_set_id);
    w.uint_field(kQueryRef, refs.query_ref);
    w.uint_field(kPlanRef, refs.plan_ref);
    w.int_field(kCmd, row.cmd);

    w.sint_field(kStartDeltaUs, row.start_unix_us - prev_start_us_);
    prev_start_us_ = row.start_unix_us;
    w.uint_field(kDurationUs,
                 static_cast<uint64_t>(row.end_unix_us - row.start_unix_us));
    w.uint_field(kPlanTimeNs, row.plan_time_ns);
    w.uint_field(kExecTimeNs, row.exec_time_ns);

    w.uint_field(kRows, row.rows);
    w.uint_field(kSharedBlksHit, row.shared_blks_hit);
    w.uint_field(kSharedBlksRead, row.shared_blks_read);
    w.uint_field(kSharedBlksDirtied, row.shared_blks_dirtied);
    w.uint_field(kSharedBlksWritten, row.shared_blks_written);
    w.uint_field(kLocalBlksHit, row.local_blks_hit);
    w.uint_field(kLocalBlksRead, row.local_blks_read);
    w.uint_field(kLocalBlksDirtied, row.local_blks_dirtied);
    w.uint_field(kLocalBlksWritten, row.local_blks_written);
    w.uint_field(kTempBlksRead, row.temp_blks_read);
    w.uint_field(kTempBlksWritten, row.temp_blks_written);
    w.uint_field(kBlkReadTimeNs, row.blk_read_time_ns);
    w.uint_field(kBlkWriteTimeNs, row.blk_write_time_ns);
    w.uint_field(kTempBlkReadTimeNs, row.temp_blk_read_time_ns);
    w.uint_field(kTempBlkWriteTimeNs, row.temp_blk_write_time_ns);
    w.uint_field(kWalRecords, row.wal_records);
    w.uint_field(kWalFpi, row.wal_fpi);
    w.uint_field(kWalBytes, row.wal_bytes);
    w.uint_field(kJitFunctions, row.jit_functions);
    w.uint_field(kJitGenerationTimeNs, row.jit_generation_time_ns);
    w.uint_field(kJitInliningTimeNs, row.jit_inlining_time_ns);
    w.uint_field(kJitOptimizationTimeNs, row.jit_optimization_time_ns);
    w.uint_field(kJitEmissionTimeNs, row.jit_emission_time_ns);
    w.uint_field(kParallelWorkersPlanned, row.parallel_workers_planned);
    w.uint_field(kParallelWorkersLaunched, row.parallel_workers_launched);
    w.string_field(kSqlstate, row.sqlstate.data(),
                   std::min(row.sqlstate.size(), kMaxSqlstateBytes));
    if (io != nullptr) {
        char io_buffer[kMaxIoStatsBytes];
        WireWriter io_writer(io_buffer);
        encode_io(*io, with_syscalls, io_writer);
        w.message_field(kIo, io_writer);
    }
    if (row.wait_sample_interval_us != 0) {
        char waits_buffer[kMaxSampledWaitsBytes];
        WireWriter waits_writer(waits_buffer);
        encode_sampled_waits(row, waits_writer);
        w.message_field(kSampledWaits, waits_writer);
    }

    append_varint(samples_, (kBlockSamples << 3) | 2);
    append_varint(samples_, w.size());
    samples_.append(w.data(), w.size());
    ++count_;
}

void SampleBlockEncoder::record(std::string_view *head,
                                std::string_view *body) {
    char buffer[3 * 11];
    WireWriter block(buffer);
    block.uint_field(kBlockEpoch, epoch_);
    block.uint_field(kBlockFirstSeq, first_seq_);
    block.int_field(kBlockBaseStart, base_start_us_);
    head_.clear();
    append_varint(head_, (kRecordSampleBlock << 3) | 2);
    append_varint(head_, block.size() + samples_.size());
    head_.append(block.data(), block.size());
    *head = head_;
    *body = samples_;
}

void SampleBlockEncoder::end() {
    active_ = false;
    count_ = 0;
    samples_.clear();
}

namespace {

/* a + b with two's complement wrap-around, not undefined behaviour */
int64_t wrapping_add(int64_t a, uint64_t b) {
    return static_cast<int64_t>(static_cast<uint64_t>(a) + b);
}
int64_t wrapping_add(int64_t a, int64_t b) {
    return wrapping_add(a, static_cast<uint64_t>(b));
}

} // namespace

SampleBlockDecoder::SampleBlockDecoder(uint64_t epoch, uint64_t first_seq,
                                       int64_t base_start_unix_us)
    : epoch_(epoch), seq_(first_seq - 1), start_us_(base_start_unix_us) {}

bool SampleBlockDecoder::next(const uint8_t *data, size_t size,
                              DecodedSample &out) {
    if (!decode_sample_fields(data, size, out.sample))
        return false;
    const SampleFields &s = out.sample;
    seq_ += 1 + s.seq_skip();
    if (s.pid() != 0)
        pid_ = s.pid();
    uint64_t &last_exec_id = last_exec_id_of_pid_[pid_];
    last_exec_id += static_cast<uint64_t>(s.exec_id_delta());
    /* modulo 2^64: a damaged or hostile block must not overflow */
    start_us_ = wrapping_add(start_us_, s.start_delta_us());
    out.epoch = epoch_;
    out.seq = seq_;
    out.pid = pid_;
    out.exec_id = last_exec_id;
    out.parent_exec_id =
        s.parent_exec_distance() == 0
            ? 0
            : last_exec_id - static_cast<uint64_t>(s.parent_exec_distance());
    out.start_unix_us = start_us_;
    out.end_unix_us = wrapping_add(start_us_, s.duration_us());
    return true;
}

void decode_sample_messages(
    const pb::SampleBlock &block,
    const std::function<void(const DecodedSample &, const pb::Sample &)>
        &visit) {
    SampleBlockDecoder decoder(block.epoch(), block.first_seq(),
                               block.base_start_unix_us());
    /* read again from its wire format: a message protobuf parsed, so it
     * decodes */
    DecodedSample d;
    std::string bytes;
    for (const pb::Sample &s : block.samples()) {
        bytes.clear();
        s.AppendToString(&bytes);
        if (decoder.next(reinterpret_cast<const uint8_t *>(bytes.data()),
                         bytes.size(), d))
            visit(d, s);
    }
}

void decode_sample_block(
    const pb::SampleBlock &block,
    const std::function<void(const DecodedSample &)> &visit) {
    decode_sample_messages(block, [&visit](const DecodedSample &d,
                                           const pb::Sample &) { visit(d); });
}

uint64_t last_seq_of_block(const pb::SampleBlock &block) {
    if (block.samples_size() == 0)
        return 0;
    uint64_t seq = block.first_seq() - 1;
    for (const pb::Sample &s : block.samples())
        seq += 1 + s.seq_skip();
    return seq;
}

} // namespace qprof
