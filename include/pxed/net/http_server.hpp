#pragma once
/// The HTTP/1.1 server for install trees, rendered documents and the JSON
/// API: GET and HEAD with keep-alive, conditional and range requests,
/// directory listings. Beast parses requests; the pure http::decide()
/// (engine/http_exchange.hpp) decides the answer; files go out with
/// sendfile(2) from the page cache. One event loop, no thread per client.
/// Asio and Beast stay out of this header.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pxed/engine/boot_trace.hpp"
#include "pxed/fs/namespace.hpp"

namespace boost::asio {
class io_context;
}

namespace pxed::metrics {
class registry;
}

namespace pxed::net {

class transfer_board;

/// One request to the JSON API.
struct http_api_request {
    std::string_view method;  ///< GET, HEAD or POST
    std::string_view path;    ///< normalised, "api/v1/hosts"
    std::string_view query;
    std::string_view peer;    ///< the client, "10.0.0.5:43210"
    /// The Authorization field as sent ("Bearer <key>"); never logged.
    std::string_view authorization;
    /// The client's IPv4 address, host byte order (none for IPv6 peers).
    std::optional<std::uint32_t> peer_ipv4;
    /// The dashboard's (docs/dashboard.md): Cookie, Origin, Host and
    /// X-CSRF-Token as sent; never logged.
    std::string_view cookie{};
    std::string_view origin{};
    std::string_view host{};
    std::string_view csrf_token{};
};

/// An answer that stays open (Server-Sent Events): what the application
/// pushes goes out in order until either side closes. On the event loop's
/// thread only.
class http_stream {
public:
    virtual ~http_stream() = default;
    /// Queues `bytes` to send. False when the connection is gone, or when
    /// the client has fallen more than max_queued bytes behind (the
    /// connection is then closed: a stalled reader holds no memory).
    virtual bool push(std::string_view bytes) = 0;
    virtual bool open() const = 0;
    /// Ends the stream: what is queued is dropped and the connection closed.
    virtual void close() = 0;
    static constexpr std::size_t max_queued = 1 << 20;
};

/// What the JSON API answers to one request (see app/api.hpp).
struct http_api_reply {
    unsigned status = 200;
    std::string body;
    std::string content_type = "application/json";
    /// Why a request was refused, for the access log (no secret in it).
    std::string log;
    /// Replaces "no-cache" (a computed answer's default).
    std::string cache_control;
    /// With it, conditional requests are answered 304 (embedded files).
    std::string etag;
    /// More header fields (security headers, Set-Cookie).
    std::vector<std::pair<std::string, std::string>> fields;
    /// Set on a 200 to a GET: the answer is a stream. The head is sent
    /// (Content-Type text/event-stream unless content_type says other),
    /// `body` goes first, and this is called with the stream to push to.
    std::function<void(std::shared_ptr<http_stream>)> stream;
};

struct http_server_options {
    std::string listen_address = "0.0.0.0";
    std::uint16_t port = 80;  ///< 0: any free port (see http_server::port())
    /// Connections at once. At the cap a newcomer makes room: the most
    /// idle connection not receiving a response (kept-alive, or mid-header
    /// since its last byte) is closed, else the slowest response below
    /// min_rate; only when every connection is a working response is the
    /// newcomer answered 503 and closed.
    std::size_t max_connections = 1024;
    /// Connections at once from one client address; one beyond that is
    /// answered 503 and closed. An installer opens a handful (Anaconda and
    /// dnf fetch a few files in parallel).
    std::size_t max_connections_per_client = 32;
    /// Request line plus header fields; more is answered 431.
    std::size_t max_header_bytes = 16 * 1024;
    /// The request-target alone; longer is answered 414.
    std::size_t max_target_bytes = 8 * 1024;
    /// A kept-alive connection with no request started is closed after this.
    std::chrono::seconds idle_timeout{60};
    /// Time from the first byte of a request to the end of its header
    /// (a slow-loris client holds a connection no longer than this).
    std::chrono::seconds header_timeout{20};
    /// A response that makes no progress for this long is abandoned.
    std::chrono::seconds send_timeout{60};
    /// A response that sends fewer than min_rate bytes per second over a
    /// whole min_rate_window is abandoned (a reader that drains a byte a
    /// second holds no connection); 0: no minimum.
    std::size_t min_rate = 1024;
    std::chrono::seconds min_rate_window{30};
    /// Largest sendfile(2) per turn of the event loop, so one fast client
    /// cannot starve the others.
    std::size_t send_chunk = 1 << 20;
    /// Files up to this size are read and sent with their header in one
    /// write: fewer system calls for kickstarts, configs, repodata.
    std::size_t small_file = 16 * 1024;
    /// Where the server counts its responses (docs/metrics.md); outlives
    /// the server. Null: counted nowhere anyone reads.
    metrics::registry* metrics = nullptr;
    /// Where file bodies larger than small_file show while they are sent
    /// (the dashboard); outlives the server. Null: nowhere.
    transfer_board* transfers = nullptr;
    /// Told of every file or document request answered (not the API's),
    /// for the boot trace; its mac unset (the caller attributes it).
    std::function<void(trace::event&&)> trace;
};

class http_server {
public:
    /// Called for every request, so a reloaded site takes effect for the
    /// next request.
    using namespace_provider = std::function<std::shared_ptr<const fs::file_namespace>()>;
    /// Answers a request under /api/v1.
    using api_handler = std::function<http_api_reply(const http_api_request& request)>;
    /// Explains, for the log, why a rendered document was not found
    /// ("no host with MAC ..."); empty when it is not a document path. Such
    /// misses are logged at warn, since a host is trying to install.
    using miss_explainer = std::function<std::string(std::string_view path)>;

    http_server(boost::asio::io_context& io, http_server_options options, namespace_provider files,
                api_handler api = {}, miss_explainer explain = {});
    ~http_server();
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    /// Binds and listens; throws std::system_error if that fails.
    void start();
    /// Stops accepting and closes every connection, finished or not.
    void stop();

    std::uint16_t port() const;
    std::size_t active_connections() const;

private:
    class impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace pxed::net
