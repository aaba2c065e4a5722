// DHCP requests captured from real clients in a test network namespace
// (a veth pair, MAC 52:54:00:12:34:56, a UDP socket on port 67 recording
// what arrived), decoded, re-encoded byte for byte, and answered.
//
// Captured on Debian 12: ISC dhclient 4.4.3-P1 (`dhclient -4 -1 e0`) and
// BusyBox 1.35.0 udhcpc (`udhcpc -O bootfile -x hostname:node7`).
// iPXE's own packets are covered by the QEMU end-to-end test.

#include <gtest/gtest.h>

#include "pxed/engine/dhcp_responder.hpp"
#include "pxed/inventory/load.hpp"
#include "pxed/proto/dhcp.hpp"

using namespace pxed;
using namespace pxed::dhcp;

namespace {

std::vector<std::uint8_t> unhex(const std::string& h) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoi(h.substr(i, 2), nullptr, 16)));
    return out;
}

// dhclient's DHCPDISCOVER: no broadcast flag, secs 5, host name "vm",
// a 13-entry parameter request list, nothing else.
const auto dhclient_discover = unhex(
    "010106002955b37b00050000000000000000000000000000000000005254001234560000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000063825363"
    "3501010c02766d370d011c02030f06770c2c2f1a792aff00000000000000000000000000000000000000000000000000"
    "000000000000000000000000");

// udhcpc's DHCPDISCOVER: option 57 (576), client identifier 01+MAC, vendor
// class "udhcp 1.35.0", host name from -x.
const auto udhcpc_discover = unhex(
    "01010600e9f67e4400000000000000000000000000000000000000005254001234560000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000063825363"
    "3501013902024037080103060c0f1c2a430c056e6f6465373c0c756468637020312e33352e303d0701525400123456ff"
    "000000000000000000000000");

TEST(dhcp_captures, dhclient_discover_decodes) {
    const auto r = decode(dhclient_discover);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r.quirks().any());
    const auto& m = r.value();
    EXPECT_EQ(m.op, op_code::boot_request);
    EXPECT_EQ(m.xid, 0x2955b37bu);
    EXPECT_EQ(m.secs, 5);
    EXPECT_FALSE(m.broadcast());
    EXPECT_EQ(m.mac(), wire::mac_address::parse("52:54:00:12:34:56"));
    EXPECT_EQ(m.message_type(), message_type::discover);
    EXPECT_EQ(m.hostname(), "vm");
    EXPECT_EQ(m.parameter_request_list(), (std::vector<std::uint8_t>{1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42}));
    EXPECT_FALSE(m.client_id());
    EXPECT_EQ(m.firmware(), boot_firmware::unknown);
    EXPECT_EQ(max_reply_size(m), 576u);
}

TEST(dhcp_captures, udhcpc_discover_decodes) {
    const auto r = decode(udhcpc_discover);
    ASSERT_TRUE(r.ok());
    const auto& m = r.value();
    EXPECT_EQ(m.xid, 0xe9f67e44u);
    EXPECT_EQ(m.message_type(), message_type::discover);
    EXPECT_EQ(m.max_message_size(), 576);
    EXPECT_EQ(m.hostname(), "node7");
    EXPECT_EQ(m.vendor_class(), "udhcp 1.35.0");
    EXPECT_EQ(m.client_id(), (std::vector<std::uint8_t>{1, 0x52, 0x54, 0, 0x12, 0x34, 0x56}));
    EXPECT_TRUE(m.requests(option_code::bootfile_name));
    EXPECT_FALSE(m.has_ipxe());
}

TEST(dhcp_captures, both_reencode_byte_for_byte) {
    for (const auto* bytes : {&dhclient_discover, &udhcpc_discover}) {
        const auto r = decode(*bytes);
        ASSERT_TRUE(r.ok());
        const auto e = encode(r.value());
        ASSERT_TRUE(e.ok());
        EXPECT_EQ(e.bytes(), *bytes);
    }
}

TEST(dhcp_captures, both_are_answered_within_their_size_limit) {
    inventory::load_options o;
    o.check_files = false;
    auto site = inventory::load_string(R"(server: {address: 10.1.0.1, tftp: {root: /srv/tftp}, http: {enabled: false}}
subnets: [{network: 10.1.0.0/24, ranges: [10.1.0.100-10.1.0.200], routers: [10.1.0.1], dns: [10.1.0.1], domain: lab.test}]
)", "site.yaml", "/etc/pxed", o);
    ASSERT_TRUE(site.model);
    responder r(site.model, std::make_shared<render::renderer>(site.model, render::template_set::builtin()));
    arrival a;
    a.ifindex = 2;
    a.ifname = "e0";
    a.interface_addresses = {wire::ipv4_network(wire::ipv4_address::parse("10.1.0.1").value(), 24)};
    for (const auto* bytes : {&dhclient_discover, &udhcpc_discover}) {
        const auto req = decode(*bytes).value();
        const auto out = r.handle(req, a, 1'800'000'000);
        ASSERT_TRUE(out.reply) << out.log;
        EXPECT_EQ(out.reply->max_size, 576u);
        encode_options eo;
        eo.max_message_size = out.reply->max_size;
        const auto e = encode(out.reply->msg, eo);
        ASSERT_TRUE(e.ok());
        EXPECT_LE(e.bytes().size() + ip_udp_overhead, 576u);
        const auto back = decode(e.bytes());
        ASSERT_TRUE(back.ok());
        EXPECT_EQ(back.value().xid, req.xid);
        EXPECT_EQ(back.value().file, "pxelinux.0");
        EXPECT_EQ(back.value().message_type(), message_type::offer);
    }
}

}  // namespace
