#include "http_client.h"
#include "errors.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace qprof {

namespace {

/* A connected socket, closed when it goes out of scope. */
class Connection {
  public:
    Connection(const HttpUrl &url, int timeout_seconds)
        : timeout_ms_(timeout_seconds * 1000) {
        struct addrinfo hints;
        std::memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        struct addrinfo *found = nullptr;
        std::string port = std::to_string(url.port);
        int rc = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &found);
        if (rc != 0)
            throw ServerError("ClickHouse at " + where(url) +
                              ": cannot resolve the host: " + gai_strerror(rc));
        int last_errno = 0;
        for (struct addrinfo *a = found; a != nullptr; a = a->ai_next) {
            fd_ = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
                         a->ai_protocol);
            if (fd_ < 0) {
                last_errno = errno;
                continue;
            }
            if (connect(fd_, a->ai_addr, a->ai_addrlen) == 0)
                break;
            last_errno = errno;
            close(fd_);
            fd_ = -1;
        }
        freeaddrinfo(found);
        if (fd_ < 0)
            throw ServerError(describe_errno("ClickHouse at " + where(url) +
                                                 ": cannot connect",
                                             last_errno));
    }
    ~Connection() {
        if (fd_ >= 0)
            close(fd_);
    }
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;

    /* Sends `data`; false when the server answered before it was all
     * sent (an error, before it read the body): the answer is then read. */
    bool send_all(const std::string &data) {
        size_t sent = 0;
        while (sent < data.size()) {
            if (wait_for(POLLOUT | POLLIN) & POLLIN)
                return false;
            ssize_t n =
                send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                throw ServerError(
                    describe_errno("ClickHouse: sending the request", errno));
            sent += static_cast<size_t>(n);
        }
        return true;
    }

    /* Appends what arrives to `into`; false at the end of the stream (or
     * at a reset after an answer began: a server that answered early
     * closes on the body it did not read). */
    bool receive(std::string &into) {
        wait_for(POLLIN);
        char buf[65536];
        ssize_t n;
        do
            n = recv(fd_, buf, sizeof buf, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0 && errno == ECONNRESET && !into.empty())
            return false;
        if (n < 0)
            throw ServerError(
                describe_errno("ClickHouse: reading the answer", errno));
        into.append(buf, static_cast<size_t>(n));
        return n > 0;
    }

    static std::string where(const HttpUrl &url) {
        return url.host + ":" + std::to_string(url.port);
    }

  private:
    /* The events that happened of `events` (or an error or hang-up). */
    short wait_for(short events) {
        struct pollfd p = {fd_, events, 0};
        for (;;) {
            int rc = poll(&p, 1, timeout_ms_);
            if (rc > 0)
                return p.revents;
            if (rc == 0)
                throw ServerError("ClickHouse: no answer for " +
                                  std::to_string(timeout_ms_ / 1000) + " s");
            if (errno != EINTR)
                throw ServerError(describe_errno("ClickHouse: poll", errno));
        }
    }

    int fd_ = -1;
    int timeout_ms_;
};

bool iequals_prefix(const std::string &line, const char *name) {
    size_t n = std::strlen(name);
    return line.size() >= n && strncasecmp(line.c_str(), name, n) == 0;
}

/* The body of a chunked response; throws on a malformed one. */
std::string dechunk(const std::string &raw) {
    std::string out;
    size_t at = 0;
    for (;;) {
        size_t eol = raw.find("\r\n", at);
        if (eol == std::string::npos)
            throw ServerError("ClickHouse: a chunked answer cut short");
        char *end = nullptr;
        unsigned long long size = std::strtoull(raw.c_str() + at, &end, 16);
        if (end == raw.c_str() + at)
            throw ServerError("ClickHouse: a malformed chunked answer");
        at = eol + 2;
        if (size == 0)
            return out;
        if (size > raw.size() - at)
            throw ServerError("ClickHouse: a chunked answer cut short");
        out.append(raw, at, size);
        at += size + 2;
    }
}

} // namespace

