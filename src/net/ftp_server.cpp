// Sockets and timers around ftp::session. Everything runs on one io_context
// thread, so no strands or locks; a session stays alive through the
// shared_ptr its pending handlers hold, and every data-connection handler
// carries the generation it was started for, so a completion that was
// already queued when ABOR or a new PASV replaced the connection is ignored.

#include "pxed/net/ftp_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <optional>
#include <unordered_map>

#include "endpoint.hpp"
#include "log_limit.hpp"
#include "pxed/engine/ftp_session.hpp"
#include "pxed/metrics/registry.hpp"
#include "pxed/net/event_loop.hpp"
#include "pxed/net/send_file.hpp"
#include "pxed/net/transfer_board.hpp"
#include "pxed/proto/ftp.hpp"
#include "pxed/wire/text.hpp"

namespace pxed::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using error_code = boost::system::error_code;

namespace {

std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

const char* to_string(ftp::transfer_outcome o) {
    switch (o) {
    case ftp::transfer_outcome::completed: return "completed";
    case ftp::transfer_outcome::no_connection: return "failed: no data connection";
    case ftp::transfer_outcome::connection_lost: return "failed: data connection lost";
    case ftp::transfer_outcome::read_error: return "failed: file read error";
    case ftp::transfer_outcome::aborted: return "aborted";
    }
    return "ended";
}

// The same, as a metric's label value.
const char* label_of(ftp::transfer_outcome o) {
    switch (o) {
    case ftp::transfer_outcome::completed: return "completed";
    case ftp::transfer_outcome::no_connection: return "no_connection";
    case ftp::transfer_outcome::connection_lost: return "connection_lost";
    case ftp::transfer_outcome::read_error: return "read_error";
    case ftp::transfer_outcome::aborted: return "aborted";
    }
    return "other";
}

// Errors of sendfile() that mean the client's side went away, as opposed to
// the file failing to read.
bool is_connection_error(int e) {
    return e == EPIPE || e == ECONNRESET || e == ENOTCONN || e == ETIMEDOUT || e == EHOSTUNREACH ||
           e == ENETUNREACH || e == ECONNABORTED || e == EBADF;
}

// What the server counts (docs/metrics.md); children by reply code and by
// command and outcome are made when first needed (both sets are small).
class ftp_metrics {
public:
    explicit ftp_metrics(metrics::registry& r)
        : replies_(r.counters("pxed_ftp_replies_total",
                              "FTP replies on control connections, by code (the first reply of each command).",
                              {"code"})),
          transfers_(r.counters("pxed_ftp_transfers_total", "FTP data transfers, by command and outcome.",
                                {"command", "outcome"})),
          bytes_(r.counters("pxed_ftp_sent_bytes_total", "FTP data connection bytes sent.").only()),
          accepted_(r.counters("pxed_ftp_sessions_accepted_total", "FTP control connections accepted.").only()) {}

    // `reply`: encoded replies ("226 ...\r\n"), the code first.
    void reply(std::string_view reply) {
        if (reply.size() < 3) return;
        unsigned code = 0;
        for (std::size_t i = 0; i < 3; ++i) {
            if (reply[i] < '0' || reply[i] > '9') return;
            code = code * 10 + static_cast<unsigned>(reply[i] - '0');
        }
        auto*& c = by_code_[code];
        if (!c) c = &replies_.with({std::to_string(code)});
        c->inc();
    }
    void transfer(std::string_view command, std::string_view outcome, std::uint64_t bytes) {
        transfers_.with({std::string(command), std::string(outcome)}).inc();
        bytes_.inc(bytes);
    }
    void accepted() { accepted_.inc(); }

private:
    metrics::family<metrics::counter>& replies_;
    metrics::family<metrics::counter>& transfers_;
    metrics::counter& bytes_;
    metrics::counter& accepted_;
    std::array<metrics::counter*, 1000> by_code_{};
};

}  // namespace

