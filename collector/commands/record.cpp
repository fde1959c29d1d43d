/*
 * record.cpp — `qprof record ... -- COMMAND ARGS...`: a capture of what one
 * command (a test suite, a load script) made the server do, for CI.
 *
 * The collector runs as a child `qprof collect` in a process group of its
 * own (a Ctrl-C meant for the command does not cut its drain short); the
 * command starts when the collector's first file is there (it is up), and
 * the collector starts where the ring's head stood before the command began:
 * record writes that position into the new capture's resume state, so the
 * capture holds the command's samples and not whatever the ring held before.
 * When the command has exited, record reads the ring's head once more and waits
 * until the collector has made every sample up to it durable; only then is the
 * collector stopped (SIGTERM: it closes its file). Should it not catch up in
 * time, a last `collect --once` drains what is left; the resume state keeps
 * every sample exactly once.
 *
 * Exit status: the command's (128 + N when signal N killed it, 126/127 when
 * it could not be run); kExitRecorderFailed when the capture is not whole
 * or could not be made — a message then says so and what the command's own
 * status was.
 */
#include "capture_format.h"
#include "commands.h"
#include "errors.h"
#include "pg_connection.h"
#include "resume_state.h"
#include "sample_source.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace qprof {

namespace {

/* Not a status a shell gives a command of its own (126, 127, 128 + N), and
 * the one `timeout` and `git bisect run` keep for their own failure. */
constexpr int kExitRecorderFailed = 125;

const char *kRecordUsage =
    "usage: qprof record --dsn CONNINFO --out DIR [--label NAME]\n"
    "                    [--drain-seconds S] [COLLECT OPTIONS] -- COMMAND "
    "[ARGS...]\n"
    "Captures what COMMAND makes the server do: collects from the ring's head\n"
    "as it stands now, runs COMMAND, waits until every sample written before\n"
    "COMMAND exited is durable in DIR (at most --drain-seconds, 30), stops.\n"
    "DIR must be new or empty. COLLECT OPTIONS are those of qprof collect\n"
    "(--bpf, --ring-read, --frame-seconds, ...), passed on to it.\n"
    "exit status: COMMAND's own (128 + N when killed by signal N, 126 not\n"
    "             executable, 127 not found); 1 usage;\n"
    "             125 the capture failed or is incomplete (the collector's\n"
    "             error and COMMAND's status are printed)\n";

/* The collect options that take a value, passed on as they are. */
const char *const kCollectValueOptions[] = {
    "--rotate-mb",     "--rotate-seconds",      "--retain-mb",
    "--frame-records", "--frame-seconds",       "--batch",
    "--poll-seconds",  "--catalog-seconds",     "--bpf",
    "--bpf-syscalls",  "--bpf-syscall-windows", "--bpf-map-entries",
    "--ring-read",
};

struct RecordOptions {
    std::string dsn, out_dir, label;
    double drain_seconds = 30;
    std::vector<std::string> collect_args; /* passed on to qprof collect */
    std::vector<std::string> command;
};

bool takes_collect_value(const std::string &arg) {
    for (const char *name : kCollectValueOptions)
        if (arg == name)
            return true;
    return false;
}

RecordOptions parse_record_options(int argc, char **argv, bool &help) {
    RecordOptions options;
    int i = 2;
    for (; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--")
            break;
        if (arg == "--help" || arg == "-h") {
            help = true;
            return options;
        }
        bool known = arg == "--dsn" || arg == "--out" || arg == "--label" ||
                     arg == "--drain-seconds" || takes_collect_value(arg);
        if (!known)
            throw UsageError("unknown option " + arg +
                             " (the command goes after --)");
        if (i + 1 >= argc)
            throw UsageError("option " + arg + " needs a value");
        std::string value = argv[++i];
        if (arg == "--dsn")
            options.dsn = value;
        else if (arg == "--out")
            options.out_dir = value;
        else if (arg == "--label")
            options.label = value;
        else if (arg == "--drain-seconds") {
            char *end = nullptr;
            options.drain_seconds = std::strtod(value.c_str(), &end);
            if (end == value.c_str() || *end != '\0' ||
                !(options.drain_seconds > 0))
                throw UsageError("--drain-seconds takes a positive number: " +
                                 value);
        } else {
            options.collect_args.push_back(arg);
            options.collect_args.push_back(value);
        }
    }
    for (++i; i < argc; ++i)
        options.command.push_back(argv[i]);
    if (options.dsn.empty())
        throw UsageError("--dsn is required");
    if (options.out_dir.empty())
        throw UsageError("--out DIR is required");
    if (options.command.empty())
        throw UsageError("no command given (qprof record ... -- COMMAND)");
    return options;
}

/* The signal forwarded to the command, set by record's own handler. */
volatile sig_atomic_t g_forward_signal = 0;

void on_signal(int signo) {
    g_forward_signal = signo;
}

/* Runs `argv` in a child: execvp with default signal dispositions. In a
 * process group of its own when `own_group`. */
pid_t spawn(const std::vector<std::string> &args, bool own_group,
            bool stdin_null) {
    std::vector<char *> argv;
    for (const std::string &arg : args)
        argv.push_back(const_cast<char *>(arg.c_str()));
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0)
        throw CaptureIoError(describe_errno("cannot fork", errno));
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        if (own_group)
            setpgid(0, 0);
        if (stdin_null) {
            int fd = open("/dev/null", O_RDONLY);
            if (fd >= 0)
                dup2(fd, STDIN_FILENO);
        }
        execvp(argv[0], argv.data());
        int saved = errno;
        fprintf(stderr, "qprof record: cannot run %s: %s\n", argv[0],
                strerror(saved));
        _exit(saved == ENOENT ? 127 : 126);
    }
    return pid;
}

