#include "metrics.h"
#include "json_text.h"
#include "utf8_text.h"
#include "wait_events.h"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <map>
#include <unordered_map>
#include <vector>

namespace qprof {

const double kMetricsBucketSeconds[] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
const size_t kMetricsBuckets =
    sizeof(kMetricsBucketSeconds) / sizeof(kMetricsBucketSeconds[0]);

namespace {

/* The same bounds as `le` label values, written once so that every scrape
 * spells them alike. */
const char *const kBucketLabels[] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
    "0.05",   "0.1",     "0.25",   "0.5",   "1",      "2.5",   "5",    "10"};
constexpr size_t kBuckets = sizeof(kBucketLabels) / sizeof(kBucketLabels[0]);
static_assert(kBuckets == sizeof(kMetricsBucketSeconds) / sizeof(double),
              "one label a bound");

constexpr size_t kTextChars = 80;          /* of a statement's text */
constexpr size_t kMaxTexts = 16384;        /* texts kept for statements */
constexpr size_t kMaxSqlstateClasses = 64; /* then "other" */

/* The value of the "route" key of a flat JSON object of strings into
 * `route` ("" when there is none), without building the object: most
 * tags differ in every request (traceparent), so nothing is cached, and
 * this runs for every tagged sample. A value with an escape is left to
 * the full parser. */
void route_tag(const std::string &json, std::string &route) {
    route.clear();
    static const char kKey[] = "\"route\"";
    for (size_t at = json.find(kKey); at != std::string::npos;
         at = json.find(kKey, at + 1)) {
        /* a quote after a backslash is inside a string */
        if (at > 0 && json[at - 1] == '\\')
            continue;
        size_t i = at + sizeof kKey - 1;
        while (i < json.size() && json[i] == ' ')
            ++i;
        if (i >= json.size() || json[i] != ':')
            continue; /* "route" was a value */
        ++i;
        while (i < json.size() && json[i] == ' ')
            ++i;
        if (i >= json.size() || json[i] != '"')
            return;
        size_t end = json.find_first_of("\"\\", i + 1);
        if (end == std::string::npos)
            return;
        if (json[end] == '"') {
            route.assign(json, i + 1, end - i - 1);
            return;
        }
        std::map<std::string, std::string> tags;
        if (parse_flat_json_object(json, tags)) {
            auto tag = tags.find("route");
            if (tag != tags.end())
                route = tag->second;
        }
        return;
    }
}

uint64_t clock_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull +
           static_cast<uint64_t>(ts.tv_nsec);
}

/* What a family's series count for one key. */
struct Measures {
    uint64_t calls = 0, errors = 0, rows = 0;
    uint64_t shared_blks_hit = 0, shared_blks_read = 0;
    uint64_t time_ns = 0;          /* planning and execution */
    uint64_t blk_read_time_ns = 0; /* PostgreSQL's, with track_io_timing */
    std::array<uint64_t, kBuckets + 1> buckets{}; /* the last: above 10 s */
    /* the kernel facts of the executions that have them */
    uint64_t kernel_calls = 0, storage_read_pages = 0;
    uint64_t io_wait_ns = 0, other_wait_ns = 0, cpu_ns = 0;
    /* the off-CPU time again: runnable, then by wait event class */
    uint64_t runqueue_ns = 0;
    std::array<uint64_t, kWaitClasses> wait_class_ns{};

    void merge(const Measures &o) {
        calls += o.calls;
        errors += o.errors;
        rows += o.rows;
        shared_blks_hit += o.shared_blks_hit;
        shared_blks_read += o.shared_blks_read;
        time_ns += o.time_ns;
        blk_read_time_ns += o.blk_read_time_ns;
        for (size_t b = 0; b < buckets.size(); ++b)
            buckets[b] += o.buckets[b];
        kernel_calls += o.kernel_calls;
        storage_read_pages += o.storage_read_pages;
        io_wait_ns += o.io_wait_ns;
        other_wait_ns += o.other_wait_ns;
        cpu_ns += o.cpu_ns;
        runqueue_ns += o.runqueue_ns;
        for (size_t c = 0; c < kWaitClasses; ++c)
            wait_class_ns[c] += o.wait_class_ns[c];
    }

