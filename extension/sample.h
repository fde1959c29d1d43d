/*
 * sample.h — the record of one statement execution (DESIGN.md contract 1).
 *
 * A sample is written once, at the end of an execution, into a fixed-size
 * slot of the shared-memory ring. It holds only plain data (no pointers) so
 * that a reader can copy it out of shared memory and check it was not torn.
 *
 * This header is included by C++ code that must not see PostgreSQL headers,
 * so it uses fixed-width integer types only.
 */
#pragma once

#include <cstddef>
#include <cstdint>

namespace qprof {

/* Limits of the variable-length parts, stored inline and truncated. */
constexpr int kAppNameBytes = 64; /* NAMEDATALEN */
constexpr int kTagBytes = 256;    /* raw sqlcommenter comment body */
/* Wait event classes the wait sampler counts apart, indexed by the class
 * byte of wait_event_info (1 LWLock, 3 Lock, 4 BufferPin, 5 Activity,
 * 6 Client, 7 Extension, 8 IPC, 9 Timeout, 10 IO); the last slot holds
 * any class above IO. Slot 0 stays empty (no wait reported). */
constexpr int kSampledWaitClasses = 12;

/* Command types, as in PostgreSQL's CmdType, plus utility statements. */
enum class SampleCmd : uint8_t {
    Unknown = 0,
    Select = 1,
    Update = 2,
    Insert = 3,
    Delete = 4,
    Merge = 5,
    Utility = 6,
};

/* The command's name, as the SQL views show it. */
inline const char *sample_cmd_name(SampleCmd cmd) {
    switch (cmd) {
    case SampleCmd::Select:
        return "SELECT";
    case SampleCmd::Update:
        return "UPDATE";
    case SampleCmd::Insert:
        return "INSERT";
    case SampleCmd::Delete:
        return "DELETE";
    case SampleCmd::Merge:
        return "MERGE";
    case SampleCmd::Utility:
        return "UTILITY";
    default:
        return "UNKNOWN";
    }
}

/* The name of a slot of Sample::sampled_wait_ticks, as
 * pg_stat_activity.wait_event_type names the class; null for slot 0. */
inline const char *sampled_wait_class_name(int slot) {
    static const char *const names[kSampledWaitClasses] = {
        nullptr,  "LWLock",    "Class2", "Lock",    "BufferPin", "Activity",
        "Client", "Extension", "IPC",    "Timeout", "IO",        "Other"};
    return slot > 0 && slot < kSampledWaitClasses ? names[slot] : nullptr;
}

/* Bits of Sample::flags. */
enum SampleFlag : uint8_t {
    kFlagTopLevel = 1 << 0,
    kFlagNodeActuals = 1 << 1,   /* per-node actuals kept for this execution */
    kFlagPlanningOnly = 1 << 2,  /* failed during planning, never executed */
    kFlagTagsTruncated = 1 << 3, /* the comment was longer than kTagBytes */
};

struct Sample {
    /* identity */
    uint64_t seq;            /* ring sequence number, dense from 1 per epoch */
    uint64_t exec_id;        /* per-backend execution id, from 1 */
    uint64_t parent_exec_id; /* 0 for a top-level statement */
    int32_t pid;
    int16_t nesting_level; /* 0 = top level */
    uint8_t flags;         /* SampleFlag bits */
    SampleCmd cmd;

    /* who */
    uint32_t dbid;
    uint32_t userid;
    uint8_t client_family; /* 0 = none (unix socket/local), 4 or 6 */
    uint8_t client_addr[16];
    uint16_t tags_len; /* 0 = no sqlcommenter comment; bytes in tags[] */
    char app_name[kAppNameBytes]; /* NUL-terminated */

    /* what */
    int64_t queryid;
    uint64_t planid; /* 0 until plan identity is computed */

    /* when: PostgreSQL TimestampTz (µs since 2000-01-01) */
    int64_t start_ts;
    int64_t end_ts;

    /* how long */
    int64_t plan_time_ns;
    int64_t exec_time_ns;

    /* work */
    int64_t rows;
    int64_t shared_blks_hit, shared_blks_read, shared_blks_dirtied,
        shared_blks_written;
    int64_t local_blks_hit, local_blks_read, local_blks_dirtied,
        local_blks_written;
    int64_t temp_blks_read, temp_blks_written;
    int64_t blk_read_time_ns, blk_write_time_ns;
    int64_t temp_blk_read_time_ns, temp_blk_write_time_ns;
    int64_t wal_records, wal_fpi, wal_bytes;
    int64_t jit_functions;
    int64_t jit_generation_time_ns, jit_inlining_time_ns,
        jit_optimization_time_ns, jit_emission_time_ns;
    int16_t parallel_workers_planned;
    int16_t parallel_workers_launched;

    /* outcome: PostgreSQL's packed SQLSTATE (MAKE_SQLSTATE), 0 = success */
    int32_t sqlstate;

    /* waits found by the wait sampler (wait_sampler.h), without BPF: the
     * ticks per wait event class while the execution ran, each standing
     * for wait_sample_interval_us; interval 0 when sampling was off */
    uint32_t wait_sample_interval_us;
    uint32_t sampled_wait_ticks[kSampledWaitClasses];

    /* raw body of the sqlcommenter comment, not NUL-terminated; parsed
     * (and URL-decoded) only when read, never on the hot path */
    char tags[kTagBytes];
};

/* Everything but the tag buffer; a sample's used bytes are these followed
 * by tags_len bytes of tags. Only the used bytes are copied out of the ring:
 * most statements carry no comment, and the buffer is 40% of the struct. */
constexpr size_t kSampleFixedBytes = offsetof(Sample, tags);

inline size_t sample_used_bytes(const Sample &s) {
    return kSampleFixedBytes + (s.tags_len <= kTagBytes
                                    ? s.tags_len
                                    : static_cast<size_t>(kTagBytes));
}

/* pg_qprof.read_samples_packed returns this header followed by `count`
 * records, each the first sample_used_bytes() of a Sample as it is in
 * memory (no padding between records): the collector's fast path, built
 * from this same header. */
struct PackedSamplesHeader {
    char magic[4];        /* "QPS3" */
    uint32_t fixed_bytes; /* kSampleFixedBytes: a layout check */
    uint32_t count;
    uint32_t reserved;
};
constexpr char kPackedSamplesMagic[4] = {'Q', 'P', 'S', '3'};

} // namespace qprof
