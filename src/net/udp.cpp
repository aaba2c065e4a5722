#include "pxed/net/udp.hpp"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace pxed::net {

bool enable_pktinfo(int fd) {
    const int on = 1;
    return ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) == 0;
}

std::optional<datagram_info> receive_datagram(int fd, std::uint8_t* buf, std::size_t len, int& err) {
    datagram_info info;
    iovec iov{buf, len};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))];
    msghdr msg{};
    msg.msg_name = &info.peer;
    msg.msg_namelen = sizeof info.peer;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = ::recvmsg(fd, &msg, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        err = errno;
        return std::nullopt;
    }
    err = 0;
    info.size = static_cast<std::size_t>(n);
    info.truncated = (msg.msg_flags & MSG_TRUNC) != 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            in_pktinfo pi;
            std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
            info.local = pi.ipi_addr;
            info.ifindex = static_cast<unsigned>(pi.ipi_ifindex);
        }
    }
    return info;
}

std::optional<std::size_t> path_mtu(const sockaddr_in& local, const sockaddr_in& peer) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::nullopt;
    sockaddr_in from = local;
    from.sin_port = 0;
    int mtu = 0;
    socklen_t len = sizeof mtu;
    // connect() on UDP sends nothing: it only looks the route up, which is
    // what makes IP_MTU answer for this peer.
    const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&from), sizeof from) == 0 &&
                    ::connect(fd, reinterpret_cast<const sockaddr*>(&peer), sizeof peer) == 0 &&
                    ::getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &len) == 0 && mtu > 28;
    ::close(fd);
    if (!ok) return std::nullopt;
    return static_cast<std::size_t>(mtu) - 20 - 8;  // IPv4 and UDP headers
}

}  // namespace pxed::net
