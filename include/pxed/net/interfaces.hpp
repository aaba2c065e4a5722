#pragma once
/// The machine's network interfaces as the DHCP server needs them: name,
/// IPv4 addresses with prefixes, MTU, by interface index (IP_PKTINFO gives
/// the index of the interface a datagram came in on).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pxed/wire/ipv4.hpp"

namespace pxed::net {

struct interface_info {
    int index = 0;
    std::string name;
    std::vector<wire::ipv4_network> addresses;  ///< address (host bits kept) / prefix
    std::size_t mtu = 1500;
    bool loopback = false;
};

/// A snapshot of the interfaces (getifaddrs), refreshed on demand.
class interface_table {
public:
    /// Reads the interfaces again. Returns false (keeping the old table)
    /// when the kernel cannot be asked.
    bool refresh();
    const interface_info* find(int index) const;
    const std::map<int, interface_info>& all() const { return by_index_; }

private:
    std::map<int, interface_info> by_index_;
};

}  // namespace pxed::net
