/*
 * qprof — the pg_qprof collector, capture tools and analyzer. One file per
 * command (commands.h); this one picks the command and turns the errors of
 * errors.h into exit statuses.
 */
#include "commands.h"
#include "errors.h"

#include <google/protobuf/stubs/common.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

using namespace qprof;

const char *kUsage =
    "usage: qprof COMMAND [OPTIONS]   (qprof COMMAND --help for its options)\n"
    "  collect   drain a server's sample ring into capture files\n"
    "  dump      print capture files as JSON lines, or check them\n"
    "  report    where the database time went and what to do first\n"
    "  record    capture what one command (a test suite) makes the server do\n"
    "  advise    try the missing-index insights as hypothetical indexes\n"
    "  diff      compare two captures: what got slower, where and why\n"
    "  export    load captures into ClickHouse, the fleet's sample store\n"
    "exit status: 0 ok, 1 usage, 2 server (connection, rights, extension),\n"
    "             3 capture files (disk full, permissions), 4 damaged file\n";

struct Command {
    const char *name;
    int (*run)(int argc, char **argv);
};

const Command kCommands[] = {
    {"collect", collect_command},
    {"dump", dump_command},
    {"report", report_command},
    {"record", record_command},
    {"advise", advise_command},
    {"diff", diff_command},
    {"export", export_command},
};

} // namespace

int main(int argc, char **argv) {
    GOOGLE_PROTOBUF_VERIFY_VERSION;
    std::string command = argc > 1 ? argv[1] : "";
    try {
        if (command == "help" || command == "--help" || command == "-h") {
            fputs(kUsage, stdout);
            return kExitOk;
        }
        for (const Command &c : kCommands)
            if (command == c.name)
                return c.run(argc, argv);
        throw UsageError(command.empty() ? "no command given"
                                         : "unknown command " + command);
    } catch (const UsageError &e) {
        fprintf(stderr, "qprof: %s\n%s", e.what(), kUsage);
        return kExitUsage;
    } catch (const ServerError &e) {
        fprintf(stderr, "qprof %s: error: %s\n", command.c_str(), e.what());
        return kExitServer;
    } catch (const ConnectionLost &e) {
        fprintf(stderr, "qprof %s: error: %s\n", command.c_str(), e.what());
        return kExitServer;
    } catch (const CaptureIoError &e) {
        fprintf(stderr, "qprof %s: error: %s\n", command.c_str(), e.what());
        return kExitIo;
    } catch (const std::exception &e) {
        fprintf(stderr, "qprof %s: error: %s\n", command.c_str(), e.what());
        return kExitIo;
    }
}
