// Sockets around http::decide(). Everything runs on the daemon's one
// io_context thread, so no strands or locks; a connection stays alive
// through the shared_ptr its pending handlers hold.
//
// Reading: into a buffer of our own, fed to Beast's parser until the header
// is complete (so the first byte of a request is seen, which starts the
// header timeout). Writing: the head (plus a small body) with one
// send(), then the file with sendfile(2) straight from the page cache, at
// most send_chunk per turn of the loop so every client gets its turn.

#include "pxed/net/http_server.hpp"
#include "pxed/net/transfer_board.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <spdlog/spdlog.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <optional>
#include <unordered_map>
#include <vector>

#include "endpoint.hpp"
#include "log_limit.hpp"
#include "pxed/engine/http_exchange.hpp"
#include "pxed/engine/http_listing.hpp"
#include "pxed/engine/http_validators.hpp"
#include "pxed/metrics/registry.hpp"
#include "pxed/net/event_loop.hpp"
#include "pxed/net/send_file.hpp"
#include "http_request_head.hpp"
#include "pxed/wire/text.hpp"
#include "pxed/wire/token.hpp"

namespace pxed::net {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

http::lookup_result refused(http::lookup_status status, std::string log_reason, std::string client_message) {
    http::lookup_result r;
    r.status = status;
    r.log_reason = std::move(log_reason);
    r.client_message = std::move(client_message);
    return r;
}

http::lookup_result from_fs_error(const fs::error& e) {
    switch (e.code) {
    case fs::errc::not_found:
    case fs::errc::not_a_directory: return refused(http::lookup_status::not_found, e.message, "not found");
    case fs::errc::access_denied: return refused(http::lookup_status::forbidden, e.message, "access denied");
    case fs::errc::invalid_path: return refused(http::lookup_status::bad_request, e.message, "invalid path");
    case fs::errc::is_directory:
    case fs::errc::io_error: break;
    }
    return refused(http::lookup_status::failed, e.message, "cannot read it");
}

using shared_fd = std::shared_ptr<const fs::unique_fd>;

// Files opened in the last second, as nginx's open_file_cache keeps them:
// opening through the namespace costs a dozen system calls (realpath's
// readlinks, lstat, open, fstat, the /proc check), more than serving a
// small file does. Descriptors are shared: sendfile and pread take their
// own offsets. Small files keep their bytes. A reload (a new namespace)
// empties the cache; a file changed on disk is seen within a second.
class open_file_cache {
public:
    struct entry {
        shared_fd fd;
        std::uint64_t size = 0;
        std::int64_t mtime = 0;
        std::string etag;
        std::string content_type;
        std::shared_ptr<const std::string> bytes;  // the whole file, when small
        steady::time_point valid_until;
    };

    static constexpr auto validity = std::chrono::seconds(1);
    static constexpr std::size_t max_entries = 1024;

    const entry* find(const std::shared_ptr<const fs::file_namespace>& files, std::string_view path,
                      steady::time_point now) {
        // Same namespace: same control block (a weak reference keeps it
        // from being reused, so no other namespace can compare equal).
        if (files_.owner_before(files) || files.owner_before(files_) || files_.expired()) {
            entries_.clear();
            etags_.clear();
            files_ = files;
            return nullptr;
        }
        const auto it = entries_.find(std::string(path));
        if (it == entries_.end()) return nullptr;
        if (now >= it->second.valid_until) {
            entries_.erase(it);
            return nullptr;
        }
        return &it->second;
    }

    // A rendered document's ETag, hashed once per text: the document
    // source keeps a rendering until its host's status changes
    // (render::documents), so the same body comes back request after
    // request. Held by the body itself, so that its address cannot be
    // reused by another text while it is remembered.
    const std::string& body_etag(const std::shared_ptr<const std::string>& body) {
        const auto it = etags_.find(body.get());
        if (it != etags_.end()) return it->second.second;
        if (etags_.size() >= max_entries) etags_.clear();
        return etags_.emplace(body.get(), std::make_pair(body, http::body_etag(*body))).first->second.second;
    }

    void insert(std::string_view path, entry e) {
        if (entries_.size() >= max_entries) expire(steady::now());
        if (entries_.size() >= max_entries) entries_.clear();
        entries_[std::string(path)] = std::move(e);
    }

    // Closes what is no longer valid, so a deleted file's descriptor does
    // not linger.
    void expire(steady::time_point now) {
        for (auto it = entries_.begin(); it != entries_.end();) {
            if (now >= it->second.valid_until)
                it = entries_.erase(it);
            else
                ++it;
        }
    }

