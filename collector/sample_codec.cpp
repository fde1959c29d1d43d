#include "sample_codec.h"

namespace qprof {

namespace pb = capture::v1;

void SampleBlockEncoder::begin(pb::SampleBlock *block, uint64_t epoch,
                               uint64_t first_seq, int64_t base_start_unix_us) {
    block_ = block;
    block_->Clear();
    block_->set_epoch(epoch);
    block_->set_first_seq(first_seq);
    block_->set_base_start_unix_us(base_start_unix_us);
    epoch_ = epoch;
    prev_seq_ = first_seq - 1;
    prev_start_us_ = base_start_unix_us;
    prev_pid_ = 0;
    last_exec_id_of_pid_.clear();
}

size_t SampleBlockEncoder::size() const {
    return block_ == nullptr ? 0 : static_cast<size_t>(block_->samples_size());
}

pb::Sample *SampleBlockEncoder::add(const SampleRow &row,
                                    const SampleRefs &refs) {
    pb::Sample *s = block_->add_samples();
    s->set_seq_skip(row.seq - prev_seq_ - 1);
    prev_seq_ = row.seq;

    if (row.pid != prev_pid_)
        s->set_pid(row.pid);
    prev_pid_ = row.pid;
    uint64_t &last_exec_id = last_exec_id_of_pid_[row.pid];
    s->set_exec_id_delta(static_cast<int64_t>(row.exec_id - last_exec_id));
    last_exec_id = row.exec_id;
    if (row.parent_exec_id != 0)
        s->set_parent_exec_distance(
            static_cast<int64_t>(row.exec_id - row.parent_exec_id));
    s->set_nesting_level(row.nesting_level);
    s->set_toplevel(row.toplevel);
    s->set_has_node_actuals(row.has_node_actuals);

    s->set_dbid(row.dbid);
    s->set_userid(row.userid);
    s->set_application_name_id(refs.application_name_id);
    s->set_client_addr_id(refs.client_addr_id);
    s->set_tag_set_id(refs.tag_set_id);
    s->set_query_ref(refs.query_ref);
    s->set_plan_ref(refs.plan_ref);
    s->set_cmd(static_cast<pb::CmdType>(row.cmd));

    s->set_start_delta_us(row.start_unix_us - prev_start_us_);
    prev_start_us_ = row.start_unix_us;
    s->set_duration_us(
        static_cast<uint64_t>(row.end_unix_us - row.start_unix_us));
    s->set_plan_time_ns(row.plan_time_ns);
    s->set_exec_time_ns(row.exec_time_ns);

    s->set_rows(row.rows);
    s->set_shared_blks_hit(row.shared_blks_hit);
    s->set_shared_blks_read(row.shared_blks_read);
    s->set_shared_blks_dirtied(row.shared_blks_dirtied);
    s->set_shared_blks_written(row.shared_blks_written);
    s->set_local_blks_hit(row.local_blks_hit);
    s->set_local_blks_read(row.local_blks_read);
    s->set_local_blks_dirtied(row.local_blks_dirtied);
    s->set_local_blks_written(row.local_blks_written);
    s->set_temp_blks_read(row.temp_blks_read);
    s->set_temp_blks_written(row.temp_blks_written);
    s->set_blk_read_time_ns(row.blk_read_time_ns);
    s->set_blk_write_time_ns(row.blk_write_time_ns);
    s->set_temp_blk_read_time_ns(row.temp_blk_read_time_ns);
    s->set_temp_blk_write_time_ns(row.temp_blk_write_time_ns);
    s->set_wal_records(row.wal_records);
    s->set_wal_fpi(row.wal_fpi);
    s->set_wal_bytes(row.wal_bytes);
    s->set_jit_functions(row.jit_functions);
    s->set_jit_generation_time_ns(row.jit_generation_time_ns);
    s->set_jit_inlining_time_ns(row.jit_inlining_time_ns);
    s->set_jit_optimization_time_ns(row.jit_optimization_time_ns);
    s->set_jit_emission_time_ns(row.jit_emission_time_ns);
    s->set_parallel_workers_planned(row.parallel_workers_planned);
    s->set_parallel_workers_launched(row.parallel_workers_launched);
    if (!row.sqlstate.empty())
        s->set_sqlstate(row.sqlstate);
    return s;
}

void decode_sample_block(
    const pb::SampleBlock &block,
    const std::function<void(const DecodedSample &)> &visit) {
    DecodedSample d;
    d.epoch = block.epoch();
    uint64_t seq = block.first_seq() - 1;
    int64_t start_us = block.base_start_unix_us();
    int32_t pid = 0;
    std::unordered_map<int32_t, uint64_t> last_exec_id_of_pid;
    for (const pb::Sample &s : block.samples()) {
        seq += 1 + s.seq_skip();
        if (s.pid() != 0)
            pid = s.pid();
        uint64_t &last_exec_id = last_exec_id_of_pid[pid];
        last_exec_id += static_cast<uint64_t>(s.exec_id_delta());
        start_us += s.start_delta_us();
        d.seq = seq;
        d.pid = pid;
        d.exec_id = last_exec_id;
        d.parent_exec_id = s.parent_exec_distance() == 0
                               ? 0
                               : last_exec_id - static_cast<uint64_t>(
                                                    s.parent_exec_distance());
        d.start_unix_us = start_us;
        d.end_unix_us = start_us + static_cast<int64_t>(s.duration_us());
        d.sample = &s;
        visit(d);
    }
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
