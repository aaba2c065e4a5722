// The DHCP responder driven by scripted requests and a fake clock: every
// RFC 2131 server state, PXE boot choices, relays, proxyDHCP, expiry.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "pxed/engine/dhcp_responder.hpp"
#include "pxed/inventory/load.hpp"

using namespace pxed;
using namespace pxed::dhcp;
using ::testing::HasSubstr;
using wire::ipv4_address;

namespace {

const std::string base_yaml = R"(server:
  address: 10.0.0.2
  tftp: {root: /srv/tftp}
  http: {port: 8080}
  dhcp: {relay_agents: [10.9.0.1]}
boot:
  uefi-http: http://10.0.0.2:8080/EFI/BOOT/BOOTX64.EFI
subnets:
  - network: 10.0.0.0/24
    ranges: [10.0.0.100-10.0.0.109]
    routers: [10.0.0.1]
    dns: [10.0.0.53]
    domain: lab.example
    lease_time: 1h
    max_lease_time: 2h
  - network: 10.9.0.0/24
    ranges: [10.9.0.10-10.9.0.20]
    relay_only: true
    authoritative: false
trees:
  c7: {path: /srv/c7, url: /pub/centos/7/x86_64}
profiles:
  c7: {label: CentOS 7, tree: c7, kernel: c7/vmlinuz, initrd: c7/initrd.img}
menu: {default: c7, unknown_hosts: UNKNOWN}
hosts:
  - {mac: "52:54:00:00:00:01", hostname: web01.lab.example, ip: 10.0.0.11, profile: c7}
  - {mac: "52:54:00:00:00:02", hostname: db01, profile: c7}
)";

std::shared_ptr<const inventory::site> load(const std::string& unknown = "menu", const std::string& extra = "") {
    std::string yaml = base_yaml;
    yaml.replace(yaml.find("UNKNOWN"), 7, unknown);
    yaml += extra;
    inventory::load_options o;
    o.check_files = false;
    auto r = inventory::load_string(yaml, "site.yaml", "/etc/pxed", o);
    std::string msgs;
    for (const auto& d : r.diagnostics) msgs += d.to_string() + "\n";
    if (!r.model) throw std::runtime_error(msgs);
    return r.model;
}

std::shared_ptr<const render::renderer> renderer_for(std::shared_ptr<const inventory::site> s) {
    return std::make_shared<render::renderer>(s, render::template_set::builtin());
}

wire::mac_address mac_n(unsigned n) {
    return wire::mac_address::parse("52:54:00:10:" + std::string(1, "0123456789abcdef"[(n >> 4) & 15]) +
                                    std::string(1, "0123456789abcdef"[n & 15]) + ":" +
                                    std::string(1, "0123456789abcdef"[(n >> 12) & 15]) +
                                    std::string(1, "0123456789abcdef"[(n >> 8) & 15]))
        .value();
}

message request(message_type t, const wire::mac_address& mac, std::uint32_t xid = 42) {
    message m;
    m.op = op_code::boot_request;
    m.xid = xid;
    m.set_mac(mac);
    m.set_message_type(t);
    return m;
}

message pxe(message m, client_arch arch) {
    m.set_string(option_code::vendor_class_identifier,
                 "PXEClient:Arch:0000" + std::to_string(static_cast<int>(arch)) + ":UNDI:003016");
    m.set_u16(option_code::client_system_architecture, static_cast<std::uint16_t>(arch));
    return m;
}

arrival on_eth0() {
    arrival a;
    a.ifindex = 3;
    a.ifname = "eth0";
    a.interface_addresses = {wire::ipv4_network(ipv4_address::parse("10.0.0.2").value(), 24)};
    a.destination = ipv4_address{0xffffffffu};
    a.local_port = server_port;
    return a;
}

arrival from_relay() {
    arrival a = on_eth0();
    a.destination = ipv4_address::parse("10.0.0.2").value();
    a.source = ipv4_address::parse("10.9.0.1").value();
    a.source_port = server_port;
    return a;
}

ipv4_address ip(const char* s) { return ipv4_address::parse(s).value(); }

struct fixture : ::testing::Test {
    std::shared_ptr<const inventory::site> site = load();
    responder r{site, renderer_for(site)};
    unix_time now = 1'800'000'000;

    outcome send(const message& m, const arrival& a = on_eth0()) { return r.handle(m, a, now); }

    // DISCOVER + REQUEST; returns the ACKed address.
    ipv4_address dora(const wire::mac_address& mac) {
        auto offer = send(request(message_type::discover, mac));
        EXPECT_TRUE(offer.reply) << offer.log;
        if (!offer.reply) return {};
        auto req = request(message_type::request, mac);
        req.set_ipv4(option_code::server_identifier, offer.reply->msg.server_id().value());
        req.set_ipv4(option_code::requested_address, offer.reply->msg.yiaddr);
        auto ack = send(req);
        EXPECT_TRUE(ack.reply) << ack.log;
        if (!ack.reply) return {};
        EXPECT_EQ(ack.reply->msg.message_type(), message_type::ack);
        return ack.reply->msg.yiaddr;
    }
};

// A choice without a file says why once: an architecture no boot.* key
// serves says so itself; a known one whose key is empty gets the suffix.
TEST_F(fixture, a_boot_choice_without_a_file_says_why_once) {
    const auto ia32 = r.choose_boot(pxe(request(message_type::discover, mac_n(1)), client_arch::efi_ia32), nullptr);
    EXPECT_EQ(ia32.file, "");
    EXPECT_EQ(ia32.why, "uefi-ia32: no boot file configured");
    const auto odd = r.choose_boot(pxe(request(message_type::discover, mac_n(1)), client_arch::ppc_open_firmware), nullptr);
    EXPECT_EQ(odd.file, "");
    EXPECT_EQ(odd.why, "architecture 12 has no boot file");
    const auto bios = r.choose_boot(pxe(request(message_type::discover, mac_n(1)), client_arch::x86_bios), nullptr);
    EXPECT_EQ(bios.file, "pxelinux.0");
    EXPECT_EQ(bios.why, "bios");
}

TEST_F(fixture, discover_gets_an_offer_with_pxe_boot_information) {
    auto d = pxe(request(message_type::discover, mac_n(1)), client_arch::x86_bios);
    d.set_broadcast(true);
    const auto o = send(d);
    ASSERT_TRUE(o.reply) << o.log;
    const auto& m = o.reply->msg;
    EXPECT_EQ(m.op, op_code::boot_reply);
    EXPECT_EQ(m.xid, 42u);
    EXPECT_EQ(m.message_type(), message_type::offer);
    EXPECT_TRUE(ip("10.0.0.100") <= m.yiaddr && m.yiaddr <= ip("10.0.0.109"));
    EXPECT_EQ(m.server_id(), ip("10.0.0.2"));
    EXPECT_EQ(m.lease_time(), 3600u);
    EXPECT_EQ(m.siaddr, ip("10.0.0.2"));
    EXPECT_EQ(m.file, "pxelinux.0");
    EXPECT_EQ(m.vendor_class(), "PXEClient");  // iPXE waits 3 s for more offers without it
    // EDK2 takes PXEClient without option 43 for a BINL offer and asks port 4011.
    ASSERT_NE(m.find(option_code::vendor_encapsulated), nullptr);
    EXPECT_EQ(m.find(option_code::vendor_encapsulated)->value, (std::vector<std::uint8_t>{6, 1, 8, 255}));
    EXPECT_EQ(m.options.front().code, code_of(option_code::message_type));
    EXPECT_TRUE(o.changes.empty()) << "an offer is not a lease";
    EXPECT_EQ(o.reply->to.address, ip("255.255.255.255"));
    EXPECT_EQ(o.reply->to.port, client_port);
    EXPECT_EQ(o.reply->to.ifindex, 3);
    EXPECT_FALSE(o.reply->to.to_hardware_address);
    EXPECT_TRUE(encode(m).ok());
}

