#pragma once
/// Receiving UDP datagrams together with the local address and interface they
/// arrived on (IP_PKTINFO), which Asio does not expose. A server bound to
/// 0.0.0.0 needs it to answer from the address the client talked to.

#include <cstddef>
#include <cstdint>
#include <netinet/in.h>
#include <optional>

namespace pxed::net {

struct datagram_info {
    std::size_t size = 0;
    sockaddr_in peer{};
    in_addr local{};        ///< destination address of the datagram
    unsigned ifindex = 0;   ///< interface it arrived on
    bool truncated = false;
};

/// Asks the kernel to report IP_PKTINFO on `fd`. Returns false on failure.
bool enable_pktinfo(int fd);

/// One non-blocking recvmsg(). nullopt when nothing is queued (EAGAIN) or on
/// an error; `err` is set to errno then.
std::optional<datagram_info> receive_datagram(int fd, std::uint8_t* buf, std::size_t len, int& err);

/// Largest IPv4 datagram payload that fits the path MTU towards `peer`,
/// asked of the kernel with a throwaway connected socket (IP_MTU).
/// nullopt when the kernel cannot tell.
std::optional<std::size_t> path_mtu(const sockaddr_in& local, const sockaddr_in& peer);

}  // namespace pxed::net
