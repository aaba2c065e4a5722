// libFuzzer target for the DHCP server's decision path: any datagram that
// decodes is handed to one long-lived responder (so state from earlier
// inputs, offers, leases, quarantines, is exercised too), as if it came in
// directly, through a relay, or on the proxyDHCP port. Every reply must
// encode or fail with a reason, and no request may bind an address outside
// the pools or someone else's reservation.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "pxed/engine/dhcp_responder.hpp"
#include "pxed/inventory/load.hpp"
#include "pxed/proto/dhcp.hpp"

namespace {

using namespace pxed;

std::shared_ptr<const inventory::site> make_site(bool proxy) {
    inventory::load_options o;
    o.check_files = false;
    auto r = inventory::load_string(std::string(R"(server:
  address: 10.0.0.2
  dhcp: {mode: )") + (proxy ? "proxy" : "server") + R"(}
  tftp: {root: /srv/tftp}
  http: {port: 8080}
boot: {uefi-http: "http://10.0.0.2:8080/boot.efi"}
subnets:
  - {network: 10.0.0.0/24, ranges: [10.0.0.100-10.0.0.115], routers: [10.0.0.1]}
  - {network: 10.9.0.0/24, ranges: [10.9.0.10-10.9.0.13], relay_only: true, authoritative: false}
profiles: {c7: {label: c7, kernel: vmlinuz, initrd: initrd.img}}
menu: {default: c7}
hosts:
  - {mac: "52:54:00:00:00:01", hostname: web01, ip: 10.0.0.11, profile: c7}
)", "fuzz.yaml", "/", o);
    if (!r.model) std::abort();
    return r.model;
}

struct world {
    std::shared_ptr<const inventory::site> site = make_site(false);
    std::shared_ptr<const inventory::site> proxy_site = make_site(true);
    dhcp::responder server{site, std::make_shared<render::renderer>(site, render::template_set::builtin())};
    dhcp::responder proxy{proxy_site, std::make_shared<render::renderer>(proxy_site, render::template_set::builtin())};
    dhcp::unix_time now = 1'800'000'000;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static world w;
    if (size < 2) return 0;
    const auto selector = data[0];
    auto decoded = dhcp::decode(data + 1, size - 1);
    if (!decoded) return 0;

    dhcp::arrival a;
    a.ifindex = 2;
    a.ifname = "eth0";
    a.interface_addresses = {wire::ipv4_network(wire::ipv4_address(0x0a000002u), 24)};
    a.destination = (selector & 1) ? wire::ipv4_address(0x0a000002u) : wire::ipv4_address(0xffffffffu);
    a.local_port = (selector & 2) ? dhcp::pxe_port : dhcp::server_port;
    a.source = wire::ipv4_address(0x0a000063u);
    w.now += selector >> 4;  // time moves on, sometimes by nothing

    auto& r = (selector & 4) ? w.proxy : w.server;
    const auto out = r.handle(decoded.value(), a, w.now);
    if (out.reply) {
        dhcp::encode_options eo;
        eo.max_message_size = out.reply->max_size;
        (void)dhcp::encode(out.reply->msg, eo);
    }
    (void)w.server.expire(w.now);

    // Whatever the packets said: a bound address is the reservation of the
    // host that holds it, or a dynamic one that nobody has reserved.
    static const auto reserved_mac = wire::mac_address::parse("52:54:00:00:00:01");
    for (const auto& l : w.server.leases()) {
        if (l.state != store::lease_state::bound) continue;
        const auto ip = l.ip.value();
        if (ip == 0x0a00000bu) {
            if (l.mac != reserved_mac) std::abort();
        } else if (!(ip >= 0x0a000064u && ip <= 0x0a000073u) && !(ip >= 0x0a09000au && ip <= 0x0a09000du)) {
            std::abort();
        }
    }
    return 0;
}
