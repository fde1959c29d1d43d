/*
 * store_read.cpp — copying records out of a shared store under its lock
 * (see store_read.h). Two walks under the one lock hold: the first sizes
 * the copy, so that it is one allocation; the second copies.
 */
#include "store_read.h"

extern "C" {
#include "postgres.h"

#include "storage/lwlock.h"
#include "utils/memutils.h"
}

#include <cstring>

namespace qprof {

namespace {

/* A walk over the log that sizes (copies == nullptr) or copies. */
struct CopyWalk {
    SharedStore *store;
    StoreFilter filter;
    const void *arg;
    int count;
    uint64_t bytes;
    StoreCopy *copies;
    char *buffer;
};

void visit_record(uint64_t key, const void *payload, uint32_t payload_bytes,
                  void *arg) {
    auto *w = static_cast<CopyWalk *>(arg);
    if (w->filter != nullptr && !w->filter(payload, payload_bytes, w->arg))
        return;
    if (w->copies != nullptr) {
        StoreCopy *c = &w->copies[w->count];
        const StoreIndexSlot *slot = store_peek(w->store, key);
        c->key = key;
        c->last_seen =
            slot ? slot->last_seen.load(std::memory_order_relaxed) : 0;
        c->payload_bytes = payload_bytes;
        memcpy(w->buffer + w->bytes, payload, payload_bytes);
        c->payload = w->buffer + w->bytes;
    }
    w->count++;
    w->bytes += MAXALIGN(payload_bytes);
}

int compare_keys(const void *a, const void *b) {
    uint64_t x = *static_cast<const uint64_t *>(a);
    uint64_t y = *static_cast<const uint64_t *>(b);
    return x < y ? -1 : x > y ? 1 : 0;
}

/* Room for `count` copies of `bytes` payload bytes in all. */
void allocate_copies(CopyWalk *w, int count, uint64_t bytes) {
    w->copies = static_cast<StoreCopy *>(
        palloc(sizeof(StoreCopy) * (count > 0 ? count : 1)));
    w->buffer = static_cast<char *>(
        MemoryContextAllocHuge(CurrentMemoryContext, bytes > 0 ? bytes : 1));
}

} // namespace

int store_copy_matching(SharedStore *store, LWLock *lock, StoreFilter filter,
                        const void *arg, StoreCopy **out) {
    CopyWalk w = {store, filter, arg, 0, 0, nullptr, nullptr};
    LWLockAcquire(lock, LW_SHARED);
    store_for_each(store, visit_record, &w);
    int count = w.count;
    allocate_copies(&w, count, w.bytes);
    w.count = 0;
    w.bytes = 0;
    store_for_each(store, visit_record, &w);
    LWLockRelease(lock);
    Assert(w.count == count);
    *out = w.copies;
    return w.count;
}

int store_copy_keys(SharedStore *store, LWLock *lock, const uint64_t *keys,
                    int nkeys, StoreCopy **out) {
    /* each key once, and no allocation of the key list under the lock */
    uint64_t *wanted =
        static_cast<uint64_t *>(palloc(sizeof(uint64_t) * (nkeys + 1)));
    memcpy(wanted, keys, sizeof(uint64_t) * nkeys);
    qsort(wanted, nkeys, sizeof(uint64_t), compare_keys);
    int distinct = 0;
    for (int i = 0; i < nkeys; i++)
        if (distinct == 0 || wanted[distinct - 1] != wanted[i])
            wanted[distinct++] = wanted[i];
    nkeys = distinct;

    CopyWalk w = {store, nullptr, nullptr, 0, 0, nullptr, nullptr};
    LWLockAcquire(lock, LW_SHARED);
    for (int i = 0; i < nkeys; i++) {
        uint32_t bytes;
        if (store_find(store, wanted[i], &bytes) != nullptr) {
            w.count++;
            w.bytes += MAXALIGN(bytes);
        }
    }
    allocate_copies(&w, w.count, w.bytes);
    w.count = 0;
    w.bytes = 0;
    for (int i = 0; i < nkeys; i++) {
        uint32_t bytes;
        if (const void *payload = store_find(store, wanted[i], &bytes))
            visit_record(wanted[i], payload, bytes, &w);
    }
    LWLockRelease(lock);
    pfree(wanted);
    *out = w.copies;
    return w.count;
}

} // namespace qprof
