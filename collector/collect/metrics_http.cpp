#include "metrics_http.h"
#include "errors.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace qprof {

namespace {

constexpr size_t kMaxRequestBytes = 8192;
constexpr size_t kMaxConnections = 16;
constexpr int kIdleMilliseconds = 5000;

using Clock = std::chrono::steady_clock;

struct Connection {
    int fd = -1;
    std::string in;  /* the request so far */
    std::string out; /* the answer, once the request is read */
    size_t sent = 0;
    Clock::time_point deadline;
};

void set_nonblocking(int fd) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

std::string answer(int status, const char *reason, const std::string &type,
                   const std::string &body, const char *extra = "") {
    return "HTTP/1.1 " + std::to_string(status) + " " + reason +
           "\r\nContent-Type: " + type +
           "\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n" + extra + "\r\n" + body;
}

/* Splits HOST:PORT, [HOST]:PORT or :PORT; false when malformed. */
bool split_address(const std::string &address, std::string &host,
                   std::string &port) {
    size_t colon = address.rfind(':');
    if (colon == std::string::npos || colon + 1 == address.size())
        return false;
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (port.find_first_not_of("0123456789") != std::string::npos ||
        port.size() > 5 || std::stoul(port) > 65535)
        return false;
    if (!host.empty() && host.front() == '[') {
        if (host.back() != ']')
            return false;
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string::npos) {
        return false; /* an IPv6 address goes in brackets */
    }
    return true;
}

} // namespace

struct MetricsHttpServer::State {
    std::function<std::string()> body;
    int listen_fd = -1;
    int wake[2] = {-1, -1};
    int port = 0;
    std::vector<Connection> connections;
    std::thread thread;

    void serve();
    bool serve_once();
    void on_readable(Connection &c);
    bool on_writable(Connection &c); /* false: done, close it */
    std::string respond(const std::string &request);
};

MetricsHttpServer::MetricsHttpServer(const std::string &address,
                                     std::function<std::string()> body)
    : state_(std::make_unique<State>()) {
    state_->body = std::move(body);
    std::string host, port;
    if (!split_address(address, host, port))
        throw UsageError("--metrics-listen takes HOST:PORT, [IPV6]:PORT or "
                         ":PORT, not " +
                         address);
    struct addrinfo hints = {}, *found = nullptr;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(),
                         &hints, &found);
    if (rc != 0)
        throw UsageError("--metrics-listen " + address + ": " +
                         gai_strerror(rc));
    std::string why = "no address";
    for (struct addrinfo *ai = found; ai != nullptr; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0) {
            why = strerror(errno);
            continue;
        }
        int on = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0) {
            state_->listen_fd = fd;
            break;
        }
        why = strerror(errno);
        close(fd);
    }
    freeaddrinfo(found);
    if (state_->listen_fd < 0)
        throw UsageError("--metrics-listen " + address +
                         ": cannot listen: " + why);
    set_nonblocking(state_->listen_fd);

    struct sockaddr_storage bound = {};
    socklen_t length = sizeof bound;
    getsockname(state_->listen_fd, reinterpret_cast<sockaddr *>(&bound),
                &length);
    state_->port =
        ntohs(bound.ss_family == AF_INET6
                  ? reinterpret_cast<sockaddr_in6 *>(&bound)->sin6_port
                  : reinterpret_cast<sockaddr_in *>(&bound)->sin_port);

    if (pipe2(state_->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        close(state_->listen_fd);
        throw UsageError(
            describe_errno("--metrics-listen: cannot make a pipe", errno));
    }
    State *s = state_.get();
    state_->thread = std::thread([s] { s->serve(); });
}

MetricsHttpServer::~MetricsHttpServer() {
    char byte = 0;
    if (write(state_->wake[1], &byte, 1) < 0) {
        /* the pipe is ours and empty: this cannot fail */
    }
    state_->thread.join();
    for (Connection &c : state_->connections)
        close(c.fd);
    close(state_->listen_fd);
    close(state_->wake[0]);
    close(state_->wake[1]);
}

int MetricsHttpServer::port() const {
    return state_->port;
}

