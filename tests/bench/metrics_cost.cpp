/*
 * metrics_cost.cpp — what `qprof collect --metrics-listen` costs the
 * collection loop a sample (Metrics::add_sample) and a scrape
 * (Metrics::exposition), with NQ statements and NR routes over 20
 * applications, every other sample with kernel facts (SAMPLES, default
 * 2,000,000; with `perf stat -e instructions`, twice with different
 * SAMPLES, the instructions a sample). Built and run
 * against the collector's libraries:
 *   make -C collector && g++ -O2 -std=c++17 -Icollector/build \
 *     -Icollector/capture -Icollector/collect -Iextension \
 *     -I$(pg_config --includedir) tests/bench/metrics_cost.cpp \
 *     collector/build/libcollect.a collector/build/libcapture.a \
 *     -lprotobuf -lzstd -lpthread -o /tmp/metrics_cost
 *   /tmp/metrics_cost 50 20; /tmp/metrics_cost 1000 200
 */
#include "metrics.h"
#include <chrono>
#include <cstdio>
#include <cstdlib>
using namespace qprof;
int main(int argc, char **argv) {
    int nq = argc > 1 ? atoi(argv[1]) : 1000,
        nr = argc > 2 ? atoi(argv[2]) : 200;
    if (nq < 1 || nr < 1) {
        fprintf(stderr,
                "usage: metrics_cost NQ NR [SAMPLES] (NQ and NR at least 1)\n");
        return 1;
    }
    Metrics m(MetricsOptions{});
    std::vector<SampleRow> rows(4096);
    std::vector<std::string> tags;
    for (int r = 0; r < nr; ++r)
        tags.push_back("{\"route\": \"/route/" + std::to_string(r) + "\"}");
    for (size_t i = 0; i < rows.size(); ++i) {
        SampleRow &row = rows[i];
        row.queryid = 1000 + (i * 7919) % nq;
        row.toplevel = true;
        row.application_name = "app" + std::to_string(i % 20);
        row.tags_json = tags[i % tags.size()];
        row.exec_time_ns = 1000 + i * 37;
        row.end_unix_us = 1;
        row.rows = 1;
    }
    ExecIo io;
    io.oncpu_ns = 1000;
    io.wait_class_ns[3] = 10;
    for (int q = 0; q < nq; ++q)
        m.add_text(1000 + q, "SELECT something FROM somewhere WHERE id = $1");
    const int n = argc > 3 ? atoi(argv[3]) : 2000000;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i)
        m.add_sample(rows[i & 4095], (i & 1) ? &io : nullptr);
    auto t1 = std::chrono::steady_clock::now();
    std::string text;
    for (int i = 0; i < 20; ++i)
        text = m.exposition();
    auto t2 = std::chrono::steady_clock::now();
    size_t lines = 0;
    for (char c : text)
        lines += c == '\n';
    printf("add_sample: %.1f ns a sample\nexposition: %.2f ms, %zu bytes, %zu "
           "lines\n",
           std::chrono::duration<double, std::nano>(t1 - t0).count() / n,
           std::chrono::duration<double, std::milli>(t2 - t1).count() / 20,
           text.size(), lines);
}