    void clear() {
        entries_.clear();
        etags_.clear();
        files_.reset();
    }

private:
    // Which namespace the entries are of, without holding it: after a
    // reload the last reference to the old site must not be this one, or
    // the next request would free 100,000 hosts on the event loop
    // (bench/README.md, "Large inventories").
    std::weak_ptr<const fs::file_namespace> files_;
    std::unordered_map<std::string, entry> entries_;
    std::unordered_map<const std::string*, std::pair<std::shared_ptr<const std::string>, std::string>> etags_;
};

// Reads a whole small file; nullptr if it is not what fstat said.
std::shared_ptr<const std::string> read_all(int fd, std::uint64_t size) {
    auto out = std::make_shared<std::string>(static_cast<std::size_t>(size), '\0');
    std::size_t got = 0;
    while (got < out->size()) {
        const ssize_t n = ::pread(fd, &(*out)[got], out->size() - got, static_cast<off_t>(got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return nullptr;
        got += static_cast<std::size_t>(n);
    }
    return out;
}

// The namespace and the API behind http::decide(). A file it opens is
// handed to the connection through `fd`, or as bytes in the entity.
class fs_resolver final : public http::resolver {
public:
    fs_resolver(const std::shared_ptr<const fs::file_namespace>& files, open_file_cache& cache,
                std::size_t small_file, const http_server::api_handler& api,
                const http_server::miss_explainer& explain, shared_fd& fd, std::string_view peer,
                std::optional<std::uint32_t> peer_ipv4, bool peek)
        : files_(files),
          cache_(cache),
          small_file_(small_file),
          api_(api),
          explain_(explain),
          fd_(fd),
          peer_(peer),
          peer_ipv4_(peer_ipv4),
          peek_(peek) {}

    http::lookup_result file(std::string_view path, bool listing, std::string_view query) override {
        if (!files_) return refused(http::lookup_status::failed, "no site loaded", "not ready");
        const auto now = steady::now();
        if (const auto* hit = cache_.find(files_, path, now)) return from_cache(*hit);
        const fs::client who{peer_ipv4_, wire::query_value(query, "token"), "http"};
        auto opened = files_->open(path, who, peek_);
        if (opened) {
            http::lookup_result r;
            r.status = http::lookup_status::found;
            auto& e = r.found;
            if (auto* f = opened->file()) {
                open_file_cache::entry c;
                c.size = static_cast<std::uint64_t>(f->size);
                c.mtime = f->mtime;
                c.etag = http::file_etag(c.size, c.mtime);
                c.content_type = std::string(http::content_type_for(path));
                c.fd = std::make_shared<const fs::unique_fd>(std::move(f->fd));
                if (c.size <= small_file_) c.bytes = read_all(c.fd->get(), c.size);
                c.valid_until = now + open_file_cache::validity;
                if (c.size > small_file_ || c.bytes) {
                    r = from_cache(c);
                    cache_.insert(path, std::move(c));
                    return r;
                }
                return from_cache(c);  // changing under us: serve it uncached
            } else {
                const auto* d = opened->doc();
                e.body = d->body ? d->body : std::make_shared<const std::string>();
                e.size = e.body->size();
                e.mtime = d->mtime;
                e.etag = cache_.body_etag(e.body);
                e.content_type = d->content_type.empty() ? std::string(http::content_type_for(path)) : d->content_type;
            }
            return r;
        }
        const auto& err = opened.error();
        if (err.code == fs::errc::is_directory) {
            if (!listing) return refused(http::lookup_status::directory, {}, {});
            return list(path);
        }
        auto r = from_fs_error(err);
        if (err.code == fs::errc::not_found && explain_) {
            std::string why = explain_(path);
            if (!why.empty()) {
                r.log_reason = why;
                r.client_message = std::move(why);
                document_miss = true;
            }
        }
        return r;
    }

    http::lookup_result api(std::string_view method, std::string_view path, std::string_view query,
                            std::string_view authorization) override {
        api_request = true;
        if (!api_) return refused(http::lookup_status::not_found, "the API is not enabled", "no API here");
        http_api_reply reply;
        try {
            http_api_request request{method, path, query, peer_, authorization, peer_ipv4_};
            if (head_) {
                request.cookie = head_->cookie;
                request.origin = head_->origin;
                request.host = head_->host;
                request.csrf_token = head_->csrf_token;
            }
            reply = api_(request);
        } catch (const std::exception& e) {
            return refused(http::lookup_status::failed, std::string("API: ") + e.what(), "API failure");
        }
        http::lookup_result r;
        r.found.body = std::make_shared<const std::string>(std::move(reply.body));
        r.found.size = r.found.body->size();
        r.found.content_type = std::move(reply.content_type);
        r.found.dynamic = true;
        r.found.cache_control = std::move(reply.cache_control);
        r.found.etag = std::move(reply.etag);
        r.found.fields = std::move(reply.fields);
        if (reply.stream && reply.status == 200 && method == "GET") {
            r.found.stream = true;
            stream = std::move(reply.stream);
        }
        switch (reply.status) {
        case 200: r.status = http::lookup_status::found; break;
        case 400: r.status = http::lookup_status::bad_request; break;
        case 403: r.status = http::lookup_status::forbidden; break;
        case 404: r.status = http::lookup_status::not_found; break;
        default: r.status = http::lookup_status::failed; break;
        }
        r.status_code = reply.status;
        if (r.status != http::lookup_status::found)
            r.log_reason = reply.log.empty() ? "API answered " + std::to_string(reply.status) : reply.log;
        return r;
    }

    bool document_miss = false;  // a rendered document a host asked for is missing
    bool api_request = false;    // answered by the API, not the file namespace
    // An answer that is a stream: called with it once the head is queued.
    std::function<void(std::shared_ptr<http_stream>)> stream;
    // The request, for the fields only the dashboard reads.
    const http::request_head* head_ = nullptr;

private:
    http::lookup_result from_cache(const open_file_cache::entry& c) {
        http::lookup_result r;
        r.status = http::lookup_status::found;
        auto& e = r.found;
        e.size = c.size;
        e.mtime = c.mtime;
        e.etag = c.etag;
        e.content_type = c.content_type;
        if (c.bytes)
            e.body = c.bytes;
        else
            fd_ = c.fd;
        return r;
    }

    http::lookup_result list(std::string_view path) {
        auto entries = files_->list(path);
        if (!entries) return from_fs_error(entries.error());
        std::vector<http::listing_entry> shown;
        shown.reserve(entries->size());
        for (auto& d : *entries)
            shown.push_back({std::move(d.name), d.is_directory, static_cast<std::uint64_t>(d.size), d.mtime});
        http::lookup_result r;
        r.status = http::lookup_status::found;
        r.found.body = std::make_shared<const std::string>(http::listing_html(path, std::move(shown)));
        r.found.size = r.found.body->size();
        r.found.content_type = "text/html; charset=utf-8";
        r.found.dynamic = true;
        return r;
    }

    const std::shared_ptr<const fs::file_namespace>& files_;
    open_file_cache& cache_;
    std::size_t small_file_;
    const http_server::api_handler& api_;
    const http_server::miss_explainer& explain_;
    shared_fd& fd_;
    std::string_view peer_;
    std::optional<std::uint32_t> peer_ipv4_;
    bool peek_;  // a HEAD request: a host's document is looked at, not fetched
};

bool would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK; }

// What the server counts (docs/metrics.md). A status code's child is made
// the first time the code is sent and kept by code: no lookup after that.
class http_metrics {
public:
    explicit http_metrics(metrics::registry& r)
        : responses_(r.counters("pxed_http_responses_total", "HTTP responses, by status code.", {"code"})),
          aborted_(r.counters("pxed_http_responses_aborted_total",
                              "HTTP responses abandoned before their last byte (client gone, too slow, file shrank).")
                       .only()),
          bytes_(r.counters("pxed_http_sent_bytes_total", "HTTP response body bytes sent.").only()),
          accepted_(r.counters("pxed_http_connections_accepted_total", "HTTP connections accepted.").only()) {}

    void response(unsigned code, std::uint64_t body_bytes, bool aborted) {
        if (code >= by_code_.size()) code = 0;
        auto*& c = by_code_[code];
        if (!c) c = &responses_.with({std::to_string(code)});
        c->inc();
        bytes_.inc(body_bytes);
        if (aborted) aborted_.inc();
    }
    void accepted() { accepted_.inc(); }

private:
    metrics::family<metrics::counter>& responses_;
    metrics::counter& aborted_;
    metrics::counter& bytes_;
    metrics::counter& accepted_;
    std::array<metrics::counter*, 600> by_code_{};
};

}  // namespace

class http_server::impl : public std::enable_shared_from_this<impl> {
public:
    impl(asio::io_context& io, http_server_options options, namespace_provider files, api_handler api,
         miss_explainer explain)
        : io_(io),
          options_(std::move(options)),
          files_(std::move(files)),
          api_(std::move(api)),
          explain_(std::move(explain)),
          acceptor_(io),
          sweep_(io),
          accept_pause_(io),
          registry_(options_.metrics),
          metrics_(registry_.get()) {}

