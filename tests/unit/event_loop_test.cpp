// The event loop's busy poll: when it engages (the bookkeeping), that the
// loop really polls rather than sleeps while asked to and sleeps otherwise
// (thread CPU time), and which TFTP transfers ask for it: a client on
// loopback that answers at once does, one that takes milliseconds does not,
// nor do three transfers at once.

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "pxed/fs/namespace.hpp"
#include "pxed/net/event_loop.hpp"
#include "pxed/net/tftp_server.hpp"

namespace pxed::net {
namespace {

using namespace std::chrono_literals;
using clock_type = busy_poll::clock;

TEST(BusyPoll, PollsForTwiceTheRoundTripWithinTheBudget) {
    busy_poll p(50us, 2);
    const auto t0 = clock_type::time_point{} + 1s;
    p.expect_reply(t0, 20us);
    EXPECT_TRUE(p.pending());
    EXPECT_TRUE(p.polling(t0 + 39us));
    EXPECT_FALSE(p.polling(t0 + 40us));
    EXPECT_FALSE(p.pending());
    EXPECT_EQ(p.engagements(), 1u);
}

TEST(BusyPoll, NeverLongerThanTheBudget) {
    busy_poll p(50us, 2);
    const auto t0 = clock_type::time_point{} + 1s;
    p.expect_reply(t0, 45us);
    EXPECT_TRUE(p.polling(t0 + 49us));
    EXPECT_FALSE(p.polling(t0 + 50us));
}

TEST(BusyPoll, ASlowerPeerIsNotWaitedFor) {
    busy_poll p(50us, 2);
    p.expect_reply(clock_type::time_point{} + 1s, 51us);
    EXPECT_FALSE(p.pending());
    EXPECT_EQ(p.engagements(), 0u);
}

TEST(BusyPoll, OffWithNoBudgetOrOneCpu) {
    busy_poll none(0us, 8);
    none.expect_reply(clock_type::time_point{} + 1s, 1us);
    EXPECT_FALSE(none.pending());
    busy_poll one_cpu(50us, 1);
    EXPECT_FALSE(one_cpu.enabled());
    one_cpu.expect_reply(clock_type::time_point{} + 1s, 1us);
    EXPECT_FALSE(one_cpu.pending());
}

TEST(BusyPoll, AShorterExpectationDoesNotCutALongerPoll) {
    busy_poll p(100us, 2);
    const auto t0 = clock_type::time_point{} + 1s;
    p.expect_reply(t0, 40us);         // until t0 + 80
    p.expect_reply(t0 + 10us, 10us);  // until t0 + 30: ignored
    EXPECT_TRUE(p.polling(t0 + 79us));
    p.expect_reply(t0 + 79us, 20us);  // until t0 + 119: extends
    EXPECT_TRUE(p.polling(t0 + 118us));
    EXPECT_EQ(p.engagements(), 3u);
}

double thread_cpu_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Runs the loop on this thread: one handler asks for a poll of `poll_for`,
// a timer 60 ms later ends the run. Returns the CPU time the loop took.
double cpu_of_a_run(busy_poll& p, std::chrono::microseconds poll_for) {
    boost::asio::io_context io;
    boost::asio::steady_timer end(io, 60ms);
    bool ended = false;
    end.async_wait([&](const boost::system::error_code&) { ended = true; });
    boost::asio::post(io, [&] { p.expect_reply(clock_type::now(), poll_for / 2); });
    const double before = thread_cpu_ms();
    run(io, p);
    const double used = thread_cpu_ms() - before;
    EXPECT_TRUE(ended);  // the timer fired while polling, and run() returned once out of work
    return used;
}

TEST(EventLoop, PollsWhileAskedAndSleepsOtherwise) {
    busy_poll on(40ms, 2);  // a budget far above site.yaml's, to be measurable
    const double polling = cpu_of_a_run(on, 40ms);
    busy_poll off(0us, 2);
    const double sleeping = cpu_of_a_run(off, 40ms);
    // Polling for 40 ms burns most of it even on a loaded machine; sleeping
    // through 60 ms costs well under a millisecond.
    EXPECT_GT(polling, 10.0);
    EXPECT_LT(sleeping, 5.0);
}

TEST(EventLoop, ReturnsWhenOutOfWorkOrStopped) {
    boost::asio::io_context io;
    busy_poll p(1ms, 2);
    int ran = 0;
    boost::asio::post(io, [&] { ++ran; });
    run(io, p);
    EXPECT_EQ(ran, 1);

    boost::asio::io_context io2;
    auto guard = boost::asio::make_work_guard(io2);
    boost::asio::post(io2, [&] {
        p.expect_reply(clock_type::now(), 400us);
        io2.stop();
    });
    run(io2, p);  // would never return if a stop while polling were missed
    EXPECT_TRUE(io2.stopped());
}

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
            if (n < 4 || buf[1] != 3) return 0;
            const auto block = static_cast<std::uint16_t>((buf[2] << 8) | buf[3]);
            if (static_cast<std::uint16_t>(expected - block) < 1000 && block != expected) continue;
            if (block != expected) return 0;
            tid_ = ntohs(from.sin_port);
            bytes_ += static_cast<std::size_t>(n) - 4;
            return static_cast<std::size_t>(n) - 4;
        }
    }

    void ack(std::uint16_t block) {
        const std::string a{'\0', '\4', static_cast<char>(block >> 8), static_cast<char>(block & 0xff)};
        send_to(tid_, a);
    }

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

