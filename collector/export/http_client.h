/*
 * http_client.h — the few HTTP/1.1 requests qprof makes of ClickHouse's
 * HTTP interface: one POST per request on a fresh connection, over plain
 * TCP (no TLS: put a TLS proxy in front of a remote ClickHouse), with
 * timeouts, and a response body bounded in size.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace qprof {

/* http://[user[:password]@]host[:port][/] */
struct HttpUrl {
    std::string host;
    uint16_t port = 8123;
    std::string user, password;
};

/* Throws UsageError for anything but the form above. */
HttpUrl parse_http_url(const std::string &url);

struct HttpResponse {
    int status = 0;
    std::string body;
};

/* POSTs `body` to `target` (path and query string) of `url`; a header
 * X-ClickHouse-User/-Key when the URL names a user. Throws ServerError when
 * the server cannot be reached, stops answering for `timeout_seconds`, or
 * answers with more than `max_response_bytes`. */
HttpResponse http_post(const HttpUrl &url, const std::string &target,
                       const std::string &body, int timeout_seconds = 300,
                       size_t max_response_bytes = 256u << 20);

/* "%41b" style: every byte but A-Z a-z 0-9 - _ . ~ escaped. */
std::string url_encode(const std::string &text);

} // namespace qprof