    void start() {
        // sendfile() has no MSG_NOSIGNAL (net/send_file.hpp): a client that
        // closes mid-file (an installer cancelled, a load generator ending
        // its run) would otherwise kill the daemon with SIGPIPE whenever the
        // FTP server, which ignores it too, is not enabled.
        std::signal(SIGPIPE, SIG_IGN);
        const tcp::endpoint ep(asio::ip::make_address_v4(options_.listen_address), options_.port);
        acceptor_.open(ep.protocol());
        acceptor_.set_option(tcp::acceptor::reuse_address(true));
        acceptor_.bind(ep);
        acceptor_.listen(1024);
        do_accept();
        arm_sweep();
        metrics::active_gauge(registry_.get(), "pxed_http_connections_active", "HTTP connections open now.", weak_from_this());
    }

    void stop();

    std::uint16_t port() const {
        boost::system::error_code ec;
        return acceptor_.local_endpoint(ec).port();
    }

    std::size_t active() const { return connections_.size(); }

private:
    class connection;

    void do_accept() {
        acceptor_.async_accept([self = shared_from_this()](const boost::system::error_code& ec, tcp::socket s) {
            // on_accept accepts again last: if it threw before, accept again here.
            if (!contain("http", "accepting a connection", [&] { self->on_accept(ec, std::move(s)); }) &&
                !self->stopping_)
                self->do_accept();
        });
    }

    void on_accept(const boost::system::error_code& ec, tcp::socket s);
    void refuse_busy(tcp::socket& s);
    bool make_room(steady::time_point now);

    // One timer for every connection's deadline: re-arming a timer per
    // request would cost more than a once-a-second look at each of them.
    void arm_sweep() {
        sweep_.expires_after(std::chrono::seconds(1));
        sweep_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->stopping_) return;
            self->sweep();
            self->arm_sweep();
        });
    }

    void sweep();

    asio::io_context& io_;
    http_server_options options_;
    namespace_provider files_;
    api_handler api_;
    miss_explainer explain_;
    tcp::acceptor acceptor_;
    asio::steady_timer sweep_;
    asio::steady_timer accept_pause_;
    std::unordered_map<connection*, std::shared_ptr<connection>> connections_;
    std::vector<std::shared_ptr<connection>> expired_;  // reused by sweep()
    open_file_cache cache_;
    bool stopping_ = false;
    // Connections open per client address (max_connections_per_client).
    std::unordered_map<std::string, std::size_t> per_client_;
    // One budget per kind of message, so a flood of one kind (or of junk
    // requests, which have none) cannot hide that another limit bit.
    log_limiter limiter_{"http"};
    log_limiter per_client_log_{"http"};
    log_limiter evict_log_{"http"};
    log_limiter slow_log_{"http"};
    log_limiter header_log_{"http"};
    metrics::registry_ref registry_;  // options_.metrics, or a private one
    http_metrics metrics_;
};

