/*
 * qprof_bpf_dump — drives qprof::BpfAttribution from a test, one JSON line
 * per answer on stdout.
 *
 *   qprof_bpf_dump POSTMASTER_PID WORD_ADDRESS [MAX_ENTRIES [SYSCALLS]]
 *                  [--word-slots=PATH]
 *
 * SYSCALLS: no-syscalls, or raw-syscalls for the raw syscall tracepoints
 * (default: the trace events of the file calls, see SyscallTracing).
 *
 * Prints {"ready":true,"word_slots":"...","attachments":[...]} once
 * attached (word_slots: BpfAttribution::word_slots()), or
 * {"unavailable":"why"} and exits with status 2. Then reads commands, one a
 * line, from stdin until end of file (which detaches everything):
 *   peek                      every entry, left in the map
 *   take PID:EXEC_ID ...      removes and prints these entries (zeros for
 *                             an execution without kernel event)
 *   drop IDLE_MS              drop_unclaimed(); prints how many went
 *   drain                     takes every entry, as a collector claiming
 *                             all of them would; prints how many
 *   stats                     events, losses, map sizes
 */
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>

#include "bpf_attach.h"

namespace {

std::string json_string(const std::string &s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            snprintf(buf, sizeof(buf), "\\u%04x", c);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string json_entries(
    const std::unordered_map<qprof::ExecKey, qprof::ExecIo, qprof::ExecKeyHash>
        &entries) {
    std::ostringstream out;
    out << "{\"entries\":[";
    bool first = true;
    for (const auto &[key, io] : entries) {
        out << (first ? "" : ",") << "{\"pid\":" << key.pid
            << ",\"exec_id\":" << key.exec_id
            << ",\"read_calls\":" << io.read_calls
            << ",\"read_bytes\":" << io.read_bytes
            << ",\"read_ns\":" << io.read_ns
            << ",\"write_calls\":" << io.write_calls
            << ",\"write_bytes\":" << io.write_bytes
            << ",\"write_ns\":" << io.write_ns
            << ",\"fsync_calls\":" << io.fsync_calls
            << ",\"fsync_ns\":" << io.fsync_ns
            << ",\"page_cache_miss_pages\":" << io.page_cache_miss_pages
            << ",\"readahead_pages\":" << io.readahead_pages
            << ",\"block_requests\":" << io.block_requests
            << ",\"block_bytes\":" << io.block_bytes
            << ",\"block_device_ns\":" << io.block_device_ns
            << ",\"offcpu_io_ns\":" << io.offcpu_io_ns
            << ",\"offcpu_other_ns\":" << io.offcpu_other_ns
            << ",\"oncpu_ns\":" << io.oncpu_ns
            << ",\"runqueue_ns\":" << io.runqueue_ns << ",\"wait_class_ns\":[";
        for (size_t c = 0; c < io.wait_class_ns.size(); ++c)
            out << (c ? "," : "") << io.wait_class_ns[c];
        out << "]}";
        first = false;
    }
    out << "]}";
    return out.str();
}

std::string json_stats(const qprof::BpfStats &st) {
    std::ostringstream out;
    out << "{\"events\":" << st.events << ",\"lost_events\":" << st.lost_events
        << ",\"word_read_failures\":" << st.word_read_failures
        << ",\"word_reads_probed\":" << st.word_reads_probed
        << ",\"word_reads_mapped\":" << st.word_reads_mapped
        << ",\"word_stale\":" << st.word_stale
        << ",\"events_per_sec\":" << st.events_per_sec
        << ",\"map_entries\":" << st.entries
        << ",\"held_entries\":" << st.held_entries
        << ",\"peak_entries\":" << st.peak_entries
        << ",\"max_entries\":" << st.max_entries
        << ",\"dropped_entries\":" << st.dropped_entries << "}";
    return out.str();
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr,
                "usage: %s POSTMASTER_PID WORD_ADDRESS [MAX_ENTRIES "
                "[no-syscalls|raw-syscalls]]\n",
                argv[0]);
        return 1;
    }
    qprof::BpfOptions options;
    /* --word-slots=PATH, anywhere: the word slot map's pin */
    for (int i = 1; i < argc; ++i)
        if (strncmp(argv[i], "--word-slots=", 13) == 0) {
            options.word_slots_path = argv[i] + 13;
            for (int j = i; j + 1 < argc; ++j)
                argv[j] = argv[j + 1];
            --argc;
            break;
        }
    int postmaster_pid = atoi(argv[1]);
    uint64_t word_address = strtoull(argv[2], nullptr, 0);
    if (argc > 3)
        options.max_entries = uint32_t(strtoul(argv[3], nullptr, 0));
    if (argc > 4 && std::string(argv[4]) == "no-syscalls")
        options.syscalls = qprof::SyscallTracing::off;
    if (argc > 4 && std::string(argv[4]) == "raw-syscalls")
        options.syscalls = qprof::SyscallTracing::raw;

    std::unique_ptr<qprof::BpfAttribution> bpf;
    try {
        bpf.reset(
            new qprof::BpfAttribution(postmaster_pid, word_address, options));
    } catch (const qprof::BpfUnavailable &e) {
        std::cout << "{\"unavailable\":" << json_string(e.what()) << "}"
                  << std::endl;
        return 2;
    }
    std::cout << "{\"ready\":true,\"word_slots\":"
              << json_string(bpf->word_slots()) << ",\"attachments\":[";
    for (size_t i = 0; i < bpf->attachments().size(); ++i)
        std::cout << (i ? "," : "") << json_string(bpf->attachments()[i]);
    std::cout << "]}" << std::endl;

    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream words(line);
        std::string command;
        words >> command;
        try {
            if (command == "peek") {
                std::cout << json_entries(bpf->peek_all()) << std::endl;
            } else if (command == "take") {
                std::vector<qprof::ExecKey> keys;
                std::string word;
                while (words >> word) {
                    qprof::ExecKey k;
                    k.pid = atoi(word.c_str());
                    size_t colon = word.find(':');
                    if (colon != std::string::npos)
                        k.exec_id =
                            strtoull(word.c_str() + colon + 1, nullptr, 10);
                    keys.push_back(k);
                }
                std::vector<qprof::ExecIo> io = bpf->take(keys);
                std::unordered_map<qprof::ExecKey, qprof::ExecIo,
                                   qprof::ExecKeyHash>
                    taken;
                for (size_t i = 0; i < keys.size(); ++i)
                    taken[keys[i]] = io[i];
                std::cout << json_entries(taken) << std::endl;
            } else if (command == "drop") {
                long idle_ms = 0;
                words >> idle_ms;
                size_t n =
                    bpf->drop_unclaimed(std::chrono::milliseconds(idle_ms));
                std::cout << "{\"dropped\":" << n << "}" << std::endl;
            } else if (command == "drain") {
                std::vector<qprof::ExecKey> keys;
                for (const auto &entry : bpf->peek_all())
                    keys.push_back(entry.first);
                std::cout << "{\"drained\":" << bpf->take(keys).size() << "}"
                          << std::endl;
            } else if (command == "stats") {
                std::cout << json_stats(bpf->stats()) << std::endl;
            } else if (!command.empty()) {
                std::cout << "{\"error\":" << json_string("unknown command")
                          << "}" << std::endl;
            }
        } catch (const std::exception &e) {
            std::cout << "{\"error\":" << json_string(e.what()) << "}"
                      << std::endl;
        }
    }
    return 0;
}
