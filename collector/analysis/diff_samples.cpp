/*
 * diff_requests.cpp — a capture set's requests per route. A backend serves
 * one request at a time: its top-level executions that carry the same
 * request id, one after the other, are that request; the next id (or the
 * end of the capture) closes it. Executions of a request are split by
 * their route tag, should one request carry several.
 */
#include "diff_requests.h"

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

class RequestBuilder : public CaptureVisitor {
  public:
    RequestBuilder(CaptureSet &set, RequestProfile &out)
        : set_(set), out_(out), route_key_(set.intern("route")) {}

    void sample(const ResolvedSample &r) override {
        const DecodedSample &d = *r.decoded;
        const pb::Sample &s = *d.sample;
        if (!s.toplevel() || r.tags == nullptr || r.tags->request.empty())
            return;
        uint32_t route = r.tags->value_of(route_key_);
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
            RouteRequests &rr = out_.routes[set_.string(part.route)];
            ++rr.requests;
            rr.executions += part.executions;
            rr.total_ns += part.ns;
            uint64_t ns = static_cast<uint64_t>(std::llround(part.ns));
            rr.latency.add(LatencyHistogram::bucket_of(ns), ns);
        }
    }

    CaptureSet &set_;
    RequestProfile &out_;
    uint32_t route_key_;
    std::unordered_map<uint64_t, OpenRequest> open_;
};

} // namespace

RequestProfile build_request_profile(CaptureSet &set) {
    RequestProfile out;
    RequestBuilder builder(set, out);
    set.read(builder);
    builder.finish();
    return out;
}

} // namespace qprof