class http_server::impl::connection : public std::enable_shared_from_this<connection> {
public:
    connection(impl& server, tcp::socket socket, const tcp::endpoint& peer)
        : server_(server), socket_(std::move(socket)), peer_(describe(peer)), client_(peer.address().to_string()) {
        if (peer.address().is_v4()) peer_ipv4_ = peer.address().to_v4().to_uint();
        ++server_.per_client_[client_];
    }

    void start() {
        boost::system::error_code ec;
        socket_.non_blocking(true, ec);
        // Heads and small bodies go out in one send(); nothing is gained by
        // Nagle holding the last segment of a response back.
        socket_.set_option(tcp::no_delay(true), ec);
        in_.resize(initial_buffer);
        wait_for_request(steady::now());
        do_read();
    }

    // Called once a second with the time: whether on_deadline() must act.
    bool expired(steady::time_point now) {
        if (state_ == state::closed) return false;
        // A stream has no deadline while nothing waits to be sent.
        if (state_ == state::streaming) return out_sent_ < out_.size() && now >= deadline_;
        return now >= deadline_ || too_slow(now);
    }

    // A response below min_rate over a whole window. A window that passes
    // the bar starts the next one, so the rate is always that of the last
    // window, not of the response so far (a fast start buys nothing).
    bool too_slow(steady::time_point now) {
        const auto& o = server_.options_;
        if (state_ != state::writing || o.min_rate == 0) return false;
        if (now - window_start_ < o.min_rate_window) return false;
        const std::uint64_t sent = bytes_moved();
        const double secs = std::chrono::duration<double>(now - window_start_).count();
        if (static_cast<double>(sent - window_bytes_) < static_cast<double>(o.min_rate) * secs) {
            below_min_rate_ = true;
            return true;
        }
        window_start_ = now;
        window_bytes_ = sent;
        return false;
    }

    // For eviction at the connection cap. Not receiving a response (kept
    // alive, mid-header, lingering): how long since its last byte.
    bool waiting() const { return state_ == state::idle || state_ == state::reading || state_ == state::lingering; }
    steady::duration quiet_for(steady::time_point now) const { return now - last_activity_; }
    // Receiving one: its rate in bytes per second over the current window
    // (at least a second of it), or nothing if too early to tell.
    std::optional<double> response_rate(steady::time_point now) const {
        if (state_ != state::writing) return std::nullopt;
        const double secs = std::chrono::duration<double>(now - window_start_).count();
        if (secs < 1.0) return std::nullopt;
        return static_cast<double>(bytes_moved() - window_bytes_) / secs;
    }
    const std::string& peer() const { return peer_; }

    // Closed to make room for a newcomer; what it is told depends on what
    // it was doing.
    void evict(const std::string& why) {
        if (state_ == state::reading)
            send_best_effort(http::error_plan(503, "server busy, try again", std::time(nullptr)));
        if (state_ == state::writing) {
            log_access(why.c_str());
        } else {
            spdlog::debug("http: {} closed to make room: {}", peer_, why);
        }
        close();
    }

    void on_deadline() {
        switch (state_) {
        case state::idle:
            spdlog::debug("http: {} idle for {} s; closed", peer_, server_.options_.idle_timeout.count());
            close();
            return;
        case state::reading:
            // A slow-loris client, or a very broken one: tell it, then go.
            // The deadline runs from the request's first byte and no byte
            // since moves it.
            if (server_.header_log_.allow(steady::now()))
                spdlog::warn("http: {} sent no complete request header within {} s (server.http.header_timeout); "
                             "answered 408 and closed",
                             peer_, server_.options_.header_timeout.count());
            send_best_effort(http::error_plan(408, "request header not received in time", std::time(nullptr)));
            close();
            return;
        case state::writing:
            if (below_min_rate_) {
                const auto& o = server_.options_;
                if (server_.slow_log_.allow(steady::now()))
                    spdlog::warn("http: {} \"{} {}\" slower than {} bytes/s over {} s (server.http.min_rate); closed",
                                 peer_, method_, target_, o.min_rate, o.min_rate_window.count());
                log_access("slower than the minimum rate");
            } else {
                log_access("send timed out");
            }
            close();
            return;
        case state::streaming:
            end_stream("the client read nothing of the stream for " +
                       std::to_string(server_.options_.send_timeout.count()) + " s");
            return;
        case state::lingering:
        case state::closed: close(); return;
        }
    }

    void close() {
        if (state_ == state::closed) return;
        state_ = state::closed;
        boost::system::error_code ec;
        socket_.close(ec);
        file_.reset();
        ticket_.reset();
        if (const auto it = server_.per_client_.find(client_); it != server_.per_client_.end() && --it->second == 0)
            server_.per_client_.erase(it);
        server_.connections_.erase(this);  // may drop the last owner; handlers hold their own
    }

private:
    enum class state { idle, reading, writing, streaming, lingering, closed };
    static constexpr std::size_t initial_buffer = 4096;