TEST_F(fixture, offer_without_broadcast_bit_is_marked_for_the_hardware_address) {
    const auto o = send(request(message_type::discover, mac_n(1)));
    ASSERT_TRUE(o.reply);
    EXPECT_TRUE(o.reply->to.to_hardware_address);
}

TEST_F(fixture, selecting_request_is_acked_and_persisted_before_the_reply) {
    auto offer = send(request(message_type::discover, mac_n(2)));
    ASSERT_TRUE(offer.reply);
    auto req = request(message_type::request, mac_n(2));
    req.set_ipv4(option_code::server_identifier, ip("10.0.0.2"));
    req.set_ipv4(option_code::requested_address, offer.reply->msg.yiaddr);
    const auto ack = send(req);
    ASSERT_TRUE(ack.reply);
    EXPECT_EQ(ack.reply->msg.message_type(), message_type::ack);
    EXPECT_EQ(ack.reply->msg.yiaddr, offer.reply->msg.yiaddr);
    ASSERT_EQ(ack.changes.size(), 1u);
    EXPECT_EQ(ack.changes[0].state, store::lease_state::bound);
    EXPECT_EQ(ack.changes[0].ends, now + 3600);
    EXPECT_EQ(ack.changes[0].mac, mac_n(2));
    EXPECT_EQ(ack.changes[0].subnet, "10.0.0.0/24");
    EXPECT_EQ(ack.level, log_level::info);
}

TEST_F(fixture, request_for_another_server_frees_our_offer) {
    // Range of 10: fill 9, leave one offered to A; A picks another server.
    for (unsigned i = 0; i < 9; ++i) dora(mac_n(100 + i));
    const auto offer = send(request(message_type::discover, mac_n(1)));
    ASSERT_TRUE(offer.reply);
    EXPECT_FALSE(send(request(message_type::discover, mac_n(2))).reply) << "the last address is held for A";
    auto req = request(message_type::request, mac_n(1));
    req.set_ipv4(option_code::server_identifier, ip("10.0.0.254"));
    req.set_ipv4(option_code::requested_address, ip("10.0.0.250"));
    const auto o = send(req);
    EXPECT_FALSE(o.reply);
    const auto b = send(request(message_type::discover, mac_n(2)));
    ASSERT_TRUE(b.reply) << b.log;
    EXPECT_EQ(b.reply->msg.yiaddr, offer.reply->msg.yiaddr);
}

// --- a lease database shared with other instances (server.store) ---------

TEST_F(fixture, an_address_another_instance_bound_is_not_offered_and_its_renewal_is_ours_to_answer) {
    // Another instance bound mac 7 to the address mac 8 would be offered.
    const auto offered = send(request(message_type::discover, mac_n(8)));
    ASSERT_TRUE(offered.reply);
    const auto taken = offered.reply->msg.yiaddr;
    store::lease row;
    row.ip = taken;
    row.client_key = std::string(reinterpret_cast<const char*>(mac_n(7).bytes().data()), 6);
    row.mac = mac_n(7);
    row.state = store::lease_state::bound;
    row.starts = now;
    row.ends = now + 3600;
    row.subnet = "10.0.0.0/24";
    r.adopt({row}, now);
    // mac 8's OFFER is forgotten: its REQUEST for that address is refused,
    // and a new DISCOVER gets another address.
    auto req = request(message_type::request, mac_n(8));
    req.set_ipv4(option_code::server_identifier, ip("10.0.0.2"));
    req.set_ipv4(option_code::requested_address, taken);
    const auto refused = send(req);
    ASSERT_TRUE(refused.reply);
    EXPECT_EQ(refused.reply->msg.message_type(), message_type::nak);
    const auto again = send(request(message_type::discover, mac_n(8)));
    ASSERT_TRUE(again.reply);
    EXPECT_NE(again.reply->msg.yiaddr, taken);
    // mac 7, rebooting, asks this instance for its address: it is known here.
    auto reboot = request(message_type::request, mac_n(7));
    reboot.set_ipv4(option_code::requested_address, taken);
    const auto ack = send(reboot);
    ASSERT_TRUE(ack.reply) << ack.log;
    EXPECT_EQ(ack.reply->msg.message_type(), message_type::ack);
    EXPECT_EQ(ack.reply->msg.yiaddr, taken);
}

TEST_F(fixture, with_a_shared_store_every_written_ack_carries_the_nak_to_send_if_refused) {
    responder_config cfg;
    cfg.shared_store = true;
    responder shared{site, renderer_for(site), cfg};
    const auto offer = shared.handle(request(message_type::discover, mac_n(3)), on_eth0(), now);
    ASSERT_TRUE(offer.reply);
    EXPECT_FALSE(offer.if_refused) << "an OFFER writes nothing";
    auto req = request(message_type::request, mac_n(3));
    req.set_ipv4(option_code::server_identifier, ip("10.0.0.2"));
    req.set_ipv4(option_code::requested_address, offer.reply->msg.yiaddr);
    const auto ack = shared.handle(req, on_eth0(), now);
    ASSERT_TRUE(ack.reply);
    ASSERT_EQ(ack.changes.size(), 1u);
    ASSERT_TRUE(ack.if_refused);
    EXPECT_EQ(ack.if_refused->msg.message_type(), message_type::nak);
    EXPECT_EQ(ack.if_refused->msg.xid, req.xid);
    // Without a shared store there is none.
    const auto plain = dora(mac_n(4));
    EXPECT_FALSE(plain.is_unspecified());
}

TEST_F(fixture, a_lease_the_store_could_not_write_is_never_answered_from_memory) {
    // The commit of mac 5's ACK failed (the database was down): its retry
    // must be written again, not answered as "renewed recently".
    const auto offer = send(request(message_type::discover, mac_n(5)));
    ASSERT_TRUE(offer.reply);
    auto req = request(message_type::request, mac_n(5));
    req.set_ipv4(option_code::server_identifier, ip("10.0.0.2"));
    req.set_ipv4(option_code::requested_address, offer.reply->msg.yiaddr);
    const auto first = send(req);
    ASSERT_EQ(first.changes.size(), 1u);
    r.unconfirmed(first.changes, now);
    EXPECT_EQ(r.active_leases(now), 0u);
    now += 2;
    const auto retry = send(req);
    ASSERT_TRUE(retry.reply) << retry.log;
    EXPECT_EQ(retry.reply->msg.message_type(), message_type::ack);
    EXPECT_EQ(retry.reply->msg.yiaddr, offer.reply->msg.yiaddr);
    EXPECT_EQ(retry.changes.size(), 1u) << "written anew";
    // Once written, a quick repeat is answered from memory as before.
    now += 2;
    EXPECT_TRUE(send(req).changes.empty());
}

TEST_F(fixture, with_the_store_unreachable_known_leases_are_renewed_for_what_is_left_and_nobody_new_is_answered) {
    const auto held = dora(mac_n(9));
    ASSERT_FALSE(held.is_unspecified());
    r.set_store_available(false);
    now += 1800;  // half the hour gone: a renewal would normally write
    const auto stranger = send(request(message_type::discover, mac_n(10)));
    EXPECT_FALSE(stranger.reply);
    EXPECT_EQ(stranger.kind, log_kind::store_down);
    EXPECT_NE(stranger.log.find("lease database is unreachable"), std::string::npos) << stranger.log;
    const auto offer = send(request(message_type::discover, mac_n(9)));
    ASSERT_TRUE(offer.reply) << offer.log;
    EXPECT_EQ(offer.reply->msg.yiaddr, held);
    auto renew = request(message_type::request, mac_n(9));
    renew.ciaddr = held;
    const auto ack = send(renew);
    ASSERT_TRUE(ack.reply) << ack.log;
    EXPECT_EQ(ack.reply->msg.message_type(), message_type::ack);
    EXPECT_TRUE(ack.changes.empty()) << "nothing to write";
    EXPECT_EQ(ack.reply->msg.lease_time(), 1800u) << "what is left of the stored lease";
    // Back: a renewal writes again.
    r.set_store_available(true);
    EXPECT_EQ(send(renew).changes.size(), 1u);
}

