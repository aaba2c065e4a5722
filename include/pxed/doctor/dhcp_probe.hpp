#pragma once
/// `pxed check --probe-dhcp`: is another DHCP server answering where pxed
/// is to answer (docs/doctor.md, "DHCP probe")? Off by default: it sends a
/// packet, so the caller runs it only when asked.
///
/// Only on the interfaces in server.interfaces: none listed, nothing
/// is sent and nothing found (pxed does not guess which network is the
/// provisioning one). Nothing either with server.dhcp.enabled off.
///
/// On each: one DHCPDISCOVER, broadcast from port 68 to 255.255.255.255:67
/// through that interface alone (SO_BINDTODEVICE; needs root, as port 68
/// does), from a random locally administered MAC with the broadcast flag
/// set (so servers broadcast their OFFER back rather than unicast it to an
/// address nobody has), dressed as a BIOS PXE client (option 60
/// "PXEClient", 93, 94) so proxyDHCP servers answer too. OFFERs for that
/// MAC and transaction are collected for `wait`.
///   - An OFFER from a server other than this pxed (server identifier not
///     server.address) is a warning: in server mode any; in proxy mode a
///     competing proxyDHCP (an OFFER without an address) only, since proxy
///     mode needs the network's own DHCP server.
///   - In proxy mode, no OFFER with an address is a warning too: nobody
///     hands out addresses (a server that answers only known MACs also
///     stays silent for the probe's random one).
///   - A probe that cannot run (not root, no such interface) is a warning
///     that says why.
/// Findings are located at server.interfaces.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pxed/doctor/finding.hpp"
#include "pxed/inventory/site.hpp"
#include "pxed/wire/ipv4.hpp"
#include "pxed/wire/mac.hpp"

namespace pxed::doctor {

/// `skipped` (may be null) receives one sentence when nothing was sent
/// ("no interface is listed in server.interfaces: DHCP probe not run").
std::vector<finding> probe_dhcp(const inventory::site& site, const locator& where, std::chrono::milliseconds wait,
                                std::string* skipped = nullptr);

/// The pure halves of the probe, for tests.
namespace dhcp_probe_detail {

/// The DHCPDISCOVER the probe broadcasts.
std::vector<std::uint8_t> discover(const wire::mac_address& mac, std::uint32_t xid);

struct offer {
    wire::ipv4_address server;   ///< option 54, else the datagram's source
    wire::ipv4_address address;  ///< yiaddr; 0.0.0.0 from a proxyDHCP server
};

/// An OFFER answering `discover(mac, xid)`, or nullopt for anything else.
std::optional<offer> read_offer(const std::uint8_t* data, std::size_t size, const wire::mac_address& mac,
                                std::uint32_t xid, wire::ipv4_address source);

}  // namespace dhcp_probe_detail
}  // namespace pxed::doctor
