// Helpers the servers in net/ share: how a peer is named in a log line, and
// the sendfile(2) loop of HTTP and FTP, driven over a socketpair.

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "endpoint.hpp"  // src/net: a private header (Asio stays out of include/)
#include "pxed/net/send_file.hpp"

namespace asio = boost::asio;
using pxed::net::describe;
using pxed::net::send_file;
using pxed::net::send_file_status;

TEST(net_describe, names_tcp_and_udp_peers_alike) {
    const auto a = asio::ip::make_address("10.0.0.5");
    EXPECT_EQ(describe(asio::ip::tcp::endpoint(a, 41234)), "10.0.0.5:41234");
    EXPECT_EQ(describe(asio::ip::udp::endpoint(a, 41234)), "10.0.0.5:41234");
    EXPECT_EQ(describe(asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), "127.0.0.1:0");
}

namespace {

// A file of `size` patterned bytes, unlinked at once; and a non-blocking
// stream socketpair with small buffers, so "full" comes quickly.
struct net_send_file : ::testing::Test {
    int file = -1;
    int sv[2] = {-1, -1};
    std::string content;

    void make_file(std::size_t size) {
        char name[] = "/tmp/pxed-send-file-XXXXXX";
        file = ::mkstemp(name);
        ASSERT_GE(file, 0);
        ::unlink(name);
        content.resize(size);
        for (std::size_t i = 0; i < size; ++i) content[i] = static_cast<char>('a' + i % 23);
        ASSERT_EQ(::write(file, content.data(), size), static_cast<ssize_t>(size));
    }

    void SetUp() override {
        std::signal(SIGPIPE, SIG_IGN);  // as the daemon does: sendfile has no MSG_NOSIGNAL
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
        const int small = 16 * 1024;
        ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        ::setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    }
    void TearDown() override {
        if (file >= 0) ::close(file);
        for (int fd : sv)
            if (fd >= 0) ::close(fd);
    }

    std::string drain() {
        std::string got;
        char buf[65536];
        for (;;) {
            const ssize_t n = ::read(sv[1], buf, sizeof buf);
            if (n <= 0) break;
            got.append(buf, static_cast<std::size_t>(n));
        }
        return got;
    }
};

}  // namespace

TEST_F(net_send_file, sends_a_region_within_one_budget_and_is_done) {
    make_file(1000);
    const auto r = send_file(sv[0], file, 100, 500, 1 << 20);
    EXPECT_EQ(r.status, send_file_status::done);
    EXPECT_EQ(r.sent, 500u);
    EXPECT_EQ(r.error, 0);
    EXPECT_EQ(drain(), content.substr(100, 500));
    EXPECT_EQ(send_file(sv[0], file, 0, 0, 1).status, send_file_status::done);  // nothing left: nothing to do
}

TEST_F(net_send_file, yields_after_the_budget_and_resumes_where_it_stopped) {
    make_file(1000);
    std::uint64_t at = 0;
    std::string got;
    int turns = 0;
    for (;;) {
        const auto r = send_file(sv[0], file, at, 1000 - at, 300);
        ++turns;
        at += r.sent;
        got += drain();
        if (r.status == send_file_status::done) break;
        ASSERT_EQ(r.status, send_file_status::yield);
        EXPECT_EQ(r.sent, 300u);  // never more than the budget in a turn
    }
    EXPECT_EQ(turns, 4);  // 300, 300, 300, 100
    EXPECT_EQ(got, content);
}

TEST_F(net_send_file, a_short_write_yields_and_a_full_socket_says_wait_writable) {
    make_file(4 << 20);
    // The socket takes less than asked: the turn ends there, counting it.
    const auto r = send_file(sv[0], file, 0, content.size(), content.size());
    ASSERT_EQ(r.status, send_file_status::yield);
    EXPECT_GT(r.sent, 0u);
    EXPECT_LT(r.sent, content.size());
    // Still full on the next turn: nothing more, wait for writability.
    const auto again = send_file(sv[0], file, r.sent, content.size() - r.sent, content.size());
    EXPECT_EQ(again.status, send_file_status::wait_writable);
    EXPECT_EQ(again.sent, 0u);
    EXPECT_EQ(drain(), content.substr(0, r.sent));
    // Drained: it goes on where it stopped.
    const auto more = send_file(sv[0], file, r.sent, content.size() - r.sent, content.size());
    EXPECT_GT(more.sent, 0u);
    EXPECT_EQ(drain(), content.substr(r.sent, more.sent));
}

TEST_F(net_send_file, a_file_shorter_than_promised_is_file_shrank) {
    make_file(100);
    // The file's end looks like a short write at first ...
    const auto r = send_file(sv[0], file, 0, 200, 1 << 20);
    EXPECT_EQ(r.status, send_file_status::yield);
    EXPECT_EQ(r.sent, 100u);
    EXPECT_EQ(drain(), content);
    // ... and a return of 0 on the next turn says what it is.
    const auto next = send_file(sv[0], file, 100, 100, 1 << 20);
    EXPECT_EQ(next.status, send_file_status::file_shrank);
    EXPECT_EQ(next.sent, 0u);
}

TEST_F(net_send_file, other_errors_fail_with_errno) {
    make_file(100);
    ::close(sv[1]);
    sv[1] = -1;
    const auto gone = send_file(sv[0], file, 0, 100, 1 << 20);
    EXPECT_EQ(gone.status, send_file_status::failed);
    EXPECT_EQ(gone.error, EPIPE);
    EXPECT_EQ(gone.sent, 0u);
    const auto bad = send_file(sv[0], -1, 0, 100, 1 << 20);
    EXPECT_EQ(bad.status, send_file_status::failed);
    EXPECT_EQ(bad.error, EBADF);
}
