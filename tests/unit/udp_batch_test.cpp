// net/udp_batch: many UDP sends, then many receives, each in one io_uring
// submit, on real loopback sockets. Skipped where pxed was built without
// liburing or the kernel refuses io_uring (the TFTP server then takes its
// epoll path, which tftp_server_test.epoll_path runs).

#include "udp_batch.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

namespace pxed::net {
namespace {

struct socket_fd {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    socket_fd() {
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        EXPECT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
        EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    }
    ~socket_fd() { ::close(fd); }
};

std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::string text(const udp_batch::receive& r) {
    return r.result > 0 ? std::string(reinterpret_cast<const char*>(r.data), static_cast<std::size_t>(r.result)) : "";
}

TEST(UdpBatch, SendsLeaveInOrderAndReceivesReadOneDatagramPerSocket) {
    auto batch = udp_batch::open(4);
    if (!batch) GTEST_SKIP() << "no io_uring here (built without liburing, or the kernel refuses it)";
    socket_fd from, a, b, c;
    // Ten sends through a queue of four: it flushes itself when full, and
    // every datagram arrives, in the order queued.
    for (int i = 0; i < 10; ++i) batch->queue_send(from.fd, (i % 2 ? b : a).addr, bytes("p" + std::to_string(i)));
    EXPECT_LE(batch->queued(), 4u);
    batch->flush();
    EXPECT_EQ(batch->queued(), 0u);

    std::vector<udp_batch::receive> slots(3);
    slots[0].fd = a.fd;
    slots[1].fd = b.fd;
    slots[2].fd = c.fd;  // nothing for c: answered at once with EAGAIN, not waited for
    for (int round = 0; round < 5; ++round) {
        batch->receive_all(slots.data(), slots.size());
        EXPECT_EQ(text(slots[0]), "p" + std::to_string(2 * round));
        EXPECT_EQ(text(slots[1]), "p" + std::to_string(2 * round + 1));
        EXPECT_EQ(slots[2].result, -EAGAIN);
        EXPECT_EQ(slots[0].from.sin_port, from.addr.sin_port);
        EXPECT_EQ(slots[1].from.sin_addr.s_addr, from.addr.sin_addr.s_addr);
    }
    batch->receive_all(slots.data(), 2);
    EXPECT_EQ(slots[0].result, -EAGAIN);
    EXPECT_EQ(slots[1].result, -EAGAIN);
}

TEST(UdpBatch, AFailedSendIsDroppedAndTheRestStillLeave) {
    auto batch = udp_batch::open(8);
    if (!batch) GTEST_SKIP() << "no io_uring here (built without liburing, or the kernel refuses it)";
    socket_fd from, a;
    batch->queue_send(from.fd, a.addr, bytes("one"));
    batch->queue_send(-1, a.addr, bytes("lost"));  // a bad descriptor fails alone
    batch->queue_send(from.fd, a.addr, bytes("two"));
    batch->flush();
    std::vector<udp_batch::receive> slots(1);
    slots[0].fd = a.fd;
    batch->receive_all(slots.data(), 1);
    EXPECT_EQ(text(slots[0]), "one");
    batch->receive_all(slots.data(), 1);
    EXPECT_EQ(text(slots[0]), "two");
}

// A ring whose setup fails (here: 0 entries, EINVAL; on CentOS 7's 3.10:
// ENOSYS) has nothing to tear down. liburing's teardown of it would close
// its ring_fd, 0: whatever holds fd 0 then (stdin, or with data threads
// another shard's eventfd, which hung pxed's shutdown on a 3.10 kernel).
TEST(UdpBatch, AFailedSetupClosesNoDescriptor) {
    const int saved = ::fcntl(0, F_DUPFD_CLOEXEC, 3);  // -1 if fd 0 was not open
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    ASSERT_EQ(::dup2(p[0], 0), 0);
    EXPECT_EQ(udp_batch::open(0), nullptr);
    EXPECT_NE(::fcntl(0, F_GETFD), -1) << "fd 0 was closed by the failed setup";
    ::close(p[0]);
    ::close(p[1]);
    if (saved >= 0) {
        ::dup2(saved, 0);
        ::close(saved);
    } else {
        ::close(0);
    }
}

}  // namespace
}  // namespace pxed::net