private:
    void send_to(std::uint16_t port, const std::string& payload) {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::sendto(fd_, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    }

    int fd_ = -1;
    std::uint16_t port_;
    std::uint16_t tid_ = 0;
    std::size_t bytes_ = 0;
};

class TftpBusyPoll : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/pxed-event-loop-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        std::ofstream(dir_ + "/file.bin") << std::string(file_size, 'x');
        files_ = std::make_shared<const fs::file_namespace>(std::vector<fs::mount>{{"", dir_}}, nullptr);
    }
    void TearDown() override {
        stop();
        std::filesystem::remove_all(dir_);
    }

    // The server on its own thread, polling with `budget`.
    std::uint16_t start(std::chrono::microseconds budget) {
        poll_ = std::make_unique<busy_poll>(budget, 2);
        tftp_server_options o;
        o.listen_address = "127.0.0.1";
        o.port = 0;
        o.poll = poll_.get();
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

    // Replies the loop polled for while one client fetched the file,
    // ACKing each block after `delay`.
    unsigned long long polled_replies(std::chrono::microseconds budget, std::chrono::microseconds delay) {
        tftp_client c(start(budget));
        EXPECT_EQ(c.fetch("file.bin", delay), file_size);
        stop();
        return poll_->engagements();
    }

    static constexpr std::size_t file_size = 100 * 512 + 17;
    std::string dir_;
    std::shared_ptr<const fs::file_namespace> files_;
    boost::asio::io_context io_;
    std::unique_ptr<busy_poll> poll_;
    std::unique_ptr<tftp_server> server_;
    std::thread thread_;
};

TEST_F(TftpBusyPoll, AQuickClientIsPolledFor) {
    // A budget far above a loopback round trip, even on a loaded machine;
    // every block after the first RTT sample is polled for: about 100.
    EXPECT_GT(polled_replies(20ms, 0us), 50u);
}

TEST_F(TftpBusyPoll, ASlowClientIsNot) {
    // A budget far below the client's 5 ms.
    EXPECT_EQ(polled_replies(1ms, 5ms), 0u);
}

TEST_F(TftpBusyPoll, NotWithThreeTransfersRunning) {
    const auto port = start(20ms);
    std::vector<std::unique_ptr<tftp_client>> clients;
    for (int i = 0; i < 3; ++i) {
        clients.push_back(std::make_unique<tftp_client>(port));
        clients.back()->request("file.bin");
        ASSERT_EQ(clients.back()->receive_block(1), 512u);
    }
    // Round robin, all three running until their last blocks are out.
    for (std::uint16_t b = 1; b <= 100; ++b) {
        for (auto& c : clients) {
            c->ack(b);
            ASSERT_GT(c->receive_block(static_cast<std::uint16_t>(b + 1)), 0u);
        }
    }
    // Read before the final ACKs: once a transfer ends, the two left may
    // poll for a resend's answer, as they should.
    EXPECT_EQ(on_loop([this] { return poll_->engagements(); }), 0u);
    for (auto& c : clients) c->ack(101);
    for (auto& c : clients) EXPECT_EQ(c->bytes(), file_size);
}

TEST_F(TftpBusyPoll, OffWithNoBudget) { EXPECT_EQ(polled_replies(0us, 0us), 0u); }

}  // namespace
}  // namespace pxed::net