TEST_F(fixture, no_address_is_offered_to_two_clients_even_in_a_burst) {
    std::set<std::uint32_t> seen;
    for (unsigned i = 0; i < 10; ++i) {
        const auto o = send(request(message_type::discover, mac_n(i)));
        ASSERT_TRUE(o.reply) << o.log;
        EXPECT_TRUE(seen.insert(o.reply->msg.yiaddr.value()).second) << o.reply->msg.yiaddr.to_string();
    }
    const auto full = send(request(message_type::discover, mac_n(99)));
    EXPECT_FALSE(full.reply);
    EXPECT_EQ(full.level, log_level::warn);
    EXPECT_THAT(full.log, HasSubstr("no free address"));
    // The holds lapse after 30 s: the addresses can be offered again.
    now += 31;
    r.expire(now);
    EXPECT_TRUE(send(request(message_type::discover, mac_n(99))).reply);
}

TEST_F(fixture, a_client_keeps_its_address_across_requests_expiry_and_restarts) {
    const auto first = dora(mac_n(7));
    EXPECT_EQ(send(request(message_type::discover, mac_n(7))).reply->msg.yiaddr, first);
    EXPECT_EQ(dora(mac_n(7)), first);

    now += 7200;  // expired
    const auto expired = r.expire(now);
    ASSERT_EQ(expired.size(), 1u);
    EXPECT_EQ(expired[0].state, store::lease_state::expired);
    EXPECT_EQ(r.active_leases(now), 0u);
    EXPECT_EQ(dora(mac_n(7)), first);

    // A new responder restored from the store gives the same answer.
    responder again{site, renderer_for(site)};
    again.restore(r.leases(), now);
    const auto o = again.handle(request(message_type::discover, mac_n(7)), on_eth0(), now);
    ASSERT_TRUE(o.reply);
    EXPECT_EQ(o.reply->msg.yiaddr, first);
    // ... and never gives that address to anyone else while it is bound.
    for (unsigned i = 0; i < 9; ++i) {
        const auto x = again.handle(request(message_type::discover, mac_n(200 + i)), on_eth0(), now);
        ASSERT_TRUE(x.reply);
        EXPECT_NE(x.reply->msg.yiaddr, first);
    }
}

TEST_F(fixture, reservations_win_and_are_never_handed_to_others) {
    const auto o = send(request(message_type::discover, wire::mac_address::parse("52:54:00:00:00:01").value()));
    ASSERT_TRUE(o.reply);
    EXPECT_EQ(o.reply->msg.yiaddr, ip("10.0.0.11"));
    // web01.lab.example: option 12 carries the first label.
    EXPECT_EQ(o.reply->msg.hostname(), "web01");

    auto steal = request(message_type::request, mac_n(5));
    steal.set_ipv4(option_code::requested_address, ip("10.0.0.11"));
    EXPECT_FALSE(send(steal).reply) << "a client with no record here gets nothing";
    steal.set_ipv4(option_code::server_identifier, ip("10.0.0.2"));
    const auto n = send(steal);
    ASSERT_TRUE(n.reply);
    EXPECT_EQ(n.reply->msg.message_type(), message_type::nak);

    // The reserved host asking for a dynamic address is moved to its own.
    auto wrong = request(message_type::request, wire::mac_address::parse("52:54:00:00:00:01").value());
    wrong.set_ipv4(option_code::requested_address, ip("10.0.0.105"));
    const auto m = send(wrong);
    ASSERT_TRUE(m.reply);
    EXPECT_EQ(m.reply->msg.message_type(), message_type::nak);
}

TEST_F(fixture, init_reboot_acks_its_own_address_and_naks_foreign_ones) {
    const auto mine = dora(mac_n(3));
    auto reboot = request(message_type::request, mac_n(3));
    reboot.set_ipv4(option_code::requested_address, mine);
    auto o = send(reboot);
    ASSERT_TRUE(o.reply);
    EXPECT_EQ(o.reply->msg.message_type(), message_type::ack);

    auto moved = request(message_type::request, mac_n(3));
    moved.set_ipv4(option_code::requested_address, ip("192.168.1.50"));
    o = send(moved);
    ASSERT_TRUE(o.reply);
    EXPECT_EQ(o.reply->msg.message_type(), message_type::nak);
    EXPECT_EQ(o.reply->to.address, ip("255.255.255.255")) << "NAKs are broadcast";
    EXPECT_EQ(o.reply->msg.yiaddr, ipv4_address{});

    auto other = request(message_type::request, mac_n(4));
    other.set_ipv4(option_code::requested_address, mine);
    o = send(other);
    EXPECT_FALSE(o.reply) << "no record of mac 4: silent";
    EXPECT_TRUE(o.changes.empty());

    // A client we have no record of, asking for a free address of ours,
    // gets nothing (RFC 2131 4.3.2), and nothing is stored.
    auto unknown = request(message_type::request, mac_n(5));
    unknown.set_ipv4(option_code::requested_address, ip("10.0.0.109"));
    o = send(unknown);
    EXPECT_FALSE(o.reply);
    EXPECT_TRUE(o.changes.empty());
    EXPECT_EQ(o.kind, log_kind::stranger);
    // Nor does one that knows our server identifier but had no offer.
    unknown.set_ipv4(option_code::server_identifier, ip("10.0.0.2"));
    o = send(unknown);
    ASSERT_TRUE(o.reply);
    EXPECT_EQ(o.reply->msg.message_type(), message_type::nak);
    EXPECT_TRUE(o.changes.empty());
    // Nor one that claims to be renewing it.
    auto renew = request(message_type::request, mac_n(6));
    renew.ciaddr = ip("10.0.0.108");
    EXPECT_FALSE(send(renew).reply);
    // A host with a reservation has a record: its reservation.
    auto reserved = request(message_type::request, wire::mac_address::parse("52:54:00:00:00:01").value());
    reserved.set_ipv4(option_code::requested_address, ip("10.0.0.11"));
    o = send(reserved);
    ASSERT_TRUE(o.reply);
    EXPECT_EQ(o.reply->msg.message_type(), message_type::ack);
}

TEST_F(fixture, renewing_extends_the_lease_and_replies_to_ciaddr) {
    const auto mine = dora(mac_n(3));
    now += 1800;
    auto renew = request(message_type::request, mac_n(3));
    renew.ciaddr = mine;
    renew.set_u32(option_code::lease_time, 999999);  // more than max_lease_time
    const auto o = send(renew);
    ASSERT_TRUE(o.reply);
    EXPECT_EQ(o.reply->msg.message_type(), message_type::ack);
    EXPECT_EQ(o.reply->msg.lease_time(), 7200u);
    EXPECT_EQ(o.reply->to.address, mine);
    EXPECT_EQ(o.reply->to.port, client_port);
    ASSERT_EQ(o.changes.size(), 1u);
    EXPECT_EQ(o.changes[0].ends, now + 7200);
    now += 3600;
    EXPECT_TRUE(r.expire(now).empty()) << "the renewed lease outlives the first end";
}

