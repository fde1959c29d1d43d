/*
 * metrics_http.h — the HTTP endpoint of `qprof collect --metrics-listen`:
 * one thread, one listening socket, GET /metrics only. Requests are
 * bounded (8 KiB), connections idle for 5 s are closed, at most 16 are
 * open at once, and every answer closes its connection. The thread only
 * asks Metrics for its text: it never waits for the collection loop.
 */
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace qprof {

class MetricsHttpServer {
  public:
    /* Listens on `address`: HOST:PORT, [IPV6]:PORT or :PORT (every
     * address), and serves `body()` at /metrics. Throws UsageError when the
     * address is malformed or cannot be listened on. */
    MetricsHttpServer(const std::string &address,
                      std::function<std::string()> body);
    /* Stops the thread and closes every socket. */
    ~MetricsHttpServer();

    /* The port listened on (the one chosen when PORT was 0). */
    int port() const;

  private:
    struct State;
    std::unique_ptr<State> state_;
};

} // namespace qprof