class ftp_server::impl : public std::enable_shared_from_this<impl> {
public:
    impl(asio::io_context& io, ftp_server_options options, namespace_provider files)
        : io_(io),
          options_(std::move(options)),
          files_(std::move(files)),
          acceptor_(io),
          retry_(io),
          registry_(options_.metrics),
          metrics_(registry_.get()) {
        if (options_.passive_last < options_.passive_first) std::swap(options_.passive_first, options_.passive_last);
        next_passive_ = options_.passive_first;
    }

    void start() {
        // sendfile() has no MSG_NOSIGNAL: a client closing its data
        // connection mid-file would otherwise kill the daemon with SIGPIPE.
        std::signal(SIGPIPE, SIG_IGN);
        const auto addr = asio::ip::make_address_v4(options_.listen_address);
        acceptor_.open(tcp::v4());
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        acceptor_.bind(tcp::endpoint(addr, options_.port));
        acceptor_.listen(asio::socket_base::max_listen_connections);
        do_accept();
        metrics::active_gauge(registry_.get(), "pxed_ftp_sessions_active", "FTP control connections open now.", weak_from_this());
    }

    void stop();
    // Ends, without a word, the sessions stop() left waiting for a reply
    // to go out: the server is going away and nothing will send it.
    // Sessions own the server; without this the two would keep each
    // other alive.
    void abandon();

    std::uint16_t port() const {
        error_code ec;
        return acceptor_.local_endpoint(ec).port();
    }

    std::size_t active() const { return sessions_.size(); }

private:
    class session;

    void do_accept() {
        acceptor_.async_accept([self = shared_from_this()](const error_code& ec, tcp::socket socket) {
            // on_accept accepts again last: if it threw before, accept again here.
            if (!contain("ftp", "accepting a connection", [&] { self->on_accept(ec, std::move(socket)); }) &&
                !self->stopping_)
                self->do_accept();
        });
    }

    void on_accept(const error_code& ec, tcp::socket socket);

    // The next free port of the passive range, bound on `local`: tried in
    // turn from where the last search stopped, so ports are spread over
    // the range and one just released (its connection in TIME_WAIT) is the
    // last to be reused.
    std::optional<tcp::acceptor> open_passive(const asio::ip::address& local) {
        const unsigned span = static_cast<unsigned>(options_.passive_last - options_.passive_first) + 1;
        for (unsigned i = 0; i < span; ++i) {
            const std::uint16_t port = next_passive_;
            next_passive_ = port >= options_.passive_last ? options_.passive_first : static_cast<std::uint16_t>(port + 1);
            tcp::acceptor a(io_);
            error_code ec;
            a.open(tcp::v4(), ec);
            if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
            if (!ec) a.bind(tcp::endpoint(local, port), ec);
            // A small backlog: one connection is expected; strangers from
            // other addresses are accepted only to be closed.
            if (!ec) a.listen(8, ec);
            if (!ec) return a;
        }
        return std::nullopt;
    }

    asio::io_context& io_;
    ftp_server_options options_;
    namespace_provider files_;
    tcp::acceptor acceptor_;
    asio::steady_timer retry_;  // accept() back-off when out of file descriptors
    bool stopping_ = false;
    std::uint16_t next_passive_ = 0;
    // Debug notes (refused paths, bad lines) and what an operator should
    // see (strangers on passive ports, exhausted ports) are limited
    // separately, so a chatty client cannot hide the latter.
    log_limiter limiter_{"ftp"};
    log_limiter alert_limiter_{"ftp"};
    // Each limit that bites has a budget of its own (docs/security.md).
    log_limiter per_client_log_{"ftp"};
    log_limiter passive_log_{"ftp"};
    log_limiter stuck_log_{"ftp"};
    metrics::registry_ref registry_;  // options_.metrics, or a private one
    ftp_metrics metrics_;
    std::unordered_map<session*, std::shared_ptr<session>> sessions_;
    // Sessions open per client address (max_sessions_per_client).
    std::unordered_map<std::uint32_t, std::size_t> per_client_;
};

