/*
 * qprof diff BASE NEW — two captures compared: what got slower, where and
 * why, with a significance test over the executions; --fail-on turns it
 * into a CI gate (exit status 1 on a significant regression), judged on
 * the latency less run-queue time where both captures have it, and beyond
 * each capture's own drift from batch to batch.
 */
#include "capture_set.h"
#include "commands.h"
#include "diff.h"
#include "errors.h"
#include "profile.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace qprof {

namespace {

const char *kDiffUsage =
    "usage: qprof diff BASE NEW [--fail-on PERCENT] [--min-share PERCENT]\n"
    "                  [--alpha P] [--min-change PERCENT] [--min-delta MS]\n"
    "                  [--json] [--html FILE] [--top N]\n"
    "Compares two captures (each a capture file or folder; a folder of\n"
    "several files is one side): per statement and per route, calls, mean,\n"
    "p50/p95/p99, rows, storage reads, I/O wait and errors per execution\n"
    "and per request, before and after; new and vanished statements; plan\n"
    "changes with both plans and their cost. A latency change is\n"
    "significant when the Mann-Whitney U test over the executions gives\n"
    "p < --alpha and the median changed by more than --min-change and\n"
    "--min-delta; a route is tested over its requests when they carry a\n"
    "request id. Rows, shared blocks and errors per execution are tested\n"
    "too (Welch's t, two-proportion z) and shown when they changed.\n"
    "Statements are matched by queryid on the same server, else by\n"
    "normalized text and plan shape. With the kernel facts' wait split on\n"
    "both sides (BPF), where a call's time went (CPU, run queue, I/O wait,\n"
    "Lock, LWLock, other waits) is compared and tested too, and latencies\n"
    "are judged less their run-queue time, the machine's load (marked ~).\n"
    "A change must also stand out of each capture's own drift: Welch's t\n"
    "over batches of consecutive executions (requests), p < --alpha.\n"
    "  --fail-on PERCENT   exit 1 when a statement or route that took at\n"
    "                      least --min-share of the database time (of BASE\n"
    "                      or NEW) got significantly slower: its median by\n"
    "                      more than PERCENT\n"
    "  --min-share PERCENT default 1\n"
    "  --alpha P           significance level, default 0.01\n"
    "  --min-change PERCENT  median change shown as a change, default 20\n"
    "  --min-delta MS      and by more than MS, default 0.05\n"
    "  --json              the comparison as JSON (docs/diff.md) on stdout\n"
    "  --html FILE         also write it as one self-contained HTML page\n"
    "  --top N             rows per table in the terminal (default 20)\n"
    "exit status: 0 no failing regression, 1 a failing regression (or a\n"
    "             usage error), 3 capture files missing or unreadable,\n"
    "             4 a side has no readable file or no execution\n";

double parse_number(const std::string &option, const std::string &text,
                    double lo, double hi) {
    char *end = nullptr;
    errno = 0;
    double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0' || errno != 0 || !(v >= lo) ||
        !(v <= hi))
        throw UsageError(option + " takes a number from " + std::to_string(lo) +
                         " to " + std::to_string(hi) + ", not " + text);
    return v;
}

void write_file(const std::string &path, const std::string &content) {
    FILE *f = fopen(path.c_str(), "w");
    if (f == nullptr)
        throw CaptureIoError(describe_errno("cannot write " + path, errno));
    size_t wrote = fwrite(content.data(), 1, content.size(), f);
    int close_status = fclose(f);
    if (wrote != content.size() || close_status != 0)
        throw CaptureIoError(describe_errno("cannot write " + path, errno));
}

bool any_read(const CaptureSet &set) {
    for (const CaptureFileStatus &f : set.files())
        if (f.status != CaptureFileStatus::Status::Unreadable &&
            f.status != CaptureFileStatus::Status::Duplicate)
            return true;
    return false;
}

} // namespace

int diff_command(int argc, char **argv) {
    std::vector<std::string> paths;
    DiffOptions options;
    bool json = false;
    std::string html;
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc)
                throw UsageError(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h") {
            fputs(kDiffUsage, stdout);
            return kExitOk;
        } else if (arg == "--json") {
            json = true;
        } else if (arg == "--html") {
            html = next();
        } else if (arg == "--fail-on") {
            options.fail_on = true;
            options.fail_on_pct = parse_number(arg, next(), 0, 1e6);
        } else if (arg == "--min-share") {
            options.min_share_pct = parse_number(arg, next(), 0, 100);
        } else if (arg == "--alpha") {
            options.alpha = parse_number(arg, next(), 1e-12, 0.5);
        } else if (arg == "--min-change") {
            options.min_change_pct = parse_number(arg, next(), 0, 1e6);
        } else if (arg == "--min-delta") {
            options.min_delta_ms = parse_number(arg, next(), 0, 1e9);
        } else if (arg == "--top") {
            options.top =
                static_cast<size_t>(parse_number(arg, next(), 1, 100000));
        } else if (arg.size() > 1 && arg[0] == '-') {
            throw UsageError("unknown option " + arg);
        } else {
            paths.push_back(arg);
        }
    }
    if (paths.size() != 2)
        throw UsageError("diff needs two captures, BASE and NEW");

    ProfileFilters filters;
    CaptureSet base_set({paths[0]});
    Profile base = build_profile(base_set, filters);
    CaptureSet new_set({paths[1]});
    Profile fresh = build_profile(new_set, filters);
    const char *sides[] = {"BASE", "NEW"};
    const CaptureSet *sets[] = {&base_set, &new_set};
    const Profile *profiles[] = {&base, &fresh};
    for (int s = 0; s < 2; ++s) {
        if (!any_read(*sets[s])) {
            fprintf(stderr,
                    "qprof diff: %s (%s): no capture file could be "
                    "read\n",
                    sides[s], paths[s].c_str());
            return kExitDamaged;
        }
        if (profiles[s]->total.executions == 0) {
            fprintf(stderr,
                    "qprof diff: %s (%s): the capture holds no "
                    "execution to compare\n",
                    sides[s], paths[s].c_str());
            return kExitDamaged;
        }
    }

    SampleFacts base_facts = read_sample_facts(base_set);
    SampleFacts new_facts = read_sample_facts(new_set);
    DiffResult diff = diff_profiles({base_set, base, base_facts},
                                    {new_set, fresh, new_facts}, options);
    std::string document;
    if (json || !html.empty())
        document = render_diff_json(diff);
    if (!html.empty())
        write_file(html, render_diff_html(document));
    std::string out = json ? document + "\n" : render_diff_text(diff);
    fwrite(out.data(), 1, out.size(), stdout);
    if (!html.empty() && !json)
        printf("\nHTML: %s\n", html.c_str());
    fflush(stdout);
    return diff.failed ? 1 : kExitOk;
}

} // namespace qprof
