#include "libbpf_failure.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace qprof {

namespace {

/* libbpf reports through a global print callback; keep its last warning so
 * that a failure can say what the kernel refused. */
std::mutex libbpf_log_mutex;
std::string libbpf_last_warning;

int remember_libbpf_warning(enum libbpf_print_level level, const char *fmt,
                            va_list args) {
    if (level == LIBBPF_DEBUG)
        return 0;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, args);
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == ' '))
        line[--len] = '\0';
    if (len == 0)
        return 0;
    const char *text = line;
    if (strncmp(text, "libbpf: ", 8) == 0)
        text += 8;
    std::lock_guard<std::mutex> guard(libbpf_log_mutex);
    libbpf_last_warning = text;
    return 0;
}

} // namespace

void keep_libbpf_warnings() {
    libbpf_set_print(remember_libbpf_warning);
}

std::string bpf_failure(const std::string &what, int err) {
    std::string msg = what + ": " + strerror(err > 0 ? err : -err);
    if (err == EPERM || err == -EPERM || err == EACCES || err == -EACCES)
        msg += " (needs root, or CAP_BPF with CAP_PERFMON)";
    std::lock_guard<std::mutex> guard(libbpf_log_mutex);
    if (!libbpf_last_warning.empty())
        msg += " [libbpf: " + libbpf_last_warning + "]";
    return msg;
}

} // namespace qprof