/* Waits for `pid`; its status as a shell gives it (128 + N for signal N).
 * `poll`: returns -1 at once when it has not exited. */
int wait_status(pid_t pid, bool poll = false) {
    int status = 0;
    for (;;) {
        pid_t got = waitpid(pid, &status, poll ? WNOHANG : 0);
        if (got == pid)
            break;
        if (got == 0)
            return -1;
        if (got < 0 && errno != EINTR)
            return 127;
        if (g_forward_signal != 0) {
            kill(pid, g_forward_signal);
            g_forward_signal = 0;
        }
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* This program, to run `qprof collect` as a child. */
std::string self_path(const char *argv0) {
    char path[4096];
    ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
    if (length <= 0)
        return argv0;
    path[length] = '\0';
    return path;
}

std::vector<std::string> collect_args(const std::string &self,
                                      const RecordOptions &options) {
    std::vector<std::string> args = {self,        "collect",    "--dsn",
                                     options.dsn, "--out",      options.out_dir,
                                     "--label",   options.label};
    args.insert(args.end(), options.collect_args.begin(),
                options.collect_args.end());
    return args;
}

/* The output directory, created when missing; it must hold no capture yet
 * (a capture is one run of one command). */
void prepare_out_dir(const std::string &dir) {
    struct stat st;
    if (stat(dir.c_str(), &st) != 0) {
        if (errno != ENOENT || mkdir(dir.c_str(), 0700) != 0)
            throw CaptureIoError(
                describe_errno("cannot create directory " + dir, errno));
        return;
    }
    if (!list_capture_files(dir).empty() ||
        access((dir + "/" + kStateFileName).c_str(), F_OK) == 0)
        throw UsageError("--out " + dir +
                         " already holds a capture: give a new or empty "
                         "directory");
}

/* The ring's head; the session is excluded from the capture. */
RingStatus ring_head(PgConnection &conn) {
    return read_ring_status(conn);
}

bool caught_up(const std::string &dir, const RingStatus &target) {
    ResumePoint point = find_resume_point(dir);
    /* a capture still in an older epoch (the server restarted) is not */
    return point.known && point.epoch == target.epoch &&
           point.last_seq >= target.head_seq;
}

int recorder_failed(const std::string &why, int command_status) {
    fprintf(stderr,
            "qprof record: the capture failed, not the command: %s\n"
            "qprof record: the command exited with status %d; record exits "
            "with %d\n",
            why.c_str(), command_status, kExitRecorderFailed);
    return kExitRecorderFailed;
}

} // namespace

int record_command(int argc, char **argv) {
    bool help = false;
    RecordOptions options = parse_record_options(argc, argv, help);
    if (help) {
        fputs(kRecordUsage, stdout);
        return kExitOk;
    }
    std::string self = self_path(argv[0]);

    /* The server is checked before the command runs: a capture that cannot
     * be made is said at once, and the command is not run for nothing. */
    std::unique_ptr<PgConnection> conn;
    RingStatus start;
    try {
        prepare_out_dir(options.out_dir);
        conn = std::make_unique<PgConnection>(options.dsn);
        verify_sample_access(*conn);
        conn->exec("SELECT pg_qprof.exclude_session()");
        start = ring_head(*conn);
        ResumeStateFile state(options.out_dir);
        state.save({true, start.epoch, start.head_seq, 1, 0});
    } catch (const UsageError &) {
        throw;
    } catch (const std::exception &e) {
        fprintf(stderr,
                "qprof record: the collector cannot start, the command was "
                "not run: %s\n",
                e.what());
        return kExitRecorderFailed;
    }

    struct sigaction action = {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGHUP, &action, nullptr);

    pid_t collector = spawn(collect_args(self, options), true, true);
    /* The command starts once the collector is up (its BPF programs, if
     * any, attached; its stop signal handled): its first file is there. */
    while (list_capture_files(options.out_dir).empty()) {
        int status = wait_status(collector, true);
        if (status >= 0) {
            fprintf(stderr,
                    "qprof record: the collector cannot start (qprof collect "
                    "exited with status %d, its error is above), the command "
                    "was not run\n",
                    status);
            return kExitRecorderFailed;
        }
        if (g_forward_signal != 0) {
            kill(collector, SIGTERM);
            wait_status(collector);
            return 128 + g_forward_signal;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_t command = spawn(options.command, false, false);
    int command_status = wait_status(command);

    /* Every sample of the command is in the ring now (a backend writes its
     * sample before the client has the result): wait until the collector
     * has made the ring's present head durable. */
    RingStatus end;
    try {
        try {
            end = ring_head(*conn);
        } catch (const ConnectionLost &) {
            /* the server restarted while the command ran: ask again */
            conn = std::make_unique<PgConnection>(options.dsn);
            conn->exec("SELECT pg_qprof.exclude_session()");
            end = ring_head(*conn);
        }
    } catch (const std::exception &e) {
        kill(collector, SIGTERM);
        wait_status(collector);
        return recorder_failed(std::string("cannot read the ring's head "
                                           "after the command: ") +
                                   e.what(),
                               command_status);
    }
    int collector_status = -1;
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::duration<double>(options.drain_seconds);
    while (!caught_up(options.out_dir, end) &&
           std::chrono::steady_clock::now() < deadline) {
        collector_status = wait_status(collector, true);
        if (collector_status >= 0)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (collector_status < 0) {
        kill(collector, SIGTERM);
        collector_status = wait_status(collector);
    }
    if (collector_status != kExitOk)
        return recorder_failed("qprof collect exited with status " +
                                   std::to_string(collector_status) +
                                   " (its error is above)",
                               command_status);
    if (!caught_up(options.out_dir, end)) {
        /* What the collector had not read yet, without BPF (its programs
         * would only see executions begun after they were attached). */
        std::vector<std::string> args = collect_args(self, options);
        args.insert(args.end(), {"--once", "--bpf", "off"});
        int status = wait_status(spawn(args, true, true));
        if (status != kExitOk || !caught_up(options.out_dir, end))
            return recorder_failed(
                "the last samples could not be drained (qprof collect --once "
                "exited with status " +
                    std::to_string(status) + ")",
                command_status);
    }
    return command_status;
}

} // namespace qprof