    void add(const SampleRow &row, const ExecIo *io, uint64_t time_ns_of_row,
             size_t bucket) {
        ++calls;
        if (!row.sqlstate.empty())
            ++errors;
        rows += row.rows;
        shared_blks_hit += row.shared_blks_hit;
        shared_blks_read += row.shared_blks_read;
        time_ns += time_ns_of_row;
        blk_read_time_ns += row.blk_read_time_ns;
        ++buckets[bucket];
        if (io != nullptr) {
            ++kernel_calls;
            storage_read_pages += io->page_cache_miss_pages;
            io_wait_ns += io->offcpu_io_ns;
            other_wait_ns += io->offcpu_other_ns;
            cpu_ns += io->oncpu_ns;
            runqueue_ns += io->runqueue_ns;
            for (size_t c = 0; c < kWaitClasses; ++c)
                wait_class_ns[c] += io->wait_class_ns[c];
        }
    }
};

/* The series of one family (statements, routes or applications): at most
 * `capacity` keys have their own, the rest are summed into `other`. Keys
 * are given series as they come while there is room. A key keeps its
 * series, so that its counters only grow, until a busier key takes its
 * place at a rebalance: the busiest keys outside (by time within the last
 * period) replace the idlest inside when busier. What a key leaving had
 * counted goes into `other`, so that the family's sums never go down; a
 * key given series counts from then on (from zero, which Prometheus reads
 * as a counter reset when it had series before). */
template <typename Key> struct Family {
    struct Slot {
        Measures measures;
        uint64_t window_ns = 0;
    };

    size_t capacity = 0;
    std::unordered_map<Key, Slot> slots;
    Measures other;
    std::unordered_map<Key, uint64_t> outside; /* time within the period */

    Measures &measures_of(const Key &key, uint64_t time_ns) {
        auto found = slots.find(key);
        if (found == slots.end() && slots.size() < capacity)
            found = slots.emplace(key, Slot{}).first;
        if (found != slots.end()) {
            found->second.window_ns += time_ns;
            return found->second.measures;
        }
        auto busy = outside.find(key);
        if (busy != outside.end())
            busy->second += time_ns;
        else if (outside.size() < 4 * capacity + 16)
            outside.emplace(key, time_ns);
        return other;
    }

    void rebalance() {
        std::vector<std::pair<uint64_t, Key>> in, out;
        for (const auto &slot : slots)
            in.emplace_back(slot.second.window_ns, slot.first);
        for (const auto &busy : outside)
            out.emplace_back(busy.second, busy.first);
        std::sort(in.begin(), in.end());
        std::sort(out.begin(), out.end(), [](const auto &a, const auto &b) {
            return a.first > b.first;
        });
        for (size_t i = 0; i < in.size() && i < out.size(); ++i) {
            if (out[i].first <= in[i].first)
                break;
            other.merge(slots[in[i].second].measures);
            slots.erase(in[i].second);
            slots.emplace(out[i].second, Slot{});
        }
        for (auto &slot : slots)
            slot.second.window_ns = 0;
        outside.clear();
    }
};

/* "12" for 12 ns as seconds: "0.000000012", exact. */
std::string seconds_text(uint64_t ns) {
    char text[32];
    snprintf(text, sizeof text, "%" PRIu64 ".%09" PRIu64, ns / 1000000000u,
             ns % 1000000000u);
    return text;
}

/* A label value as the exposition format wants it: UTF-8, with backslash,
 * double quote and line feed escaped. */
std::string label_value(const std::string &raw) {
    std::string valid = replace_invalid_utf8(raw);
    std::string out;
    out.reserve(valid.size());
    for (char c : valid) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

/* The first kTextChars characters of a statement's text, its runs of
 * white space made one space. */
std::string text_prefix(const std::string &text) {
    std::string valid = replace_invalid_utf8(text);
    std::string out;
    size_t chars = 0;
    bool space = false;
    for (size_t i = 0; i < valid.size() && chars < kTextChars;) {
        unsigned char c = static_cast<unsigned char>(valid[i]);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            space = !out.empty();
            ++i;
            continue;
        }
        if (space) {
            out += ' ';
            ++chars;
            space = false;
            if (chars >= kTextChars)
                break;
        }
        size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        out.append(valid, i, len);
        i += len;
        ++chars;
    }
    return out;
}