/* Only GET /metrics (with or without a query string) is served. */
std::string MetricsHttpServer::State::respond(const std::string &request) {
    size_t line_end = request.find_first_of("\r\n");
    std::string line = request.substr(0, line_end);
    size_t sp1 = line.find(' ');
    size_t sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string::npos || line.compare(sp2 + 1, 5, "HTTP/") != 0)
        return answer(400, "Bad Request", "text/plain", "bad request\n");
    std::string method = line.substr(0, sp1);
    std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string path = target.substr(0, target.find('?'));
    if (path != "/metrics")
        return answer(404, "Not Found", "text/plain",
                      "only /metrics is served here\n");
    if (method != "GET")
        return answer(405, "Method Not Allowed", "text/plain",
                      "only GET is served here\n", "Allow: GET\r\n");
    try {
        return answer(200, "OK", "text/plain; version=0.0.4; charset=utf-8",
                      body());
    } catch (const std::exception &e) {
        return answer(500, "Internal Server Error", "text/plain",
                      std::string(e.what()) + "\n");
    }
}

void MetricsHttpServer::State::on_readable(Connection &c) {
    char buffer[4096];
    ssize_t got = recv(c.fd, buffer, sizeof buffer, 0);
    if (got <= 0) {
        if (got == 0 || (errno != EAGAIN && errno != EINTR))
            c.deadline = Clock::time_point::min(); /* closed or broken */
        return;
    }
    c.in.append(buffer, static_cast<size_t>(got));
    c.deadline = Clock::now() + std::chrono::milliseconds(kIdleMilliseconds);
    bool complete = c.in.find("\r\n\r\n") != std::string::npos ||
                    c.in.find("\n\n") != std::string::npos;
    if (c.in.size() > kMaxRequestBytes)
        c.out = answer(431, "Request Header Fields Too Large", "text/plain",
                       "request too large\n");
    else if (complete)
        c.out = respond(c.in);
    if (!c.out.empty())
        c.in.clear();
}

bool MetricsHttpServer::State::on_writable(Connection &c) {
    while (c.sent < c.out.size()) {
        ssize_t n = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent,
                         MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR;
        c.sent += static_cast<size_t>(n);
        c.deadline =
            Clock::now() + std::chrono::milliseconds(kIdleMilliseconds);
    }
    shutdown(c.fd, SHUT_WR);
    return false;
}

void MetricsHttpServer::State::serve() {
    for (;;) {
        try {
            if (!serve_once())
                return;
        } catch (...) {
            /* out of memory: drop the connections, keep listening */
            for (Connection &c : connections)
                close(c.fd);
            connections.clear();
        }
    }
}

/* One poll and what it found; false when asked to stop. */
bool MetricsHttpServer::State::serve_once() {
    std::vector<struct pollfd> fds;
    {
        fds.clear();
        fds.push_back({wake[0], POLLIN, 0});
        fds.push_back({listen_fd, POLLIN, 0});
        Clock::time_point now = Clock::now();
        int timeout_ms = kIdleMilliseconds;
        for (const Connection &c : connections) {
            fds.push_back({c.fd,
                           static_cast<short>(c.out.empty() ? POLLIN : POLLOUT),
                           0});
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            c.deadline - now)
                            .count();
            timeout_ms = static_cast<int>(
                std::max<long long>(0, std::min<long long>(timeout_ms, left)));
        }
        if (poll(fds.data(), fds.size(), timeout_ms) < 0)
            return errno == EINTR;
        if (fds[0].revents != 0)
            return false; /* stop */

        now = Clock::now();
        std::vector<Connection> kept;
        for (size_t i = 0; i < connections.size(); ++i) {
            Connection &c = connections[i];
            short revents = fds[i + 2].revents;
            bool open = true;
            if (revents & (POLLERR | POLLNVAL))
                open = false;
            else if (c.out.empty() && (revents & (POLLIN | POLLHUP)))
                on_readable(c);
            if (open && !c.out.empty() && (revents & POLLOUT || c.sent == 0))
                open = on_writable(c);
            if (open && (c.deadline <= now))
                open = false; /* idle, or the peer closed */
            if (open)
                kept.push_back(std::move(c));
            else
                close(c.fd);
        }
        connections.swap(kept);

        if (fds[1].revents & POLLIN) {
            for (;;) {
                int fd = accept4(listen_fd, nullptr, nullptr,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0)
                    break;
                if (connections.size() >= kMaxConnections) {
                    close(fd);
                    continue;
                }
                Connection c;
                c.fd = fd;
                c.deadline = now + std::chrono::milliseconds(kIdleMilliseconds);
                connections.push_back(std::move(c));
            }
        }
    }
    return true;
}

} // namespace qprof
