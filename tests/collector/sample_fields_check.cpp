/*
 * sample_fields_check.cpp — the reader's own decoder of Sample
 * (collector/capture/sample_fields.h) against protobuf's generated parser:
 * the same fields from the samples the collector writes, from samples with
 * fields this reader does not know (a newer collector's), and from
 * hundreds of thousands of damaged ones, which it must refuse exactly when
 * protobuf refuses them. One "ok"/"not ok" line a check (CheckProgram.pm).
 */
#include "sample_fields.h"

#include <google/protobuf/stubs/logging.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace pb = qprof::capture::v1;
using qprof::SampleFields;

namespace {

/* What differs between the decoder's fields and protobuf's message ("" when
 * nothing). */
std::string difference(const SampleFields &f, const pb::Sample &m) {
#define QPROF_SAME(name, number, conversion)                                   \
    if (f.name() != m.name())                                                  \
        return #name;
    QPROF_SAMPLE_SCALARS(QPROF_SAME)
    if (f.cmd() != m.cmd())
        return "cmd";
    if (f.sqlstate() != m.sqlstate())
        return "sqlstate";
    if (f.has_io() != m.has_io())
        return "has_io";
    if (f.has_sampled_waits() != m.has_sampled_waits())
        return "has_sampled_waits";
    const qprof::IoFields &io = f.io();
    const pb::IoStats &mio = m.io();
    {
        const auto &s = io;
        const auto &n = mio;
#define QPROF_SAME_IO(name, number, conversion)                                \
    if (s.name() != n.name())                                                  \
        return "io." #name;
        QPROF_IO_SCALARS(QPROF_SAME_IO)
    }
    if (io.has_read_syscalls() != mio.has_read_syscalls() ||
        io.has_read_bytes() != mio.has_read_bytes() ||
        io.has_read_latency_ns() != mio.has_read_latency_ns() ||
        io.has_write_syscalls() != mio.has_write_syscalls() ||
        io.has_write_bytes() != mio.has_write_bytes() ||
        io.has_write_latency_ns() != mio.has_write_latency_ns() ||
        io.has_fsync_calls() != mio.has_fsync_calls() ||
        io.has_fsync_latency_ns() != mio.has_fsync_latency_ns())
        return "io.has_*";
    auto same_classes = [](const auto &a, const auto &b) {
        if (a.size() != static_cast<size_t>(b.size()))
            return false;
        for (size_t i = 0; i < a.size(); ++i)
            if (a[i].wait_class() != b[i].wait_class() ||
                a[i].ns() != b[i].ns() || a[i].count() != b[i].count())
                return false;
        return true;
    };
    if (!same_classes(io.wait_classes(), mio.wait_classes()) ||
        io.wait_classes_size() != mio.wait_classes_size())
        return "io.wait_classes";
    if (io.wait_events().size() != static_cast<size_t>(mio.wait_events_size()))
        return "io.wait_events size";
    for (size_t i = 0; i < io.wait_events().size(); ++i) {
        const qprof::WaitEventFields &e = io.wait_events()[i];
        const pb::WaitEventTime &me = mio.wait_events(static_cast<int>(i));
        if (e.wait_event_info() != me.wait_event_info() ||
            e.name() != me.name() || e.ns() != me.ns() ||
            e.count() != me.count())
            return "io.wait_events";
    }
    if (f.sampled_waits().interval_us() != m.sampled_waits().interval_us() ||
        !same_classes(f.sampled_waits().classes(), m.sampled_waits().classes()))
        return "sampled_waits";
    return "";
#undef QPROF_SAME
#undef QPROF_SAME_IO
}

void report(bool ok, const std::string &what) {
    printf("%s %s\n", ok ? "ok" : "not ok", what.c_str());
}

void add_class(pb::WaitClassTime *c, pb::WaitClass cls, uint64_t ns,
               uint64_t count) {
    c->set_wait_class(cls);
    c->set_ns(ns);
    c->set_count(count);
}

/* Samples as the collector writes them: a plain one, one with everything
 * (kernel facts with system calls, wait classes and events, sampled
 * waits, an error), large values and negative deltas. */
std::vector<std::string> written_samples() {
    std::vector<pb::Sample> samples(4);
    samples[0].set_exec_id_delta(1);
    samples[0].set_toplevel(true);
    samples[0].set_dbid(16384);
    samples[0].set_query_ref(3);
    samples[0].set_cmd(pb::CMD_SELECT);
    samples[0].set_start_delta_us(1200);
    samples[0].set_duration_us(250);
    samples[0].set_exec_time_ns(248000);
    samples[0].set_rows(1);
    samples[0].set_shared_blks_hit(4);

    pb::Sample &s = samples[1];
    s.set_seq_skip(7);
    s.set_pid(4242);
    s.set_exec_id_delta(-3);
    s.set_parent_exec_distance(2);
    s.set_nesting_level(1);
    s.set_has_node_actuals(true);
    s.set_dbid(5);
    s.set_userid(10);
    s.set_application_name_id(2);
    s.set_client_addr_id(3);
    s.set_tag_set_id(900);
    s.set_query_ref(77);
    s.set_plan_ref(78);
    s.set_cmd(pb::CMD_UPDATE);
    s.set_start_delta_us(-50);
    s.set_duration_us(1ull << 40);
    s.set_plan_time_ns(123456789);
    s.set_exec_time_ns(~0ull);
    for (int n = 20; n <= 42; ++n)
        s.GetReflection()->SetUInt64(
            &s, s.GetDescriptor()->FindFieldByNumber(n), 1000u * n + 1);
    s.set_parallel_workers_planned(2);
    s.set_parallel_workers_launched(1);
    s.set_sqlstate("40001");
    pb::IoStats *io = s.mutable_io();
    io->set_read_syscalls(0); /* present, zero */
    io->set_read_bytes(8192);
    io->set_write_syscalls(3);
    io->set_fsync_latency_ns(99);
    for (int n = 9; n <= 18; ++n)
        io->GetReflection()->SetUInt64(
            io, io->GetDescriptor()->FindFieldByNumber(n), 7u * n);
    add_class(io->add_wait_classes(), pb::WAIT_CLASS_LOCK, 5000000, 2);
    add_class(io->add_wait_classes(), pb::WAIT_CLASS_LWLOCK, 300, 1);
    for (int i = 0; i < 3; ++i) {
        pb::WaitEventTime *e = io->add_wait_events();
        e->set_wait_event_info(0x03000000u + i);
        e->set_name(i == 1 ? "Lock:transactionid with a long name"
                           : "IO:DataFileRead");
        e->set_ns(100u * i);
        e->set_count(i);
    }
    io->set_other_wait_events_ns(4);
    io->set_other_wait_events_count(1);
    io->set_offcpu_no_wait_event_ns(10);
    io->set_offcpu_no_wait_event_count(2);
    s.mutable_sampled_waits()->set_interval_us(1000);
    add_class(s.mutable_sampled_waits()->add_classes(), pb::WAIT_CLASS_LOCK,
              3000000, 3);

    samples[2].set_pid(-1);
    samples[2].set_exec_id_delta(INT64_MIN);
    samples[2].set_start_delta_us(INT64_MAX);
    samples[2].set_cmd(static_cast<pb::CmdType>(-5)); /* open enum */
    samples[2].mutable_io();                          /* present, empty */
    samples[3].mutable_sampled_waits();

    std::vector<std::string> bytes;
    for (const pb::Sample &sample : samples)
        bytes.push_back(sample.SerializeAsString());
    return bytes;
}

std::string varint(uint64_t v) {
    std::string out;
    while (v >= 0x80) {
        out += static_cast<char>(v | 0x80);
        v >>= 7;
    }
    out += static_cast<char>(v);
    return out;
}
std::string tag(uint32_t number, uint32_t type) {
    return varint(static_cast<uint64_t>(number) << 3 | type);
}

/* Fields a newer collector could add, of every wire type, at the top and
 * inside the kernel facts and a wait class; and known fields written with
 * another wire type than theirs (skipped, as protobuf skips them). */
std::string newer_sample(const std::string &base) {
    std::string unknown = tag(100, 0) + varint(1ull << 50) + tag(101, 1) +
                          std::string(8, '\x11') + tag(102, 2) + varint(3) +
                          "abc" + tag(103, 3) + tag(1, 0) + varint(5) +
                          tag(2, 3) + tag(2, 4) + tag(103, 4) + tag(104, 5) +
                          std::string(4, '\x22');
    std::string wait_class = tag(1, 0) + varint(3) + unknown + tag(2, 0) +
                             varint(40) + tag(3, 0) + varint(4);
    std::string io = unknown + tag(16, 0) + varint(123) + tag(19, 2) +
                     varint(wait_class.size()) + wait_class + tag(9, 1) +
                     std::string(8, '\x01');
    std::string extra = unknown + tag(46, 2) + varint(io.size()) + io +
                        tag(20, 5) + std::string(4, '\x05') + tag(45, 0) +
                        varint(9);
    return base + extra;
}

struct Random {
    uint64_t state;
    uint64_t next() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    }
    size_t below(size_t n) { return n == 0 ? 0 : next() % n; }
};

