#include "io_attribution.h"
#include "errors.h"

#include <cstdio>
#include <cstdlib>

#ifdef QPROF_WITH_BPF
#include "bpf_attach.h"
#include "privileges.h"
#endif

namespace qprof {

#ifdef QPROF_WITH_BPF

struct IoAttribution::State {
    std::unique_ptr<BpfAttribution> bpf;
    std::vector<ExecIo> batch; /* element i: the i-th row of the batch */
    std::vector<ExecKey> keys;
    uint64_t lost_events_reported = 0;
};

IoAttribution::IoAttribution() : state_(std::make_unique<State>()) {}
IoAttribution::~IoAttribution() = default;

void IoAttribution::start(const std::string &mode, bool trace_syscalls,
                          PgConnection &conn) {
    if (mode == "off")
        return;
    std::string reason;
    try {
        PgResult word = conn.exec(
            "SELECT postmaster_pid, word_address FROM pg_qprof.exec_word()");
        state_->bpf = std::make_unique<BpfAttribution>(
            std::atoi(word.value(0, 0)),
            static_cast<uint64_t>(std::strtoll(word.value(0, 1), nullptr, 10)),
            BpfOptions{BpfOptions().max_entries, trace_syscalls});
        active_ = true;
        trace_syscalls_ = trace_syscalls;
        std::string failed = drop_capabilities_after_attach();
        if (!failed.empty())
            fprintf(stderr,
                    "qprof collect: could not drop capabilities after "
                    "attaching the BPF programs: %s\n",
                    failed.c_str());
        return;
    } catch (const BpfUnavailable &unavailable) {
        reason = unavailable.what();
    } catch (const ServerError &refused) {
        reason = std::string("cannot locate the execution word (needs a "
                             "superuser connection): ") +
                 refused.what();
    }
    if (mode == "on")
        throw ServerError("BPF I/O attribution unavailable: " + reason);
    notice_ = "BPF I/O attribution unavailable, samples carry no I/O stats: " +
              reason;
    fprintf(stderr, "qprof collect: %s\n", notice_.c_str());
}

void IoAttribution::take(const std::vector<SampleRow> &rows) {
    if (!active_)
        return;
    state_->keys.clear();
    for (const SampleRow &row : rows)
        state_->keys.push_back(ExecKey{row.pid, row.exec_id});
    state_->batch = state_->bpf->take(state_->keys);
}

const ExecIo *IoAttribution::facts_of(size_t row_index) const {
    if (!active_ || row_index >= state_->batch.size())
        return nullptr;
    return &state_->batch[row_index];
}

std::string IoAttribution::housekeeping() {
    if (!active_)
        return "";
    state_->bpf->drop_unclaimed(std::chrono::seconds(30));
    BpfStats stats = state_->bpf->stats();
    uint64_t lost = stats.lost_events - state_->lost_events_reported;
    state_->lost_events_reported = stats.lost_events;
    if (lost == 0)
        return "";
    return "BPF: " + std::to_string(lost) +
           " kernel events lost (entry map full at " +
           std::to_string(stats.max_entries) +
           " executions, or CPU slices overwritten before they were read); "
           "some samples undercount their I/O or CPU time";
}

#else /* built without BPF support */

struct IoAttribution::State {};

IoAttribution::IoAttribution() = default;
IoAttribution::~IoAttribution() = default;

void IoAttribution::start(const std::string &mode, bool, PgConnection &) {
    if (mode == "off")
        return;
    const char *reason = "qprof was built without BPF support";
    if (mode == "on")
        throw ServerError(std::string("BPF I/O attribution unavailable: ") +
                          reason);
    notice_ = std::string("BPF I/O attribution unavailable, samples carry "
                          "no I/O stats: ") +
              reason;
    fprintf(stderr, "qprof collect: %s\n", notice_.c_str());
}

void IoAttribution::take(const std::vector<SampleRow> &) {}
const ExecIo *IoAttribution::facts_of(size_t) const {
    return nullptr;
}
std::string IoAttribution::housekeeping() {
    return "";
}

#endif

} // namespace qprof
