/*
 * word_slot_map.cpp — reuses or pins the word slot map (word_slot_map.h).
 */
#include "word_slot_map.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "qprof_io.h"

namespace qprof {

namespace {

std::string directory_of(const std::string &path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos || slash == 0)
        return "/";
    return path.substr(0, slash);
}

bool is_bpf_file_system(const std::string &dir) {
    struct statfs fs;
    return statfs(dir.c_str(), &fs) == 0 &&
           static_cast<unsigned long>(fs.f_type) == BPF_FS_MAGIC;
}

/* Mounts a BPF file system on `dir` (created if missing) unless it is one:
 * traversable by the server's user, not listable by others. */
bool ensure_bpf_file_system(const std::string &dir, std::string *why) {
    if (is_bpf_file_system(dir))
        return true;
    if (mkdir(dir.c_str(), 0711) != 0 && errno != EEXIST) {
        *why = "cannot create " + dir + ": " + strerror(errno);
        return false;
    }
    if (mount("bpf", dir.c_str(), "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=0711") != 0) {
        *why =
            "cannot mount a BPF file system on " + dir + ": " + strerror(errno);
        return false;
    }
    return true;
}

bool compatible(int fd) {
    struct bpf_map_info info;
    memset(&info, 0, sizeof(info));
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
        return false;
    return info.type == BPF_MAP_TYPE_ARRAY && info.key_size == 4 &&
           info.value_size == sizeof(qprof_running_word) &&
           info.max_entries == QPROF_SLOT_MAP_SLOTS &&
           (info.map_flags & BPF_F_MMAPABLE);
}

uint64_t random_token() {
    uint64_t token = 0;
    while (token == 0)
        if (getrandom(&token, sizeof(token), 0) != sizeof(token))
            token = 0x9E3779B97F4A7C15ull ^ uint64_t(getpid()) ^
                    uint64_t(time(nullptr));
    return token;
}

} // namespace

int open_pinned_word_slots(const std::string &path, uint64_t *token) {
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0)
        return -1;
    /* the header is one slot: a word-sized value */
    static_assert(sizeof(qprof_slot_map_header) == sizeof(qprof_running_word),
                  "the header fills slot 0");
    qprof_slot_map_header header;
    uint32_t zero = 0;
    if (compatible(fd) && bpf_map_lookup_elem(fd, &zero, &header) == 0 &&
        header.magic == QPROF_SLOT_MAP_MAGIC && header.token != 0 &&
        header.slots == QPROF_SLOT_MAP_SLOTS) {
        *token = header.token;
        return fd;
    }
    close(fd);
    unlink(path.c_str());
    return -1;
}

uint64_t pin_new_word_slots(int map_fd, const std::string &path, uid_t uid,
                            gid_t gid, std::string *why) {
    if (!ensure_bpf_file_system(directory_of(path), why))
        return 0;
    qprof_slot_map_header header;
    memset(&header, 0, sizeof(header));
    header.magic = QPROF_SLOT_MAP_MAGIC;
    header.token = random_token();
    header.slots = QPROF_SLOT_MAP_SLOTS;
    uint32_t zero = 0;
    if (bpf_map_update_elem(map_fd, &zero, &header, BPF_ANY) != 0) {
        *why = std::string("cannot write the map's header: ") + strerror(errno);
        return 0;
    }
    unlink(path.c_str()); /* an incompatible one left by a crash */
    if (bpf_obj_pin(map_fd, path.c_str()) != 0) {
        *why = "cannot pin " + path + ": " + strerror(errno);
        return 0;
    }
    /* only the server's user may open it, read-write */
    if (chown(path.c_str(), uid, gid) != 0 || chmod(path.c_str(), 0600) != 0) {
        *why =
            "cannot give " + path + " to the server's user: " + strerror(errno);
        unlink(path.c_str());
        return 0;
    }
    return header.token;
}

} // namespace qprof