/* The class of a SQLSTATE (its first two characters), or "other" when it
 * is not made of digits and capital letters. */
std::string sqlstate_class(const std::string &sqlstate) {
    if (sqlstate.size() < 2)
        return "other";
    for (size_t i = 0; i < 2; ++i) {
        char c = sqlstate[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')))
            return "other";
    }
    return sqlstate.substr(0, 2);
}

size_t bucket_of(uint64_t time_ns) {
    double seconds = static_cast<double>(time_ns) / 1e9;
    size_t b = 0;
    while (b < kBuckets && seconds > kMetricsBucketSeconds[b])
        ++b;
    return b;
}

/* Writes the exposition text of one family. */
class FamilyWriter {
  public:
    FamilyWriter(std::string &out, const char *prefix, const char *label,
                 const char *what, bool with_kernel)
        : out_(out), prefix_(prefix), label_(label), what_(what),
          with_kernel_(with_kernel) {}

    /* keys: (label value, measures), in the order to write them */
    void
    write(const std::vector<std::pair<std::string, const Measures *>> &keys) {
        counter("calls_total", "Executions", keys,
                [](const Measures &m) { return std::to_string(m.calls); });
        counter("errors_total", "Executions that failed", keys,
                [](const Measures &m) { return std::to_string(m.errors); });
        counter("rows_total", "Rows returned or affected", keys,
                [](const Measures &m) { return std::to_string(m.rows); });
        counter("shared_blocks_hit_total",
                "Shared buffer hits (blocks, usually 8 KiB)", keys,
                [](const Measures &m) {
                    return std::to_string(m.shared_blks_hit);
                });
        counter("shared_blocks_read_total",
                "Shared blocks read outside shared buffers (page cache or "
                "storage)",
                keys, [](const Measures &m) {
                    return std::to_string(m.shared_blks_read);
                });
        counter("block_read_seconds_total",
                "Time reading blocks as PostgreSQL times it (track_io_timing)",
                keys, [](const Measures &m) {
                    return seconds_text(m.blk_read_time_ns);
                });
        if (with_kernel_) {
            counter("kernel_calls_total",
                    "Executions with kernel facts from the BPF programs", keys,
                    [](const Measures &m) {
                        return std::to_string(m.kernel_calls);
                    });
            counter("storage_read_pages_total",
                    "Pages read from storage (page cache misses, BPF)", keys,
                    [](const Measures &m) {
                        return std::to_string(m.storage_read_pages);
                    });
            counter(
                "io_wait_seconds_total", "Off-CPU time waiting for I/O (BPF)",
                keys,
                [](const Measures &m) { return seconds_text(m.io_wait_ns); });
            counter("other_wait_seconds_total",
                    "Off-CPU time not waiting for I/O: locks, client, ... "
                    "(BPF)",
                    keys, [](const Measures &m) {
                        return seconds_text(m.other_wait_ns);
                    });
            counter("cpu_seconds_total", "On-CPU time (BPF)", keys,
                    [](const Measures &m) { return seconds_text(m.cpu_ns); });
            counter(
                "runqueue_wait_seconds_total",
                "Off-CPU time runnable, waiting for a CPU (BPF)", keys,
                [](const Measures &m) { return seconds_text(m.runqueue_ns); });
            wait_classes(keys);
        }
        histogram(keys);
    }

  private:
    /* Only the classes a key has time in: 12 classes at most. */
    void wait_classes(
        const std::vector<std::pair<std::string, const Measures *>> &keys) {
        header("wait_seconds_total",
               "Off-CPU time not runnable, by the class of the wait event "
               "reported when it left the CPU (none: no wait event) (BPF)",
               "counter");
        for (const auto &key : keys)
            for (size_t c = 0; c < kWaitClasses; ++c) {
                if (key.second->wait_class_ns[c] == 0)
                    continue;
                const char *name =
                    c + 1 == kWaitClasses ? "other" : wait_event_class_name(c);
                out_ += std::string(prefix_) + "_wait_seconds_total{" + label_ +
                        "=\"" + key.first + "\",wait_class=\"" + name + "\"} " +
                        seconds_text(key.second->wait_class_ns[c]) + "\n";
            }
    }

    template <typename Value>
    void
    counter(const char *name, const char *help,
            const std::vector<std::pair<std::string, const Measures *>> &keys,
            Value value) {
        header(name, help, "counter");
        for (const auto &key : keys)
            out_ += std::string(prefix_) + "_" + name + "{" + label_ + "=\"" +
                    key.first + "\"} " + value(*key.second) + "\n";
    }

    void header(const char *name, const char *help, const char *type) {
        out_ += std::string("# HELP ") + prefix_ + "_" + name + " " + help +
                ", " + what_ + ".\n# TYPE " + prefix_ + "_" + name + " " +
                type + "\n";
    }

    void histogram(
        const std::vector<std::pair<std::string, const Measures *>> &keys) {
        header("duration_seconds", "Planning and execution time", "histogram");
        std::string name = std::string(prefix_) + "_duration_seconds";
        for (const auto &key : keys) {
            const Measures &m = *key.second;
            std::string labels = std::string(label_) + "=\"" + key.first + "\"";
            uint64_t cumulative = 0;
            for (size_t b = 0; b < kBuckets; ++b) {
                cumulative += m.buckets[b];
                out_ += name + "_bucket{" + labels + ",le=\"" +
                        kBucketLabels[b] + "\"} " + std::to_string(cumulative) +
                        "\n";
            }
            cumulative += m.buckets[kBuckets];
            out_ += name + "_bucket{" + labels + ",le=\"+Inf\"} " +
                    std::to_string(cumulative) + "\n";
            out_ +=
                name + "_sum{" + labels + "} " + seconds_text(m.time_ns) + "\n";
            out_ += name + "_count{" + labels + "} " + std::to_string(m.calls) +
                    "\n";
        }
    }

    std::string &out_;
    const char *prefix_, *label_, *what_;
    bool with_kernel_;
};

} // namespace

