/*
 * errors.h — the failures qprof reports, each with the exit status a script
 * can test: the message names the cause, the type picks the status.
 */
#pragma once

#include <stdexcept>
#include <string>

namespace qprof {

enum ExitStatus {
    kExitOk = 0,
    kExitUsage = 1,   /* bad command line */
    kExitServer = 2,  /* connection, rights, extension missing */
    kExitIo = 3,      /* capture files: disk full, permissions */
    kExitDamaged = 4, /* dump --check found damage */
};

/* Something the user must fix on the command line. */
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/* The server cannot be used: bad conninfo, rights, extension. */
struct ServerError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/* The connection broke while capturing; the collector reconnects. */
struct ConnectionLost : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/* Writing or reading capture files failed (ENOSPC, EACCES, ...). */
struct CaptureIoError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/* "what: strerror(errnum)", with a plain word for the common cases. */
std::string describe_errno(const std::string &what, int errnum);

} // namespace qprof
