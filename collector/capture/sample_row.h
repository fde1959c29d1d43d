/*
 * sample_row.h — one row of pg_qprof.read_samples as the collector holds it
 * between the server and the capture file (units as in the capture).
 */
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "exec_io.h"

namespace qprof {

struct SampleRow {
    uint64_t seq = 0;
    int32_t pid = 0;
    uint64_t exec_id = 0;
    uint64_t parent_exec_id = 0;
    uint32_t nesting_level = 0;
    bool toplevel = false;
    bool has_node_actuals = false;
    uint32_t dbid = 0;
    uint32_t userid = 0;
    std::string application_name;
    std::string client_addr; /* empty for a local connection */
    std::string tags_json;   /* empty when the statement had no tags */
    int64_t queryid = 0;
    uint64_t planid = 0;
    int cmd = 0; /* capture::v1::CmdType */
    int64_t start_unix_us = 0;
    int64_t end_unix_us = 0;
    uint64_t plan_time_ns = 0;
    uint64_t exec_time_ns = 0;
    uint64_t rows = 0;
    uint64_t shared_blks_hit = 0, shared_blks_read = 0, shared_blks_dirtied = 0,
             shared_blks_written = 0;
    uint64_t local_blks_hit = 0, local_blks_read = 0, local_blks_dirtied = 0,
             local_blks_written = 0;
    uint64_t temp_blks_read = 0, temp_blks_written = 0;
    uint64_t blk_read_time_ns = 0, blk_write_time_ns = 0;
    uint64_t temp_blk_read_time_ns = 0, temp_blk_write_time_ns = 0;
    uint64_t wal_records = 0, wal_fpi = 0, wal_bytes = 0;
    uint64_t jit_functions = 0;
    uint64_t jit_generation_time_ns = 0, jit_inlining_time_ns = 0,
             jit_optimization_time_ns = 0, jit_emission_time_ns = 0;
    uint32_t parallel_workers_planned = 0, parallel_workers_launched = 0;
    std::string sqlstate; /* empty when "00000" */
    /* the extension's wait sampler (SampledWaits): ticks per wait event
     * class, indexed as ExecIo's classes; interval 0 when it was off */
    uint32_t wait_sample_interval_us = 0;
    std::array<uint32_t, kWaitClasses> sampled_wait_ticks{};
};

} // namespace qprof