TEST_F(fixture, decline_quarantines_the_address) {
    const auto bad = dora(mac_n(3));
    auto decline = request(message_type::decline, mac_n(3));
    decline.set_ipv4(option_code::requested_address, bad);
    decline.set_ipv4(option_code::server_identifier, ip("10.0.0.2"));
    const auto o = send(decline);
    EXPECT_FALSE(o.reply);
    ASSERT_EQ(o.changes.size(), 1u);
    EXPECT_EQ(o.changes[0].state, store::lease_state::declined);
    EXPECT_EQ(o.changes[0].ends, now + 3600);

    const auto next = send(request(message_type::discover, mac_n(3)));
    ASSERT_TRUE(next.reply);
    EXPECT_NE(next.reply->msg.yiaddr, bad);
    // Nobody gets it during the quarantine, not even by asking.
    auto ask = request(message_type::discover, mac_n(8));
    ask.set_ipv4(option_code::requested_address, bad);
    EXPECT_NE(send(ask).reply->msg.yiaddr, bad);

    now += 3601;
    const auto back = r.expire(now);
    ASSERT_FALSE(back.empty());
    auto again = request(message_type::discover, mac_n(9));
    again.set_ipv4(option_code::requested_address, bad);
    EXPECT_EQ(send(again).reply->msg.yiaddr, bad);
}

TEST_F(fixture, decline_from_a_client_that_does_not_hold_the_address_is_ignored) {
    const auto a = dora(mac_n(3));
    auto decline = request(message_type::decline, mac_n(4));
    decline.set_ipv4(option_code::requested_address, a);
    const auto o = send(decline);
    EXPECT_TRUE(o.changes.empty());
    EXPECT_EQ(o.level, log_level::warn);
}

TEST_F(fixture, release_frees_the_address_but_remembers_the_client) {
    const auto a = dora(mac_n(3));
    auto rel = request(message_type::release, mac_n(3));
    rel.ciaddr = a;
    rel.set_ipv4(option_code::server_identifier, ip("10.0.0.2"));
    arrival from_client = on_eth0();
    from_client.destination = ip("10.0.0.2");
    from_client.source = a;
    const auto o = send(rel, from_client);
    EXPECT_FALSE(o.reply);
    ASSERT_EQ(o.changes.size(), 1u);
    EXPECT_EQ(o.changes[0].state, store::lease_state::released);
    EXPECT_EQ(r.active_leases(now), 0u);
    EXPECT_EQ(dora(mac_n(3)), a);
}

TEST_F(fixture, inform_gets_configuration_without_an_address) {
    auto inf = request(message_type::inform, mac_n(3));
    inf.ciaddr = ip("10.0.0.50");
    const auto o = send(inf);
    ASSERT_TRUE(o.reply);
    EXPECT_EQ(o.reply->msg.message_type(), message_type::ack);
    EXPECT_EQ(o.reply->msg.yiaddr, ipv4_address{});
    EXPECT_FALSE(o.reply->msg.lease_time());
    EXPECT_EQ(o.reply->to.address, ip("10.0.0.50"));
    EXPECT_TRUE(o.changes.empty());
}

TEST_F(fixture, relayed_requests_use_the_relays_subnet_and_go_back_to_the_relay) {
    auto d = request(message_type::discover, mac_n(3));
    d.giaddr = ip("10.9.0.1");
    d.hops = 1;
    d.set(option_code::relay_agent_information, {1, 4, 'p', 'o', 'r', 't'});
    const auto o = send(d, from_relay());
    ASSERT_TRUE(o.reply) << o.log;
    const auto& m = o.reply->msg;
    EXPECT_TRUE(ip("10.9.0.10") <= m.yiaddr && m.yiaddr <= ip("10.9.0.20"));
    EXPECT_EQ(m.giaddr, ip("10.9.0.1"));
    EXPECT_EQ(m.server_id(), ip("10.0.0.2"));
    EXPECT_EQ(o.reply->to.address, ip("10.9.0.1"));
    EXPECT_EQ(o.reply->to.port, server_port);
    ASSERT_NE(m.find(option_code::relay_agent_information), nullptr);
    EXPECT_EQ(m.options.back().code, code_of(option_code::relay_agent_information));

    // A relay_only subnet is never served to a directly attached client.
    arrival direct = on_eth0();
    direct.interface_addresses = {wire::ipv4_network(ip("10.9.0.2"), 24)};
    EXPECT_FALSE(send(request(message_type::discover, mac_n(4)), direct).reply);
}

TEST_F(fixture, non_authoritative_subnets_stay_silent_instead_of_naking) {
    auto req = request(message_type::request, mac_n(3));
    req.giaddr = ip("10.9.0.1");
    req.set_ipv4(option_code::requested_address, ip("10.9.0.200"));  // outside the range
    EXPECT_FALSE(send(req, from_relay()).reply);
}

TEST_F(fixture, no_subnet_on_the_interface_means_no_answer) {
    arrival other = on_eth0();
    other.interface_addresses = {wire::ipv4_network(ip("172.16.0.1"), 24)};
    const auto o = send(request(message_type::discover, mac_n(3)), other);
    EXPECT_FALSE(o.reply);
    EXPECT_THAT(o.log, HasSubstr("no subnet"));
}

TEST_F(fixture, boot_file_follows_the_architecture) {
    struct row {
        client_arch arch;
        const char* file;
    };
    for (const auto& [arch, file] : {row{client_arch::x86_bios, "pxelinux.0"}, row{client_arch::efi_bc, "grubx64.efi"},
                                     row{client_arch::efi_x86_64, "grubx64.efi"},
                                     row{client_arch::efi_arm64, "grubaa64.efi"}}) {
        const auto o = send(pxe(request(message_type::discover, mac_n(3)), arch));
        ASSERT_TRUE(o.reply);
        EXPECT_EQ(o.reply->msg.file, file) << static_cast<int>(arch);
    }
    // An architecture pxed has no loader for: an address, no boot file.
    const auto o = send(pxe(request(message_type::discover, mac_n(3)), client_arch::efi_ia32));
    ASSERT_TRUE(o.reply);
    EXPECT_EQ(o.reply->msg.file, "");
    // dhclient sends no architecture: the classic recipe's pxelinux.0, and no
    // PXE vendor options.
    const auto os = send(request(message_type::discover, mac_n(3)));
    EXPECT_EQ(os.reply->msg.file, "pxelinux.0");
    EXPECT_FALSE(os.reply->msg.has(option_code::vendor_encapsulated));
    EXPECT_FALSE(os.reply->msg.has(option_code::vendor_class_identifier));
}

TEST_F(fixture, ipxe_gets_its_script_url_and_uefi_http_boot_a_url) {
    auto d = pxe(request(message_type::discover, mac_n(3)), client_arch::x86_bios);
    d.set_string(option_code::user_class, "iPXE");
    d.set(option_code::parameter_request_list, {1, 3, 66, 67, 175});
    auto o = send(d);
    ASSERT_TRUE(o.reply);
    const auto url = "http://10.0.0.2:8080/ipxe/" + mac_n(3).to_string();
    EXPECT_EQ(o.reply->msg.file, url);
    ASSERT_NE(o.reply->msg.find(option_code::bootfile_name), nullptr);
    EXPECT_EQ(o.reply->msg.find(option_code::tftp_server_name)->value.size(), std::string("10.0.0.2").size());
    EXPECT_TRUE(encode(o.reply->msg).ok()) << "no option twice";

    auto h = request(message_type::discover, mac_n(4));
    h.set_string(option_code::vendor_class_identifier, "HTTPClient:Arch:00016:UNDI:003001");
    h.set_u16(option_code::client_system_architecture, 16);
    o = send(h);
    ASSERT_TRUE(o.reply);
    EXPECT_EQ(o.reply->msg.vendor_class(), "HTTPClient");
    EXPECT_EQ(o.reply->msg.file, "http://10.0.0.2:8080/EFI/BOOT/BOOTX64.EFI");
}

