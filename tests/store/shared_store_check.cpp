/*
 * shared_store_check.cpp — randomized check of extension/shared_store.cpp
 * (no PostgreSQL needed: the store is plain data). Stores of various sizes
 * take a mix of lookups of a hot set and of one-off keys, with records of
 * random sizes (up to a third of the log), so that the log wraps, pads,
 * evicts and moves used records to the head (second chances) over and
 * over. After every append the whole store is checked:
 *  - every record in the log holds the bytes written for its key, once;
 *  - the index finds every record at its position;
 *  - the counters (entries, bytes used) agree with the log, within limits.
 * And where nothing else is looked up again, a hot set that fits with one
 * burst of one-offs, looked up between bursts, is stored once: it is never
 * evicted.
 * Exit status 0 when all holds; prints the first failure otherwise.
 */
#include "shared_store.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <vector>

namespace {

int failures = 0;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            std::fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__,       \
                         #cond);                                               \
            std::fprintf(stderr, __VA_ARGS__);                                 \
            std::fprintf(stderr, "\n");                                        \
            if (++failures > 5)                                                \
                std::exit(1);                                                  \
        }                                                                      \
    } while (0)

/* The largest payload of the current run. */
uint64_t largest_payload = 1;

/* The payload size and bytes of a key: a function of the key alone. */
uint32_t payload_size(uint64_t key) {
    return uint32_t(1 + (key * 0x9e3779b97f4a7c15ULL >> 40) % largest_payload);
}

uint8_t payload_byte(uint64_t key, uint32_t i) {
    return uint8_t((key * 31 + i * 7) ^ (key >> 13));
}

struct Visit {
    qprof::SharedStore *store;
    std::map<uint64_t, int> seen;
    uint64_t bytes = 0;
};

void check_record(uint64_t key, const void *payload, uint32_t bytes,
                  void *arg) {
    auto *v = static_cast<Visit *>(arg);
    v->seen[key]++;
    v->bytes += bytes + 16;
    uint32_t size = payload_size(key);
    CHECK(bytes >= size && bytes < size + 16, "key %llu: %u bytes for %u",
          (unsigned long long)key, bytes, size);
    const uint8_t *p = static_cast<const uint8_t *>(payload);
    for (uint32_t i = 0; i < size; i++)
        if (p[i] != payload_byte(key, i)) {
            CHECK(false, "key %llu: byte %u damaged", (unsigned long long)key,
                  i);
            break;
        }
    uint32_t found_bytes = 0;
    const void *found = qprof::store_find(v->store, key, &found_bytes);
    CHECK(found == payload, "key %llu: the index points elsewhere",
          (unsigned long long)key);
}

void check_store(qprof::SharedStore *store) {
    Visit v;
    v.store = store;
    qprof::store_for_each(store, check_record, &v);
    for (auto &kv : v.seen)
        CHECK(kv.second == 1, "key %llu held %d times",
              (unsigned long long)kv.first, kv.second);
    qprof::StoreFigures f = qprof::store_figures(store);
    CHECK(f.entries == v.seen.size(), "entries %llu, log holds %zu",
          (unsigned long long)f.entries, v.seen.size());
    CHECK(f.max_entries == 0 || f.entries <= f.max_entries,
          "entries %llu over %llu", (unsigned long long)f.entries,
          (unsigned long long)f.max_entries);
    CHECK(f.bytes_used <= f.capacity_bytes && v.bytes <= f.bytes_used,
          "bytes: records %llu, used %llu, capacity %llu",
          (unsigned long long)v.bytes, (unsigned long long)f.bytes_used,
          (unsigned long long)f.capacity_bytes);
    CHECK(f.stored - f.evicted == f.entries, "stored - evicted != entries");
}

/* Looks key up as the hot path does, and stores it when absent. Returns
 * whether it had to be stored. */
bool use(qprof::SharedStore *store, uint64_t key) {
    if (qprof::store_probe(store, key) != nullptr)
        return false;
    uint32_t size = payload_size(key);
    auto *p = static_cast<uint8_t *>(qprof::store_append(store, key, size));
    CHECK(p != nullptr, "append of %u bytes refused", size);
    if (p != nullptr)
        for (uint32_t i = 0; i < size; i++)
            p[i] = payload_byte(key, i);
    check_store(store);
    return true;
}

/* `rounds` of: the hot set looked up, then `burst` one-offs; with
 * `seen_again`, one in 8 of those is an older one-off looked up again (the
 * hot set may then lose its place: no check of it). */
void run(uint32_t max_entries, uint64_t log_bytes, uint64_t largest, int hot,
         int rounds, int burst, bool seen_again, uint32_t seed) {
    largest_payload = largest;
    size_t size = qprof::store_shmem_size(max_entries, log_bytes, true);
    std::vector<uint64_t> memory(size / 8 + 1);
    auto *store = reinterpret_cast<qprof::SharedStore *>(memory.data());
    qprof::store_init(store, max_entries, log_bytes, true);
    std::mt19937_64 random(seed);
    uint64_t next_one_off = 1u << 20;
    std::vector<int> hot_stores(hot, 0);
    for (int round = 0; round < rounds; round++) {
        for (int h = 0; h < hot; h++)
            hot_stores[h] += use(store, 1000 + h);
        for (int b = 0; b < burst; b++) {
            /* one-offs, and now and then an old one-off seen again */
            uint64_t key =
                seen_again && random() % 8 == 0
                    ? (1u << 20) + random() % (next_one_off - (1u << 20) + 1)
                    : next_one_off++;
            use(store, key);
        }
    }
    for (int h = 0; h < hot && !seen_again; h++)
        CHECK(hot_stores[h] == 1,
              "max %u, log %llu: hot key %d stored %d times", max_entries,
              (unsigned long long)log_bytes, h, hot_stores[h]);
    qprof::StoreFigures f = qprof::store_figures(store);
    std::printf("max_entries %u, log %llu B, payloads <= %llu B, hot %d, "
                "burst %d%s: stored %llu, evicted %llu, moved %llu\n",
                max_entries, (unsigned long long)log_bytes,
                (unsigned long long)largest, hot, burst,
                seen_again ? ", seen again" : "", (unsigned long long)f.stored,
                (unsigned long long)f.evicted, (unsigned long long)f.moved);
}

} // namespace

int main() {
    /* entry-bound: payloads small enough that the entry limit binds */
    run(10, 64 * 1024, 1024, 5, 300, 3, false, 1);
    run(50, 256 * 1024, 1024, 20, 200, 20, false, 2);
    /* byte-bound: the log wraps and pads at almost every append; a hot
     * record, a burst and their padding take at most 6/8 of the log */
    run(1000, 4096, 4096 / 8, 1, 3000, 2, false, 3);
    run(1000, 16 * 1024, 16 * 1024 / 8, 1, 3000, 2, false, 4);
    /* integrity under everything: records up to a third of the log, old
     * keys seen again (moves of any record, in any place of the log) */
    run(10, 64 * 1024, 64 * 1024 / 3, 5, 300, 3, true, 5);
    run(1000, 4096, 4096 / 3, 3, 3000, 2, true, 6);
    run(1000, 1024, 1024 / 3, 2, 3000, 1, true, 7);
    run(30, 8192, 200, 10, 1000, 4, true, 8);
    if (failures == 0)
        std::printf("ok\n");
    return failures == 0 ? 0 : 1;
}
