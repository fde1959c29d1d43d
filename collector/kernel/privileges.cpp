// privileges.cpp — capability drop through the capset system call (no
// libcap needed for this one use).
#include "privileges.h"

#include <cerrno>
#include <cstring>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace qprof {

std::string drop_capabilities_after_attach(bool keep_memory_access,
                                           bool keep_perfmon) {
    static const int kept[] = {
        CAP_CHOWN,      CAP_DAC_OVERRIDE,       CAP_DAC_READ_SEARCH, CAP_FOWNER,
        CAP_SYS_PTRACE, CAP_CHECKPOINT_RESTORE, CAP_PERFMON};
    __user_cap_header_struct header{};
    header.version = _LINUX_CAPABILITY_VERSION_3;
    header.pid = 0;
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (syscall(SYS_capget, &header, data) != 0)
        return std::string("capget: ") + strerror(errno);
    __user_cap_data_struct reduced[_LINUX_CAPABILITY_U32S_3] = {};
    for (int cap : kept) {
        if ((cap == CAP_SYS_PTRACE || cap == CAP_CHECKPOINT_RESTORE) &&
            !keep_memory_access)
            continue;
        if (cap == CAP_PERFMON && !keep_perfmon)
            continue;
        unsigned word = static_cast<unsigned>(cap) / 32;
        uint32_t bit = 1u << (cap % 32);
        // keep a capability only if the process had it
        reduced[word].permitted |= data[word].permitted & bit;
        reduced[word].effective |= data[word].effective & bit;
    }
    if (syscall(SYS_capset, &header, reduced) != 0)
        return std::string("capset: ") + strerror(errno);
    return "";
}

} // namespace qprof
