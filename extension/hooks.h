/*
 * hooks.h — installation of the planner, executor and utility hooks.
 */
#pragma once

namespace qprof {

/* Saves the previous hooks and installs ours; called once from _PG_init. */
void install_hooks();

} // namespace qprof
