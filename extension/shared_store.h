/*
 * shared_store.h — a bounded, keyed store of variable-length records in one
 * block of shared memory, used for query texts, plans and node actuals.
 *
 * Layout: a header, an optional open-addressing index (key -> record), then
 * a circular byte log holding the records.
 *
 * Eviction rule, indexed stores: by use (second chance, the clock algorithm
 * over the log). store_probe() sets a record's "used" bit in its index slot.
 * A new record frees room from the oldest end of the log: a record whose bit
 * is set is not evicted but moved to the newest end with its bit cleared; one
 * whose bit is clear is evicted. So a record used again before the hand comes
 * round stays, however many one-off records pass through; at most one pass
 * over the records is given second chances per append, then the oldest go.
 * Stores without an index (node actuals) are first in, first out. An evicted
 * key is stored again the next time it is seen.
 *
 * Locking protocol (the lock is the caller's LWLock):
 *  - append, eviction and moves run under the lock held exclusively;
 *  - reading a record's bytes needs the lock, shared or exclusive (records
 *    move: a payload pointer is valid only while the lock is held);
 *  - store_probe() and store_peek() need no lock: they only answer "is this
 *    key stored?" from atomically written index slots, and store_probe()
 *    writes the used bit only when it is clear (the cache line stays shared
 *    between backends). Under a concurrent eviction they may answer wrongly
 *    for a moment, or set the bit of a slot that just changed hands (one
 *    extra second chance); callers treat "absent" by re-checking under the
 *    lock, and a wrong "present" only delays a store to the next sighting.
 *
 * Plain data only (no pointers inside), so every backend can map it at any
 * address. No PostgreSQL headers here.
 */
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace qprof {

/* One slot of the index. key 0 marks an empty slot. */
struct StoreIndexSlot {
    std::atomic<uint64_t> key;
    std::atomic<uint64_t> pos;      /* log position of the record */
    std::atomic<int64_t> last_seen; /* owner-defined, updated without lock */
    std::atomic<uint32_t> used;     /* second-chance bit, see above */
    uint32_t unused_padding;
};

/* Counters, readable without the lock (monotonic, relaxed). */
struct StoreCounters {
    std::atomic<uint64_t> stored;     /* records appended */
    std::atomic<uint64_t> evicted;    /* records evicted to make room */
    std::atomic<uint64_t> moved;      /* second chances: used records moved */
    std::atomic<uint64_t> too_large;  /* records refused: bigger than log */
    std::atomic<uint64_t> entries;    /* records currently held */
    std::atomic<uint64_t> bytes_used; /* log bytes currently held */
};

struct SharedStore {
    uint64_t log_bytes;   /* capacity of the log, a multiple of 16 */
    uint32_t max_entries; /* 0 = limited by bytes only */
    uint32_t index_mask;  /* index size - 1; the index is absent when 0 */
    uint64_t head;        /* next log position to write (monotonic) */
    uint64_t tail;        /* position of the oldest record (monotonic) */
    StoreCounters counters;
    /* followed by StoreIndexSlot[index_mask + 1] (if indexed), then the log */
};

/* What a store holds and has done, for pg_qprof.store_status(); read
 * without the lock. */
struct StoreFigures {
    uint64_t entries, bytes_used, capacity_bytes, max_entries;
    uint64_t stored, evicted, too_large, moved;
};

/* The figures of `store`; all zero when it is not there (not preloaded). */
StoreFigures store_figures(const SharedStore *store);

/* Bytes of shared memory for a store. */
size_t store_shmem_size(uint32_t max_entries, uint64_t log_bytes, bool indexed);

/* Initializes a store in zeroed or fresh memory of store_shmem_size(). */
void store_init(SharedStore *store, uint32_t max_entries, uint64_t log_bytes,
                bool indexed);

/* Lock-free, for the hot path that uses a record: the index slot holding
 * key, or nullptr; marks the record used (it gets a second chance). */
StoreIndexSlot *store_probe(SharedStore *store, uint64_t key);

/* Lock-free, for readers: store_probe() without marking the record used. */
StoreIndexSlot *store_peek(SharedStore *store, uint64_t key);

/* Lock held (any mode): the payload of key's record, or nullptr. Does not
 * mark it used. */
void *store_find(SharedStore *store, uint64_t key,
                 uint32_t *payload_bytes = nullptr);

/* Lock held exclusively: makes room for a record of payload_bytes under key,
 * indexes it and returns its payload to be filled before the lock is
 * released; nullptr when it can never fit. The key must not be stored. */
void *store_append(SharedStore *store, uint64_t key, uint32_t payload_bytes);

/* Lock held (any mode): calls visit(key, payload, payload_bytes, arg) for
 * every record, from the oldest end of the log (moved records count as new).
 * Build no tuples in visit: copy out (store_read.h) and build them after
 * releasing the lock. */
void store_for_each(SharedStore *store,
                    void (*visit)(uint64_t key, const void *payload,
                                  uint32_t payload_bytes, void *arg),
                    void *arg);

} // namespace qprof
