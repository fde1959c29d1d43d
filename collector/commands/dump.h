/*
 * dump.h — `qprof dump`: capture files as JSON lines (samples decoded to
 * absolute values with their definitions resolved), and `--check`, which
 * validates files and reports per file the records by kind and any damage.
 */
#pragma once

#include <string>
#include <vector>

namespace qprof {

/* Files and directories (all *.qprof inside, in order) to read. */
std::vector<std::string>
expand_capture_paths(const std::vector<std::string> &paths);

/* Prints every record of `files` as one JSON object per line. Returns the
 * exit status: kExitDamaged when a file is damaged (a truncated tail is
 * reported on stderr and is not damage). */
int dump_files(const std::vector<std::string> &files);

/* Prints one summary line per file, then the problems found. */
int check_files(const std::vector<std::string> &files);

} // namespace qprof
