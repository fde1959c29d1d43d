/*
 * collect.cpp — `qprof collect`: its command line; the collection itself is
 * collector.cpp.
 */
#include "capture_format.h"
#include "collector.h"
#include "commands.h"
#include "errors.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace qprof {

namespace {

const char *kCollectUsage =
    "usage: qprof collect --dsn CONNINFO (--out DIR | --stdout) [--label "
    "NAME]\n"
    "                     [--duration SECONDS | --once] [--rotate-mb N]\n"
    "                     [--rotate-seconds N] [--retain-mb N]\n"
    "                     [--bpf auto|on|off] [--bpf-syscalls "
    "on|raw|sampled|off]\n"
    "                     [--bpf-syscall-windows SECONDS/EVERY_SECONDS]\n"
    "                     [--bpf-map-entries N] [--ring-read auto|memory|sql]\n"
    "                     [--frame-records N] [--frame-seconds S] [--batch N]\n"
    "                     [--poll-seconds S] [--catalog-seconds N]\n"
    "                     [--metrics-listen HOST:PORT [--metrics-statements "
    "N]\n"
    "                      [--metrics-groups N] [--metrics-rebalance-seconds "
    "S]]\n"
    "                     [--clickhouse URL [--clickhouse-database DB]\n"
    "                      [--delete-exported]]\n"
    "Drains the server's sample ring into capture files (see "
    "collector/README.md).\n"
    "  --clickhouse URL   also send the frames into ClickHouse as they are\n"
    "                     made durable (docs/clickhouse.md): exactly once,\n"
    "                     across a collector killed and restarted on the\n"
    "                     same --out\n"
    "  --clickhouse-database DB   default qprof\n"
    "  --delete-exported  ClickHouse instead of files: delete each file\n"
    "                     once it is in ClickHouse, but the last one (where\n"
    "                     a restarted collector resumes); --out is a spool\n"
    "exit status: 0 ok, 1 usage, 2 server (connection, rights, extension),\n"
    "             3 capture files (disk full, permissions)\n";

/* Reads the value of option `name` at argv[i + 1]. */
std::string option_value(int argc, char **argv, int &i) {
    if (i + 1 >= argc)
        throw UsageError(std::string("option ") + argv[i] + " needs a value");
    return argv[++i];
}

double number_value(int argc, char **argv, int &i, double min_value) {
    std::string name = argv[i];
    std::string text = option_value(argc, argv, i);
    char *end = nullptr;
    double value = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0' || value < min_value)
        throw UsageError("option " + name + ": not a valid number: " + text);
    return value;
}

/* --bpf-map-entries N: a whole number of entries, each about 220 bytes of
 * locked kernel memory. */
uint32_t map_entries_value(int argc, char **argv, int &i) {
    constexpr unsigned long kMin = 64, kMax = 1ul << 21;
    std::string text = option_value(argc, argv, i);
    char *end = nullptr;
    errno = 0;
    unsigned long value = std::strtoul(text.c_str(), &end, 10);
    if (text.empty() || text[0] == '-' || end == text.c_str() || *end != '\0' ||
        errno != 0 || value < kMin || value > kMax)
        throw UsageError("--bpf-map-entries takes a whole number from " +
                         std::to_string(kMin) + " to " + std::to_string(kMax) +
                         ": " + text);
    return static_cast<uint32_t>(value);
}

/* --bpf-syscall-windows W/P: windows of W seconds every P seconds. */
void parse_syscall_windows(const std::string &text, CollectOptions &options) {
    char *end = nullptr;
    double window = std::strtod(text.c_str(), &end);
    double period = 0;
    bool valid = end != text.c_str() && *end == '/';
    if (valid) {
        const char *rest = end + 1;
        period = std::strtod(rest, &end);
        valid = end != rest && *end == '\0';
    }
    if (!valid || !(window >= 0.1) || !(period >= window) || period > 86400)
        throw UsageError("--bpf-syscall-windows takes SECONDS/EVERY_SECONDS, "
                         "with 0.1 <= SECONDS <= EVERY_SECONDS <= 86400 (for "
                         "example 2/20): not " +
                         text);
    options.bpf_syscall_window_seconds = window;
    options.bpf_syscall_period_seconds = period;
}

/* --metrics-statements N, --metrics-groups N: how many keys have series
 * of their own. */
size_t series_limit_value(int argc, char **argv, int &i) {
    constexpr unsigned long kMax = 100000;
    std::string name = argv[i];
    std::string text = option_value(argc, argv, i);
    char *end = nullptr;
    errno = 0;
    unsigned long value = std::strtoul(text.c_str(), &end, 10);
    if (text.empty() || text[0] == '-' || end == text.c_str() || *end != '\0' ||
        errno != 0 || value < 1 || value > kMax)
        throw UsageError(name + " takes a whole number from 1 to " +
                         std::to_string(kMax) + ": " + text);
    return value;
}

} // namespace