HttpUrl parse_http_url(const std::string &text) {
    const std::string scheme = "http://";
    if (text.compare(0, scheme.size(), scheme) != 0)
        throw UsageError("a ClickHouse URL is http://[USER[:PASSWORD]@]HOST"
                         "[:PORT][/], not " +
                         text + " (https: put a TLS proxy on this machine)");
    std::string rest = text.substr(scheme.size());
    size_t slash = rest.find('/');
    if (slash != std::string::npos) {
        if (slash + 1 != rest.size())
            throw UsageError("a ClickHouse URL has no path (the database is "
                             "--database): " +
                             text);
        rest.resize(slash);
    }
    HttpUrl url;
    size_t at = rest.rfind('@');
    if (at != std::string::npos) {
        std::string credentials = rest.substr(0, at);
        rest = rest.substr(at + 1);
        size_t colon = credentials.find(':');
        url.user = credentials.substr(0, colon);
        if (colon != std::string::npos)
            url.password = credentials.substr(colon + 1);
    }
    std::string port;
    if (!rest.empty() && rest[0] == '[') {
        size_t close = rest.find(']');
        if (close == std::string::npos)
            throw UsageError("a ClickHouse URL with an unclosed [: " + text);
        url.host = rest.substr(1, close - 1);
        if (close + 1 < rest.size()) {
            if (rest[close + 1] != ':')
                throw UsageError("bad ClickHouse URL: " + text);
            port = rest.substr(close + 2);
        }
    } else {
        size_t colon = rest.rfind(':');
        url.host = rest.substr(0, colon);
        if (colon != std::string::npos)
            port = rest.substr(colon + 1);
    }
    if (url.host.empty())
        throw UsageError("a ClickHouse URL needs a host: " + text);
    if (!port.empty()) {
        char *end = nullptr;
        long n = std::strtol(port.c_str(), &end, 10);
        if (*end != '\0' || n < 1 || n > 65535)
            throw UsageError("bad port in the ClickHouse URL: " + text);
        url.port = static_cast<uint16_t>(n);
    }
    return url;
}

std::string url_encode(const std::string &text) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
            c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

HttpResponse http_post(const HttpUrl &url, const std::string &target,
                       const std::string &body, int timeout_seconds,
                       size_t max_response_bytes) {
    Connection conn(url, timeout_seconds);
    std::string head = "POST " + target + " HTTP/1.1\r\nHost: " + url.host +
                       ":" + std::to_string(url.port) +
                       "\r\nConnection: close\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n";
    if (!url.user.empty())
        head += "X-ClickHouse-User: " + url.user +
                "\r\nX-ClickHouse-Key: " + url.password + "\r\n";
    head += "\r\n";
    if (conn.send_all(head))
        conn.send_all(body);

    std::string raw;
    while (conn.receive(raw))
        if (raw.size() > max_response_bytes + 65536)
            throw ServerError("ClickHouse: an answer larger than " +
                              std::to_string(max_response_bytes >> 20) +
                              " MiB");
    size_t end_of_head = raw.find("\r\n\r\n");
    if (end_of_head == std::string::npos || raw.compare(0, 5, "HTTP/") != 0)
        throw ServerError("ClickHouse at " + Connection::where(url) +
                          ": not an HTTP answer");
    HttpResponse response;
    size_t space = raw.find(' ');
    response.status = std::atoi(raw.c_str() + space + 1);
    bool chunked = false;
    size_t at = raw.find("\r\n") + 2;
    while (at < end_of_head) {
        size_t eol = raw.find("\r\n", at);
        std::string line = raw.substr(at, eol - at);
        if (iequals_prefix(line, "transfer-encoding:") &&
            line.find("chunked") != std::string::npos)
            chunked = true;
        at = eol + 2;
    }
    std::string payload = raw.substr(end_of_head + 4);
    response.body = chunked ? dechunk(payload) : payload;
    return response;
}

} // namespace qprof
