/*
 * store_read.h — reading a shared store from SQL without building tuples
 * under its lock: the wanted records are copied out while the lock is held
 * in shared mode, and the caller builds its rows from the copies after the
 * lock is released, so that inserts (which take it exclusively, from a
 * user's statement) wait only for a memcpy.
 */
#pragma once

#include <cstdint>

#include "shared_store.h"

struct LWLock;

namespace qprof {

/* One record copied out of a store. */
struct StoreCopy {
    uint64_t key;
    int64_t last_seen;      /* the index slot's, 0 when the store has none */
    uint32_t payload_bytes; /* as stored: may exceed the owner's payload */
    const void *payload;    /* palloc'd, in the caller's memory context */
};

/* Which records to copy: true to copy one. */
using StoreFilter = bool (*)(const void *payload, uint32_t payload_bytes,
                             const void *arg);

/* Copies out every record that `filter` accepts (every record when filter
 * is null), from the oldest end of the log. Takes and releases `lock`.
 * Returns the count; *out is palloc'd. May ereport (out of memory), which
 * releases the lock. */
int store_copy_matching(SharedStore *store, LWLock *lock, StoreFilter filter,
                        const void *arg, StoreCopy **out);

/* Copies out the records of keys[0 .. nkeys) that are stored, each once,
 * in ascending key order. Takes and releases `lock`. Returns the count;
 * *out is palloc'd. May ereport (out of memory), which releases the lock. */
int store_copy_keys(SharedStore *store, LWLock *lock, const uint64_t *keys,
                    int nkeys, StoreCopy **out);

} // namespace qprof
