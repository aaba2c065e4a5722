#pragma once
// A TFTP server on loopback, on its own thread, and a lock-step client
// written for the tests: what the event loop and TFTP server tests share.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pxed/fs/namespace.hpp"
#include "pxed/metrics/registry.hpp"
#include "pxed/net/event_loop.hpp"
#include "pxed/net/tftp_server.hpp"
#include "pxed/net/transfer_board.hpp"
#include "temp_dir.hpp"

namespace pxed::net::testing {

using namespace std::chrono_literals;

// A lock-step TFTP client on loopback that ACKs each block after `delay`.
class tftp_client {
public:
    explicit tftp_client(std::uint16_t server_port) : port_(server_port) {
        fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~tftp_client() { ::close(fd_); }
    tftp_client(const tftp_client&) = delete;
    tftp_client& operator=(const tftp_client&) = delete;

    void request(const std::string& file) {
        std::string rrq("\0\1", 2);
        rrq += file;
        rrq += '\0';
        rrq += "octet";
        rrq += '\0';
        send_to(port_, rrq);
    }

    // The payload size of DATA block `expected`, skipping repeats of
    // earlier blocks (the server's timer may beat a client slowed by a
    // loaded machine); 0 on timeout or anything else.
    std::size_t receive_block(std::uint16_t expected) {
        for (;;) {
            std::uint8_t buf[600];
            sockaddr_in from{};
            socklen_t len = sizeof from;
            const ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n < 0 && errno == EINTR) continue;  // a signal is not the server's answer
            if (n < 4 || buf[1] != 3) return 0;
            const auto block = static_cast<std::uint16_t>((buf[2] << 8) | buf[3]);
            if (static_cast<std::uint16_t>(expected - block) < 1000 && block != expected) continue;
            if (block != expected) return 0;
            tid_ = ntohs(from.sin_port);
            bytes_ += static_cast<std::size_t>(n) - 4;
            return static_cast<std::size_t>(n) - 4;
        }
    }

    void ack(std::uint16_t block) { send_to(tid_, ack_packet(block)); }

    static std::string ack_packet(std::uint16_t block) {
        return {'\0', '\4', static_cast<char>(block >> 8), static_cast<char>(block & 0xff)};
    }

    // The port of the transfer (the server's TID), once a block came.
    std::uint16_t tid() const { return tid_; }

    // Fetches the whole file, ACK by ACK.
    std::size_t fetch(const std::string& file, std::chrono::microseconds delay) {
        request(file);
        for (std::uint16_t b = 1;; ++b) {
            const auto n = receive_block(b);
            if (n == 0) return 0;
            if (delay.count() > 0) std::this_thread::sleep_for(delay);
            ack(b);
            if (n < 512) return bytes_;
        }
    }

    std::size_t bytes() const { return bytes_; }

    void send_to(std::uint16_t port, const std::string& payload) {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::sendto(fd_, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    }

    // The next datagram, as bytes; empty on timeout.
    std::string receive_any() {
        char buf[600];
        ssize_t n;
        do n = ::recv(fd_, buf, sizeof buf, 0);
        while (n < 0 && errno == EINTR);  // a signal is not the server's answer
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    }

    // The next datagram of up to `max` bytes, as bytes, and its sender's
    // port as the transfer's (a window's blocks, an OACK); empty on timeout.
    std::string receive_from_transfer(std::size_t max) {
        std::string buf(max, '\0');
        sockaddr_in from{};
        socklen_t len = sizeof from;
        ssize_t n;
        do n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
        while (n < 0 && errno == EINTR);
        if (n <= 0) return {};
        tid_ = ntohs(from.sin_port);
        buf.resize(static_cast<std::size_t>(n));
        return buf;
    }

private:

    int fd_ = -1;
    std::uint16_t port_;
    std::uint16_t tid_ = 0;
    std::size_t bytes_ = 0;
};

// A file of 100 full blocks and a short one, served from a temporary
// directory by a server on its own thread.
class tftp_loopback : public ::testing::Test {
protected:
    void SetUp() override {
        std::ofstream(dir_ + "/file.bin") << std::string(file_size, 'x');
        files_ = std::make_shared<const fs::file_namespace>(std::vector<fs::mount>{{"", dir_}}, nullptr);
    }
    void TearDown() override { stop(); }

    // The server on its own thread, polling with `budget` (0: off).
    std::uint16_t start(std::chrono::microseconds budget) {
        poll_ = std::make_unique<busy_poll>(budget, 2);
        tftp_server_options o;
        o.listen_address = "127.0.0.1";
        o.port = 0;
        o.poll = poll_.get();
        o.max_transfers_per_client = max_transfers_per_client_;
        o.data_threads = data_threads_;
        o.metrics = metrics_;
        o.transfers = transfers_;
        o.transfer = transfer_;
        server_ = std::make_unique<tftp_server>(io_, o, [this] { return files_; });
        server_->start();
        thread_ = std::thread([this] { run(io_, *poll_); });
        return server_->port();
    }