int collect_command(int argc, char **argv) {
    CollectOptions options;
    bool windows_given = false;
    bool map_entries_given = false;
    bool series_limit_given = false;
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            fputs(kCollectUsage, stdout);
            return kExitOk;
        }
        if (arg == "--dsn")
            options.dsn = option_value(argc, argv, i);
        else if (arg == "--out")
            options.out_dir = option_value(argc, argv, i);
        else if (arg == "--label")
            options.label = option_value(argc, argv, i);
        else if (arg == "--stdout")
            options.to_stdout = true;
        else if (arg == "--once")
            options.once = true;
        else if (arg == "--duration")
            options.duration_seconds = number_value(argc, argv, i, 0);
        else if (arg == "--rotate-mb")
            options.rotate_bytes = static_cast<uint64_t>(
                number_value(argc, argv, i, 0) * (1 << 20));
        else if (arg == "--rotate-seconds")
            options.rotate_seconds = number_value(argc, argv, i, 0);
        else if (arg == "--clickhouse")
            options.clickhouse_url = option_value(argc, argv, i);
        else if (arg == "--clickhouse-database")
            options.clickhouse_database = option_value(argc, argv, i);
        else if (arg == "--delete-exported")
            options.delete_exported = true;
        else if (arg == "--retain-mb")
            options.retain_bytes = static_cast<uint64_t>(
                number_value(argc, argv, i, 0) * (1 << 20));
        else if (arg == "--frame-records") {
            double records = number_value(argc, argv, i, 1);
            /* a sample block stays within the format's record limit */
            if (records > kMaxFrameRecords)
                throw UsageError("--frame-records takes at most " +
                                 std::to_string(kMaxFrameRecords));
            options.frame_records = static_cast<uint32_t>(records);
        } else if (arg == "--frame-seconds")
            options.frame_seconds = number_value(argc, argv, i, 0.001);
        else if (arg == "--batch")
            options.batch_rows =
                static_cast<int>(number_value(argc, argv, i, 1));
        else if (arg == "--poll-seconds")
            options.poll_seconds = number_value(argc, argv, i, 0.001);
        else if (arg == "--catalog-seconds")
            options.catalog_seconds = number_value(argc, argv, i, 1);
        else if (arg == "--bpf")
            options.bpf = option_value(argc, argv, i);
        else if (arg == "--bpf-syscalls") {
            options.bpf_syscalls = option_value(argc, argv, i);
            if (options.bpf_syscalls != "on" && options.bpf_syscalls != "raw" &&
                options.bpf_syscalls != "sampled" &&
                options.bpf_syscalls != "off")
                throw UsageError(
                    "--bpf-syscalls takes on, raw, sampled or off");
        } else if (arg == "--bpf-map-entries") {
            options.bpf_map_entries = map_entries_value(argc, argv, i);
            map_entries_given = true;
        } else if (arg == "--bpf-syscall-windows") {
            parse_syscall_windows(option_value(argc, argv, i), options);
            windows_given = true;
        } else if (arg == "--ring-read") {
            options.ring_read = option_value(argc, argv, i);
            if (options.ring_read != "auto" && options.ring_read != "memory" &&
                options.ring_read != "sql")
                throw UsageError("--ring-read takes auto, memory or sql");
        } else if (arg == "--metrics-listen")
            options.metrics_listen = option_value(argc, argv, i);
        else if (arg == "--metrics-statements") {
            options.metrics_statements = series_limit_value(argc, argv, i);
            series_limit_given = true;
        } else if (arg == "--metrics-groups") {
            options.metrics_groups = series_limit_value(argc, argv, i);
            series_limit_given = true;
        } else if (arg == "--metrics-rebalance-seconds") {
            options.metrics_rebalance_seconds = number_value(argc, argv, i, 1);
            series_limit_given = true;
        } else
            throw UsageError("unknown option " + arg);
    }
    if (options.dsn.empty())
        throw UsageError("--dsn is required");
    if (options.to_stdout == !options.out_dir.empty())
        throw UsageError("give either --out DIR or --stdout");
    if (options.once && options.duration_seconds > 0)
        throw UsageError("--once and --duration exclude each other");
    if (options.bpf != "auto" && options.bpf != "on" && options.bpf != "off")
        throw UsageError("--bpf takes auto, on or off");
    if (map_entries_given && options.bpf == "off")
        throw UsageError("--bpf-map-entries goes with --bpf auto or on");
    if (windows_given && options.bpf_syscalls != "sampled" &&
        options.bpf_syscalls != "raw")
        throw UsageError("--bpf-syscall-windows goes with --bpf-syscalls "
                         "sampled (trace events in windows) or raw (raw "
                         "tracepoints in windows)");
    if (series_limit_given && options.metrics_listen.empty())
        throw UsageError(
            "--metrics-statements, --metrics-groups and "
            "--metrics-rebalance-seconds go with --metrics-listen");
    if (options.delete_exported && options.clickhouse_url.empty())
        throw UsageError("--delete-exported goes with --clickhouse URL (the "
                         "files are deleted once they are in ClickHouse)");
    if (!options.clickhouse_url.empty()) {
        if (options.to_stdout)
            throw UsageError("--clickhouse goes with --out DIR (the files "
                             "are what is exported, and what makes it "
                             "exactly once)");
    }
    options.bpf_syscall_windows =
        options.bpf_syscalls == "sampled" || windows_given;
    return run_collect(options);
}

} // namespace qprof
