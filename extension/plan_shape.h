/*
 * plan_shape.h — identities of a plan's shape, for plan_capture (internal).
 */
#pragma once

#include <cstdint>

struct QueryDesc;

namespace qprof {

/* Portable id of the plan's shape: the same walk as plan_id_of(), with
 * relations and indexes named (schema.name) instead of numbered by OID, so
 * equal plans in different databases or clusters get the same id. Does
 * catalog lookups: call it once per newly stored plan, never per execution.
 * May ereport. */
uint64_t plan_shape_id_of(const QueryDesc *queryDesc);

/* EXPLAIN's name of a plan node type ("Seq Scan", "Hash Join"), or
 * "Unknown". */
const char *plan_node_name(int node_tag);

} // namespace qprof