struct Metrics::State {
    MetricsOptions options;
    Family<int64_t> statements;
    Family<std::string> routes;
    Family<std::string> applications;
    std::unordered_map<int64_t, std::string> texts;  /* prefixes */
    std::map<std::string, uint64_t> errors_by_class; /* top-level */
    bool any_kernel = false;

    std::string route; /* of the last sample, its buffer reused */

    RingStatus ring;
    bool ring_known = false;
    uint64_t last_seq = 0, losses_total = 0, samples_total = 0;
    double lag_seconds = 0;
    uint64_t started_unix_ns = 0;
    uint64_t last_rebalance_ns = 0;

    void rebalance_when_due(uint64_t now_ns) {
        if ((now_ns - last_rebalance_ns) / 1e9 < options.rebalance_seconds)
            return;
        statements.rebalance();
        routes.rebalance();
        applications.rebalance();
        last_rebalance_ns = now_ns;
    }

    /* The route tag of a sample's tags, "" when it has none. */
    const std::string &route_of(const std::string &tags_json) {
        route_tag(tags_json, route);
        return route;
    }
};

Metrics::Metrics(const MetricsOptions &options)
    : state_(std::make_unique<State>()) {
    state_->options = options;
    state_->statements.capacity = options.statements;
    state_->routes.capacity = options.groups;
    state_->applications.capacity = options.groups;
    state_->started_unix_ns = clock_ns(CLOCK_REALTIME);
    state_->last_rebalance_ns = clock_ns(CLOCK_MONOTONIC_COARSE);
}

Metrics::~Metrics() = default;

