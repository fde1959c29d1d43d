/*
 * shared_store.cpp — bounded store of keyed records in shared memory, evicted
 * by use (second chance). See shared_store.h for the layout, the eviction
 * rule and the locking.
 */
#include "shared_store.h"

#include <cstring>

namespace qprof {

namespace {

constexpr uint32_t kRecordAlign = 16;
constexpr uint32_t kKindPadding = 0; /* fills the log up to its end */
constexpr uint32_t kKindRecord = 1;

/* Header in front of every record of the log. */
struct RecordHeader {
    uint32_t size; /* whole record incl. header, a multiple of 16 */
    uint32_t kind;
    uint64_t key;
};
static_assert(sizeof(RecordHeader) == kRecordAlign, "header fills one unit");

constexpr uint64_t align_up(uint64_t n, uint64_t a) {
    return (n + a - 1) / a * a;
}

uint32_t index_slots_for(uint32_t max_entries) {
    /* load factor at most 1/2 keeps probe chains short */
    uint32_t n = 16;
    while (n < 2u * max_entries)
        n <<= 1;
    return n;
}

StoreIndexSlot *index_of(SharedStore *store) {
    return reinterpret_cast<StoreIndexSlot *>(store + 1);
}

char *log_of(SharedStore *store) {
    char *p = reinterpret_cast<char *>(store + 1);
    if (store->index_mask != 0)
        p += sizeof(StoreIndexSlot) * (uint64_t(store->index_mask) + 1);
    return p;
}

RecordHeader *record_at(SharedStore *store, uint64_t pos) {
    return reinterpret_cast<RecordHeader *>(log_of(store) +
                                            pos % store->log_bytes);
}

/* Keys are hashes already, but queryids and plan ids may share low bits;
 * mixing spreads them over the index. */
uint32_t home_slot(const SharedStore *store, uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return uint32_t(key) & store->index_mask;
}

/* Removes key (stored at pos) from the index by backward-shift deletion, so
 * the table never fills with tombstones. A lock-free reader may miss a key
 * while it moves; see the protocol in the header. */
void index_remove(SharedStore *store, uint64_t key, uint64_t pos) {
    StoreIndexSlot *index = index_of(store);
    uint32_t mask = store->index_mask;
    uint32_t i = home_slot(store, key);
    for (;;) {
        uint64_t k = index[i].key.load(std::memory_order_relaxed);
        if (k == 0)
            return; /* not indexed */
        if (k == key && index[i].pos.load(std::memory_order_relaxed) == pos)
            break;
        i = (i + 1) & mask;
    }
    uint32_t hole = i;
    for (uint32_t j = (hole + 1) & mask;; j = (j + 1) & mask) {
        uint64_t k = index[j].key.load(std::memory_order_relaxed);
        if (k == 0)
            break;
        uint32_t home = home_slot(store, k);
        /* Slot j may move into the hole only if its home is not in
         * (hole, j] (cyclically): otherwise probing would skip it. */
        bool home_between =
            hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (home_between)
            continue;
        index[hole].pos.store(index[j].pos.load(std::memory_order_relaxed),
                              std::memory_order_relaxed);
        index[hole].last_seen.store(
            index[j].last_seen.load(std::memory_order_relaxed),
            std::memory_order_relaxed);
        index[hole].used.store(index[j].used.load(std::memory_order_relaxed),
                               std::memory_order_relaxed);
        index[hole].key.store(k, std::memory_order_release);
        hole = j;
    }
    index[hole].key.store(0, std::memory_order_release);
}

void index_insert(SharedStore *store, uint64_t key, uint64_t pos) {
    StoreIndexSlot *index = index_of(store);
    uint32_t i = home_slot(store, key);
    while (index[i].key.load(std::memory_order_relaxed) != 0)
        i = (i + 1) & store->index_mask;
    index[i].pos.store(pos, std::memory_order_relaxed);
    index[i].last_seen.store(0, std::memory_order_relaxed);
    index[i].used.store(0, std::memory_order_relaxed);
    index[i].key.store(key, std::memory_order_release);
}

/* Lock held exclusively: the index slot of the record of key at pos. */
StoreIndexSlot *slot_at(SharedStore *store, uint64_t key, uint64_t pos) {
    StoreIndexSlot *index = index_of(store);
    uint32_t i = home_slot(store, key);
    for (uint32_t probes = 0; probes <= store->index_mask; probes++) {
        uint64_t k = index[i].key.load(std::memory_order_relaxed);
        if (k == 0)
            return nullptr;
        if (k == key && index[i].pos.load(std::memory_order_relaxed) == pos)
            return &index[i];
        i = (i + 1) & store->index_mask;
    }
    return nullptr;
}

void note_bytes_used(SharedStore *store) {
    store->counters.bytes_used.store(store->head - store->tail,
                                     std::memory_order_relaxed);
}

/* Fills the log from the head to its end with padding, so that the next
 * record starts at the beginning (records never wrap). The caller has
 * checked that those bytes are free. */
void pad_to_end(SharedStore *store) {
    uint64_t pad = store->log_bytes - store->head % store->log_bytes;
    RecordHeader *hdr = record_at(store, store->head);
    hdr->size = uint32_t(pad);
    hdr->kind = kKindPadding;
    hdr->key = 0;
    store->head += pad;
    note_bytes_used(store);
}

/* Moves the oldest record (whose index slot is `slot`) to the head: its
 * second chance. The bytes it leaves at the tail pay for the bytes it takes
 * at the head, so the log holds as much as before (plus padding). Where the
 * two places overlap, memmove copies correctly: whatever the destination
 * covers is free or the record itself.
 * Padding is needed only when the log's free bytes run from the head to its
 * end and on from its beginning; then the padding fits in them. */
void move_tail_to_head(SharedStore *store, StoreIndexSlot *slot) {
    uint64_t from = store->tail;
    uint32_t size = record_at(store, from)->size;
    if (store->head % store->log_bytes + size > store->log_bytes)
        pad_to_end(store);
    uint64_t to = store->head;
    memmove(log_of(store) + to % store->log_bytes,
            log_of(store) + from % store->log_bytes, size);
    store->tail += size;
    store->head += size;
    slot->pos.store(to, std::memory_order_relaxed);
    slot->used.store(0, std::memory_order_relaxed);
    store->counters.moved.fetch_add(1, std::memory_order_relaxed);
    note_bytes_used(store);
}

/* Drops the oldest record (or padding) of the log. */
void evict_oldest(SharedStore *store) {
    RecordHeader *hdr = record_at(store, store->tail);
    if (hdr->kind == kKindRecord) {
        if (store->index_mask != 0)
            index_remove(store, hdr->key, store->tail);
        store->counters.entries.fetch_sub(1, std::memory_order_relaxed);
        store->counters.evicted.fetch_add(1, std::memory_order_relaxed);
    }
    store->tail += hdr->size;
    note_bytes_used(store);
}

/* The clock hand at the oldest record: a used record gets its second chance
 * while *chances lasts, anything else is dropped. */
void release_oldest(SharedStore *store, uint64_t *chances) {
    RecordHeader *hdr = record_at(store, store->tail);
    if (hdr->kind == kKindRecord && store->index_mask != 0 && *chances > 0) {
        StoreIndexSlot *slot = slot_at(store, hdr->key, store->tail);
        if (slot != nullptr &&
            slot->used.load(std::memory_order_relaxed) != 0) {
            --*chances;
            move_tail_to_head(store, slot);
            return;
        }
    }
    evict_oldest(store);
}

/* Frees the oldest end of the log until `size` bytes fit contiguously at
 * the head (padding the end of the log first when they would wrap) and,
 * when adding an entry, the entry limit allows one more. Second chances are
 * bounded by one pass over the records held at the start, so that backends
 * setting bits meanwhile cannot keep the hand turning. */
void make_room(SharedStore *store, uint64_t size, bool adds_entry) {
    uint64_t chances = store->counters.entries.load(std::memory_order_relaxed);
    for (;;) {
        uint64_t offset = store->head % store->log_bytes;
        bool wraps = offset + size > store->log_bytes;
        uint64_t need = wraps ? store->log_bytes - offset : size;
        if (store->head + need - store->tail <= store->log_bytes) {
            if (wraps) {
                pad_to_end(store);
                continue;
            }
            if (!adds_entry || store->max_entries == 0 ||
                store->counters.entries.load(std::memory_order_relaxed) <
                    store->max_entries)
                return;
        }
        if (store->tail == store->head)
            return; /* empty: cannot happen for size <= log_bytes */
        release_oldest(store, &chances);
    }
}

} // namespace

size_t store_shmem_size(uint32_t max_entries, uint64_t log_bytes,
                        bool indexed) {
    size_t size = sizeof(SharedStore);
    if (indexed)
        size += sizeof(StoreIndexSlot) * index_slots_for(max_entries);
    return size + align_up(log_bytes, kRecordAlign);
}

void store_init(SharedStore *store, uint32_t max_entries, uint64_t log_bytes,
                bool indexed) {
    size_t size = store_shmem_size(max_entries, log_bytes, indexed);
    memset(static_cast<void *>(store), 0, size);
    store->log_bytes = align_up(log_bytes, kRecordAlign);
    store->max_entries = max_entries;
    store->index_mask = indexed ? index_slots_for(max_entries) - 1 : 0;
}

StoreIndexSlot *store_probe(SharedStore *store, uint64_t key) {
    StoreIndexSlot *slot = store_peek(store, key);
    /* written only when clear: one shared cache line for the hot records */
    if (slot != nullptr && slot->used.load(std::memory_order_relaxed) == 0)
        slot->used.store(1, std::memory_order_relaxed);
    return slot;
}

StoreIndexSlot *store_peek(SharedStore *store, uint64_t key) {
    if (key == 0 || store->index_mask == 0)
        return nullptr;
    StoreIndexSlot *index = index_of(store);
    uint32_t i = home_slot(store, key);
    /* Bounded: a slot is always empty since the load factor is <= 1/2, but a
     * reader racing with moves must not loop forever. */
    for (uint32_t probes = 0; probes <= store->index_mask; probes++) {
        uint64_t k = index[i].key.load(std::memory_order_acquire);
        if (k == key)
            return &index[i];
        if (k == 0)
            return nullptr;
        i = (i + 1) & store->index_mask;
    }
    return nullptr;
}

void *store_find(SharedStore *store, uint64_t key, uint32_t *payload_bytes) {
    StoreIndexSlot *slot = store_peek(store, key);
    if (slot == nullptr)
        return nullptr;
    RecordHeader *hdr =
        record_at(store, slot->pos.load(std::memory_order_relaxed));
    if (hdr->kind != kKindRecord || hdr->key != key)
        return nullptr;
    if (payload_bytes)
        *payload_bytes = hdr->size - sizeof(RecordHeader);
    return hdr + 1;
}

void *store_append(SharedStore *store, uint64_t key, uint32_t payload_bytes) {
    uint64_t size =
        align_up(sizeof(RecordHeader) + payload_bytes, kRecordAlign);
    if (size > store->log_bytes || size > UINT32_MAX) {
        store->counters.too_large.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
    }
    make_room(store, size, true);
    uint64_t pos = store->head;
    RecordHeader *hdr = record_at(store, pos);
    hdr->size = uint32_t(size);
    hdr->kind = kKindRecord;
    hdr->key = key;
    store->head += size;
    if (store->index_mask != 0)
        index_insert(store, key, pos);
    store->counters.entries.fetch_add(1, std::memory_order_relaxed);
    store->counters.stored.fetch_add(1, std::memory_order_relaxed);
    note_bytes_used(store);
    return hdr + 1;
}

void store_for_each(SharedStore *store,
                    void (*visit)(uint64_t key, const void *payload,
                                  uint32_t payload_bytes, void *arg),
                    void *arg) {
    for (uint64_t pos = store->tail; pos < store->head;) {
        RecordHeader *hdr = record_at(store, pos);
        if (hdr->kind == kKindRecord)
            visit(hdr->key, hdr + 1, hdr->size - sizeof(RecordHeader), arg);
        pos += hdr->size;
    }
}

StoreFigures store_figures(const SharedStore *store) {
    StoreFigures f{};
    if (store == nullptr)
        return f;
    const StoreCounters &sc = store->counters;
    f.entries = sc.entries.load();
    f.bytes_used = sc.bytes_used.load();
    f.capacity_bytes = store->log_bytes;
    f.max_entries = store->max_entries;
    f.stored = sc.stored.load();
    f.evicted = sc.evicted.load();
    f.too_large = sc.too_large.load();
    f.moved = sc.moved.load();
    return f;
}

} // namespace qprof