    // What `read` returns, run on the loop thread while the server runs.
    template <typename Read>
    auto on_loop(Read read) {
        std::promise<decltype(read())> value;
        boost::asio::post(io_, [&] { value.set_value(read()); });
        return value.get_future().get();
    }

    // Holds the server until the returned promise is set: the loop thread
    // and every data thread (server.tftp.data_threads), each in a handler
    // of ours, so that datagrams sent meanwhile queue up in the sockets of
    // every transfer, whichever shard runs it. (Holding the loop alone
    // would stall only the transfers on the loop's shard.)
    std::promise<void> hold_server() {
        std::promise<void> release;
        struct hold {
            std::mutex m;
            std::condition_variable cv;
            std::size_t entered = 0;
        };
        auto h = std::make_shared<hold>();
        const auto go = release.get_future().share();
        const auto enter = [h, go] {
            {
                std::lock_guard<std::mutex> lock(h->m);
                ++h->entered;
            }
            h->cv.notify_all();
            go.wait();
        };
        const auto counts = on_loop([&] {
            return std::make_pair(server_->post_to_data_threads(enter), server_->transfers_per_shard().size());
        });
        const std::size_t threads = counts.first, shards = counts.second;
        boost::asio::post(io_, enter);
        std::unique_lock<std::mutex> lock(h->m);
        h->cv.wait(lock, [&] { return h->entered == threads + 1; });
        EXPECT_EQ(threads + 1, shards) << "every shard held: the loop's and each data thread's";
        return release;
    }

    // Bytes queued unread on the loopback UDP socket bound to `port`, as
    // /proc/net/udp lists them (rx_queue); 0 if there is none.
    static std::size_t unread_bytes_at(std::uint16_t port) { return udp_socket_at(port).value_or(0); }

    // Whether a UDP socket is bound to `port` (the server closes a
    // transfer's socket when the transfer ends).
    static bool bound_at(std::uint16_t port) { return udp_socket_at(port).has_value(); }

    // The rx_queue of the UDP socket bound to 127.0.0.1:`port`, as
    // /proc/net/udp lists it; none if no socket is.
    static std::optional<std::size_t> udp_socket_at(std::uint16_t port) {
        char wanted[16];
        std::snprintf(wanted, sizeof wanted, "0100007F:%04X", port);
        std::ifstream in("/proc/net/udp");
        std::string line;
        std::getline(in, line);  // the header
        while (std::getline(in, line)) {
            // "  12: 0100007F:A1B2 00000000:0000 07 00000000:00000340 ..."
            std::istringstream fields(line);
            std::string slot, local, remote, state, queues;
            fields >> slot >> local >> remote >> state >> queues;
            if (local != wanted) continue;
            return std::stoul(queues.substr(queues.find(':') + 1), nullptr, 16);
        }
        return std::nullopt;
    }

    // While the server is held: waits until the datagrams sent to `port`
    // show as queued there (loopback delivers them within the sendto, or
    // soon after in ksoftirqd on a loaded machine), and says whether they
    // did. A shard that was not held reads them at once, and this fails.
    static bool queued_while_held(std::uint16_t port) {
        for (int i = 0; i < 500; ++i) {
            if (unread_bytes_at(port) > 0) return true;
            std::this_thread::sleep_for(10ms);
        }
        return false;
    }

    // Lets the last ACKs arrive (up to a second), then stops the loop; after
    // this the test may read poll_ (loop-thread state).
    void stop() {
        if (!thread_.joinable()) return;
        for (int i = 0; i < 100 && on_loop([this] { return server_->active_transfers(); }) > 0; ++i)
            std::this_thread::sleep_for(10ms);
        boost::asio::post(io_, [this] {
            server_->stop();
            io_.stop();
        });
        thread_.join();
    }

    static constexpr std::size_t file_size = 100 * 512 + 17;
    std::size_t max_transfers_per_client_ = tftp_server_options{}.max_transfers_per_client;
    unsigned data_threads_ = tftp_server_options{}.data_threads;  // PXED_TFTP_DATA_THREADS overrides it
    metrics::registry* metrics_ = nullptr;
    transfer_board* transfers_ = nullptr;  // must outlive server_
    tftp::transfer_config transfer_ = tftp_server_options{}.transfer;
    pxed::testing::temp_dir tmp_{"tftp-loopback"};
    const std::string dir_ = tmp_.path();
    std::shared_ptr<const fs::file_namespace> files_;
    boost::asio::io_context io_;
    std::unique_ptr<busy_poll> poll_;
    std::unique_ptr<tftp_server> server_;
    std::thread thread_;
};

}  // namespace pxed::net::testing