// One control connection, its passive listener or data connection, and
// the transfer running over it.
class ftp_server::impl::session : public std::enable_shared_from_this<session> {
public:
    session(std::shared_ptr<impl> server, tcp::socket control, std::shared_ptr<const fs::file_namespace> files,
            std::uint32_t client)
        : server_(std::move(server)),
          control_(std::move(control)),
          reader_(server_->options_.max_line),
          engine_(std::move(files), client, ftp::session_config{server_->options_.allow_active, 32}),
          idle_timer_(server_->io_),
          data_timer_(server_->io_),
          pasv_timer_(server_->io_),
          started_(clock_type::now()),
          last_activity_(started_),
          client_(client) {
        ++server_->per_client_[client_];
    }

    void start(const tcp::endpoint& peer, const tcp::endpoint& local) {
        peer_ = peer;
        local_ = local;
        who_ = describe(peer_);
        error_code ec;
        control_.set_option(tcp::no_delay(true), ec);
        // vsftpd does the same: with the urgent byte inline, the Telnet
        // "IAC IP IAC DM" that precedes ABOR stays in the stream, where the
        // line reader strips it, instead of being cut out of it by the kernel.
        control_.set_option(asio::socket_base::out_of_band_inline(true), ec);
        spdlog::info("ftp: {} connected", who_);
        send(engine_.greeting());
        arm_idle(server_->options_.control_timeout);
        do_read();
    }

    // From the server: shutdown.
    void shut_down() {
        if (ended_) return;
        const auto bye = ftp::encode(421, "Service not available, closing control connection.");
        if (writing_ && !server_->io_.stopped()) {
            // A reply is still on its way (its completion handler may not
            // have run although the client has it): the 421 follows it, and
            // the session ends when both are out, as after QUIT. (With the
            // loop already stopped, as when the daemon exits, nothing more
            // would be written: the session just ends.)
            drop_data(ftp::transfer_outcome::aborted);
            send(bye);
            closing_ = true;
            close_reason_ = "server shutting down";
            return;
        }
        if (!writing_) {  // never in the middle of another reply
            error_code ec;
            control_.non_blocking(true, ec);
            control_.send(asio::buffer(bye), 0, ec);  // best effort; the socket closes next
        }
        end("server shutting down");
    }

private:
    // --- control connection

    void do_read() {
        if (reading_ || ended_ || closing_) return;
        reading_ = true;
        control_.async_read_some(asio::buffer(in_), [self = shared_from_this()](const error_code& ec, std::size_t n) {
            self->reading_ = false;
            self->on_read(ec, n);
        });
    }

    void on_read(const error_code& ec, std::size_t n) {
        if (ended_) return;
        if (ec) {
            end(ec == asio::error::eof ? "closed by the client" : "control connection error: " + ec.message());
            return;
        }
        last_activity_ = clock_type::now();
        reader_.feed(in_.data(), n);
        while (!ended_ && !closing_) {
            auto event = reader_.next();
            if (!event) break;
            if (event->what == ftp::line_reader::event::kind::too_long) {
                note_bad_line("a command line longer than " + std::to_string(server_->options_.max_line) + " bytes");
                apply(engine_.on_line_too_long());
            } else {
                log_command(event->text);
                apply(engine_.on_line(event->text, unix_now()));
            }
        }
        // A client that sends commands but never reads the replies stops
        // being read from until it does: memory stays bounded.
        if (out_.size() + writing_size_ < max_backlog) do_read();
    }

    void log_command(const std::string& line) {
        if (!spdlog::should_log(spdlog::level::debug)) return;
        // Never log a password, even an anonymous one (often an email address).
        const auto c = ftp::parse_command(line);
        spdlog::debug("ftp: {} sent \"{}\"", who_,
                      c.id == ftp::verb::pass ? std::string("PASS ***") : wire::escape_for_log(line));
    }

    void note_bad_line(const std::string& what) {
        if (spdlog::should_log(spdlog::level::debug) && server_->limiter_.allow())
            spdlog::debug("ftp: {} sent {}", who_, what);
    }

    void send(const std::string& bytes) {
        if (bytes.empty() || ended_) return;
        out_ += bytes;
        if (!writing_) do_write();
    }