    void wait_for_request(steady::time_point now) {
        state_ = state::idle;
        deadline_ = now + server_.options_.idle_timeout;
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(server_.options_.max_header_bytes));
    }

    // Parses what is buffered; reads more while the header is incomplete.
    void do_read() {
        if (state_ == state::closed) return;
        if (in_end_ > in_begin_) {
            if (state_ == state::idle) {
                state_ = state::reading;
                started_ = steady::now();
                deadline_ = started_ + server_.options_.header_timeout;
            }
            boost::beast::error_code ec;
            const auto used = parser_->put(asio::const_buffer(in_.data() + in_begin_, in_end_ - in_begin_), ec);
            in_begin_ += used;
            if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
            if (ec && ec != bhttp::error::need_more) {
                on_malformed(ec);
                return;
            }
            if (!ec && parser_->is_header_done()) {
                on_request();
                return;
            }
        }
        if (!make_room()) {
            // The parser enforces the header limit first; this is a backstop.
            respond_and_close(http::error_plan(431, "request header too large", std::time(nullptr)),
                              "request header too large");
            return;
        }
        // async_read_some rather than recv() + async_wait: Asio tries the
        // read at once, and waits without re-arming epoll (an
        // epoll_ctl per wait) when there is nothing yet.
        socket_.async_read_some(asio::buffer(in_.data() + in_end_, in_.size() - in_end_),
                                [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                                    self->on_read(ec, n);
                                });
    }

    void on_read(const boost::system::error_code& ec, std::size_t n) {
        if (state_ == state::closed) return;
        if (ec) {
            if (ec == asio::error::eof && state_ == state::reading)
                spdlog::debug("http: {} closed the connection mid-request", peer_);
            close();  // end of stream, reset by the peer and the like
            return;
        }
        in_end_ += n;
        last_activity_ = steady::now();
        do_read();
    }

    bool make_room() {
        if (in_end_ < in_.size()) return true;
        if (in_begin_ > 0) {
            std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
            in_end_ -= in_begin_;
            in_begin_ = 0;
            return true;
        }
        const std::size_t cap = server_.options_.max_header_bytes + initial_buffer;
        if (in_.size() >= cap) return false;
        in_.resize(std::min(cap, in_.size() * 2));
        return true;
    }

    void on_malformed(const boost::beast::error_code& ec) {
        unsigned status = 400;
        std::string message = "malformed request";
        if (ec == bhttp::error::header_limit) {
            status = 431;
            message = "request header too large";
        } else if (ec == bhttp::error::bad_version) {
            // "HTTP/2.0" and the like: well-formed, just not a version we speak.
            status = 505;
            message = "only HTTP/1.0 and HTTP/1.1 are served";
        }
        respond_and_close(http::error_plan(status, message, std::time(nullptr)), message + " (" + ec.message() + ")");
    }

    // An answer to a request that never parsed: logged, sent, then closed.
    void respond_and_close(http::response_plan plan, const std::string& why) {
        method_ = "-";
        target_ = "-";
        if (state_ == state::idle) started_ = steady::now();
        plan_ = std::move(plan);
        plan_.log_reason = why;
        plan_.keep_alive = false;
        begin_response();
    }

    void on_request() {
        const auto head = request_head_of(*parser_, te_storage_);
        method_ = wire::escape_for_log(head.method, 32);
        // Install tokens in a query are cut short: a log is no place for them.
        target_ = wire::mentions_token(head.target) ? wire::escape_for_log(wire::redact_tokens(head.target))
                                                    : wire::escape_for_log(head.target);

        const auto files = server_.files_ ? server_.files_() : nullptr;
        fs_resolver resolver(files, server_.cache_, server_.options_.small_file, server_.api_, server_.explain_, file_,
                             peer_, peer_ipv4_, head.method == "HEAD");
        resolver.head_ = &head;
        http::exchange_limits limits;
        limits.max_target = server_.options_.max_target_bytes;
        plan_ = http::decide(head, resolver, limits, std::time(nullptr));
        document_miss_ = resolver.document_miss;
        api_request_ = resolver.api_request;
        streaming_ = plan_.stream && resolver.stream;
        begin_response();
        if (streaming_ && state_ != state::closed) resolver.stream(std::make_shared<stream_sink>(shared_from_this()));
    }

public:
    // The application's end of a stream (http_stream): holds the
    // connection weakly, so a stream the application forgets to drop
    // keeps no socket open.
    class stream_sink final : public http_stream {
    public:
        explicit stream_sink(const std::shared_ptr<connection>& c) : c_(c) {}
        bool push(std::string_view bytes) override {
            const auto c = c_.lock();
            return c && c->stream_push(bytes);
        }
        bool open() const override {
            const auto c = c_.lock();
            return c && c->state_ != state::closed;
        }
        void close() override {
            if (const auto c = c_.lock()) c->end_stream(nullptr);
        }

    private:
        std::weak_ptr<connection> c_;
    };

