/*
 * diff_samples.cpp — a capture set's requests per route, and the work of
 * its statements' and routes' executions. A backend serves one request at
 * a time: its top-level executions that carry the same request id, one
 * after the other, are that request; the next id (or the end of the
 * capture) closes it. Executions of a request are split by their route
 * tag, should one request carry several. An execution's wait split is
 * read once (WaitView, as the report reads it) for its statement, its
 * route and its request.
 */
#include "diff_samples.h"

#include <cmath>
#include <unordered_map>
#include <vector>

namespace qprof {

namespace {

namespace pb = capture::v1;

/* Routes of one request kept apart; more are added to the last one. */
constexpr size_t kMaxRoutesPerRequest = 16;

struct OpenRequest {
    std::string request;
    struct Part {
        uint32_t route; /* string id */
        double executions;
        double ns;
        double runqueue_ns; /* of its executions, weighted */
        bool split;         /* every execution carries the wait split */
    };
    std::vector<Part> parts;
};

uint64_t less_runqueue(uint64_t elapsed_ns, double runqueue_ns) {
    double rest = static_cast<double>(elapsed_ns) - runqueue_ns;
    return rest > 0 ? static_cast<uint64_t>(std::llround(rest)) : 0;
}

void add_work(ExecutionWork &w, const SampleFields &s, const WaitView &waits,
              double weight) {
    w.rows.add(static_cast<double>(s.rows()), weight);
    w.shared_blks_read.add(static_cast<double>(s.shared_blks_read()), weight);
    w.shared_blks_accessed.add(
        static_cast<double>(s.shared_blks_hit() + s.shared_blks_read()),
        weight);
    if (s.has_io())
        w.io_wait_ms.add(static_cast<double>(s.io().offcpu_io_wait_ns()) / 1e6,
                         weight);
    if (!s.sqlstate().empty() && s.sqlstate() != "00000")
        w.errors += weight;
    w.batches.add(s.plan_time_ns() + s.exec_time_ns());
    if (!waits.present) {
        ++w.without_split;
        return;
    }
    std::array<double, kWaitParts> parts = wait_parts_ms(waits);
    for (size_t i = 0; i < kWaitParts; ++i)
        w.wait_parts_ms[i].add(parts[i], weight);
    uint64_t ns =
        less_runqueue(s.plan_time_ns() + s.exec_time_ns(), waits.runqueue_ns);
    w.latency_less_runqueue.add(LatencyHistogram::bucket_of(ns), ns);
    w.batches_less_runqueue.add(ns);
}

class SampleFactsBuilder : public CaptureVisitor {
  public:
    SampleFactsBuilder(CaptureSet &set, SampleFacts &out)
        : set_(set), out_(out), route_key_(set.intern("route")) {}

    void sample(const ResolvedSample &r) override {
        const DecodedSample &d = *r.decoded;
        const SampleFields &s = d.sample;
        StatementWorkKey statement{
            r.server, s.dbid(), r.statement_text,
            r.statement_text == 0 ? static_cast<int>(s.cmd()) : 0};
        WaitView waits; /* unweighted: one execution's values */
        if (s.has_io())
            waits.set(s.io(), 1, s.plan_time_ns() + s.exec_time_ns());
        add_work(out_.statement_work[statement], s, waits, r.weight);
        if (!s.toplevel() || r.tags == nullptr)
            return;
        uint32_t route = r.tags->value_of(route_key_);
        if (route != 0)
            add_work(out_.route_work[set_.string(route)], s, waits, r.weight);
        if (r.tags->request.empty())
            return;
        uint64_t key = static_cast<uint64_t>(r.server) << 32 |
                       static_cast<uint32_t>(d.pid);
        OpenRequest &open = open_[key];
        if (open.request != r.tags->request) {
            close(open);
            open.request = r.tags->request;
            open.parts.clear();
        }
        double ns =
            r.weight * static_cast<double>(s.plan_time_ns() + s.exec_time_ns());
        double runqueue_ns = r.weight * waits.runqueue_ns;
        OpenRequest::Part *into = nullptr;
        for (OpenRequest::Part &part : open.parts)
            if (part.route == route) {
                into = &part;
                break;
            }
        if (into == nullptr && open.parts.size() < kMaxRoutesPerRequest) {
            open.parts.push_back({route, 0, 0, 0, true});
            into = &open.parts.back();
        } else if (into == nullptr) {
            into = &open.parts.back();
        }
        into->executions += r.weight;
        into->ns += ns;
        into->runqueue_ns += runqueue_ns;
        into->split = into->split && waits.present;
    }

