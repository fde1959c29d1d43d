/*
 * wait_events.h — PostgreSQL's names of wait events (pg_stat_activity's
 * wait_event_type and wait_event), from a wait_event_info value. The
 * numbers are PostgreSQL 15's: the events of each class are an enum that
 * other major versions renumber.
 */
#pragma once

#include <cstdint>
#include <string>

namespace qprof {

/* "LWLock", "Lock", "BufferPin", "Activity", "Client", "Extension", "IPC",
 * "Timeout", "IO" for the class byte (wait_event_info >> 24); "none" for 0,
 * "unknown" for any other. */
const char *wait_event_class_name(uint32_t class_id);

/* "Class:event", e.g. "Lock:transactionid", "IO:DataFileRead",
 * "LWLock:WALWrite"; an event this table does not know keeps its number
 * ("IPC:#57", "LWLock:tranche 80" for an extension's tranche). */
std::string wait_event_name(uint32_t wait_event_info);

} // namespace qprof
