/*
 * commands.h — the qprof commands, one file each. Each takes main's argc and
 * argv (argv[1] is the command's name), prints its own --help, and returns
 * the exit status or throws an error of errors.h.
 */
#pragma once

namespace qprof {

int collect_command(int argc, char **argv);
int dump_command(int argc, char **argv);
int report_command(int argc, char **argv);
int record_command(int argc, char **argv);
int advise_command(int argc, char **argv);
int diff_command(int argc, char **argv);
int export_command(int argc, char **argv);

} // namespace qprof
