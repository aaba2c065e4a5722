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

#include <atomic>
#include <chrono>
#include <fstream>
#include <new>
#include <stdexcept>
#include <thread>
#include <ctime>
#include <memory>
#include <vector>

#include "pxed/net/event_loop.hpp"
#include "pxed/net/http_server.hpp"
#include "tftp_loopback.hpp"

namespace pxed::net {
namespace {

using namespace std::chrono_literals;
using clock_type = busy_poll::clock;
using testing::tftp_client;

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

class TftpBusyPoll : public testing::tftp_loopback {
protected:
    // Replies the loop polled for while one client fetched the file,
    // ACKing each block after `delay`.
    unsigned long long polled_replies(std::chrono::microseconds budget, std::chrono::microseconds delay) {
        tftp_client c(start(budget));
        EXPECT_EQ(c.fetch("file.bin", delay), file_size);
        stop();
        return poll_->engagements();
    }
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

// An exception escaping a handler (out of memory, a bug) is logged and the
// loop runs on: the handlers posted after it still run, and run() returns
// only when the loop is stopped.
TEST(EventLoop, AHandlerThatThrowsDoesNotEndTheLoop) {
    boost::asio::io_context io;
    busy_poll poll(0us, 2);
    std::vector<int> ran;
    boost::asio::post(io, [] { throw std::bad_alloc(); });
    boost::asio::post(io, [&] { ran.push_back(1); });
    boost::asio::post(io, [] { throw std::runtime_error("a bug"); });
    boost::asio::post(io, [] { throw 42; });  // not even a std::exception
    boost::asio::post(io, [&] {
        ran.push_back(2);
        // Later work, from a timer, after the throws.
        auto timer = std::make_shared<boost::asio::steady_timer>(io, 1ms);
        timer->async_wait([&, timer](const boost::system::error_code&) {
            ran.push_back(3);
            io.stop();
        });
    });
    auto guard = boost::asio::make_work_guard(io);
    EXPECT_NO_THROW(run(io, poll));
    EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
}

TEST(EventLoop, ContainSaysWhetherItsWorkThrew) {
    int after = 0;
    EXPECT_TRUE(contain("test", "nothing", [&] { ++after; }));
    EXPECT_FALSE(contain("test", "allocating", [] { throw std::bad_alloc(); }));
    EXPECT_FALSE(contain("test", "anything", [] { throw "a string"; }));
    EXPECT_EQ(after, 1);
}

// Per server, what a throw costs: a TFTP request whose handling throws
// std::bad_alloc is dropped, and the server answers the next one (without
// the containment the listening socket was never waited on again).
TEST(EventLoop, ATftpRequestWhoseHandlingThrowsIsDroppedAndTheServerServesOn) {
    pxed::testing::temp_dir tmp("tftp-throw");
    std::ofstream(tmp.path() + "/file.bin") << std::string(3 * 512 + 9, 'x');
    const auto files = std::make_shared<const fs::file_namespace>(std::vector<fs::mount>{{"", tmp.path()}}, nullptr);
    boost::asio::io_context io;
    busy_poll poll(0us, 2);
    tftp_server_options o;
    o.listen_address = "127.0.0.1";
    o.port = 0;
    o.poll = &poll;
    std::atomic<int> asked{0};
    tftp_server server(io, o, [&] {
        if (asked++ == 0) throw std::bad_alloc();
        return files;
    });
    server.start();
    std::thread loop([&] { run(io, poll); });
    tftp_client first(server.port());
    first.request("file.bin");
    for (int i = 0; i < 200 && asked == 0; ++i) std::this_thread::sleep_for(5ms);
    tftp_client second(server.port());
    EXPECT_EQ(second.fetch("file.bin", 0us), 3u * 512 + 9);
    EXPECT_GE(asked.load(), 2);
    boost::asio::post(io, [&] {
        server.stop();
        io.stop();
    });
    loop.join();
}

// HTTP: a connection whose handler throws std::bad_alloc is closed (by the
// server's sweep: nothing of it is pending any more), and the server
// serves the next connection.
int connect_loopback(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

std::string get(int fd, const std::string& path) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return "send failed";
    std::string out;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return n == 0 ? out : out + "<timeout>";
        out.append(buf, static_cast<std::size_t>(n));
    }
}

TEST(EventLoop, AnHttpConnectionWhoseHandlerThrowsIsClosedAndOthersAreServed) {
    pxed::testing::temp_dir tmp("http-throw");
    std::ofstream(tmp.path() + "/file.txt") << "served\n";
    const auto files = std::make_shared<const fs::file_namespace>(std::vector<fs::mount>{{"", tmp.path()}}, nullptr);
    boost::asio::io_context io;
    busy_poll poll(0us, 2);
    http_server_options o;
    o.listen_address = "127.0.0.1";
    o.port = 0;
    o.idle_timeout = 1s;
    o.header_timeout = 1s;
    o.send_timeout = 1s;
    std::atomic<int> asked{0};
    http_server server(io, o, [&] {
        if (asked++ == 0) throw std::bad_alloc();
        return files;
    });
    server.start();
    std::thread loop([&] { run(io, poll); });
    const int first = connect_loopback(server.port());
    ASSERT_GE(first, 0);
    const auto t0 = std::chrono::steady_clock::now();
    const auto failed = get(first, "/file.txt");
    EXPECT_EQ(failed.find("served"), std::string::npos);
    EXPECT_EQ(failed.find("<timeout>"), std::string::npos) << "the failed connection is closed, not left open";
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    ::close(first);
    const int second = connect_loopback(server.port());
    ASSERT_GE(second, 0);
    const auto ok = get(second, "/file.txt");
    EXPECT_EQ(ok.rfind("HTTP/1.1 200", 0), 0u) << ok;
    EXPECT_NE(ok.find("served"), std::string::npos);
    ::close(second);
    boost::asio::post(io, [&] {
        server.stop();
        io.stop();
    });
    loop.join();
}

}  // namespace
}  // namespace pxed::net