    void finish() {
        for (auto &entry : open_)
            close(entry.second);
        open_.clear();
    }

  private:
    void close(const OpenRequest &open) {
        if (open.request.empty())
            return;
        ++out_.requests;
        for (const OpenRequest::Part &part : open.parts) {
            if (part.route == 0)
                continue; /* untagged executions are no route */
            RouteRequests &rr = out_.route_requests[set_.string(part.route)];
            ++rr.requests;
            rr.executions += part.executions;
            rr.total_ns += part.ns;
            uint64_t ns = static_cast<uint64_t>(std::llround(part.ns));
            rr.latency.add(LatencyHistogram::bucket_of(ns), ns);
            rr.batches.add(ns);
            if (!part.split) {
                ++rr.without_split;
                continue;
            }
            uint64_t less = less_runqueue(ns, part.runqueue_ns);
            rr.latency_less_runqueue.add(LatencyHistogram::bucket_of(less),
                                         less);
            rr.batches_less_runqueue.add(less);
        }
    }

    CaptureSet &set_;
    SampleFacts &out_;
    uint32_t route_key_;
    std::unordered_map<uint64_t, OpenRequest> open_;
};

} // namespace

const char *wait_part_name(WaitPart part) {
    switch (part) {
    case WaitPart::OnCpu:
        return "oncpu";
    case WaitPart::RunQueue:
        return "runqueue";
    case WaitPart::IoWait:
        return "io_wait";
    case WaitPart::Lock:
        return "lock";
    case WaitPart::LWLock:
        return "lwlock";
    case WaitPart::OtherWaits:
        return "other_waits";
    }
    return "other_waits";
}

const char *wait_part_label(WaitPart part) {
    switch (part) {
    case WaitPart::OnCpu:
        return "on the CPU";
    case WaitPart::RunQueue:
        return "waiting for a CPU";
    case WaitPart::IoWait:
        return "I/O wait";
    case WaitPart::Lock:
        return "Lock";
    case WaitPart::LWLock:
        return "LWLock";
    case WaitPart::OtherWaits:
        return "other waits";
    }
    return "other waits";
}

std::array<double, kWaitParts> wait_parts_ms(const WaitView &v) {
    double io = 0, lock = 0, lwlock = 0, other = 0;
    for (size_t i = 0; i < v.classes; ++i) {
        if (v.cls[i].slot == pb::WAIT_CLASS_IO)
            io += v.cls[i].ns;
        else if (v.cls[i].slot == pb::WAIT_CLASS_LOCK)
            lock += v.cls[i].ns;
        else if (v.cls[i].slot == pb::WAIT_CLASS_LWLOCK)
            lwlock += v.cls[i].ns;
        else
            other += v.cls[i].ns;
    }
    std::array<double, kWaitParts> ms{};
    ms[static_cast<size_t>(WaitPart::OnCpu)] = v.oncpu_ns / 1e6;
    ms[static_cast<size_t>(WaitPart::RunQueue)] = v.runqueue_ns / 1e6;
    ms[static_cast<size_t>(WaitPart::IoWait)] = io / 1e6;
    ms[static_cast<size_t>(WaitPart::Lock)] = lock / 1e6;
    ms[static_cast<size_t>(WaitPart::LWLock)] = lwlock / 1e6;
    ms[static_cast<size_t>(WaitPart::OtherWaits)] = other / 1e6;
    return ms;
}

SampleFacts read_sample_facts(CaptureSet &set) {
    SampleFacts out;
    SampleFactsBuilder builder(set, out);
    set.read(builder);
    builder.finish();
    return out;
}

} // namespace qprof