message http_boot(const wire::mac_address& mac, std::uint16_t arch, message_type t = message_type::discover) {
    // What EDK2's HttpBootDxe sends (OVMF 2022.11 in the network-boot test).
    auto m = request(t, mac);
    m.set_string(option_code::vendor_class_identifier, "HTTPClient:Arch:000" + std::to_string(arch) + ":UNDI:003001");
    m.set_u16(option_code::client_system_architecture, arch);
    return m;
}

// The site of base_yaml without its boot.uefi-http, with `extra` appended.
std::shared_ptr<const inventory::site> without_uefi_http(const std::string& extra, const std::string& http = "{port: 8080}") {
    auto yaml = base_yaml;
    const std::string line = "boot:\n  uefi-http: http://10.0.0.2:8080/EFI/BOOT/BOOTX64.EFI\n";
    yaml.replace(yaml.find(line), line.size(), "");
    yaml.replace(yaml.find("{port: 8080}"), 12, http);
    if (http.find("enabled: false") != std::string::npos) {
        const std::string tree = "url: /pub/centos/7/x86_64}";
        yaml.replace(yaml.find(tree), tree.size(), "url: /pub/centos/7/x86_64, protocol: ftp}");
    }
    yaml.replace(yaml.find("UNKNOWN"), 7, "menu");
    inventory::load_options o;
    o.check_files = false;
    auto r = inventory::load_string(yaml + extra, "site.yaml", "/etc/pxed", o);
    std::string msgs;
    for (const auto& d : r.diagnostics) msgs += d.to_string() + "\n";
    if (!r.model) throw std::runtime_error(msgs);
    return r.model;
}

// UEFI HTTP Boot without a boot.uefi-http: the boot file of the client's
// architecture (option 93: 16 x64, 19 ARM64) from pxed's HTTP server, with
// HTTPClient echoed; nothing when HTTP is off.
TEST(dhcp_responder, uefi_http_boot_gets_its_architectures_boot_file_over_http_by_default) {
    const auto site = without_uefi_http("");
    responder r{site, renderer_for(site)};
    auto o = r.handle(http_boot(mac_n(4), 16), on_eth0(), 1000);
    ASSERT_TRUE(o.reply) << o.log;
    EXPECT_EQ(o.reply->msg.vendor_class(), "HTTPClient");
    EXPECT_EQ(o.reply->msg.file, "http://10.0.0.2:8080/grubx64.efi");
    EXPECT_FALSE(o.reply->msg.has(option_code::vendor_encapsulated)) << "no PXE discovery control for HTTP";
    o = r.handle(http_boot(mac_n(5), 19), on_eth0(), 1000);
    ASSERT_TRUE(o.reply) << o.log;
    EXPECT_EQ(o.reply->msg.vendor_class(), "HTTPClient");
    EXPECT_EQ(o.reply->msg.file, "http://10.0.0.2:8080/grubaa64.efi");
    const auto why = r.choose_boot(http_boot(mac_n(5), 19), nullptr).why;
    EXPECT_EQ(why, "uefi-arm64-http (boot.uefi-http)");
    // The default port is left out, as in every URL pxed renders.
    const auto port80 = without_uefi_http("", "{port: 80}");
    responder r80{port80, renderer_for(port80)};
    EXPECT_EQ(r80.choose_boot(http_boot(mac_n(4), 16), nullptr).file, "http://10.0.0.2/grubx64.efi");
    // An HTTP architecture pxed has no boot file for (18, ARM32): no URL, no HTTPClient.
    const auto arm32 = r.choose_boot(http_boot(mac_n(4), 18), nullptr);
    EXPECT_EQ(arm32.file, "");
    EXPECT_EQ(arm32.vendor_class, "");
    EXPECT_THAT(arm32.why, HasSubstr("no boot file for it"));

    const auto off = without_uefi_http("", "{enabled: false}");
    responder quiet{off, renderer_for(off)};
    o = quiet.handle(http_boot(mac_n(4), 16), on_eth0(), 1000);
    ASSERT_TRUE(o.reply) << "an address all the same";
    EXPECT_EQ(o.reply->msg.file, "");
    EXPECT_FALSE(o.reply->msg.has(option_code::vendor_class_identifier)) << "no HTTPClient: not a boot offer";
}

// boot.uefi-http is a template for the site; a profile's uefi-http
// (inherited) wins over it, a host's over its profile's; off turns it off.
TEST(dhcp_responder, uefi_http_url_comes_from_the_host_then_its_profile_then_the_site) {
    const auto site = without_uefi_http(R"(boot:
  uefi-http: "http://{{server}}:{{http_port}}/by-mac/{{mac_dashed}}/{{boot_file}}"
  uefi-x64: shimx64.efi
)");
    auto with_overrides = std::make_shared<inventory::site>(*site);
    auto& c7 = with_overrides->profiles.at("c7");
    c7.uefi_http = "https://mirror.example/efi/{{boot_file}}";
    auto& db01 = with_overrides->hosts[1];
    const auto web01 = with_overrides->hosts[0].mac;
    responder r{with_overrides, renderer_for(with_overrides)};
    // Unknown: the site's template, with the x64 boot file the site names.
    auto o = r.handle(http_boot(mac_n(6), 16), on_eth0(), 1000);
    ASSERT_TRUE(o.reply);
    EXPECT_EQ(o.reply->msg.file, "http://10.0.0.2:8080/by-mac/" + mac_n(6).to_dashed() + "/shimx64.efi");
    // web01: its profile's.
    o = r.handle(http_boot(web01, 16), on_eth0(), 1000);
    ASSERT_TRUE(o.reply);
    EXPECT_EQ(o.reply->msg.file, "https://mirror.example/efi/shimx64.efi");
    EXPECT_EQ(o.reply->msg.vendor_class(), "HTTPClient");
    // db01: its own, then off.
    db01.uefi_http = "http://10.0.0.9/db01/grubx64.efi";
    EXPECT_EQ(r.choose_boot(http_boot(db01.mac, 16), &db01).file, "http://10.0.0.9/db01/grubx64.efi");
    EXPECT_EQ(r.choose_boot(http_boot(db01.mac, 16), &db01).why, "uefi-x64-http (the host's uefi-http)");
    db01.uefi_http = "off";
    const auto none = r.choose_boot(http_boot(db01.mac, 16), &db01);
    EXPECT_EQ(none.file, "");
    EXPECT_EQ(none.vendor_class, "");
    EXPECT_EQ(none.why, "uefi-x64-http: the host's uefi-http is off");
    c7.uefi_http = "off";
    EXPECT_EQ(r.choose_boot(http_boot(web01, 16), with_overrides->find_host(web01)).why,
              "uefi-x64-http: profile c7's uefi-http is off");
}

TEST_F(fixture, options_66_and_67_only_when_asked) {
    auto o = send(pxe(request(message_type::discover, mac_n(3)), client_arch::x86_bios));
    EXPECT_FALSE(o.reply->msg.has(option_code::bootfile_name));
    EXPECT_FALSE(o.reply->msg.has(option_code::tftp_server_name));
}

TEST(dhcp_responder, unknown_clients_follow_the_inventory_policy) {
    const auto site = load("ignore");
    responder r{site, renderer_for(site)};
    EXPECT_FALSE(r.handle(request(message_type::discover, mac_n(3)), on_eth0(), 1000).reply);
    EXPECT_TRUE(
        r.handle(request(message_type::discover, wire::mac_address::parse("52:54:00:00:00:02").value()), on_eth0(), 1000)
            .reply);
}