    void do_write() {
        writing_ = true;
        write_started_ = clock_type::now();
        wbuf_ = std::move(out_);
        out_.clear();
        writing_size_ = wbuf_.size();
        asio::async_write(control_, asio::buffer(wbuf_), [self = shared_from_this()](const error_code& ec, std::size_t) {
            self->on_write(ec);
        });
    }

    void on_write(const error_code& ec) {
        writing_ = false;
        writing_size_ = 0;
        if (ended_) return;
        if (ec) {
            end("control connection error: " + ec.message());
            return;
        }
        if (!out_.empty()) {
            do_write();
            return;
        }
        if (closing_) {
            end(close_reason_);
            return;
        }
        do_read();
    }

    // Carries out one engine step (see the loop in ftp_session.hpp).
    void apply(ftp::step s) {
        if (ended_) return;
        server_->metrics_.reply(s.reply);
        send(s.reply);
        if (!s.note.empty() && spdlog::should_log(spdlog::level::debug) && server_->limiter_.allow())
            spdlog::debug("ftp: {} {}", who_, s.note);
        if (!s.failed_retrieve.empty() && server_->options_.trace) {
            trace::event e;
            e.k = trace::kind::ftp;
            e.client = client_;
            e.what = std::move(s.failed_retrieve);
            e.ok = false;
            e.outcome = s.not_found ? "550 not found" : "refused";
            e.detail = s.note;
            server_->options_.trace(std::move(e));
        }
        if (s.close_data) drop_data(ftp::transfer_outcome::aborted);
        if (s.open_passive) open_passive();
        if (s.transfer) begin_transfer(std::move(*s.transfer));
        if (s.close) {
            closing_ = true;
            close_reason_ = s.reply.compare(0, 3, "221") == 0 ? "QUIT" : "closed by the server";
            if (!writing_) end(close_reason_);
            return;
        }
        while (!ended_ && !closing_ && engine_.has_queued()) apply(engine_.run_queued(unix_now()));
    }

