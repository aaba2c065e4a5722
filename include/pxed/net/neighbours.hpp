#pragma once
/// The kernel's IPv4 neighbour (ARP) table: which MAC an address on a
/// directly attached network answers from. In proxyDHCP mode pxed hands out
/// no addresses, so this is how it knows that a request comes from the host
/// whose documents it asks for (docs/security.md). Clients behind a router
/// show the router's MAC, so they match no host.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "pxed/wire/mac.hpp"

namespace pxed::net {

/// The complete entries of /proc/net/arp's text: address (host byte
/// order) -> MAC. Parsed once per read, so that a lookup on the event
/// loop is a hash lookup, not a walk of the text.
using neighbour_map = std::unordered_map<std::uint32_t, wire::mac_address>;
neighbour_map parse_neighbours(std::string_view arp_table);

/// The MAC of `ipv4` (host byte order) in /proc/net/arp's text, if the
/// entry is complete.
std::optional<wire::mac_address> neighbour_in(std::string_view arp_table, std::uint32_t ipv4);

/// This network namespace's /proc/net/arp, as text for neighbour_in()
/// ("" when it cannot be read).
std::string read_neighbour_table();

}  // namespace pxed::net