TEST(dhcp_responder, proxy_mode_answers_pxe_clients_with_boot_information_only) {
    auto yaml_site = load("menu");
    auto proxy = std::make_shared<inventory::site>(*yaml_site);
    proxy->server.dhcp.mode = inventory::dhcp_mode::proxy;
    responder r{proxy, renderer_for(proxy)};

    EXPECT_FALSE(r.handle(request(message_type::discover, mac_n(3)), on_eth0(), 1000).reply) << "not a PXE client";

    auto d = pxe(request(message_type::discover, mac_n(3)), client_arch::x86_bios);
    d.set(option_code::client_machine_id, std::vector<std::uint8_t>(17, 0));
    const auto o = r.handle(d, on_eth0(), 1000);
    ASSERT_TRUE(o.reply);
    const auto& m = o.reply->msg;
    EXPECT_EQ(m.message_type(), message_type::offer);
    EXPECT_EQ(m.yiaddr, ipv4_address{});
    EXPECT_EQ(m.siaddr, ip("10.0.0.2"));
    EXPECT_EQ(m.file, "pxelinux.0");
    EXPECT_EQ(m.vendor_class(), "PXEClient");
    EXPECT_TRUE(m.has(option_code::vendor_encapsulated));
    EXPECT_TRUE(m.has(option_code::client_machine_id));
    EXPECT_FALSE(m.has(option_code::lease_time));
    EXPECT_TRUE(o.changes.empty());

    // The PXE boot server port: a REQUEST from a client that has its address.
    auto req = pxe(request(message_type::request, mac_n(3)), client_arch::x86_bios);
    req.ciaddr = ip("10.0.0.77");
    arrival a = on_eth0();
    a.local_port = pxe_port;
    a.destination = ip("10.0.0.2");
    a.source = ip("10.0.0.77");
    a.source_port = 4011;
    const auto b = r.handle(req, a, 1000);
    ASSERT_TRUE(b.reply);
    EXPECT_EQ(b.reply->msg.message_type(), message_type::ack);
    EXPECT_EQ(b.reply->to.address, ip("10.0.0.77"));
    EXPECT_EQ(b.reply->to.port, 4011);
    EXPECT_EQ(b.reply->msg.file, "pxelinux.0");

    // The site's DHCP server handles REQUESTs on port 67.
    EXPECT_FALSE(r.handle(req, on_eth0(), 1000).reply);
}

TEST_F(fixture, bootp_is_answered_for_reservations_only) {
    message m;
    m.set_mac(wire::mac_address::parse("52:54:00:00:00:01").value());
    auto o = send(m);
    ASSERT_TRUE(o.reply);
    EXPECT_EQ(o.reply->msg.yiaddr, ip("10.0.0.11"));
    EXPECT_FALSE(o.reply->msg.message_type());
    message anon;
    anon.set_mac(mac_n(3));
    EXPECT_FALSE(send(anon).reply);
}

TEST_F(fixture, replies_to_our_own_replies_are_ignored) {
    auto m = request(message_type::offer, mac_n(3));
    m.op = op_code::boot_reply;
    EXPECT_FALSE(send(m).reply);
}

TEST_F(fixture, reload_keeps_leases) {
    const auto a = dora(mac_n(3));
    const auto next = load("menu");
    r.update(next, renderer_for(next));
    EXPECT_EQ(dora(mac_n(3)), a);
}

// The site with one more host, reserved `address` (inside the dynamic
// range: the loader refuses that, the responder keeps it out of the pool
// all the same).
std::shared_ptr<const inventory::site> with_reservation(const inventory::site& s, const char* address) {
    auto out = std::make_shared<inventory::site>(s);
    inventory::host h;
    h.mac = *wire::mac_address::parse("52:54:00:00:00:09");
    h.ip = ip(address);
    h.profile = "c7";
    out->host_index.emplace(h.mac, out->hosts.size());
    out->hosts.push_back(h);
    return out;
}

// Every host's `ip:`, once each, and nothing else.
TEST(dhcp_reserved_addresses, are_the_hosts_addresses) {
    const auto site = with_reservation(*load(), "10.0.0.105");
    const auto reserved = reserved_addresses::of(*site);
    EXPECT_EQ(reserved->size(), 2U);
    EXPECT_TRUE(reserved->contains(ip("10.0.0.11")));
    EXPECT_TRUE(reserved->contains(ip("10.0.0.105")));
    EXPECT_FALSE(reserved->contains(ip("10.0.0.100")));
    EXPECT_FALSE(reserved->contains(ip("10.0.0.12")));
}

// A reload hands the responder the reserved addresses built on its worker
// thread: update() uses them as given and walks none of the site's hosts
// (were it to build them again itself, on the event loop, the new site's
// reservation of 10.0.0.100 would win over a set handed in without it).
TEST_F(fixture, a_reload_uses_the_reserved_addresses_it_is_handed) {
    const auto next = with_reservation(*site, "10.0.0.100");
    auto asks_for_100 = request(message_type::discover, mac_n(3));
    asks_for_100.set_ipv4(option_code::requested_address, ip("10.0.0.100"));

    // The new site's own set: 10.0.0.100 stays its host's.
    const auto replaced = r.update(next, renderer_for(next), reserved_addresses::of(*next));
    ASSERT_TRUE(replaced);
    EXPECT_EQ(replaced->size(), 1U) << "the set built at construction comes back, to be freed off the loop";
    auto offer = send(asks_for_100);
    ASSERT_TRUE(offer.reply) << offer.log;
    EXPECT_NE(offer.reply->msg.yiaddr, ip("10.0.0.100"));

    // A set without it (the old site's), handed in with the same new site:
    // the set decides, not the site's hosts.
    responder other{site, renderer_for(site)};
    other.update(next, renderer_for(next), reserved_addresses::of(*site));
    offer = other.handle(asks_for_100, on_eth0(), now);
    ASSERT_TRUE(offer.reply) << offer.log;
    EXPECT_EQ(offer.reply->msg.yiaddr, ip("10.0.0.100"));
}

}  // namespace

