#pragma once
/// The TFTP server (RFC 1350, 2347-2349, 7440): sockets and timers around the
/// pure transfer engine. No thread per client: every transfer is a socket
/// (its TID), a deadline and a tftp::read_transfer. Requests, file opening,
/// limits, logs, metrics and the boot trace are the event loop's; the
/// transfers' DATA and ACKs run on that loop too, or on a few data threads
/// (tftp_server_options::data_threads, docs/tftp.md "Data threads").
/// Asio stays out of this header.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pxed/engine/boot_trace.hpp"
#include "pxed/engine/tftp_transfer.hpp"
#include "pxed/fs/namespace.hpp"

namespace boost::asio {
class io_context;
}

namespace pxed::net {

class busy_poll;
class transfer_board;
}  // namespace pxed::net

namespace pxed::metrics {
class registry;
}

namespace pxed::net {

struct tftp_server_options {
    std::string listen_address = "0.0.0.0";
    std::uint16_t port = 69;  ///< 0: any free port (see tftp_server::port())
    /// Limits handed to every transfer. max_blksize starts at the RFC 2348
    /// maximum and is lowered per transfer to what fits the path MTU towards
    /// that client (1468 on Ethernet, 65464 on loopback).
    tftp::transfer_config transfer = [] {
        tftp::transfer_config c;
        c.max_blksize = tftp::max_blksize;
        return c;
    }();
    /// Transfers at once; a request beyond that gets ERROR 0 "server busy".
    std::size_t max_transfers = 4096;
    /// Transfers at once from one client address, whatever its source
    /// ports; a request beyond that gets ERROR 0 (tftp::share_limits).
    std::size_t max_transfers_per_client = 16;
    /// Threads that carry the running transfers' DATA and ACKs, each with a
    /// shard of the transfer sockets (its own io_uring or epoll set and
    /// timer); a new transfer goes to the shard running fewest. 0 or 1: all
    /// on the event loop. Control stays on the loop either way.
    /// PXED_TFTP_DATA_THREADS in the environment overrides it (benchmarks).
    unsigned data_threads = 1;
    /// Told after every send when the client's measured round trip is
    /// short, so the loop polls for its answer (see event_loop.hpp). Owned
    /// by the caller and outliving the server; null: never asked.
    busy_poll* poll = nullptr;
    /// Where the server counts transfers (docs/metrics.md); outlives the
    /// server. Null: counted nowhere anyone reads.
    metrics::registry* metrics = nullptr;
    /// Where every read transfer shows while it runs (the dashboard's
    /// live transfers, docs/dashboard.md): registered once its file is
    /// open, with the file's size, its acknowledged bytes updated as ACKs
    /// come in, and taken off when it ends however it ends. Owned by the
    /// caller and outliving the server; null: shown nowhere.
    transfer_board* transfers = nullptr;
    /// Told of every transfer that ends and every request refused, for
    /// the boot trace (its mac unset: the caller attributes it). Unset: none.
    std::function<void(trace::event&&)> trace;
};

class tftp_server {
public:
    /// Called for every request, so a reloaded site takes effect for the
    /// next transfer while running transfers finish with what they opened.
    using namespace_provider = std::function<std::shared_ptr<const fs::file_namespace>()>;

    tftp_server(boost::asio::io_context& io, tftp_server_options options, namespace_provider files);
    ~tftp_server();
    tftp_server(const tftp_server&) = delete;
    tftp_server& operator=(const tftp_server&) = delete;

    /// Binds the port; throws std::system_error if that fails.
    void start();
    /// Ends every running transfer with ERROR 0 and closes all sockets.
    void stop();

    std::uint16_t port() const;
    std::size_t active_transfers() const;
    /// Transfers started on each data shard so far (one entry when they
    /// all run on the loop). Call on the loop thread.
    std::vector<std::uint64_t> transfers_per_shard() const;
    /// Datagrams that left as UDP segments (a window of blocks the kernel
    /// cut, docs/tftp.md "Windows as UDP segments"), on every shard so far.
    std::uint64_t segmented_datagrams() const;

    /// For tests: posts a copy of `f` to every data thread, to run there as
    /// its next handler, and returns how many it was posted to (0 when the
    /// transfers all run on the loop). A test holds the data threads with
    /// it as it holds the loop with a handler of its own, so a "stalled
    /// server" stalls every transfer (tests/unit/tftp_loopback.hpp,
    /// hold_server). Call on the loop thread.
    std::size_t post_to_data_threads(const std::function<void()>& f);

    /// The default of server.tftp.data_threads: the CPUs, at most 4.
    static unsigned default_data_threads();

private:
    class impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace pxed::net
