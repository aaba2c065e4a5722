#pragma once
/// What to answer to one HTTP request, decided without sockets: the
/// request's head in, a response plan (the serialised status line and
/// header fields, and which bytes of which body follow) out. The server
/// (net/http_server) parses with Beast and carries the plan out with
/// sendfile(2); the fuzzer drives this same function with Beast's parser and
/// a fake resolver.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pxed::http {

/// The parts of a request that decide the answer. Views into the parser's
/// message; an empty view is an absent field.
struct request_head {
    std::string_view method;
    std::string_view target;
    unsigned version = 11;  ///< 10 or 11, as Beast counts
    bool has_host = false;  ///< RFC 9112 section 3.2: HTTP/1.1 requires Host
    std::string_view connection;
    std::string_view if_match;
    std::string_view if_none_match;
    std::string_view if_modified_since;
    std::string_view if_unmodified_since;
    std::string_view range;
    std::string_view if_range;
    /// "Bearer <key>" for the API's state changes; never logged.
    std::string_view authorization;
    /// For the dashboard (docs/dashboard.md): its session cookie, the
    /// request's Origin and Host (a state change must come from a page of
    /// this server) and its CSRF token; never logged.
    std::string_view cookie;
    std::string_view origin;
    std::string_view host;
    std::string_view csrf_token;  ///< X-CSRF-Token
    /// A body follows the head (Content-Length or Transfer-Encoding). pxed
    /// never reads one: it answers, then closes the connection.
    bool has_body = false;
    /// Every Transfer-Encoding field, joined with ", " (empty: none).
    std::string_view transfer_encoding;
    bool has_content_length = false;
};

/// What a resolver found at a path.
struct entity {
    std::uint64_t size = 0;
    std::int64_t mtime = 0;  ///< Unix seconds; 0: no Last-Modified, no date conditions
    std::string etag;        ///< quoted; empty: no validators, no conditions, no ranges
    std::string content_type;
    /// In memory (documents, listings, API answers); null: the server sends
    /// `size` bytes of a file it holds open.
    std::shared_ptr<const std::string> body;
    /// Computed per request (listings, API): "Cache-Control: no-cache".
    bool dynamic = false;
    /// Replaces the Cache-Control value `dynamic` gives ("no-store" for
    /// answers that must not be kept anywhere).
    std::string cache_control;
    /// More header fields, in this order (security headers, Set-Cookie);
    /// a name or value with CR, LF or NUL in it is dropped, never sent.
    std::vector<std::pair<std::string, std::string>> fields;
    /// A stream (Server-Sent Events): the head goes out without a length
    /// and the connection stays open for what the server pushes, then
    /// closes. Only for GET; HEAD gets the head alone.
    bool stream = false;
};

enum class lookup_status {
    found,        ///< `found` describes it
    directory,    ///< a directory asked for without a trailing `/`: redirect
    not_found,    ///< 404
    forbidden,    ///< 403: outside the roots, a special file, unreadable, refused
    bad_request,  ///< 400: a path the namespace calls malformed
    failed,       ///< 500: an I/O error
};

struct lookup_result {
    lookup_status status = lookup_status::not_found;
    entity found;
    /// For 4xx/5xx: a line for the operator's log (already escaped), and
    /// one for the client (no server-side path in it).
    std::string log_reason;
    std::string client_message;
    /// The exact status of an API answer (401, 405, 409, ...); 0: the one
    /// `status` stands for.
    unsigned status_code = 0;
};

/// Where decide() looks things up; the server backs it with the fs
/// namespace and the API, the tests and the fuzzer with fakes.
class resolver {
public:
    virtual ~resolver() = default;
    /// A file, document or directory. `path` is normalised ("" = the top);
    /// `listing` is true when the request ended in `/`, so a directory
    /// should be answered with its listing rather than `directory`.
    /// `query` is the raw query string (a host's kickstart URL carries its
    /// install token there).
    virtual lookup_result file(std::string_view path, bool listing, std::string_view query) = 0;
    /// A path under `api/v1` (normalised, e.g. "api/v1/hosts"),
    /// "metrics" (Prometheus), or the dashboard's `ui` and what is under
    /// it; `method`
    /// is GET, HEAD or POST (the API's only state-changing method);
    /// `authorization` the request's Authorization field, as sent.
    virtual lookup_result api(std::string_view method, std::string_view path, std::string_view query,
                              std::string_view authorization) = 0;
};

struct response_plan {
    unsigned status = 500;
    /// Status line and header fields, ending in the empty line.
    std::string head;
    /// What follows the head: `body_length` bytes at `body_offset`, of
    /// `memory` when set, else of the file the resolver opened. Zero for
    /// HEAD, 304 and the like.
    std::shared_ptr<const std::string> memory;
    std::uint64_t body_offset = 0;
    std::uint64_t body_length = 0;
    bool file_body = false;
    bool keep_alive = false;
    /// The head opens a stream (entity::stream): the connection stays open
    /// for what is pushed after it, and closes at its end.
    bool stream = false;
    /// Why a request was refused, for the access log; empty for success.
    std::string log_reason;
};

struct exchange_limits {
    std::size_t max_target = 8192;  ///< longer targets: 414
    std::string_view server_name = "pxed";
};

/// The request's answer. Never throws for any input: every malformed
/// request is a plan with a 4xx status. `now` is Unix seconds (Date header,
/// and conditions with dates from the future are ignored).
response_plan decide(const request_head& req, resolver& files, const exchange_limits& limits, std::int64_t now);

/// An answer that does not depend on a parsed request: 400 for an
/// unparseable one, 431 for oversized headers, 503 when the server is full.
/// The connection is always closed after it.
response_plan error_plan(unsigned status, std::string_view message, std::int64_t now,
                         std::string_view server_name = "pxed");

/// Why a request's framing cannot be trusted (RFC 9112 section 6.3), or
/// empty: a Transfer-Encoding whose last coding is not "chunked" leaves the
/// body's end unknown, and one together with Content-Length is how request
/// smuggling starts. Such a request gets 400 and the connection is closed.
std::string_view framing_error(const request_head& req);

/// Whether the connection stays open after the answer, by RFC 9112
/// section 9.3: HTTP/1.1 unless "close", HTTP/1.0 only with "keep-alive".
bool wants_keep_alive(unsigned version, std::string_view connection);

/// "Not Found" for 404, ...; "Unknown" for codes pxed does not send.
std::string_view reason_phrase(unsigned status);

}  // namespace pxed::http
