#pragma once
// Many UDP receives, or many sends, on many sockets in one system call
// (io_uring), for the TFTP data path: with many lock-step transfers every
// ACK read and every DATA sent was a syscall of its own, and every send
// that woke a client was a point where that client could preempt the
// server (bench/README.md, "TFTP with real clients"). Internal to net/; no
// Asio here.

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace pxed::net {

class udp_batch {
public:
    /// One receive: the socket to read, then what came (result: bytes, or
    /// -errno; -EAGAIN when nothing was queued).
    struct receive {
        int fd = -1;
        sockaddr_in from{};
        int result = 0;
        std::uint8_t data[1024];
    };

    /// An io_uring of `depth` entries, or null where the kernel has none
    /// (CentOS 7's 3.10; a seccomp filter that forbids it) or pxed was
    /// built without liburing: the caller then reads and sends one
    /// datagram per syscall.
    static std::unique_ptr<udp_batch> open(unsigned depth);
    ~udp_batch();
    udp_batch(const udp_batch&) = delete;
    udp_batch& operator=(const udp_batch&) = delete;

    /// Reads one datagram from each socket, without waiting (the caller
    /// knows they are readable), in one syscall.
    void receive_all(receive* slots, std::size_t n);

    /// Queues a datagram; it leaves on flush(), in the order queued. A full
    /// queue flushes first.
    void queue_send(int fd, const sockaddr_in& to, std::vector<std::uint8_t> packet);
    /// Sends what is queued, in one syscall. A send that fails (a full
    /// socket buffer) counts as lost on the wire, as a failed sendto does.
    void flush();
    std::size_t queued() const { return queued_; }

private:
    struct ring;
    explicit udp_batch(std::unique_ptr<ring> r, unsigned depth);

    std::unique_ptr<ring> ring_;
    unsigned depth_;
    std::size_t queued_ = 0;
    // Kept alive until their sends complete (flush() waits for them).
    std::vector<std::vector<std::uint8_t>> packets_;
    std::vector<sockaddr_in> to_;
    std::vector<iovec> iov_;
    std::vector<msghdr> msgs_;
};

}  // namespace pxed::net