    // One timer for the whole session's idleness: it fires at the deadline
    // and, if there was activity since (or a transfer is running), re-arms
    // for the rest rather than being reset on every command.
    void arm_idle(clock_type::duration after) {
        idle_timer_.expires_after(after);
        idle_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
            if (ec || self->ended_) return;
            self->on_idle_timer();
        });
    }

    void on_idle_timer() {
        const auto limit = clock_type::duration(server_->options_.control_timeout);
        const auto now = clock_type::now();
        if (writing_ && now - write_started_ >= limit) {
            // Commands keep coming but replies are not read: the client is
            // active only in the sense that matters least. A 421 would
            // queue behind the stuck write; the socket is closed instead.
            if (server_->stuck_log_.allow())
                spdlog::warn("ftp: {}: replies unread for {} s (server.ftp.idle_timeout); session closed", who_,
                             std::chrono::duration_cast<std::chrono::seconds>(now - write_started_).count());
            end("replies not read");
            return;
        }
        if (xfer_ || now - last_activity_ < limit) {
            auto left = xfer_ ? limit : limit - (now - last_activity_);
            if (writing_) left = std::min(left, limit - (now - write_started_));
            arm_idle(left);
            return;
        }
        if (writing_) {  // idle and stuck, but not yet for a whole limit
            arm_idle(limit - (now - write_started_));
            return;
        }
        send(ftp::encode(421, "Timeout."));
        closing_ = true;
        close_reason_ = "idle timeout";
        if (!writing_) end(close_reason_);
    }

    // --- data connection

    void open_passive() {
        error_code ec;
        const auto local = local_.address();
        auto acceptor = server_->open_passive(local);
        if (!acceptor) {
            if (server_->alert_limiter_.allow())
                spdlog::warn("ftp: {}: no free passive port in {}-{}", who_, server_->options_.passive_first,
                             server_->options_.passive_last);
            apply(engine_.on_passive_failed());
            return;
        }
        pasv_.emplace(std::move(*acceptor));
        const auto port = pasv_->local_endpoint(ec).port();
        accept_data(data_gen_);
        arm_passive_timer(port);
        // The address the client reached us on, never 0.0.0.0: behind a
        // server listening on every interface, that is the one it can reach.
        apply(engine_.on_passive_ready(local.to_v4().to_uint(), port));
    }

    // A listener nobody connects to would hold its port for as long as the
    // session lasts (and NOOP keeps a session alive): 101 sessions could
    // hold a 101-port range. After passive_timeout the port goes back.
    void arm_passive_timer(std::uint16_t port) {
        pasv_timer_.expires_after(server_->options_.passive_timeout);
        pasv_timer_.async_wait([self = shared_from_this(), gen = data_gen_, port](const error_code& ec) {
            if (ec || self->ended_ || gen != self->data_gen_ || !self->pasv_) return;
            if (self->server_->passive_log_.allow())
                spdlog::warn("ftp: {}: no data connection to passive port {} within {} ms (server.ftp.passive_timeout); "
                             "port released",
                             self->who_, port, self->server_->options_.passive_timeout.count());
            if (self->xfer_) {
                self->finish(ftp::transfer_outcome::no_connection);  // 425
            } else {
                self->close_data_sockets();
            }
        });
    }

    void accept_data(unsigned gen) {
        pasv_->async_accept([self = shared_from_this(), gen](const error_code& ec, tcp::socket socket) {
            self->on_data_accept(gen, ec, std::move(socket));
        });
    }

    void on_data_accept(unsigned gen, const error_code& ec, tcp::socket socket) {
        if (ended_ || gen != data_gen_ || !pasv_) return;
        if (ec) {
            // Out of descriptors or similar: the transfer, if one waits,
            // fails at its connect timeout.
            if (ec != asio::error::operation_aborted && server_->alert_limiter_.allow())
                spdlog::warn("ftp: {}: accepting the data connection failed: {}", who_, ec.message());
            return;
        }
        error_code ignored;
        const auto from = socket.remote_endpoint(ignored);
        // Only the control connection's own client may connect: anyone
        // else could otherwise steal the file (RFC 2577 section 5, "port stealing").
        if (from.address() != peer_.address()) {
            if (server_->alert_limiter_.allow())
                spdlog::info("ftp: {}: refused a data connection from {} to its passive port", who_, describe(from));
            socket.close(ignored);
            accept_data(gen);
            return;
        }
        pasv_->close(ignored);
        pasv_.reset();
        pasv_timer_.cancel();
        socket.non_blocking(true, ignored);
        data_.emplace(std::move(socket));
        if (xfer_) start_sending();
    }

    void begin_transfer(ftp::outgoing_data d) {
        xfer_ = std::move(d);
        // sendfile() reads a page-cache miss from disk on this thread; a
        // larger readahead window makes those misses fewer and longer.
        if (xfer_->what == ftp::outgoing_data::kind::file)
            ::posix_fadvise(xfer_->fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
        position_ = xfer_->offset;
        sent_ = 0;
        xfer_started_ = clock_type::now();
        // A download shows on the board from here, waiting for its data
        // connection included; a listing does not. After REST, what is
        // left of the file is its size: the bytes are this transfer's.
        if (server_->options_.transfers && xfer_->command == ftp::verb::retr)
            ticket_ = server_->options_.transfers->add(
                "ftp", client_, "/" + xfer_->path,
                static_cast<std::uint64_t>(std::max<std::int64_t>(xfer_->size - xfer_->offset, 0)), unix_ms_now());
        last_progress_ = xfer_started_;
        waiting_for_connection_ = true;
        arm_data_timer(server_->options_.data_connect_timeout);
        if (xfer_->active_target) {
            connect_active(*xfer_->active_target);
        } else if (data_) {
            start_sending();
        } else if (!pasv_) {
            // Its passive listener timed out (or never was): nothing to wait for.
            finish(ftp::transfer_outcome::no_connection);
        }
        // else: the passive listener's accept starts it.
    }

    void connect_active(const ftp::host_port& target) {
        error_code ec;
        data_.emplace(server_->io_);
        data_->open(tcp::v4(), ec);
        // From the address the client talks to, so a firewall sees one peer.
        if (!ec) data_->bind(tcp::endpoint(local_.address(), 0), ec);
        if (ec) {
            finish(ftp::transfer_outcome::no_connection);
            return;
        }
        const tcp::endpoint to(asio::ip::address_v4(target.address), target.port);
        data_->async_connect(to, [self = shared_from_this(), gen = data_gen_](const error_code& e) {
            if (self->ended_ || gen != self->data_gen_ || !self->xfer_) return;
            if (e) {
                self->finish(ftp::transfer_outcome::no_connection);
                return;
            }
            error_code ignored;
            self->data_->non_blocking(true, ignored);
            self->start_sending();
        });
    }

    // Connect timeout first, then the stall check, one timer.
    void arm_data_timer(clock_type::duration after) {
        data_timer_.expires_after(after);
        data_timer_.async_wait([self = shared_from_this(), gen = data_gen_](const error_code& ec) {
            if (ec || self->ended_ || gen != self->data_gen_ || !self->xfer_) return;
            self->on_data_timer();
        });
    }

    void on_data_timer() {
        const auto now = clock_type::now();
        if (waiting_for_connection_) {
            finish(ftp::transfer_outcome::no_connection);
            return;
        }
        const auto stall = clock_type::duration(server_->options_.data_stall_timeout);
        if (now - last_progress_ >= stall) {
            finish(ftp::transfer_outcome::connection_lost);
            return;
        }
        arm_data_timer(stall - (now - last_progress_));
    }

    void start_sending() {
        waiting_for_connection_ = false;
        last_progress_ = clock_type::now();
        arm_data_timer(server_->options_.data_stall_timeout);
        if (xfer_->what == ftp::outgoing_data::kind::file)
            pump_file();
        else
            write_memory();
    }

    void write_memory() {
        const auto& body = *xfer_->body;
        const auto from = static_cast<std::size_t>(xfer_->offset);
        asio::async_write(*data_, asio::buffer(body.data() + from, body.size() - from),
                          [self = shared_from_this(), gen = data_gen_](const error_code& ec, std::size_t n) {
                              if (self->ended_ || gen != self->data_gen_ || !self->xfer_) return;
                              self->sent_ += static_cast<std::int64_t>(n);
                              self->finish(ec ? ftp::transfer_outcome::connection_lost
                                              : ftp::transfer_outcome::completed);
                          });
    }

    // One turn of send_file(): until the socket buffer is full (then wait
    // for it to drain) or turn_budget bytes went out (then yield).
    void pump_file() {
        const std::int64_t left = std::max<std::int64_t>(xfer_->size - position_, 0);
        const auto r = send_file(data_->native_handle(), xfer_->fd.get(), static_cast<std::uint64_t>(position_),
                                 static_cast<std::uint64_t>(left), turn_budget);
        position_ += static_cast<std::int64_t>(r.sent);
        sent_ += static_cast<std::int64_t>(r.sent);
        ticket_.sent(static_cast<std::uint64_t>(sent_));  // once a turn: a relaxed store
        if (r.sent > 0) last_progress_ = clock_type::now();
        switch (r.status) {
        case send_file_status::done: finish(ftp::transfer_outcome::completed); return;
        case send_file_status::yield:
            asio::post(server_->io_, [self = shared_from_this(), gen = data_gen_] {
                if (!self->ended_ && gen == self->data_gen_ && self->xfer_) self->pump_file();
            });
            return;
        case send_file_status::wait_writable:
            data_->async_wait(tcp::socket::wait_write, [self = shared_from_this(), gen = data_gen_](const error_code& ec) {
                if (self->ended_ || gen != self->data_gen_ || !self->xfer_) return;
                if (ec) {
                    self->finish(ftp::transfer_outcome::connection_lost);
                    return;
                }
                self->pump_file();
            });
            return;
        case send_file_status::file_shrank:
            // Truncated under us: the client cannot get what SIZE promised.
            finish(ftp::transfer_outcome::read_error);
            return;
        case send_file_status::failed:
            finish(is_connection_error(r.error) ? ftp::transfer_outcome::connection_lost
                                                : ftp::transfer_outcome::read_error);
            return;
        }
    }

    // The transfer is over: the data connection closes first, then the
    // engine's final reply (226, 425, 426, 451) goes out.
    void finish(ftp::transfer_outcome outcome) {
        // The idle clock restarts now: a client that spent ten minutes on
        // one download has not been idle.
        last_activity_ = clock_type::now();
        log_transfer(outcome);
        ++transfers_;
        bytes_ += sent_;
        xfer_.reset();
        ticket_.reset();
        close_data_sockets();
        apply(engine_.on_transfer_done(outcome));
    }

    // ABOR, QUIT, a new PASV, the end of the session.
    void drop_data(ftp::transfer_outcome why) {
        if (xfer_) {
            log_transfer(why);
            ++transfers_;
            bytes_ += sent_;
            xfer_.reset();
            ticket_.reset();
        }
        close_data_sockets();
    }

    void close_data_sockets() {
        ++data_gen_;
        error_code ec;
        if (pasv_) pasv_->close(ec);
        pasv_.reset();
        if (data_) {
            // FIN after whatever is still queued; the kernel finishes
            // sending it after close().
            data_->shutdown(tcp::socket::shutdown_send, ec);
            data_->close(ec);
        }
        data_.reset();
        data_timer_.cancel();
        pasv_timer_.cancel();
    }

    void log_transfer(ftp::transfer_outcome outcome) const {
        const auto d = clock_type::now() - xfer_started_;
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
        server_->metrics_.transfer(ftp::to_string(xfer_->command), label_of(outcome),
                                   static_cast<std::uint64_t>(sent_));  // a sum of bytes sent: never negative
        const auto level = outcome == ftp::transfer_outcome::completed ? spdlog::level::info : spdlog::level::warn;
        std::string from;
        if (xfer_->offset > 0) from = " from offset " + std::to_string(xfer_->offset);
        spdlog::log(level, "ftp: {} {} \"/{}\" {}: {} bytes{} in {} ms ({})", who_, ftp::to_string(xfer_->command),
                    wire::escape_for_log(xfer_->path), to_string(outcome), sent_, from, ms,
                    format_rate(static_cast<std::uint64_t>(sent_), d));  // a sum of bytes sent: never negative
        if (!server_->options_.trace) return;
        trace::event e;
        e.k = trace::kind::ftp;
        e.client = client_;
        e.what = wire::escape_for_log(xfer_->path);
        e.ok = outcome == ftp::transfer_outcome::completed;
        e.outcome = to_string(outcome);
        e.detail = ftp::to_string(xfer_->command);
        if (xfer_->offset > 0) e.detail += " from offset " + std::to_string(xfer_->offset);
        e.bytes = static_cast<std::uint64_t>(sent_);
        e.duration_ms = static_cast<std::uint32_t>(std::max<std::int64_t>(ms, 0));
        server_->options_.trace(std::move(e));
    }

public:
    void end(const std::string& reason) {
        if (ended_) return;
        drop_data(ftp::transfer_outcome::aborted);
        ended_ = true;
        error_code ec;
        control_.shutdown(tcp::socket::shutdown_both, ec);
        control_.close(ec);
        idle_timer_.cancel();
        data_timer_.cancel();
        pasv_timer_.cancel();
        if (const auto it = server_->per_client_.find(client_); it != server_->per_client_.end() && --it->second == 0)
            server_->per_client_.erase(it);
        const double secs = std::chrono::duration<double>(clock_type::now() - started_).count();
        spdlog::info("ftp: {} disconnected ({}) after {:.1f} s: {} transfer(s), {} bytes", who_, reason, secs,
                     transfers_, bytes_);
        server_->sessions_.erase(this);  // may drop the last owner; handlers hold their own
    }

private:
    static constexpr std::size_t max_backlog = 256 * 1024;
    // Bytes per turn of send_file() before the next turn is posted.
    static constexpr std::uint64_t turn_budget = 8 << 20;

    std::shared_ptr<impl> server_;
    tcp::socket control_;
    tcp::endpoint peer_, local_;
    std::string who_;
    std::array<char, 8192> in_{};
    ftp::line_reader reader_;
    ftp::session engine_;
    std::string out_, wbuf_;
    std::size_t writing_size_ = 0;
    bool reading_ = false, writing_ = false, closing_ = false, ended_ = false;
    std::string close_reason_;
    asio::steady_timer idle_timer_;
    asio::steady_timer data_timer_;
    asio::steady_timer pasv_timer_;  // passive_timeout of a listener nobody connected to
    clock_type::time_point started_, last_activity_;
    clock_type::time_point write_started_;  // of the control write in flight
    std::uint32_t client_;                  // the peer's address, the per-client count's key

    std::optional<tcp::acceptor> pasv_;
    std::optional<tcp::socket> data_;
    unsigned data_gen_ = 0;
    std::optional<ftp::outgoing_data> xfer_;
    transfer_board::ticket ticket_;  // xfer_ on the board (RETR, with a board)
    bool waiting_for_connection_ = false;
    std::int64_t position_ = 0, sent_ = 0;
    clock_type::time_point xfer_started_, last_progress_;
    std::uint64_t transfers_ = 0;
    std::int64_t bytes_ = 0;
};