void Metrics::add_text(int64_t queryid, const std::string &text) {
    std::lock_guard<std::mutex> lock(mutex_);
    State &s = *state_;
    if (s.texts.size() >= kMaxTexts && s.texts.count(queryid) == 0) {
        /* keep the texts of the statements that have series */
        for (auto it = s.texts.begin(); it != s.texts.end();)
            it = s.statements.slots.count(it->first) ? std::next(it)
                                                     : s.texts.erase(it);
        if (s.texts.size() >= kMaxTexts)
            return;
    }
    if (s.texts.count(queryid) == 0)
        s.texts.emplace(queryid, text_prefix(text));
}

void Metrics::add_sample(const SampleRow &row, const ExecIo *io) {
    uint64_t time_ns = row.plan_time_ns + row.exec_time_ns;
    size_t bucket = bucket_of(time_ns);
    uint64_t now_ns = clock_ns(CLOCK_MONOTONIC_COARSE);
    uint64_t wall_ns = clock_ns(CLOCK_REALTIME_COARSE);

    std::lock_guard<std::mutex> lock(mutex_);
    State &s = *state_;
    ++s.samples_total;
    if (io != nullptr)
        s.any_kernel = true;
    int64_t end_ns = row.end_unix_us * 1000;
    s.lag_seconds = end_ns > 0 && wall_ns > static_cast<uint64_t>(end_ns)
                        ? (wall_ns - static_cast<uint64_t>(end_ns)) / 1e9
                        : 0;

    s.statements.measures_of(row.queryid, time_ns)
        .add(row, io, time_ns, bucket);
    /* Routes and applications count top-level executions, as qprof report
     * attributes time: a nested statement's time is in its caller's. */
    if (row.toplevel) {
        s.applications.measures_of(row.application_name, time_ns)
            .add(row, io, time_ns, bucket);
        if (!row.tags_json.empty()) {
            const std::string &route = s.route_of(row.tags_json);
            if (!route.empty())
                s.routes.measures_of(route, time_ns)
                    .add(row, io, time_ns, bucket);
        }
        if (!row.sqlstate.empty()) {
            std::string cls = sqlstate_class(row.sqlstate);
            if (s.errors_by_class.count(cls) == 0 &&
                s.errors_by_class.size() >= kMaxSqlstateClasses)
                cls = "other";
            ++s.errors_by_class[cls];
        }
    }

    s.rebalance_when_due(now_ns);
}

void Metrics::set_status(const RingStatus &status, uint64_t last_seq,
                         uint64_t losses_total) {
    uint64_t now_ns = clock_ns(CLOCK_MONOTONIC_COARSE);
    std::lock_guard<std::mutex> lock(mutex_);
    /* here too, for a server gone quiet */
    state_->rebalance_when_due(now_ns);
    state_->ring = status;
    state_->ring_known = true;
    state_->last_seq = last_seq;
    state_->losses_total = losses_total;
}

namespace {

template <typename Key>
std::vector<std::pair<std::string, const Measures *>>
labelled(const Family<Key> &family, const char *other,
         std::string (*label_of)(const Key &)) {
    std::vector<std::pair<std::string, const Measures *>> keys;
    for (const auto &slot : family.slots)
        keys.emplace_back(label_value(label_of(slot.first)),
                          &slot.second.measures);
    std::sort(keys.begin(), keys.end(),
              [](const auto &a, const auto &b) { return a.first < b.first; });
    if (family.other.calls > 0)
        keys.emplace_back(other, &family.other);
    return keys;
}

std::string queryid_label(const int64_t &queryid) {
    return std::to_string(queryid);
}

std::string same_label(const std::string &value) {
    return value;
}

void gauge_or_counter(std::string &out, const char *name, const char *type,
                      const char *help, const std::string &value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name +
           " " + type + "\n" + name + " " + value + "\n";
}

} // namespace