private:
    // Queues bytes of a stream; sends at once unless a send is waiting.
    bool stream_push(std::string_view bytes) {
        if (state_ == state::closed || !streaming_) return false;
        if (out_.size() - out_sent_ + bytes.size() > http_stream::max_queued) {
            end_stream("the client fell more than " + std::to_string(http_stream::max_queued >> 10) +
                       " KiB behind the stream");
            return false;
        }
        if (out_sent_ == out_.size()) {
            if (state_ == state::streaming) {
                // Idle until now: the no-progress deadline starts here.
                deadline_ = steady::now() + server_.options_.send_timeout;
            }
        }
        out_.append(bytes.data(), bytes.size());
        if (state_ == state::streaming && !write_waiting_) stream_write();
        return true;
    }

    // Sends what a stream has queued; waits for room when the socket is full.
    void stream_write() {
        while (out_sent_ < out_.size()) {
            const ssize_t n = ::send(socket_.native_handle(), out_.data() + out_sent_, out_.size() - out_sent_,
                                     MSG_NOSIGNAL);
            if (n >= 0) {
                out_sent_ += static_cast<std::size_t>(n);
                progress();
                continue;
            }
            if (errno == EINTR) continue;
            if (would_block(errno)) {
                write_waiting_ = true;
                socket_.async_wait(tcp::socket::wait_write,
                                   [self = shared_from_this()](const boost::system::error_code& ec) {
                                       self->write_waiting_ = false;
                                       if (!ec && self->state_ == state::streaming) self->stream_write();
                                   });
                return;
            }
            end_stream(std::strerror(errno));
            return;
        }
        body_sent_ += out_sent_ - std::min(out_sent_, head_size_);
        head_size_ = 0;
        out_.clear();
        out_sent_ = 0;
    }

    // The head of a stream is out: from now on the connection waits for
    // pushes, and for the client to close (it sends nothing else).
    void enter_streaming() {
        state_ = state::streaming;
        body_sent_ += out_sent_ - std::min(out_sent_, head_size_);
        head_size_ = 0;
        out_.clear();
        out_sent_ = 0;
        watch_stream_reader();
    }

    void watch_stream_reader() {
        socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->state_ != state::streaming) return;
            char scratch[512];
            const ssize_t n = ::recv(self->socket_.native_handle(), scratch, sizeof scratch, MSG_DONTWAIT);
            if (n > 0 || (n < 0 && (errno == EINTR || would_block(errno)))) {
                self->watch_stream_reader();  // a client has nothing to say on a stream; ignored
                return;
            }
            self->end_stream(nullptr);  // closed by the client: the normal end
        });
    }

    void end_stream(const std::string& why) { end_stream(why.c_str()); }
    void end_stream(const char* why) {
        if (state_ == state::closed) return;
        if (out_sent_ < out_.size() && state_ == state::streaming) body_sent_ += out_sent_;
        out_sent_ = 0;
        out_.clear();
        log_access(why);
        close();
    }


    void begin_response() {
        state_ = state::writing;
        deadline_ = steady::now() + server_.options_.send_timeout;
        window_start_ = steady::now();
        window_bytes_ = 0;
        out_ = std::move(plan_.head);
        head_size_ = out_.size();
        out_sent_ = 0;
        body_sent_ = 0;
        file_offset_ = plan_.body_offset;
        file_left_ = 0;
        if (plan_.memory) {
            out_.append(*plan_.memory, static_cast<std::size_t>(plan_.body_offset),
                        static_cast<std::size_t>(plan_.body_length));
        } else if (plan_.file_body) {
            if (!file_) {
                abort_response("no open file for a file body");
                return;
            }
            if (plan_.body_length <= server_.options_.small_file) {
                if (!read_small_body()) return;
            } else {
                file_left_ = plan_.body_length;
                if (server_.options_.transfers && peer_ipv4_) {
                    auto path = std::string_view(target_).substr(0, target_.find('?'));
                    while (!path.empty() && path.front() == '/') path.remove_prefix(1);
                    ticket_ = server_.options_.transfers->add("http", *peer_ipv4_, path, plan_.body_length,
                                                              unix_ms_now());
                }
            }
        }
        if (!plan_.file_body) file_.reset();  // HEAD, 304, refusals: the file is not needed
        do_write();
    }

    // A small file rides in the same send() as its head: one system call
    // instead of two for kickstarts, configs and repodata.
    bool read_small_body() {
        const std::size_t head_size = out_.size();
        const auto len = static_cast<std::size_t>(plan_.body_length);
        out_.resize(head_size + len);
        std::size_t got = 0;
        while (got < len) {
            const ssize_t n = ::pread(file_->get(), &out_[head_size + got], len - got,
                                      static_cast<off_t>(plan_.body_offset + got));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                abort_response(n == 0 ? "file shrank while being served" : std::strerror(errno));
                return false;
            }
            got += static_cast<std::size_t>(n);
        }
        file_.reset();
        return true;
    }

    void do_write() {
        if (state_ != state::writing) return;
        while (out_sent_ < out_.size()) {
            // MSG_MORE: the head waits for the file's first pages, one segment.
            const int flags = MSG_NOSIGNAL | (file_left_ > 0 ? MSG_MORE : 0);
            const ssize_t n = ::send(socket_.native_handle(), out_.data() + out_sent_, out_.size() - out_sent_, flags);
            if (n >= 0) {
                out_sent_ += static_cast<std::size_t>(n);
                progress();
                continue;
            }
            if (errno == EINTR) continue;
            if (would_block(errno)) return wait_writable();
            return abort_response(std::strerror(errno));
        }
        if (file_left_ > 0) {
            const auto r = send_file(socket_.native_handle(), file_->get(), file_offset_, file_left_,
                                     server_.options_.send_chunk);
            file_offset_ += r.sent;
            file_left_ -= r.sent;
            body_sent_ += r.sent;
            if (r.sent > 0) {
                progress();
                ticket_.sent(body_sent_);
            }
            switch (r.status) {
            case send_file_status::done: break;
            case send_file_status::yield:
                // The other connections get their turn before this one
                // sends its next chunk.
                asio::post(server_.io_, [self = shared_from_this()] { self->do_write(); });
                return;
            case send_file_status::wait_writable: return wait_writable();
            case send_file_status::file_shrank: return abort_response("file shrank while being served");
            case send_file_status::failed: return abort_response(std::strerror(r.error));
            }
        }
        if (streaming_) return enter_streaming();
        finish_response();
    }

    // Any progress moves the no-progress deadline; only min_rate bounds how
    // little progress is enough.
    void progress() {
        last_activity_ = steady::now();
        deadline_ = last_activity_ + server_.options_.send_timeout;
    }

    // What the current response has sent, head included, for its rate.
    std::uint64_t bytes_moved() const { return out_sent_ + body_sent_; }

    void wait_writable() {
        socket_.async_wait(tcp::socket::wait_write, [self = shared_from_this()](const boost::system::error_code& ec) {
            if (!ec) self->do_write();
        });
    }

    std::uint64_t body_bytes_sent() const {
        const std::uint64_t from_out = out_sent_ > head_size_ ? out_sent_ - head_size_ : 0;
        return from_out + body_sent_;
    }

    void log_access(const char* failure) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started_).count();
        const auto level = document_miss_ ? spdlog::level::warn : spdlog::level::info;
        const std::uint64_t sent = body_bytes_sent();
        server_.metrics_.response(plan_.status, sent, failure != nullptr);
        if (server_.options_.trace && !api_request_ && peer_ipv4_ && target_ != "-") trace(failure, sent, ms);
        if (streaming_) {
            // A stream has no length: it ran, then one side ended it.
            spdlog::log(level, "http: {} \"{} {}\" {} stream of {} bytes over {} ms{}{}", peer_, method_, target_,
                        plan_.status, sent, ms, failure ? ", closed: " : "", failure ? failure : "");
        } else if (failure) {
            spdlog::log(level, "http: {} \"{} {}\" {} aborted after {} of {} bytes in {} ms: {}", peer_, method_, target_,
                        plan_.status, sent, plan_.body_length, ms, failure);
        } else if (!plan_.log_reason.empty()) {
            spdlog::log(level, "http: {} \"{} {}\" {} {} bytes in {} ms: {}", peer_, method_, target_, plan_.status, sent,
                        ms, plan_.log_reason);
        } else {
            spdlog::log(level, "http: {} \"{} {}\" {} {} bytes in {} ms", peer_, method_, target_, plan_.status, sent, ms);
        }
    }

    // The boot trace: the path without its query (tokens stay out), what
    // was answered, and why when the answer was a refusal.
    void trace(const char* failure, std::uint64_t sent, std::int64_t ms) const {
        trace::event e;
        e.k = trace::kind::http;
        e.client = *peer_ipv4_;
        auto path = std::string_view(target_).substr(0, target_.find('?'));
        while (!path.empty() && path.front() == '/') path.remove_prefix(1);
        e.what = std::string(path);
        e.ok = !failure && plan_.status < 400;
        e.outcome = std::to_string(plan_.status);
        if (failure) e.outcome += std::string(", aborted: ") + failure;
        if (plan_.status == 404) e.outcome += " not found";
        if (method_ != "GET") e.detail = method_;
        if (!plan_.log_reason.empty()) {
            // The log line's reason starts with the path, which the trace has.
            std::string_view why = plan_.log_reason;
            const auto quoted = "\"" + e.what + "\": ";
            if (why.substr(0, quoted.size()) == quoted) why.remove_prefix(quoted.size());
            e.detail += (e.detail.empty() ? "" : "; ") + std::string(why);
        }
        e.bytes = sent;
        e.duration_ms = static_cast<std::uint32_t>(std::max<std::int64_t>(ms, 0));
        server_.options_.trace(std::move(e));
    }

    void abort_response(const std::string& why) {
        log_access(why.c_str());
        close();
    }

    void finish_response() {
        log_access(nullptr);
        ticket_.reset();
        file_.reset();
        document_miss_ = false;
        api_request_ = false;
        out_.clear();
        // Keep a big buffer only while it is in use: a thousand idle
        // keep-alive connections should not hold a large listing each.
        if (out_.capacity() > 64 * 1024) std::string().swap(out_);
        if (plan_.keep_alive && !server_.stopping_) {
            wait_for_request(steady::now());
            do_read();  // a pipelined request may already be buffered
            return;
        }
        linger();
    }

    // Closing a socket with unread input makes the kernel send RST, which
    // can destroy the answer still in flight to the client (a 400 to a
    // request with a body, say). So: stop sending, read and discard what
    // is left for a moment, then close.
    void linger() {
        state_ = state::lingering;
        deadline_ = steady::now() + std::chrono::seconds(2);
        boost::system::error_code ec;
        socket_.shutdown(tcp::socket::shutdown_send, ec);
        if (ec) return close();
        drain();
    }

    void drain() {
        char scratch[4096];
        for (int i = 0; i < 64; ++i) {
            if (state_ != state::lingering) return;
            const ssize_t n = ::recv(socket_.native_handle(), scratch, sizeof scratch, 0);
            if (n > 0) continue;
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && would_block(errno)) {
                socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
                    if (!ec) self->drain();
                });
                return;
            }
            break;  // EOF or error
        }
        close();
    }

    // For answers given while closing anyway (408): no waiting for room.
    void send_best_effort(const http::response_plan& plan) {
        std::string bytes = plan.head;
        if (plan.memory) bytes += *plan.memory;
        ::send(socket_.native_handle(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }

    impl& server_;
    tcp::socket socket_;
    std::string peer_;
    std::optional<std::uint32_t> peer_ipv4_;
    std::string client_;  // the peer's address, the per-client count's key
    state state_ = state::idle;
    steady::time_point deadline_{};
    steady::time_point started_{};
    steady::time_point last_activity_ = steady::now();  // last byte read or sent
    steady::time_point window_start_{};                 // of the current min_rate window
    std::uint64_t window_bytes_ = 0;                    // bytes_moved() when it started
    bool below_min_rate_ = false;                       // too_slow() said so: on_deadline() closes it

    std::vector<char> in_;
    std::size_t in_begin_ = 0;
    std::size_t in_end_ = 0;
    std::optional<bhttp::request_parser<bhttp::empty_body>> parser_;
    std::string te_storage_;  // the joined Transfer-Encoding fields of the request

    http::response_plan plan_;
    std::string method_;
    std::string target_;
    bool document_miss_ = false;
    bool api_request_ = false;
    bool streaming_ = false;      // the response is a stream (Server-Sent Events)
    bool write_waiting_ = false;  // a stream's send waits for room
    std::string out_;  // head, plus the body when it is in memory or small
    std::size_t out_sent_ = 0;
    std::size_t head_size_ = 0;
    shared_fd file_;
    std::uint64_t file_offset_ = 0;
    std::uint64_t file_left_ = 0;
    std::uint64_t body_sent_ = 0;
    transfer_board::ticket ticket_;  // a large file body on the dashboard's board
};

void http_server::impl::on_accept(const boost::system::error_code& ec, tcp::socket s) {
    if (stopping_) return;
    if (ec) {
        if (ec == asio::error::operation_aborted) return;
        const auto e = ec.value();
        if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
            // Out of descriptors: accepting again at once would spin. Pause,
            // let connections finish, try again.
            if (limiter_.allow(steady::now())) spdlog::warn("http: cannot accept: {}; pausing 100 ms", ec.message());
            accept_pause_.expires_after(std::chrono::milliseconds(100));
            accept_pause_.async_wait([self = shared_from_this()](const boost::system::error_code& wait_ec) {
                if (!wait_ec && !self->stopping_) self->do_accept();
            });
            return;
        }
        do_accept();  // ECONNABORTED and the like: that client is gone, others are not
        return;
    }
    boost::system::error_code peer_ec;
    const auto peer = s.remote_endpoint(peer_ec);
    if (peer_ec) {
        do_accept();
        return;
    }
    const auto now = steady::now();
    const auto address = peer.address().to_string();
    if (const auto it = per_client_.find(address);
        it != per_client_.end() && it->second >= options_.max_connections_per_client) {
        // One client may not take the connections the others need.
        if (per_client_log_.allow(now))
            spdlog::warn("http: {} refused with 503: {} connections from {} already open "
                         "(server.http.max_connections_per_client)",
                         describe(peer), it->second, address);
        refuse_busy(s);
        do_accept();
        return;
    }
    if (connections_.size() >= options_.max_connections) make_room(now);
    if (connections_.size() >= options_.max_connections) {
        if (limiter_.allow(steady::now()))
            spdlog::warn("http: {} refused: {} connections already open", describe(peer), connections_.size());
        refuse_busy(s);
    } else {
        auto c = std::make_shared<connection>(*this, std::move(s), peer);
        connections_.emplace(c.get(), c);
        metrics_.accepted();
        c->start();
    }
    do_accept();
}

