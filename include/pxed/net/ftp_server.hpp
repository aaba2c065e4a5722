#pragma once
/// The FTP server (RFC 959, 2389, 2428, 3659): read-only, anonymous, over
/// the shared file namespace. Sockets and timers around the pure
/// ftp::session engine, on one event loop: every client is a control
/// socket, at most one passive listener or data socket, and two timers.
/// Files go out with sendfile(2) on a non-blocking socket. Asio stays out
/// of this header.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

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

struct ftp_server_options {
    std::string listen_address = "0.0.0.0";
    std::uint16_t port = 21;  ///< 0: any free port (see ftp_server::port())
    /// Passive data ports (server.ftp.passive_ports). Each passive listener
    /// takes one port until its data connection arrives, so the range caps
    /// how many clients can be between PASV and the connect at once.
    std::uint16_t passive_first = 30000;
    std::uint16_t passive_last = 30100;
    /// PORT/EPRT (active mode); see ftp::session_config::allow_active.
    bool allow_active = false;
    /// Control connections at once; one more gets 421 and is closed.
    std::size_t max_sessions = 1024;
    /// Control connections at once from one client address; one more gets
    /// 421 and is closed (lftp and curl use one or two; `lftp mirror
    /// --parallel` a few more).
    std::size_t max_sessions_per_client = 8;
    /// A passive listener nobody has connected to after this is closed and
    /// its port goes back to the pool; a transfer waiting for it gets 425.
    std::chrono::milliseconds passive_timeout{std::chrono::seconds(30)};
    /// Longest command line; a longer one is answered with 500.
    std::size_t max_line = 4096;
    /// A logged-in or not client that sends nothing for this long, with no
    /// transfer running, gets 421 and is disconnected (vsftpd: 300 s). A
    /// session whose replies have not been read for this long (a write to
    /// its control connection stuck) is closed at once, with no 421 queued
    /// behind the stuck write, however many commands it keeps sending.
    std::chrono::milliseconds control_timeout{std::chrono::seconds(300)};
    /// How long a transfer command waits for its data connection (vsftpd: 60 s).
    std::chrono::milliseconds data_connect_timeout{std::chrono::seconds(60)};
    /// A transfer that makes no progress for this long is ended with 426
    /// (vsftpd's data_connection_timeout: 300 s).
    std::chrono::milliseconds data_stall_timeout{std::chrono::seconds(300)};
    /// Where the server counts replies and transfers (docs/metrics.md);
    /// outlives the server. Null: counted nowhere anyone reads.
    metrics::registry* metrics = nullptr;
    /// Where every RETR shows while it runs (the dashboard's live
    /// transfers, docs/dashboard.md), from the command until its data
    /// connection closes, with the bytes sent so far; the server is
    /// read-only, so there is no upload to show. Listings are not shown.
    /// Owned by the caller and outliving the server; null: shown nowhere.
    transfer_board* transfers = nullptr;
    /// Told of every transfer's end, for the boot trace; its mac unset
    /// (the caller attributes it). Unset: none.
    std::function<void(trace::event&&)> trace;
};

class ftp_server {
public:
    /// Called when a client connects: a reloaded site takes effect for new
    /// sessions, while running ones keep the namespace they started with.
    using namespace_provider = std::function<std::shared_ptr<const fs::file_namespace>()>;

    ftp_server(boost::asio::io_context& io, ftp_server_options options, namespace_provider files);
    ~ftp_server();
    ftp_server(const ftp_server&) = delete;
    ftp_server& operator=(const ftp_server&) = delete;

    /// Binds and listens; throws std::system_error if that fails.
    void start();
    /// Closes the listener and every session (421 to each client).
    void stop();

    std::uint16_t port() const;
    std::size_t active_sessions() const;

private:
    class impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace pxed::net
