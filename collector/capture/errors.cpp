#include "errors.h"

#include <cerrno>
#include <cstring>

namespace qprof {

std::string describe_errno(const std::string &what, int errnum) {
    std::string cause;
    if (errnum == ENOSPC)
        cause = "disk full (no space left on device)";
    else if (errnum == EDQUOT)
        cause = "disk quota exceeded";
    else if (errnum == EACCES || errnum == EPERM)
        cause = "permission denied";
    else
        cause = std::strerror(errnum);
    return what + ": " + cause;
}

} // namespace qprof