// At the cap, the newcomer is more likely a working client than the most
// idle connection is: close, in this order, the connection not receiving a
// response that has been quiet longest (kept-alive, or mid-header since its
// last byte: 1,024 connections that each sent one byte no longer hold the
// server), else the response slowest below min_rate. A response going at
// a fair rate is never cut for a newcomer.
bool http_server::impl::make_room(steady::time_point now) {
    connection* quiet = nullptr;
    steady::duration quiet_for{};
    connection* slow = nullptr;
    double slow_rate = 0;
    for (const auto& entry : connections_) {
        connection* c = entry.first;
        if (c->waiting()) {
            const auto q = c->quiet_for(now);
            if (!quiet || q > quiet_for) quiet = c, quiet_for = q;
        } else if (const auto rate = c->response_rate(now);
                   rate && options_.min_rate > 0 && *rate < static_cast<double>(options_.min_rate)) {
            if (!slow || *rate < slow_rate) slow = c, slow_rate = *rate;
        }
    }
    connection* victim = quiet ? quiet : slow;
    if (!victim) return false;
    std::string why;
    if (quiet) {
        why = "quiet for " + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(quiet_for).count()) +
              " ms";
    } else {
        why = "receiving at " + std::to_string(static_cast<std::uint64_t>(slow_rate)) + " bytes/s";
    }
    if (evict_log_.allow(now))
        spdlog::warn("http: {} connections open (server.http.max_connections); closed {} ({}) to make room",
                     connections_.size(), victim->peer(), why);
    const auto keep = connections_.at(victim);  // close() erases the owner
    victim->evict("closed to make room: " + why);
    return true;
}