void ftp_server::impl::on_accept(const error_code& ec, tcp::socket socket) {
    if (stopping_) return;
    if (ec) {
        if (ec == asio::error::operation_aborted) return;
        if (alert_limiter_.allow()) spdlog::warn("ftp: accept failed: {}", ec.message());
        // EMFILE and friends: try again shortly instead of spinning.
        retry_.expires_after(std::chrono::milliseconds(100));
        retry_.async_wait([self = shared_from_this()](const error_code& e) {
            if (!e && !self->stopping_) self->do_accept();
        });
        return;
    }
    error_code e1, e2;
    const auto peer = socket.remote_endpoint(e1);
    const auto local = socket.local_endpoint(e2);
    if (e1 || e2) {
        do_accept();  // gone already
        return;
    }
    if (sessions_.size() >= options_.max_sessions) {
        if (alert_limiter_.allow())
            spdlog::warn("ftp: {} refused: {} sessions already open", describe(peer), sessions_.size());
        error_code ignored;
        socket.non_blocking(true, ignored);
        socket.send(asio::buffer(ftp::encode(421, "Too many connections, try again later.")), 0, ignored);
        socket.close(ignored);
        do_accept();
        return;
    }
    const auto address = peer.address().to_v4().to_uint();
    if (const auto it = per_client_.find(address); it != per_client_.end() && it->second >= options_.max_sessions_per_client) {
        // One client may not take the sessions (and passive ports) the others need.
        if (per_client_log_.allow())
            spdlog::warn("ftp: {} refused with 421: {} sessions from {} already open (server.ftp.max_sessions_per_client)",
                         describe(peer), it->second, peer.address().to_string());
        error_code ignored;
        socket.non_blocking(true, ignored);
        socket.send(asio::buffer(ftp::encode(421, "Too many connections from your address, try again later.")), 0,
                    ignored);
        socket.close(ignored);
        do_accept();
        return;
    }
    const auto files = files_ ? files_() : nullptr;
    auto s = std::make_shared<session>(shared_from_this(), std::move(socket), files, address);
    sessions_.emplace(s.get(), s);
    metrics_.accepted();
    s->start(peer, local);
    do_accept();
}

void ftp_server::impl::stop() {
    if (stopping_) return;
    stopping_ = true;
    error_code ec;
    acceptor_.close(ec);
    retry_.cancel();
    auto sessions = sessions_;  // ending a session erases it from sessions_
    for (auto& entry : sessions) entry.second->shut_down();
}

ftp_server::ftp_server(asio::io_context& io, ftp_server_options options, namespace_provider files)
    : impl_(std::make_shared<impl>(io, std::move(options), std::move(files))) {}

void ftp_server::impl::abandon() {
    auto sessions = sessions_;
    for (auto& entry : sessions) entry.second->end("server shutting down");
}

ftp_server::~ftp_server() {
    impl_->stop();
    impl_->abandon();
}

void ftp_server::start() { impl_->start(); }
void ftp_server::stop() { impl_->stop(); }
std::uint16_t ftp_server::port() const { return impl_->port(); }
std::size_t ftp_server::active_sessions() const { return impl_->active(); }

}  // namespace pxed::net
