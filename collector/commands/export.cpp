/*
 * qprof export — capture files loaded into ClickHouse (docs/clickhouse.md),
 * where a fleet's samples are queried together: the samples with their
 * statements, plans, tags and kernel facts, the servers and the losses.
 * Exporting the same files again adds nothing (ReplacingMergeTree keyed by
 * server, epoch and seq; queries read with FINAL).
 */
#include "capture_set.h"
#include "clickhouse_client.h"
#include "clickhouse_export.h"
#include "clickhouse_schema.h"
#include "commands.h"
#include "errors.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace qprof {

namespace {

const char *kExportUsage =
    "usage: qprof export --clickhouse URL [--database DB] CAPTURE...\n"
    "       qprof export --clickhouse URL [--database DB] --create-schema\n"
    "                    [--cluster NAME]\n"
    "Loads capture files (files or folders) into ClickHouse over its HTTP\n"
    "interface: samples with their statements, plans, tags, application,\n"
    "database and kernel facts; statement texts and plans once each; the\n"
    "servers' identity and label; losses and restarts. Exporting the same\n"
    "samples again adds no row that a query with FINAL sees. The rows go\n"
    "to the local tables of the server at URL: export a PostgreSQL server's\n"
    "captures to the same shard each time.\n"
    "  --clickhouse URL   http://[USER[:PASSWORD]@]HOST[:PORT]/ (8123)\n"
    "  --database DB      default qprof\n"
    "  --create-schema    create the database and its tables when missing\n"
    "                     (docs/clickhouse.md); with CAPTURE..., before\n"
    "                     exporting them\n"
    "  --cluster NAME     with --create-schema: the fleet tables are\n"
    "                     Distributed over this cluster of the server's\n"
    "                     remote_servers (else Merge tables over the local\n"
    "                     ones)\n"
    "  --batch-rows N     samples per INSERT (default 100000)\n"
    "exit status: 0 ok, 1 usage, 2 ClickHouse refused or unreachable,\n"
    "             3 capture files missing, 4 no file could be read\n";

void print_file_problems(const CaptureSet &set) {
    for (const CaptureFileStatus &f : set.files()) {
        if (f.status == CaptureFileStatus::Status::Ok && f.problems.empty())
            continue;
        fprintf(stderr, "qprof export: %s: %s, %llu samples read\n",
                f.path.c_str(), status_name(f.status),
                static_cast<unsigned long long>(f.samples));
        for (const auto &p : f.problems)
            fprintf(stderr, "  %s at offset %llu: %s\n",
                    problem_kind_name(p.kind),
                    static_cast<unsigned long long>(p.offset), p.what.c_str());
    }
}

} // namespace

int export_command(int argc, char **argv) {
    std::string url, database = "qprof", cluster;
    bool create_schema = false;
    ExportOptions options;
    std::vector<std::string> paths;
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc)
                throw UsageError(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h") {
            fputs(kExportUsage, stdout);
            return kExitOk;
        } else if (arg == "--clickhouse") {
            url = next();
        } else if (arg == "--database") {
            database = next();
        } else if (arg == "--create-schema") {
            create_schema = true;
        } else if (arg == "--cluster") {
            cluster = checked_identifier(next(), "--cluster");
        } else if (arg == "--batch-rows") {
            std::string v = next();
            char *end = nullptr;
            long n = std::strtol(v.c_str(), &end, 10);
            if (end == v.c_str() || *end != '\0' || n < 1 || n > 1000000)
                throw UsageError("--batch-rows takes a number from 1 to "
                                 "1000000 (one INSERT is atomic up to "
                                 "ClickHouse's max_insert_block_size)");
            options.batch_rows = static_cast<size_t>(n);
        } else if (arg.size() > 1 && arg[0] == '-') {
            throw UsageError("unknown option " + arg);
        } else {
            paths.push_back(arg);
        }
    }
    if (url.empty())
        throw UsageError("export needs --clickhouse URL");
    if (!cluster.empty() && !create_schema)
        throw UsageError("--cluster goes with --create-schema");
    if (paths.empty() && !create_schema)
        throw UsageError("export needs capture files or --create-schema");
    ClickHouseClient client(url, database);

    if (create_schema) {
        create_clickhouse_schema(client, cluster);
        printf("schema of %s ready%s\n", client.where().c_str(),
               cluster.empty() ? "" : (" (cluster " + cluster + ")").c_str());
    }
    if (paths.empty())
        return kExitOk;
    std::vector<std::string> missing = missing_clickhouse_columns(client);
    if (!missing.empty() && !create_schema)
        throw ClickHouseError(
            client.where() + " has tables of an older qprof (no column " +
            missing[0] + "): add the new columns with --create-schema");

    CaptureSet set(paths);
    auto started = std::chrono::steady_clock::now();
    ExportStats stats = export_capture_set(set, client, options);
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - started)
                         .count();
    print_file_problems(set);
    printf("exported %llu samples, %llu statements, %llu plans, %llu "
           "servers, %llu losses, %llu catalog snapshots to %s in %.2f s (%.0f "
           "samples/s, %llu "
           "inserts, %.1f MiB sent)\n",
           static_cast<unsigned long long>(stats.samples),
           static_cast<unsigned long long>(stats.texts),
           static_cast<unsigned long long>(stats.plans),
           static_cast<unsigned long long>(stats.servers),
           static_cast<unsigned long long>(stats.losses),
           static_cast<unsigned long long>(stats.catalog_snapshots),
           client.where().c_str(), seconds,
           seconds > 0 ? static_cast<double>(stats.samples) / seconds : 0.0,
           static_cast<unsigned long long>(stats.inserts),
           static_cast<double>(stats.bytes_sent) / (1 << 20));
    for (const CaptureFileStatus &f : set.files())
        if (f.status != CaptureFileStatus::Status::Unreadable &&
            f.status != CaptureFileStatus::Status::Duplicate)
            return kExitOk;
    fprintf(stderr, "qprof export: no capture file could be read\n");
    return kExitDamaged;
}

} // namespace qprof