std::string Metrics::exposition() const {
    /* A copy under the mutex, written out after it is released: the
     * collection loop waits for a copy at most, never for the text. */
    std::unique_ptr<State> s;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        s = std::make_unique<State>();
        s->statements = state_->statements;
        s->routes = state_->routes;
        s->applications = state_->applications;
        for (const auto &slot : state_->statements.slots) {
            auto text = state_->texts.find(slot.first);
            if (text != state_->texts.end())
                s->texts.emplace(text->first, text->second);
        }
        s->errors_by_class = state_->errors_by_class;
        s->any_kernel = state_->any_kernel;
        s->ring = state_->ring;
        s->ring_known = state_->ring_known;
        s->last_seq = state_->last_seq;
        s->losses_total = state_->losses_total;
        s->samples_total = state_->samples_total;
        s->lag_seconds = state_->lag_seconds;
        s->started_unix_ns = state_->started_unix_ns;
    }

    std::string out;
    out.reserve(256 * 1024);
    FamilyWriter(out, "qprof_statement", "queryid",
                 "per statement (queryid; all nesting levels)", s->any_kernel)
        .write(labelled<int64_t>(s->statements, "other", queryid_label));
    FamilyWriter(out, "qprof_route", "route",
                 "per route (sqlcommenter route tag; top-level executions)",
                 s->any_kernel)
        .write(labelled<std::string>(s->routes, "(other)", same_label));
    FamilyWriter(out, "qprof_application", "application",
                 "per application_name (top-level executions)", s->any_kernel)
        .write(labelled<std::string>(s->applications, "(other)", same_label));

    out += "# HELP qprof_statement_info The first 80 characters of the text "
           "of each statement with series of its own.\n"
           "# TYPE qprof_statement_info gauge\n";
    std::vector<std::pair<int64_t, std::string>> texts(s->texts.begin(),
                                                       s->texts.end());
    std::sort(texts.begin(), texts.end());
    for (const auto &text : texts)
        out += "qprof_statement_info{queryid=\"" + std::to_string(text.first) +
               "\",text=\"" + label_value(text.second) + "\"} 1\n";

    out += "# HELP qprof_errors_total Top-level executions that failed, by "
           "SQLSTATE class (its first two characters).\n"
           "# TYPE qprof_errors_total counter\n";
    for (const auto &cls : s->errors_by_class)
        out += "qprof_errors_total{sqlstate_class=\"" + cls.first + "\"} " +
               std::to_string(cls.second) + "\n";

    if (s->ring_known) {
        const RingStatus &r = s->ring;
        gauge_or_counter(out, "qprof_ring_samples_written_total", "counter",
                         "Samples written into the ring in its epoch (a "
                         "server restart resets it).",
                         std::to_string(r.head_seq));
        gauge_or_counter(out, "qprof_ring_samples_overwritten_total", "counter",
                         "Samples overwritten in the ring before they were "
                         "read, in its epoch.",
                         std::to_string(r.samples_overwritten));
        gauge_or_counter(out, "qprof_ring_samples_dropped_total", "counter",
                         "Samples the backends could not write into the ring, "
                         "in its epoch.",
                         std::to_string(r.samples_dropped));
        gauge_or_counter(out, "qprof_ring_capacity_samples", "gauge",
                         "Samples the ring holds.", std::to_string(r.capacity));
        gauge_or_counter(out, "qprof_collector_lag_samples", "gauge",
                         "Samples in the ring not read yet, at the last read "
                         "of its status.",
                         std::to_string(r.head_seq > s->last_seq
                                            ? r.head_seq - s->last_seq
                                            : 0));
    }
    gauge_or_counter(out, "qprof_collector_samples_total", "counter",
                     "Samples the collector read.",
                     std::to_string(s->samples_total));
    gauge_or_counter(out, "qprof_collector_lost_samples_total", "counter",
                     "Samples the collector counted as lost (overwritten "
                     "before it read them, or gone with a server restart).",
                     std::to_string(s->losses_total));
    char number[64];
    snprintf(number, sizeof number, "%.6f", s->lag_seconds);
    gauge_or_counter(out, "qprof_collector_lag_seconds", "gauge",
                     "Time between the end of the newest sample read and its "
                     "reading.",
                     number);
    gauge_or_counter(out, "qprof_collector_start_time_seconds", "gauge",
                     "When the collector started, in seconds since the epoch.",
                     seconds_text(s->started_unix_ns));
    return out;
}

} // namespace qprof