/* A damaged copy of `bytes`: bytes changed, cut, inserted or repeated. */
std::string damaged(const std::string &bytes, Random &random) {
    std::string out = bytes;
    size_t changes = 1 + random.below(3);
    for (size_t i = 0; i < changes; ++i) {
        size_t at = random.below(out.size() + 1);
        switch (random.below(6)) {
        case 0:
        case 1:
            if (at < out.size())
                out[at] = static_cast<char>(random.next());
            break;
        case 2:
            if (at < out.size())
                out[at] = static_cast<char>(out[at] ^ (1u << random.below(8)));
            break;
        case 3:
            out.resize(at);
            break;
        case 4:
            out.insert(at, 1, static_cast<char>(random.next()));
            break;
        default: {
            size_t from = random.below(out.size() + 1);
            size_t n = random.below(out.size() - from + 1);
            out.insert(at, out.substr(from, n));
            break;
        }
        }
    }
    return out;
}

bool decode(const std::string &bytes, SampleFields &fields) {
    return qprof::decode_sample_fields(
        reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size(), fields);
}

} // namespace

int main() {
    /* protobuf logs each string that is not UTF-8 */
    google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char *,
                                       int, const std::string &) {});
    std::vector<std::string> written = written_samples();

    /* 1. the samples the collector writes, into one reused SampleFields */
    SampleFields reused;
    std::string why;
    for (int round = 0; round < 2; ++round)
        for (const std::string &bytes : written) {
            pb::Sample m;
            if (!m.ParseFromString(bytes) || !decode(bytes, reused))
                why = "a written sample does not decode";
            else if (why.empty())
                why = difference(reused, m);
        }
    report(why.empty(), "written samples decode as protobuf parses them, "
                        "reused one after the other" +
                            (why.empty() ? "" : ": " + why));

    /* 2. a newer collector's fields are skipped, and known fields of
     * another wire type are skipped as protobuf skips them */
    why.clear();
    for (const std::string &base : written) {
        std::string bytes = newer_sample(base);
        pb::Sample m;
        SampleFields f;
        if (!m.ParseFromString(bytes) || !decode(bytes, f))
            why = "a sample with unknown fields does not decode";
        else if (why.empty())
            why = difference(f, m);
    }
    report(why.empty(), "fields this reader does not know are skipped" +
                            (why.empty() ? "" : ": " + why));

    /* 3. a copy's wait event names are its own */
    {
        SampleFields original;
        decode(written[1], original);
        SampleFields copy = original;
        decode(written[0], original);
        pb::Sample m;
        m.ParseFromString(written[1]);
        report(difference(copy, m).empty() &&
                   copy.io().wait_events()[1].name() ==
                       "Lock:transactionid with a long name",
               "a copied sample keeps its own names");
    }

    /* 4. damaged samples: refused exactly when protobuf refuses them, the
     * same fields when both read them */
    Random random{0x9e3779b97f4a7c15ull};
    uint64_t refused = 0, read = 0, disagree = 0;
    std::string first;
    for (int i = 0; i < 300000; ++i) {
        const std::string &base = written[random.below(written.size())];
        std::string bytes =
            damaged(i % 4 == 0 ? newer_sample(base) : base, random);
        pb::Sample m;
        bool parsed = m.ParseFromString(bytes);
        bool decoded = decode(bytes, reused);
        std::string diff = parsed && decoded ? difference(reused, m) : "";
        if (parsed != decoded || !diff.empty()) {
            if (disagree++ == 0)
                first = std::string(parsed ? "protobuf reads"
                                           : "protobuf refuses") +
                        (decoded ? ", the decoder reads "
                                 : ", the decoder refuses ") +
                        diff;
        }
        (parsed ? read : refused)++;
    }
    report(disagree == 0 && refused > 10000 && read > 10000,
           "300,000 damaged samples: " + std::to_string(refused) +
               " refused, " + std::to_string(read) + " read, as protobuf does" +
               (disagree ? " (" + std::to_string(disagree) +
                               " disagree, first: " + first + ")"
                         : ""));

    /* 5. a sample whose strings are not UTF-8 is refused, as by protobuf */
    {
        pb::Sample s;
        s.set_rows(1);
        std::string bytes =
            s.SerializeAsString() + tag(45, 2) + varint(2) + "\xc3\x28";
        pb::Sample m;
        SampleFields f;
        report(!m.ParseFromString(bytes) && !decode(bytes, f),
               "a SQLSTATE that is not UTF-8 is refused");
    }
    return 0;
}
