/*
 * trace_event_ids.cpp — trace event ids from tracefs (see trace_event_ids.h).
 */
#include "trace_event_ids.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace qprof {

namespace {

bool is_directory(const std::string &path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

/* Reads the ids under the tracefs mounted at `root`. */
bool read_ids(const std::string &root, const std::string &system,
              const std::vector<std::string> &events,
              std::vector<uint64_t> &ids, std::string *why) {
    ids.assign(events.size(), 0);
    for (size_t i = 0; i < events.size(); ++i) {
        std::string path = root + "/events/" + system + "/" + events[i] + "/id";
        std::ifstream in(path);
        if (!(in >> ids[i])) {
            *why = "no trace event " + system + ":" + events[i] + " (" + path +
                   ")";
            return false;
        }
    }
    return true;
}

} // namespace

bool trace_event_ids(const std::string &system,
                     const std::vector<std::string> &events,
                     std::vector<uint64_t> &ids, std::string *why) {
    for (const char *root :
         {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
        if (is_directory(std::string(root) + "/events"))
            return read_ids(root, system, events, ids, why);

    char dir[] = "/tmp/qprof-tracefs-XXXXXX";
    if (!mkdtemp(dir)) {
        *why = std::string("no tracefs mounted, and no directory to mount "
                           "one: ") +
               strerror(errno);
        return false;
    }
    bool ok = false;
    if (mount("tracefs", dir, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              nullptr) != 0) {
        *why = std::string("no tracefs mounted, and mounting one failed: ") +
               strerror(errno);
    } else {
        ok = read_ids(dir, system, events, ids, why);
        umount2(dir, MNT_DETACH);
    }
    rmdir(dir);
    return ok;
}

} // namespace qprof
