/*
 * diff_samples.cpp — a capture set's requests per route, and the work of
 * its statements' and routes' executions. A backend serves one request at
 * a time: its top-level executions that carry the same request id, one
 * after the other, are that request; the next id (or the end of the
 * capture) closes it. Executions of a request are split by their route
 * tag, should one request carry several.
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
    };
    std::vector<Part> parts;
};

void add_work(ExecutionWork &w, const pb::Sample &s, double weight) {
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
}

class SampleFactsBuilder : public CaptureVisitor {
  public:
    SampleFactsBuilder(CaptureSet &set, SampleFacts &out)
        : set_(set), out_(out), route_key_(set.intern("route")) {}

    void sample(const ResolvedSample &r) override {
        const DecodedSample &d = *r.decoded;
        const pb::Sample &s = *d.sample;
        StatementWorkKey statement{
            r.server, s.dbid(), r.statement_text,
            r.statement_text == 0 ? static_cast<int>(s.cmd()) : 0};
        add_work(out_.statement_work[statement], s, r.weight);
        if (!s.toplevel() || r.tags == nullptr)
            return;
        uint32_t route = r.tags->value_of(route_key_);
        if (route != 0)
            add_work(out_.route_work[set_.string(route)], s, r.weight);
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
        for (OpenRequest::Part &part : open.parts)
            if (part.route == route) {
                part.executions += r.weight;
                part.ns += ns;
                return;
            }
        if (open.parts.size() < kMaxRoutesPerRequest)
            open.parts.push_back({route, r.weight, ns});
        else {
            open.parts.back().executions += r.weight;
            open.parts.back().ns += ns;
        }
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
        }
    }

    CaptureSet &set_;
    SampleFacts &out_;
    uint32_t route_key_;
    std::unordered_map<uint64_t, OpenRequest> open_;
};

} // namespace

SampleFacts read_sample_facts(CaptureSet &set) {
    SampleFacts out;
    SampleFactsBuilder builder(set, out);
    set.read(builder);
    builder.finish();
    return out;
}

} // namespace qprof