// lifecycle.installed_pxe: none. The lifecycle decides per host; an
// installed host then gets its address and no boot file, so its firmware
// goes on to the disk; everyone else is answered as before.
TEST(dhcp_responder, hosts_the_lifecycle_names_get_no_boot_file) {
    const auto site = load();
    responder_config cfg;
    const auto web01 = *wire::mac_address::parse("52:54:00:00:00:01");
    cfg.no_boot_file = [web01](const wire::mac_address& m) { return m == web01; };
    responder r{site, renderer_for(site), cfg};
    auto quiet = r.handle(pxe(request(message_type::discover, web01), client_arch::x86_bios), on_eth0(), 1'800'000'000);
    ASSERT_TRUE(quiet.reply) << quiet.log;
    EXPECT_EQ(quiet.reply->msg.file, "");
    EXPECT_TRUE(quiet.reply->msg.siaddr.is_unspecified());
    EXPECT_FALSE(quiet.reply->msg.has(option_code::vendor_class_identifier)) << "no PXEClient: not a boot offer";
    EXPECT_FALSE(quiet.reply->msg.has(option_code::vendor_encapsulated));
    const auto db01 = *wire::mac_address::parse("52:54:00:00:00:02");
    auto normal = r.handle(pxe(request(message_type::discover, db01), client_arch::x86_bios), on_eth0(), 1'800'000'000);
    ASSERT_TRUE(normal.reply);
    EXPECT_EQ(normal.reply->msg.file, "pxelinux.0");
    // The same over UEFI HTTP Boot: no URL and no HTTPClient for the installed host.
    auto http = r.handle(http_boot(web01, 16), on_eth0(), 1'800'000'000);
    ASSERT_TRUE(http.reply) << http.log;
    EXPECT_EQ(http.reply->msg.file, "");
    EXPECT_FALSE(http.reply->msg.has(option_code::vendor_class_identifier)) << "no HTTPClient: not a boot offer";
    http = r.handle(http_boot(db01, 16), on_eth0(), 1'800'000'000);
    ASSERT_TRUE(http.reply);
    EXPECT_EQ(http.reply->msg.file, "http://10.0.0.2:8080/EFI/BOOT/BOOTX64.EFI");
}

// ---------------------------------------------------------------------------
// A hostile segment (docs/security.md, "Limits and hostile clients")

TEST_F(fixture, relayed_packets_count_only_from_listed_relay_agents_and_unicast) {
    auto d = request(message_type::discover, mac_n(4));
    d.giaddr = ip("10.9.0.1");
    // From an ordinary client port on the segment, broadcast: a client
    // pretending to be a relay, picking the relay_only subnet.
    arrival forged = on_eth0();
    forged.source = ip("10.0.0.150");
    forged.source_port = client_port;
    auto o = send(d, forged);
    EXPECT_FALSE(o.reply);
    EXPECT_EQ(o.kind, log_kind::untrusted_relay);
    EXPECT_EQ(o.level, log_level::warn);
    EXPECT_THAT(o.log, HasSubstr("not in server.dhcp.relay_agents"));
    // Unicast to us, but not from a listed relay agent.
    forged.destination = ip("10.0.0.2");
    EXPECT_FALSE(send(d, forged).reply);
    // From the listed agent's address, but broadcast (or to the subnet's
    // broadcast address): relays unicast.
    arrival spoofed = from_relay();
    spoofed.destination = ip("255.255.255.255");
    EXPECT_FALSE(send(d, spoofed).reply);
    spoofed.destination = ip("10.0.0.255");
    EXPECT_FALSE(send(d, spoofed).reply);
    // Link selection from someone else is not honoured either: the packet is dropped whole.
    auto ls = request(message_type::discover, mac_n(5));
    ls.giaddr = ip("10.0.0.1");
    ls.set(option_code::relay_agent_information, {5, 4, 10, 9, 0, 1});
    forged.destination = ip("10.0.0.2");
    EXPECT_FALSE(send(ls, forged).reply);
    // The listed relay agent is served, its link selection honoured.
    o = send(ls, from_relay());
    ASSERT_TRUE(o.reply) << o.log;
    EXPECT_TRUE(wire::ipv4_network::parse("10.9.0.0/24")->contains(o.reply->msg.yiaddr));
}

TEST(dhcp_responder, without_relay_agents_no_relayed_packet_is_answered) {
    auto yaml = base_yaml;
    yaml.replace(yaml.find("  dhcp: {relay_agents: [10.9.0.1]}\n"), std::string("  dhcp: {relay_agents: [10.9.0.1]}\n").size(), "");
    inventory::load_options lo;
    lo.check_files = false;
    yaml.replace(yaml.find("UNKNOWN"), 7, "menu");
    auto loaded = inventory::load_string(yaml, "site.yaml", "/etc/pxed", lo);
    ASSERT_TRUE(loaded.model);
    bool warned = false;
    for (const auto& diag : loaded.diagnostics)
        if (diag.message.find("relay_only but server.dhcp.relay_agents is empty") != std::string::npos) warned = true;
    EXPECT_TRUE(warned) << "pxed check says the relay_only subnet cannot be served";
    responder r{loaded.model, renderer_for(loaded.model)};
    auto d = request(message_type::discover, mac_n(4));
    d.giaddr = ip("10.9.0.1");
    const auto o = r.handle(d, from_relay(), 1'800'000'000);
    EXPECT_FALSE(o.reply);
    EXPECT_THAT(o.log, HasSubstr("relay_agents is empty"));
}

TEST_F(fixture, requests_from_made_up_clients_take_no_address) {
    // The lease grab: one REQUEST per address, each from a new MAC, no
    // DISCOVER. INIT-REBOOT, RENEWING and SELECTING alike.
    std::size_t acked = 0, stored = 0;
    for (unsigned n = 0; n < 10; ++n) {
        const auto want = ipv4_address{ip("10.0.0.100").value() + n};
        auto init_reboot = request(message_type::request, mac_n(100 + n));
        init_reboot.set_ipv4(option_code::requested_address, want);
        auto renewing = request(message_type::request, mac_n(200 + n));
        renewing.ciaddr = want;
        auto selecting = request(message_type::request, mac_n(300 + n));
        selecting.set_ipv4(option_code::requested_address, want);
        selecting.set_ipv4(option_code::server_identifier, ip("10.0.0.2"));
        for (const auto& m : {init_reboot, renewing, selecting}) {
            const auto o = send(m);
            if (o.reply && o.reply->msg.message_type() == message_type::ack) ++acked;
            stored += o.changes.size();
        }
    }
    EXPECT_EQ(acked, 0u);
    EXPECT_EQ(stored, 0u);
    EXPECT_EQ(r.active_leases(now), 0u);
    // And the pool is whole for a real client.
    EXPECT_NE(dora(mac_n(7)), ipv4_address{});
}

TEST(dhcp_responder, new_clients_per_source_are_limited_but_known_ones_are_served) {
    auto s = load("menu", "");
    auto yaml = base_yaml;
    yaml.replace(yaml.find("UNKNOWN"), 7, "menu");
    yaml.replace(yaml.find("dhcp: {relay_agents: [10.9.0.1]}"), std::string("dhcp: {relay_agents: [10.9.0.1]}").size(),
                 "dhcp: {relay_agents: [10.9.0.1], new_clients_per_second: 2, new_clients_burst: 3}");
    yaml.replace(yaml.find("10.0.0.100-10.0.0.109"), std::string("10.0.0.100-10.0.0.109").size(), "10.0.0.100-10.0.0.199");
    inventory::load_options lo;
    lo.check_files = false;
    auto site = inventory::load_string(yaml, "site.yaml", "/etc/pxed", lo).model;
    ASSERT_TRUE(site);
    responder r{site, renderer_for(site)};
    unix_time now = 1'800'000'000;
    std::size_t offered = 0;
    outcome last;
    for (unsigned n = 0; n < 10; ++n) {
        last = r.handle(request(message_type::discover, mac_n(n)), on_eth0(), now);
        if (last.reply) ++offered;
    }
    EXPECT_EQ(offered, 3u) << "the burst";
    EXPECT_EQ(last.kind, log_kind::new_client_limit);
    EXPECT_THAT(last.log, HasSubstr("new_clients_per_second"));
    // A client already offered an address, and a host from the inventory,
    // are served at once.
    EXPECT_TRUE(r.handle(request(message_type::discover, mac_n(0)), on_eth0(), now).reply);
    EXPECT_TRUE(r.handle(request(message_type::discover, *wire::mac_address::parse("52:54:00:00:00:02")), on_eth0(), now).reply);
    // Another source has its own budget.
    auto relayed = request(message_type::discover, mac_n(50));
    relayed.giaddr = ip("10.9.0.1");
    EXPECT_TRUE(r.handle(relayed, from_relay(), now).reply);
    // One second on: two more.
    now += 1;
    offered = 0;
    for (unsigned n = 20; n < 30; ++n)
        if (r.handle(request(message_type::discover, mac_n(n)), on_eth0(), now).reply) ++offered;
    EXPECT_EQ(offered, 2u);
}

TEST_F(fixture, a_decline_never_quarantines_a_reservation) {
    // A machine spoofing web01's MAC takes web01's reserved address and declines it.
    const auto web01 = *wire::mac_address::parse("52:54:00:00:00:01");
    EXPECT_EQ(dora(web01), ip("10.0.0.11"));
    auto decline = request(message_type::decline, web01);
    decline.set_ipv4(option_code::requested_address, ip("10.0.0.11"));
    decline.set_ipv4(option_code::server_identifier, ip("10.0.0.2"));
    const auto o = send(decline);
    EXPECT_EQ(o.kind, log_kind::decline);
    EXPECT_EQ(o.level, log_level::warn);
    EXPECT_THAT(o.log, HasSubstr("the reservation stays"));
    ASSERT_EQ(o.changes.size(), 1u);
    EXPECT_NE(o.changes[0].state, store::lease_state::declined);
    // The real web01 boots and gets its address.
    EXPECT_EQ(dora(web01), ip("10.0.0.11"));
}

TEST_F(fixture, declines_quarantine_at_most_a_share_of_the_pool) {
    // 10 dynamic addresses, 10%: one quarantined at a time.
    std::vector<ipv4_address> declined;
    for (unsigned n = 0; n < 4; ++n) {
        const auto a = dora(mac_n(n));
        auto decline = request(message_type::decline, mac_n(n));
        decline.set_ipv4(option_code::requested_address, a);
        decline.set_ipv4(option_code::server_identifier, ip("10.0.0.2"));
        const auto o = send(decline);
        ASSERT_EQ(o.changes.size(), 1u);
        if (n == 0) {
            EXPECT_EQ(o.changes[0].state, store::lease_state::declined);
        } else {
            EXPECT_EQ(o.changes[0].state, store::lease_state::expired) << "back in the pool";
            EXPECT_THAT(o.log, HasSubstr("quarantine_max_percent"));
        }
        declined.push_back(a);
    }
    // Nine addresses are left for real clients, three of them the ones
    // declined past the limit.
    std::set<std::uint32_t> got;
    for (unsigned n = 10; n < 19; ++n) got.insert(dora(mac_n(n)).value());
    EXPECT_EQ(got.size(), 9u);
    EXPECT_FALSE(got.count(declined[0].value()));
}

TEST_F(fixture, repeated_requests_neither_grow_the_timer_queue_nor_write) {
    const auto a = dora(mac_n(3));
    const auto queued = r.queued_timers();
    std::size_t writes = 0;
    for (unsigned i = 0; i < 10000; ++i) {
        auto renew = request(message_type::request, mac_n(3), i);
        renew.ciaddr = a;
        if (i % 2) renew.set_u32(option_code::lease_time, 60 + i % 7);  // and other lease times
        const auto o = send(renew);
        ASSERT_TRUE(o.reply);
        EXPECT_EQ(o.reply->msg.message_type(), message_type::ack);
        writes += o.changes.size();
        if (i % 100 == 0) now += 1;
    }
    EXPECT_LE(r.queued_timers(), queued + 4);
    EXPECT_LE(writes, 200u) << "renewals within a quarter of the lease are answered from memory";
    // Within the first quarter of the lease: what is left of it.
    auto renew = request(message_type::request, mac_n(3));
    renew.ciaddr = a;
    const auto o = send(renew);
    EXPECT_TRUE(o.changes.empty());
    EXPECT_LE(*o.reply->msg.lease_time(), 3600u);
    // Offers from a DISCOVER flood by one client do not pile up either.
    for (unsigned i = 0; i < 1000; ++i) send(request(message_type::discover, mac_n(4), i));
    EXPECT_LE(r.queued_timers(), 2 * 10 + 64 + 1u);
    // And expiry still works.
    now += 7200;
    EXPECT_FALSE(r.expire(now).empty());
    EXPECT_EQ(r.active_leases(now), 0u);
}

TEST_F(fixture, a_release_must_come_from_the_address_released) {
    const auto a = dora(mac_n(3));
    auto rel = request(message_type::release, mac_n(3));
    rel.ciaddr = a;
    rel.set_ipv4(option_code::server_identifier, ip("10.0.0.2"));
    arrival from_elsewhere = on_eth0();
    from_elsewhere.destination = ip("10.0.0.2");
    from_elsewhere.source = ip("10.0.0.150");
    auto o = send(rel, from_elsewhere);
    EXPECT_TRUE(o.changes.empty());
    EXPECT_EQ(o.kind, log_kind::stranger);
    EXPECT_EQ(r.active_leases(now), 1u);
    // Counted in its subnet only (the metrics' addresses in use).
    EXPECT_EQ(r.active_leases(now, &site->subnets.at(0)), 1u);
    EXPECT_EQ(r.active_leases(now, &site->subnets.at(1)), 0u);
    // Broadcast from nowhere (0.0.0.0), as a forger without an address sends it.
    o = send(rel);
    EXPECT_TRUE(o.changes.empty());
    EXPECT_EQ(r.active_leases(now), 1u);
}

// A host's profile is for one CPU, its firmware (option 93) says another:
// the answer still goes out, with the mismatch in its log line (a warning)
// and in the outcome, for the boot trace.
TEST(dhcp_arch, a_host_whose_profile_is_for_another_cpu_than_its_firmware_is_warned_about) {
    std::string yaml = base_yaml;
    yaml.replace(yaml.find("UNKNOWN"), 7, "menu");
    yaml.replace(yaml.find("menu: {"), 7,
                 "  a64: {label: ARM64, arch: arm64, tree: c7, kernel: a64/vmlinuz, initrd: a64/initrd.img}\nmenu: {");
    yaml += "  - {mac: \"52:54:00:00:00:64\", hostname: arm01, ip: 10.0.0.64, profile: a64}\n";
    inventory::load_options opts;
    opts.check_files = false;
    const auto loaded = inventory::load_string(yaml, "site.yaml", "/etc/pxed", opts);
    ASSERT_TRUE(loaded.model);
    responder r{loaded.model, renderer_for(loaded.model)};
    const auto web01 = wire::mac_address::parse("52:54:00:00:00:01").value();
    const auto arm01 = wire::mac_address::parse("52:54:00:00:00:64").value();
    const auto ack = [&](const wire::mac_address& mac, std::optional<client_arch> arch) {
        auto m = request(message_type::request, mac);
        if (arch) m = pxe(m, *arch);
        m.set_ipv4(option_code::requested_address, *loaded.model->find_host(mac)->ip);
        return r.handle(m, on_eth0(), 1'800'000'000);
    };

    // An ARM64 machine (AAVMF: arch 11) given the x86_64 profile c7.
    const auto wrong = ack(web01, client_arch::efi_arm64);
    ASSERT_TRUE(wrong.reply) << wrong.log;
    EXPECT_EQ(wrong.reply->msg.file, "grubaa64.efi") << "still answered: its GRUB says the rest";
    EXPECT_EQ(wrong.arch_mismatch, "its profile 'c7' is arch x86_64 but its firmware is uefi-arm64 (option 93 arch 11), "
                                   "which cannot boot that kernel: give the host an arm64 profile");
    EXPECT_THAT(wrong.log, HasSubstr("boot grubaa64.efi [uefi-arm64]; WARNING: its profile 'c7' is arch x86_64"));
    EXPECT_EQ(wrong.level, log_level::warn);
    // The ARM64 profile's host on x64 UEFI (arch 7) and on BIOS (arch 0).
    EXPECT_THAT(ack(arm01, client_arch::efi_bc).arch_mismatch, HasSubstr("'a64' is arch arm64 but its firmware is uefi-x64 (option 93 arch 7)"));
    EXPECT_THAT(ack(arm01, client_arch::x86_bios).arch_mismatch, HasSubstr("but its firmware is bios (option 93 arch 0)"));

    // Each on its own CPU: nothing to say.
    EXPECT_EQ(ack(arm01, client_arch::efi_arm64).arch_mismatch, "");
    EXPECT_EQ(ack(web01, client_arch::efi_x86_64).arch_mismatch, "");
    // No architecture (an installer's DHCP client): nothing known, nothing said.
    const auto os = ack(arm01, std::nullopt);
    EXPECT_EQ(os.arch_mismatch, "");
    EXPECT_THAT(os.log, ::testing::Not(HasSubstr("WARNING")));
}