void http_server::impl::refuse_busy(tcp::socket& s) {
    auto plan = http::error_plan(503, "too many connections, try again", std::time(nullptr));
    std::string bytes = plan.head + *plan.memory;
    metrics_.response(503, 0, false);
    ::send(s.native_handle(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    boost::system::error_code ec;
    s.shutdown(tcp::socket::shutdown_send, ec);
    s.close(ec);
}

void http_server::impl::sweep() {
    const auto now = steady::now();
    expired_.clear();
    for (const auto& entry : connections_)
        if (entry.second->expired(now)) expired_.push_back(entry.second);
    for (const auto& c : expired_) c->on_deadline();  // may erase from connections_
    expired_.clear();
    cache_.expire(now);
}

void http_server::impl::stop() {
    if (stopping_) return;
    stopping_ = true;
    boost::system::error_code ec;
    acceptor_.close(ec);
    sweep_.cancel();
    accept_pause_.cancel();
    cache_.clear();
    std::vector<std::shared_ptr<connection>> all;
    all.reserve(connections_.size());
    for (const auto& entry : connections_) all.push_back(entry.second);
    for (const auto& c : all) c->close();
}

http_server::http_server(asio::io_context& io, http_server_options options, namespace_provider files, api_handler api,
                         miss_explainer explain)
    : impl_(std::make_shared<impl>(io, std::move(options), std::move(files), std::move(api), std::move(explain))) {}

http_server::~http_server() { impl_->stop(); }

void http_server::start() { impl_->start(); }
void http_server::stop() { impl_->stop(); }
std::uint16_t http_server::port() const { return impl_->port(); }
std::size_t http_server::active_connections() const { return impl_->active(); }

}  // namespace pxed::net
