// DHCP codec: golden requests laid out the way real clients put them on the
// wire, the encoder's exact bytes, round trips, RFC 3396 long options, option
// overload, maximum sizes, tolerated firmware quirks, a table of malformed
// datagrams, and the option table.
//
// The golden requests are written by hand, field by field, from each
// client's source and documented behaviour (named above each one); they are
// not packet captures. Each carries its expected length so that a slip in a
// vector cannot go unnoticed.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "pxed/proto/dhcp.hpp"
#include "pxed/proto/dhcp_options.hpp"

namespace pxed::dhcp {
namespace {

using bytes_t = std::vector<std::uint8_t>;

// "01 02 0a": hex octets, blanks ignored.
bytes_t hex(std::string_view text) {
    bytes_t out;
    int high = -1;
    for (const char c : text) {
        if (c == ' ' || c == '\n') continue;
        int d = -1;
        if (c >= '0' && c <= '9') d = c - '0';
        if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        if (d < 0) {
            ADD_FAILURE() << "bad hex digit '" << c << "' in test vector";
            return out;
        }
        if (high < 0) {
            high = d;
        } else {
            out.push_back(static_cast<std::uint8_t>(high << 4 | d));
            high = -1;
        }
    }
    if (high >= 0) ADD_FAILURE() << "odd number of hex digits in test vector";
    return out;
}

bytes_t ascii(std::string_view s) { return bytes_t(s.begin(), s.end()); }
bytes_t zeros(std::size_t n) { return bytes_t(n, 0); }

bytes_t cat(std::initializer_list<bytes_t> parts) {
    bytes_t out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// Zero padding up to `size` octets, as the client sends it.
bytes_t padded(bytes_t b, std::size_t size) {
    EXPECT_LE(b.size(), size);
    b.resize(size, 0);
    return b;
}

wire::ipv4_address ip(std::string_view text) { return *wire::ipv4_address::parse(text); }
wire::mac_address mac(std::string_view text) { return *wire::mac_address::parse(text); }

const message& msg(const decode_result& r) {
    static const message empty;
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : std::string(to_string(r.error().code)) + " at " +
                                              std::to_string(r.error().offset));
    return r.ok() ? r.value() : empty;
}

bytes_t encoded(const message& m, const encode_options& o = {}) {
    const auto r = encode(m, o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : std::string(to_string(r.error().code)));
    return r.ok() ? r.bytes() : bytes_t{};
}

// encode -> decode -> encode gives the same bytes and the same message.
void expect_round_trip(const message& m, const encode_options& o = {}) {
    const bytes_t first = encoded(m, o);
    const auto back = decode(first);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back.value(), m);
    EXPECT_FALSE(back.quirks().any());
    EXPECT_EQ(encoded(back.value(), o), first);
}

// The RFC 2131 section 2 fixed header of a client request, written out.
// op htype hlen hops | xid | secs flags | ciaddr yiaddr siaddr giaddr | chaddr | sname | file | cookie
bytes_t request_header(std::string_view xid_secs_flags, std::string_view addrs, std::string_view chaddr6,
                       std::string_view hops = "00") {
    return cat({hex("01 01 06"), hex(hops), hex(xid_secs_flags), hex(addrs), hex(chaddr6), zeros(10), zeros(64),
                zeros(128), hex("63 82 53 63")});
}

constexpr std::string_view no_addrs = "00000000 00000000 00000000 00000000";

// --- golden requests -------------------------------------------------------

// ISC dhclient 4.4 (Debian 12), whose stock dhclient.conf sends the host
// name and requests subnet-mask, broadcast-address, time-offset, routers,
// domain-name, domain-name-servers, domain-search, host-name,
// netbios-name-servers, netbios-scope, interface-mtu,
// rfc3442-classless-static-routes and ntp-servers, plus
// `send dhcp-client-identifier = hardware;`. dhclient pads to the
// 300-octet BOOTP minimum.
bytes_t dhclient_discover() {
    return padded(cat({request_header("6b8b4567 0000 0000", no_addrs, "525400123456"),
                       hex("35 01 01"),                          // DHCPDISCOVER
                       hex("3d 07 01 525400123456"),             // client id: htype 1 + MAC
                       hex("0c 08"), ascii("bookworm"),          // host name
                       hex("37 0d 01 1c 02 03 0f 06 77 0c 2c 2f 1a 79 2a"),
                       hex("ff")}),
                  300);
}

TEST(dhcp_codec_golden, isc_dhclient_discover) {
    const auto wire = dhclient_discover();
    ASSERT_EQ(wire.size(), 300u);
    const auto r = decode(wire);
    const message& m = msg(r);
    EXPECT_FALSE(r.quirks().any());
    EXPECT_EQ(r.overloaded(), overload_fields::none);
    EXPECT_EQ(m.op, op_code::boot_request);
    EXPECT_EQ(m.xid, 0x6b8b4567u);
    EXPECT_FALSE(m.broadcast());
    EXPECT_EQ(m.mac(), mac("52:54:00:12:34:56"));
    EXPECT_EQ(m.message_type(), message_type::discover);
    EXPECT_EQ(m.hostname(), std::string("bookworm"));
    EXPECT_EQ(m.client_id(), hex("01 525400123456"));
    EXPECT_EQ(m.parameter_request_list(), hex("01 1c 02 03 0f 06 77 0c 2c 2f 1a 79 2a"));
    EXPECT_TRUE(m.requests(option_code::classless_static_routes));
    EXPECT_FALSE(m.requests(option_code::bootfile_name));
    EXPECT_FALSE(m.vendor_class());
    EXPECT_FALSE(m.has_ipxe());
    EXPECT_EQ(m.firmware(), boot_firmware::unknown);
    EXPECT_EQ(m.file, "");
    EXPECT_EQ(m.sname, "");
    ASSERT_EQ(m.options.size(), 4u);
    EXPECT_EQ(m.options[0].code, 53);
    EXPECT_EQ(m.options[3].code, 55);
    // Re-encoding reproduces the client's own bytes: same order, same padding.
    EXPECT_EQ(encoded(m), wire);
}

// busybox 1.36 udhcpc with its defaults (networking/udhcp): message type,
// client id from the MAC (init_packet), max message size 576 and the
// parameter request list from the OPTION_REQ entries of dhcp_optflags
// (add_client_options), then the vendor class "udhcp <version>". udhcpc
// cuts the packet after end but keeps the 300-octet RFC 1542 minimum.
bytes_t udhcpc_discover() {
    return padded(cat({request_header("1a2b3c4d 0000 0000", no_addrs, "0242ac110002"),
                       hex("35 01 01"),
                       hex("3d 07 01 0242ac110002"),
                       hex("39 02 02 40"),  // 576
                       hex("37 07 01 03 06 0c 0f 1c 2a"),
                       hex("3c 0c"), ascii("udhcp 1.36.1"),
                       hex("ff")}),
                  300);
}

TEST(dhcp_codec_golden, busybox_udhcpc_discover) {
    const auto wire = udhcpc_discover();
    ASSERT_EQ(wire.size(), 300u);
    const auto r = decode(wire);
    const message& m = msg(r);
    EXPECT_FALSE(r.quirks().any());
    EXPECT_EQ(m.message_type(), message_type::discover);
    EXPECT_EQ(m.mac(), mac("02:42:ac:11:00:02"));
    EXPECT_EQ(m.client_id(), hex("01 0242ac110002"));
    EXPECT_EQ(m.max_message_size(), 576);
    EXPECT_EQ(max_reply_size(m), 576u);
    EXPECT_EQ(m.parameter_request_list(), hex("01 03 06 0c 0f 1c 2a"));
    EXPECT_EQ(m.vendor_class(), std::string("udhcp 1.36.1"));
    EXPECT_FALSE(m.hostname());
    EXPECT_FALSE(m.has_ipxe());
    EXPECT_EQ(m.firmware(), boot_firmware::unknown);
    EXPECT_EQ(encoded(m), wire);
}

// A PC BIOS PXE 2.1 ROM (Intel Boot Agent style): broadcast flag set, max
// message size 1260, the PXE 2.1 parameter request list (including the
// PXE options 128-135), UUID, UNDI 2.1, architecture 0 and the PXE vendor
// class, in that order; the whole DHCP payload is 548 octets.
const bytes_t pxe_uuid = hex("4c4c4544 0035 3810 8037 b4c04f393232");

bytes_t pxe_rom_discover(std::string_view arch = "00 00",
                         std::string_view vendor_class = "PXEClient:Arch:00000:UNDI:002001") {
    return padded(cat({request_header("0d5c6a3f 0000 8000", no_addrs, "001b213a4c5e"),
                       hex("35 01 01"),
                       hex("39 02 04 ec"),
                       hex("37 18 01 02 03 05 06 0b 0c 0d 0f 10 11 12 2b 36 3c 43 80 81 82 83 84 85 86 87"),
                       hex("61 11 00"), pxe_uuid,
                       hex("5e 03 01 02 01"),
                       hex("5d 02"), hex(arch),
                       hex("3c 20"), ascii(vendor_class),
                       hex("ff")}),
                  548);
}

TEST(dhcp_codec_golden, pxe_rom_discover) {
    const auto wire = pxe_rom_discover();
    ASSERT_EQ(wire.size(), 548u);
    const auto r = decode(wire);
    const message& m = msg(r);
    EXPECT_FALSE(r.quirks().any());
    EXPECT_EQ(m.message_type(), message_type::discover);
    EXPECT_TRUE(m.broadcast());
    EXPECT_EQ(m.flags, 0x8000);
    EXPECT_EQ(m.mac(), mac("00:1b:21:3a:4c:5e"));
    EXPECT_EQ(m.max_message_size(), 1260);
    EXPECT_EQ(max_reply_size(m), 1260u);
    EXPECT_EQ(m.vendor_class(), std::string("PXEClient:Arch:00000:UNDI:002001"));
    EXPECT_EQ(m.client_arch(), std::vector<client_arch>{client_arch::x86_bios});
    ASSERT_TRUE(m.client_ndi());
    EXPECT_EQ(m.client_ndi()->type, 1);
    EXPECT_EQ(m.client_ndi()->major, 2);
    EXPECT_EQ(m.client_ndi()->minor, 1);
    const auto uuid = m.client_uuid();
    ASSERT_TRUE(uuid);
    EXPECT_EQ(bytes_t(uuid->begin(), uuid->end()), pxe_uuid);
    const option* uuid_option = m.find(option_code::client_machine_id);
    ASSERT_NE(uuid_option, nullptr);
    EXPECT_EQ(format_value(find_option_def(option_code::client_machine_id), uuid_option->value),
              "4c4c4544-0035-3810-8037-b4c04f393232");
    EXPECT_EQ(m.parameter_request_list().size(), 24u);
    EXPECT_TRUE(m.requests(option_code::bootfile_name));
    EXPECT_FALSE(m.client_id());
    EXPECT_FALSE(m.has_ipxe());
    EXPECT_EQ(m.firmware(), boot_firmware::bios);
}

TEST(dhcp_codec_golden, uefi_pxe_discover_is_classified_by_option_93) {
    // The same ROM layout as an x86-64 UEFI PXE client sends it: option 93
    // is 7, the vendor class says Arch:00007, UNDI 3.16.
    const auto wire = pxe_rom_discover("00 07", "PXEClient:Arch:00007:UNDI:003016");
    const auto r = decode(wire);
    EXPECT_EQ(msg(r).client_arch(), std::vector<client_arch>{client_arch::efi_bc});
    EXPECT_EQ(msg(r).firmware(), boot_firmware::uefi_x64);
}

// iPXE (src/net/udp/dhcp.c, dhcp_request_options_data and
// dhcp_create_request) as undionly.kpxe on a BIOS machine: message type,
// max message size 1472, architecture 0, UNDI 2.1, the PXE vendor class,
// user class "iPXE" sent raw (not RFC 3004 framed), its parameter request
// list, then option 175 (version 1.21.1, feature flags, PCI bus id
// 8086:100e), client id and UUID. iPXE abuses secs (count << 2, so 4 on the
// first DISCOVER) and sends no padding.
const bytes_t ipxe_features = hex(
    "eb 03 01 15 01"             // version 1.21.1
    "13 01 01  15 01 01  17 01 01  18 01 01  21 01 01  22 01 01  19 01 01"
    "10 01 02  27 01 01"
    "b1 05 01 8086 100e");       // bus id: PCI 8086:100e

bytes_t ipxe_discover() {
    return cat({request_header("4f817a01 0004 0000", no_addrs, "525400123456"),
                hex("35 01 01"),
                hex("39 02 05 c0"),
                hex("5d 02 00 00"),
                hex("5e 03 01 02 01"),
                hex("3c 20"), ascii("PXEClient:Arch:00000:UNDI:002001"),
                hex("4d 04"), ascii("iPXE"),
                hex("37 16 01 03 06 07 0c 0f 11 2b 3c 42 43 77 80 81 82 83 84 85 86 87 af cb"),
                hex("af 27"), ipxe_features,
                hex("3d 07 01 525400123456"),
                hex("61 11 00"), pxe_uuid,
                hex("ff")});
}

TEST(dhcp_codec_golden, ipxe_discover) {
    const auto wire = ipxe_discover();
    ASSERT_EQ(wire.size(), 390u);
    const auto r = decode(wire);
    const message& m = msg(r);
    // No padding after end is no quirk: end is there.
    EXPECT_FALSE(r.quirks().any());
    EXPECT_EQ(m.secs, 4);
    EXPECT_EQ(m.message_type(), message_type::discover);
    EXPECT_EQ(m.max_message_size(), 1472);
    EXPECT_EQ(m.user_class(), std::vector<std::string>{"iPXE"});
    EXPECT_TRUE(m.has_ipxe());
    EXPECT_EQ(m.firmware(), boot_firmware::bios);
    EXPECT_EQ(m.client_id(), hex("01 525400123456"));
    EXPECT_TRUE(m.client_uuid());
    const auto ipxe = m.ipxe_options();
    ASSERT_TRUE(ipxe);
    ASSERT_EQ(ipxe->size(), 11u);
    EXPECT_EQ(find_sub_option(*ipxe, 0xeb)->value, hex("01 15 01"));
    EXPECT_EQ(find_sub_option(*ipxe, 0x13)->value, hex("01"));  // HTTP
    EXPECT_EQ(find_sub_option(*ipxe, 0xb1)->value, hex("01 8086 100e"));
    EXPECT_EQ(find_sub_option(*ipxe, 0x14), nullptr);  // no HTTPS in this build
    // Re-encoding adds only the padding to 300... which 390 octets do not need.
    EXPECT_EQ(encoded(m), wire);
}

TEST(dhcp_codec_golden, ipxe_is_recognised_by_option_175_alone) {
    message m;
    m.set_message_type(message_type::discover);
    m.set(option_code::ipxe_encapsulated, hex("13 01 01"));
    EXPECT_TRUE(m.has_ipxe());
    EXPECT_TRUE(m.user_class().empty());
}

// A DHCPREQUEST (SELECTING) from dhclient, relayed by a Cisco IOS switch
// with `ip dhcp relay information option`: hops 1, giaddr the relay's
// address, and option 82 appended as the last option before end (RFC 3046
// 2.1) with the circuit id in Cisco's vlan-module-port form (VLAN 10,
// module 1, port 5) and the switch MAC as remote id.
bytes_t relayed_request() {
    return padded(cat({request_header("3903f326 0000 0000", "00000000 00000000 00000000 0a000a01", "525400abcdef",
                                      "01"),
                       hex("35 01 03"),
                       hex("32 04 0a000a64"),  // requested 10.0.10.100
                       hex("36 04 0a000001"),  // server id 10.0.0.1
                       hex("0c 04"), ascii("node"),
                       hex("37 04 01 03 06 0f"),
                       hex("52 12"
                           "01 06 0004 000a 01 05"       // circuit id
                           "02 08 0006 001b54c21a40"),   // remote id
                       hex("ff")}),
                  300);
}

TEST(dhcp_codec_golden, relayed_request_with_option_82) {
    const auto wire = relayed_request();
    ASSERT_EQ(wire.size(), 300u);
    const auto r = decode(wire);
    const message& m = msg(r);
    EXPECT_FALSE(r.quirks().any());
    EXPECT_EQ(m.hops, 1);
    EXPECT_EQ(m.giaddr, ip("10.0.10.1"));
    EXPECT_EQ(m.ciaddr, ip("0.0.0.0"));
    EXPECT_EQ(m.message_type(), message_type::request);
    EXPECT_EQ(m.requested_ip(), ip("10.0.10.100"));
    EXPECT_EQ(m.server_id(), ip("10.0.0.1"));
    EXPECT_EQ(m.hostname(), std::string("node"));
    const auto rai = m.relay_agent_info();
    ASSERT_TRUE(rai);
    ASSERT_EQ(rai->size(), 2u);
    EXPECT_EQ(find_sub_option(*rai, relay_sub_option::circuit_id)->value, hex("0004 000a 01 05"));
    EXPECT_EQ(find_sub_option(*rai, relay_sub_option::remote_id)->value, hex("0006 001b54c21a40"));
    EXPECT_EQ(find_sub_option(*rai, relay_sub_option::link_selection), nullptr);
    EXPECT_EQ(format_value(find_option_def(option_code::relay_agent_information),
                           m.find(option_code::relay_agent_information)->value),
              "1=00:04:00:0a:01:05, 2=00:06:00:1b:54:c2:1a:40");
    EXPECT_EQ(encoded(m), wire);
}

TEST(dhcp_codec_golden, every_golden_request_round_trips) {
    for (const auto& wire : {dhclient_discover(), udhcpc_discover(), pxe_rom_discover(), ipxe_discover(),
                             relayed_request()}) {
        const auto r = decode(wire);
        ASSERT_TRUE(r.ok());
        expect_round_trip(r.value());
    }
}

// --- encoder ---------------------------------------------------------------

// A DHCPOFFER to the PXE ROM above, as an engine would build it.
message pxe_offer() {
    message m;
    m.op = op_code::boot_reply;
    m.xid = 0x0d5c6a3f;
    m.set_broadcast(true);
    m.yiaddr = ip("10.0.0.50");
    m.siaddr = ip("10.0.0.1");
    m.set_mac(mac("00:1b:21:3a:4c:5e"));
    m.file = "undionly.kpxe";
    m.set_message_type(message_type::offer);
    m.set_ipv4(option_code::server_identifier, ip("10.0.0.1"));
    m.set_u32(option_code::lease_time, 3600);
    m.set_ipv4(option_code::subnet_mask, ip("255.255.255.0"));
    m.set_ipv4_list(option_code::routers, {ip("10.0.0.1")});
    // PXE 2.1 section 2.2.5: a PXE-aware reply carries "PXEClient".
    m.set_string(option_code::vendor_class_identifier, "PXEClient");
    return m;
}

TEST(dhcp_codec_encode, offer_exact_bytes) {
    const auto expected = padded(
        cat({hex("02 01 06 00" "0d5c6a3f" "0000 8000" "00000000" "0a000032" "0a000001" "00000000"),
             hex("001b213a4c5e"), zeros(10),
             zeros(64),
             ascii("undionly.kpxe"), zeros(128 - 13),
             hex("63 82 53 63"),
             hex("35 01 02" "36 04 0a000001" "33 04 00000e10" "01 04 ffffff00" "03 04 0a000001"),
             hex("3c 09"), ascii("PXEClient"),
             hex("ff")}),
        300);
    const auto r = encode(pxe_offer());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.bytes(), expected);
    EXPECT_EQ(r.overloaded(), overload_fields::none);
    expect_round_trip(pxe_offer());
}

TEST(dhcp_codec_encode, pads_to_the_bootp_minimum_after_end) {
    message m;
    m.op = op_code::boot_reply;
    m.set_message_type(message_type::nak);
    const bytes_t b = encoded(m);
    ASSERT_EQ(b.size(), bootp_min_size);
    EXPECT_EQ(bytes_t(b.begin() + 240, b.begin() + 244), hex("35 01 06 ff"));
    EXPECT_TRUE(std::all_of(b.begin() + 244, b.end(), [](std::uint8_t x) { return x == 0; }));
}

TEST(dhcp_codec_encode, no_padding_beyond_the_options) {
    message m = pxe_offer();
    m.set(option_code::vendor_encapsulated, bytes_t(100, 0x42));
    const bytes_t b = encoded(m);
    // 240 + 39 octets of options as above + 102 for option 43.
    EXPECT_EQ(b.size(), 240u + 39 + 102);
    EXPECT_EQ(b.back(), 0xff);
}

TEST(dhcp_codec_encode, refuses_what_it_cannot_write_faithfully) {
    message m = pxe_offer();
    m.options.push_back(option{code_of(option_code::routers), hex("0a000002")});
    EXPECT_EQ(encode(m).error(), (encode_error{encode_errc::duplicate_option, 3}));

    for (const std::uint8_t code : {std::uint8_t{0}, std::uint8_t{52}, std::uint8_t{255}}) {
        message r = pxe_offer();
        r.set(code, hex("01"));
        EXPECT_EQ(encode(r).error(), (encode_error{encode_errc::reserved_option, code}));
    }

    message s = pxe_offer();
    s.sname = std::string(65, 's');
    EXPECT_EQ(encode(s).error().code, encode_errc::sname_too_long);
    s.sname = std::string(64, 's');  // fills the field, no NUL: allowed
    expect_round_trip(s);

    message f = pxe_offer();
    f.file = std::string(129, 'f');
    EXPECT_EQ(encode(f).error().code, encode_errc::file_too_long);
    f.file = std::string(128, 'f');
    expect_round_trip(f);
}

TEST(dhcp_codec_encode, strings_stop_at_nul_like_the_field) {
    message m = pxe_offer();
    m.file = std::string("pxelinux.0\0junk", 15);
    const auto back = decode(encoded(m));
    EXPECT_EQ(msg(back).file, "pxelinux.0");
}

TEST(dhcp_codec_encode, keeps_unknown_flags_hlen_and_all_of_chaddr) {
    message m = pxe_offer();
    m.flags = 0x8001;  // MBZ bits set by a broken client are echoed, not cleaned
    m.htype = static_cast<hardware_type>(6);
    m.hlen = 16;
    for (std::size_t i = 0; i < m.chaddr.size(); ++i) m.chaddr[i] = static_cast<std::uint8_t>(0xa0 + i);
    m.hops = 3;
    m.secs = 0xfffe;
    m.ciaddr = ip("192.0.2.1");
    m.giaddr = ip("192.0.2.254");
    m.sname = "boot-server";
    expect_round_trip(m);
    EXPECT_FALSE(m.mac());
    EXPECT_EQ(m.hardware_address().size(), 16u);
}

// --- RFC 3396 long options --------------------------------------------------

bytes_t counting(std::size_t n) {
    bytes_t b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i % 251);
    return b;
}

TEST(dhcp_codec_rfc3396, a_600_octet_option_is_split_into_255_255_90) {
    message m;
    m.op = op_code::boot_reply;
    m.set_message_type(message_type::ack);
    m.set(option_code::vendor_encapsulated, counting(600));
    m.set_string(option_code::host_name, "h");
    encode_options o;
    o.max_message_size = 1500;
    const auto r = encode(m, o);
    ASSERT_TRUE(r.ok());
    const bytes_t& b = r.bytes();
    const bytes_t v = counting(600);
    const auto expected_options = cat({hex("35 01 05"),
                                       hex("2b ff"), bytes_t(v.begin(), v.begin() + 255),
                                       hex("2b ff"), bytes_t(v.begin() + 255, v.begin() + 510),
                                       hex("2b 5a"), bytes_t(v.begin() + 510, v.end()),
                                       hex("0c 01"), ascii("h"),
                                       hex("ff")});
    ASSERT_EQ(b.size(), 240 + expected_options.size());
    EXPECT_EQ(bytes_t(b.begin() + 240, b.end()), expected_options);
    EXPECT_EQ(r.overloaded(), overload_fields::none);
    expect_round_trip(m, o);
}

TEST(dhcp_codec_rfc3396, instances_are_concatenated_in_order_even_when_interleaved) {
    const bytes_t v = counting(600);
    const auto wire = padded(cat({request_header("00000001 0000 0000", no_addrs, "525400000001"),
                                  hex("35 01 03"),
                                  hex("2b ff"), bytes_t(v.begin(), v.begin() + 255),
                                  hex("0c 02"), ascii("ab"),
                                  hex("2b 5a"), bytes_t(v.begin() + 255, v.begin() + 345),
                                  hex("0c 01"), ascii("c"),
                                  hex("2b ff"), bytes_t(v.begin() + 345, v.end()),
                                  hex("ff")}),
                             900);
    const auto r = decode(wire);
    const message& m = msg(r);
    ASSERT_EQ(m.options.size(), 3u);
    EXPECT_EQ(m.options[0].code, 53);
    EXPECT_EQ(m.options[1].code, 43);  // order of first appearance
    EXPECT_EQ(m.options[1].value, v);
    EXPECT_EQ(m.options[2].code, 12);
    EXPECT_EQ(m.hostname(), std::string("abc"));
}

// --- option overload (RFC 2132 9.3) ------------------------------------------

TEST(dhcp_codec_overload, decode_reads_file_then_sname) {
    // A reply from a server that overloaded both fields, with option 15
    // split between the options field and file (RFC 3396 section 5).
    const auto wire = padded(cat({hex("02 01 06 00" "00000002" "0000 0000" "00000000 0a000032 0a000001 00000000"),
                                  hex("525400000002"), zeros(10),
                                  padded(cat({hex("43 0a"), ascii("pxelinux.0"), hex("ff")}), 64),     // sname
                                  padded(cat({hex("0f 04"), ascii("defg"), hex("42 08"), ascii("10.0.0.1"),
                                              hex("ff")}),
                                         128),                                                          // file
                                  hex("63 82 53 63"),
                                  hex("35 01 05"), hex("34 01 03"), hex("0f 03"), ascii("abc"), hex("ff")}),
                             300);
    ASSERT_EQ(wire.size(), 300u);
    const auto r = decode(wire);
    const message& m = msg(r);
    EXPECT_FALSE(r.quirks().any());
    EXPECT_EQ(r.overloaded(), overload_fields::both);
    // The fields held options, not names.
    EXPECT_EQ(m.file, "");
    EXPECT_EQ(m.sname, "");
    ASSERT_EQ(m.options.size(), 4u);
    EXPECT_EQ(m.options[0].code, 53);
    EXPECT_EQ(m.options[1], (option{15, ascii("abcdefg")}));
    EXPECT_EQ(m.options[2], (option{66, ascii("10.0.0.1")}));
    EXPECT_EQ(m.options[3], (option{67, ascii("pxelinux.0")}));
    EXPECT_EQ(m.find(option_code::overload), nullptr);
}

TEST(dhcp_codec_overload, unflagged_fields_are_names_even_if_they_look_like_options) {
    auto wire = pxe_rom_discover();
    wire[108] = 0x0c;  // file "\x0c\x01x": a name to a client that did not set option 52
    wire[109] = 0x01;
    wire[110] = 'x';
    const auto r = decode(wire);
    EXPECT_EQ(msg(r).file, std::string("\x0c\x01x"));
    EXPECT_FALSE(msg(r).hostname());
}

// An ACK whose options need 325 octets of the 307 a 576-octet datagram has.
message big_ack() {
    message m;
    m.op = op_code::boot_reply;
    m.xid = 7;
    m.set_mac(mac("52:54:00:00:00:07"));
    m.yiaddr = ip("10.0.0.7");
    m.set_message_type(message_type::ack);                          // 3
    m.set_ipv4(option_code::server_identifier, ip("10.0.0.1"));     // 6
    m.set_ipv4(option_code::subnet_mask, ip("255.255.255.0"));      // 6
    m.set_ipv4_list(option_code::routers, {ip("10.0.0.1")});        // 6
    m.set_string(option_code::domain_name, std::string(240, 'd'));  // 242
    m.set_string(option_code::host_name, std::string(60, 'h'));     // 62
    return m;
}

TEST(dhcp_codec_overload, encode_moves_what_does_not_fit_into_file) {
    const message m = big_ack();
    const auto r = encode(m);
    ASSERT_TRUE(r.ok()) << to_string(r.error().code);
    EXPECT_EQ(r.overloaded(), overload_fields::file);
    const bytes_t& b = r.bytes();
    // Options field: 263 octets of options, option 52, end; nothing after.
    ASSERT_EQ(b.size(), 240u + 263 + 3 + 1);
    EXPECT_LE(b.size(), default_max_message_size - ip_udp_overhead);
    EXPECT_EQ(bytes_t(b.begin() + 240 + 263, b.end()), hex("34 01 01 ff"));
    // file: host name, end, pad to 128; sname untouched.
    const auto expected_file = padded(cat({hex("0c 3c"), ascii(std::string(60, 'h')), hex("ff")}), 128);
    EXPECT_EQ(bytes_t(b.begin() + 108, b.begin() + 236), expected_file);
    EXPECT_EQ(bytes_t(b.begin() + 44, b.begin() + 108), zeros(64));
    expect_round_trip(m);
}

TEST(dhcp_codec_overload, encode_uses_sname_after_file) {
    message m = big_ack();
    m.set_string(option_code::tftp_server_name, std::string(40, 't'));  // 42: file still has room
    m.set_string(option_code::bootfile_name, std::string(50, 'b'));     // 52: only sname does
    const auto r = encode(m);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.overloaded(), overload_fields::both);
    const bytes_t& b = r.bytes();
    EXPECT_EQ(b[108], 12);       // file starts with the host name...
    EXPECT_EQ(b[108 + 62], 66);  // ...then the TFTP server name
    EXPECT_EQ(b[108 + 62 + 42], 0xff);
    EXPECT_EQ(b[44], 67);  // sname: the boot file name
    EXPECT_EQ(b[44 + 52], 0xff);
    expect_round_trip(m);
}

TEST(dhcp_codec_overload, encode_uses_only_the_empty_field) {
    message m = big_ack();
    m.file = "undionly.kpxe";  // taken: only sname can carry options
    const auto r = encode(m);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.overloaded(), overload_fields::sname);
    EXPECT_EQ(r.bytes()[44], 12);
    EXPECT_EQ(std::string(r.bytes().begin() + 108, r.bytes().begin() + 121), "undionly.kpxe");
    expect_round_trip(m);
}

TEST(dhcp_codec_overload, an_earlier_field_is_filled_by_later_small_options) {
    // 43 moves to file, then the short option 58 still fits the options
    // field: first fit, never a hole left for nothing.
    message m = big_ack();
    m.erase(option_code::host_name);
    m.set(option_code::vendor_encapsulated, bytes_t(100, 0x2b));  // 102, does not fit the 41 left
    m.set_u32(option_code::renewal_time, 1800);                    // 6, fits
    const auto r = encode(m);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.overloaded(), overload_fields::file);
    EXPECT_EQ(r.bytes()[108], 43);
    const auto back = decode(r.bytes());
    ASSERT_TRUE(back.ok());
    // Decoded in field order: 58 (options field) before 43 (file).
    EXPECT_EQ(back.value().options.back().code, 43);
    EXPECT_EQ(back.value().find(option_code::vendor_encapsulated)->value, bytes_t(100, 0x2b));
    EXPECT_EQ(encoded(back.value()), r.bytes());
}

TEST(dhcp_codec_overload, no_room_is_an_error_never_a_truncation) {
    message both_taken = big_ack();
    both_taken.file = "undionly.kpxe";
    both_taken.sname = "pxe-server";
    EXPECT_EQ(encode(both_taken).error(), (encode_error{encode_errc::does_not_fit, 12}));

    encode_options no_overload;
    no_overload.allow_overload = false;
    EXPECT_EQ(encode(big_ack(), no_overload).error(), (encode_error{encode_errc::does_not_fit, 12}));

    // A 400-octet option: its second instance (145 octets) fits no field.
    message huge = big_ack();
    huge.erase(option_code::domain_name);
    huge.erase(option_code::host_name);
    huge.set(option_code::vendor_encapsulated, bytes_t(400, 1));
    EXPECT_EQ(encode(huge).error(), (encode_error{encode_errc::does_not_fit, 43}));
}

// --- maximum message size ------------------------------------------------------

TEST(dhcp_codec_max_size, a_larger_client_limit_avoids_overload) {
    encode_options o;
    o.max_message_size = 1500;
    const auto r = encode(big_ack(), o);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.overloaded(), overload_fields::none);
    EXPECT_EQ(r.bytes().size(), 240u + 325 + 1);
    expect_round_trip(big_ack(), o);
}

TEST(dhcp_codec_max_size, limits_below_576_count_as_576) {
    encode_options tiny;
    tiny.max_message_size = 300;
    const auto r = encode(big_ack(), tiny);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.bytes(), encoded(big_ack()));
}

TEST(dhcp_codec_max_size, max_reply_size_follows_option_57) {
    message m;
    EXPECT_EQ(max_reply_size(m), 576u);  // absent
    m.set_u16(option_code::max_message_size, 1500);
    EXPECT_EQ(max_reply_size(m), 1500u);
    m.set_u16(option_code::max_message_size, 300);  // below the RFC 2132 9.10 minimum
    EXPECT_EQ(max_reply_size(m), 576u);
    m.set(option_code::max_message_size, hex("05 dc 00"));  // malformed
    EXPECT_EQ(max_reply_size(m), 576u);
    EXPECT_FALSE(m.max_message_size());
}

TEST(dhcp_codec_max_size, options_exactly_filling_the_field_fit) {
    message m;
    m.op = op_code::boot_reply;
    m.set_message_type(message_type::ack);  // 3
    // 548 - 240 = 308 octets: 3 + (2 + 255) + (2 + 45) + end.
    m.set(option_code::vendor_encapsulated, bytes_t(300, 7));
    const auto r = encode(m);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.overloaded(), overload_fields::none);
    EXPECT_EQ(r.bytes().size(), 548u);
    m.set(option_code::vendor_encapsulated, bytes_t(301, 7));  // one more: overload
    EXPECT_EQ(encode(m).overloaded(), overload_fields::file);
}

// --- tolerated quirks ------------------------------------------------------------

bytes_t minimal_request(std::string_view options_hex, std::size_t size = 300) {
    return padded(cat({request_header("00000042 0000 0000", no_addrs, "525400000042"), hex(options_hex)}), size);
}

TEST(dhcp_codec_quirks, garbage_after_end_is_ignored) {
    // BDCOM P3608 GPON OLT: pads after end with 0xff (insomniacslk/dhcp PR #265).
    auto wire = minimal_request("35 01 01 ff");
    std::fill(wire.begin() + 244, wire.end(), 0xff);
    const auto r = decode(wire);
    EXPECT_EQ(msg(r).message_type(), message_type::discover);
    EXPECT_EQ(r.quirks().garbage_after_end, 300u - 244);
    EXPECT_EQ(msg(r).options.size(), 1u);
    // Trailing zero padding is not garbage.
    EXPECT_FALSE(decode(minimal_request("35 01 01 ff")).quirks().any());
}

TEST(dhcp_codec_quirks, missing_end_option) {
    // monitoring-plugins check_dhcp (issue #686) and Cosa's DHCP client
    // (PR #237) sent options up to the end of the datagram without end.
    const auto wire = cat({request_header("00000042 0000 0000", no_addrs, "525400000042"),
                           hex("35 01 01 3d 07 01 525400000042")});
    const auto r = decode(wire);
    EXPECT_TRUE(r.quirks().missing_end);
    EXPECT_EQ(msg(r).message_type(), message_type::discover);
    EXPECT_EQ(msg(r).client_id(), hex("01 525400000042"));
}

TEST(dhcp_codec_quirks, zero_length_options_are_kept_empty) {
    // Somfy Alarm Link: empty host name (TechnitiumSoftware/DnsServer #1951).
    const auto r = decode(minimal_request("35 01 01 0c 00 50 00 ff"));
    const message& m = msg(r);
    // Rapid commit (80) is empty by design (RFC 4039): no quirk.
    EXPECT_EQ(r.quirks().empty_options, 1u);
    ASSERT_NE(m.find(option_code::host_name), nullptr);
    EXPECT_TRUE(m.find(option_code::host_name)->value.empty());
    EXPECT_FALSE(m.hostname());
    ASSERT_NE(m.find(option_code::rapid_commit), nullptr);
    // Both survive a round trip as they came.
    const auto back = decode(encoded(m));
    EXPECT_EQ(msg(back), m);
    EXPECT_EQ(back.quirks().empty_options, 1u);
    EXPECT_FALSE(decode(minimal_request("35 01 01 50 00 ff")).quirks().any());
}

TEST(dhcp_codec_quirks, trailing_nuls_are_removed_from_strings) {
    // RFC 2132 section 2: receivers must be prepared to delete them.
    const auto r = decode(minimal_request("35 01 01 0c 06 686f7374 0000 3c 04 61626300 ff"));
    EXPECT_EQ(msg(r).hostname(), std::string("host"));
    EXPECT_EQ(msg(r).vendor_class(), std::string("abc"));
    EXPECT_FALSE(r.quirks().any());
}

TEST(dhcp_codec_quirks, oversized_hlen_is_clamped) {
    auto wire = minimal_request("35 01 01 ff");
    wire[2] = 20;
    const auto r = decode(wire);
    const message& m = msg(r);
    EXPECT_TRUE(r.quirks().oversized_hlen);
    EXPECT_EQ(m.hlen, 20);
    EXPECT_EQ(m.hardware_address().size(), 16u);
    EXPECT_FALSE(m.mac());
    EXPECT_EQ(encoded(m)[2], 20);  // echoed as sent
}

TEST(dhcp_codec_quirks, bootp_request_without_magic_cookie) {
    // RFC 951 client: 300 octets, 64-octet vend field of zeros.
    auto wire = padded(cat({hex("01 01 06 00" "00000099" "0000 0000"), hex(no_addrs), hex("0800200a0b0c"), zeros(10),
                            zeros(64), ascii("vmunix"), zeros(128 - 6)}),
                       300);
    const auto r = decode(wire);
    const message& m = msg(r);
    EXPECT_TRUE(r.quirks().no_magic_cookie);
    EXPECT_TRUE(m.options.empty());
    EXPECT_FALSE(m.message_type());  // BOOTP, not DHCP
    EXPECT_EQ(m.file, "vmunix");
    EXPECT_EQ(m.mac(), mac("08:00:20:0a:0b:0c"));
    // A reply is written in RFC 1048 format: cookie and end.
    const auto back = decode(encoded(m));
    EXPECT_EQ(msg(back), m);
    EXPECT_FALSE(back.quirks().no_magic_cookie);
}

TEST(dhcp_codec_quirks, user_class_in_rfc3004_form) {
    const auto r = decode(minimal_request("35 01 01 4d 0a 04 69505845 04 74657374 ff"));
    EXPECT_EQ(msg(r).user_class(), (std::vector<std::string>{"iPXE", "test"}));
    EXPECT_TRUE(msg(r).has_ipxe());
    const auto other = decode(minimal_request("35 01 01 4d 04 03 616263 ff"));
    EXPECT_EQ(msg(other).user_class(), std::vector<std::string>{"abc"});
    EXPECT_FALSE(msg(other).has_ipxe());
    // RFC 3004 instances are never empty: a zero length means the value is
    // not in that form at all, so it is one raw string.
    const auto zero = decode(minimal_request("35 01 01 4d 06 04 69505845 00 ff"));
    EXPECT_EQ(msg(zero).user_class(), std::vector<std::string>{std::string("\x04iPXE\0", 6)});
    EXPECT_FALSE(msg(zero).has_ipxe());
}

TEST(dhcp_codec_quirks, malformed_typed_values_read_as_absent) {
    const auto r = decode(minimal_request("35 02 01 01 32 03 0a0000 5d 03 000000 61 10 00 ff"));
    const message& m = msg(r);
    EXPECT_FALSE(m.message_type());
    EXPECT_NE(m.find(option_code::message_type), nullptr);
    EXPECT_FALSE(m.requested_ip());
    EXPECT_TRUE(m.client_arch().empty());
    EXPECT_FALSE(m.client_uuid());
}

// --- malformed input -----------------------------------------------------------

struct malformed_case {
    const char* name;
    bytes_t wire;
    decode_errc code;
    std::size_t offset;
};

bytes_t with(bytes_t b, std::size_t at, std::initializer_list<std::uint8_t> values) {
    for (const auto v : values) b.at(at++) = v;
    return b;
}

TEST(dhcp_codec_malformed, table) {
    const bytes_t ok = minimal_request("35 01 01 ff");
    const bytes_t header = request_header("00000042 0000 0000", no_addrs, "525400000042");
    const std::vector<malformed_case> cases = {
        {"empty", {}, decode_errc::truncated, 0},
        {"one octet", {0x01}, decode_errc::truncated, 1},
        {"header without cookie", bytes_t(ok.begin(), ok.begin() + 236), decode_errc::truncated, 236},
        {"cookie cut short", bytes_t(ok.begin(), ok.begin() + 239), decode_errc::truncated, 239},
        {"op 0", with(ok, 0, {0}), decode_errc::bad_op, 0},
        {"op 3", with(ok, 0, {3}), decode_errc::bad_op, 0},
        {"op 0xff", with(ok, 0, {0xff}), decode_errc::bad_op, 0},
        {"bad cookie", with(ok, 236, {0x63, 0x82, 0x53, 0x64}), decode_errc::bad_cookie, 236},
        {"vendor cookie", with(ok, 236, {'V', 'E', 'N', 'D'}), decode_errc::bad_cookie, 236},
        {"value past the end", cat({header, hex("35 01 01 0c 08 6162")}), decode_errc::option_truncated, 243},
        {"length octet missing", cat({header, hex("35 01 01 0c")}), decode_errc::option_truncated, 243},
        {"first option cut", cat({header, hex("35 02 01")}), decode_errc::option_truncated, 240},
        {"overload value 0", minimal_request("35 01 01 34 01 00 ff"), decode_errc::bad_overload, 243},
        {"overload value 4", minimal_request("35 01 01 34 01 04 ff"), decode_errc::bad_overload, 243},
        {"overload length 2", minimal_request("35 01 01 34 02 01 01 ff"), decode_errc::bad_overload, 243},
        {"overload twice", minimal_request("34 01 01 35 01 01 34 01 01 ff"), decode_errc::bad_overload, 246},
        {"overloaded file with an option past the field",
         with(minimal_request("35 01 01 34 01 01 ff"), 108, {0x0c, 0x7f}), decode_errc::option_truncated, 108},
        {"overloaded sname with an option past the field",
         with(minimal_request("35 01 01 34 01 02 ff"), 104, {0x0c, 0x05, 'a', 'b'}), decode_errc::option_truncated,
         104},
        {"overloaded file with its last octet an option code",
         with(minimal_request("35 01 01 34 01 01 ff"), 235, {0x0c}), decode_errc::option_truncated, 235},
        {"overload inside the file field", with(minimal_request("35 01 01 34 01 01 ff"), 108, {0x34, 0x01, 0x02, 0xff}),
         decode_errc::bad_overload, 108},
        {"overloaded file fine but sname broken", with(with(minimal_request("35 01 01 34 01 03 ff"), 108, {0xff}), 44,
                                                       {0x0c, 0x40}),
         decode_errc::option_truncated, 44},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const auto r = decode(c.wire);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, c.code) << to_string(r.error().code);
        EXPECT_EQ(r.error().offset, c.offset);
        EXPECT_LE(r.error().offset, c.wire.size());
        EXPECT_FALSE(to_string(r.error().code).empty());
    }
    EXPECT_TRUE(decode(ok).ok());
}

TEST(dhcp_codec_malformed, every_prefix_of_a_golden_request_decodes_or_fails_cleanly) {
    const auto wire = ipxe_discover();
    for (std::size_t n = 0; n <= wire.size(); ++n) {
        const bytes_t prefix(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
        const auto r = decode(prefix);
        if (!r.ok()) {
            EXPECT_LE(r.error().offset, n);
            continue;
        }
        // Cut between two options: accepted without end.
        EXPECT_TRUE(r.quirks().missing_end || n == wire.size());
    }
}

// --- names and classification ------------------------------------------------------

TEST(dhcp_codec_names, message_types) {
    EXPECT_EQ(to_string(message_type::discover), "DHCPDISCOVER");
    EXPECT_EQ(to_string(message_type::inform), "DHCPINFORM");
    EXPECT_EQ(to_string(static_cast<message_type>(9)), "DHCPFORCERENEW");
    EXPECT_EQ(to_string(static_cast<message_type>(18)), "DHCPTLS");
    EXPECT_EQ(to_string(static_cast<message_type>(200)), "DHCP(200)");
    // Later message types decode as they are, for the engine to ignore.
    const auto r = decode(minimal_request("35 01 09 ff"));
    EXPECT_EQ(msg(r).message_type(), static_cast<message_type>(9));
}

TEST(dhcp_codec_names, client_architectures) {
    const std::vector<std::pair<std::uint16_t, boot_firmware>> table = {
        {0, boot_firmware::bios},          {6, boot_firmware::uefi_ia32},       {7, boot_firmware::uefi_x64},
        {9, boot_firmware::uefi_x64},      {11, boot_firmware::uefi_arm64},     {16, boot_firmware::uefi_x64_http},
        {19, boot_firmware::uefi_arm64_http}, {2, boot_firmware::unknown},     {10, boot_firmware::unknown},
        {15, boot_firmware::unknown},      {27, boot_firmware::unknown},        {0xffff, boot_firmware::unknown},
    };
    for (const auto& [code, expected] : table) {
        EXPECT_EQ(classify(static_cast<client_arch>(code)), expected) << code;
    }
    EXPECT_EQ(to_string(boot_firmware::uefi_x64_http), "uefi-x64-http");
}

TEST(dhcp_codec_names, arch_from_vendor_class) {
    EXPECT_EQ(arch_from_vendor_class("PXEClient:Arch:00000:UNDI:002001"), client_arch::x86_bios);
    EXPECT_EQ(arch_from_vendor_class("PXEClient:Arch:00007:UNDI:003016"), client_arch::efi_bc);
    EXPECT_EQ(arch_from_vendor_class("HTTPClient:Arch:00016:UNDI:003001"), client_arch::efi_x86_64_http);
    EXPECT_EQ(arch_from_vendor_class("PXEClient:Arch:00011"), client_arch::efi_arm64);
    EXPECT_FALSE(arch_from_vendor_class("PXEClient"));
    EXPECT_FALSE(arch_from_vendor_class("PXEClient:Arch:0007:UNDI:003016"));
    EXPECT_FALSE(arch_from_vendor_class("PXEClient:Arch:000x7"));
    EXPECT_FALSE(arch_from_vendor_class("PXEClient:Arch:000077"));
    EXPECT_FALSE(arch_from_vendor_class("PXEClient:Arch:99999"));
    EXPECT_FALSE(arch_from_vendor_class("udhcp 1.36.1"));
}

TEST(dhcp_codec_names, firmware_falls_back_to_the_vendor_class) {
    message m;
    m.set_string(option_code::vendor_class_identifier, "PXEClient:Arch:00009:UNDI:003016");
    EXPECT_EQ(m.firmware(), boot_firmware::uefi_x64);
    m.set_string(option_code::vendor_class_identifier, "HTTPClient:Arch:00019");
    EXPECT_EQ(m.firmware(), boot_firmware::uefi_arm64_http);
    m.set_u16(option_code::client_system_architecture, 6);  // option 93 wins
    EXPECT_EQ(m.firmware(), boot_firmware::uefi_ia32);
}

TEST(dhcp_codec_names, message_helpers) {
    message m;
    m.set_broadcast(true);
    EXPECT_EQ(m.flags, 0x8000);
    m.flags |= 1;
    m.set_broadcast(false);
    EXPECT_EQ(m.flags, 1);
    m.set_u8(option_code::message_type, 1);
    m.set_u8(option_code::message_type, 3);  // replaced in place
    ASSERT_EQ(m.options.size(), 1u);
    EXPECT_EQ(m.message_type(), message_type::request);
    EXPECT_TRUE(m.erase(option_code::message_type));
    EXPECT_FALSE(m.erase(option_code::message_type));
    EXPECT_FALSE(m.has(option_code::message_type));
}

// --- option table ----------------------------------------------------------------------

TEST(dhcp_option_table, sorted_unique_and_named) {
    const auto defs = option_defs();
    ASSERT_GT(defs.size(), 30u);
    for (const option_def* d = defs.begin(); d != defs.end(); ++d) {
        SCOPED_TRACE(std::string(d->name));
        EXPECT_FALSE(d->name.empty());
        EXPECT_FALSE(d->reference.empty());
        EXPECT_NE(d->code, 0);
        EXPECT_NE(d->code, 255);
        if (d + 1 != defs.end()) {
            EXPECT_LT(d->code, (d + 1)->code);
        }
        EXPECT_EQ(find_option_def(d->code), d);
        EXPECT_EQ(find_option_def(d->name), d);
    }
    EXPECT_EQ(find_option_def(option_code::message_type)->type, value_type::u8);
    EXPECT_EQ(find_option_def("boot-file-name")->code, 67);
    EXPECT_EQ(find_option_def("client-system")->type, value_type::u16_list);
    EXPECT_EQ(find_option_def(std::uint8_t{5}), nullptr);
    EXPECT_EQ(find_option_def("no-such-option"), nullptr);
    // Every code the typed accessors rely on has a row.
    for (const auto c : {option_code::host_name, option_code::requested_address, option_code::lease_time,
                         option_code::message_type, option_code::server_identifier,
                         option_code::parameter_request_list, option_code::max_message_size,
                         option_code::vendor_class_identifier, option_code::client_identifier, option_code::user_class,
                         option_code::relay_agent_information, option_code::client_system_architecture,
                         option_code::client_ndi, option_code::client_machine_id, option_code::ipxe_encapsulated}) {
        EXPECT_NE(find_option_def(c), nullptr) << static_cast<int>(code_of(c));
    }
}

TEST(dhcp_option_table, value_valid) {
    const auto valid = [](option_code c, std::string_view h) { return value_valid(*find_option_def(c), hex(h)); };
    EXPECT_TRUE(valid(option_code::subnet_mask, "ffffff00"));
    EXPECT_FALSE(valid(option_code::subnet_mask, "ffffff"));
    EXPECT_FALSE(valid(option_code::subnet_mask, "ffffff0000"));
    EXPECT_TRUE(valid(option_code::routers, "0a000001 0a000002"));
    EXPECT_FALSE(valid(option_code::routers, ""));
    EXPECT_FALSE(valid(option_code::routers, "0a000001 0a"));
    EXPECT_TRUE(valid(option_code::client_system_architecture, "0000 0007"));
    EXPECT_FALSE(valid(option_code::client_system_architecture, "000007"));
    EXPECT_TRUE(valid(option_code::client_machine_id, "00 4c4c454400353810 8037b4c04f393232"));
    EXPECT_FALSE(valid(option_code::client_machine_id, "01 4c4c454400353810 8037b4c04f393232"));
    EXPECT_FALSE(valid(option_code::client_identifier, "01"));
    EXPECT_TRUE(valid(option_code::rapid_commit, ""));
    EXPECT_FALSE(valid(option_code::rapid_commit, "00"));
    EXPECT_TRUE(valid(option_code::relay_agent_information, "01 02 0a0b"));
    EXPECT_FALSE(valid(option_code::relay_agent_information, "01 05 0a0b"));
    EXPECT_TRUE(valid(option_code::ipxe_encapsulated, "13 01 01 00 ff 99"));  // pad, end, ignored tail
    EXPECT_FALSE(valid(option_code::ipxe_encapsulated, "13 05 01"));
}

TEST(dhcp_option_table, format_value) {
    const auto fmt = [](option_code c, std::string_view h) { return format_value(find_option_def(c), hex(h)); };
    EXPECT_EQ(fmt(option_code::routers, "0a000001 c0a80101"), "10.0.0.1, 192.168.1.1");
    EXPECT_EQ(fmt(option_code::lease_time, "00000e10"), "3600");
    EXPECT_EQ(fmt(option_code::time_offset, "fffff1f0"), "-3600");
    EXPECT_EQ(fmt(option_code::parameter_request_list, "01 03 06"), "1, 3, 6");
    EXPECT_EQ(fmt(option_code::client_system_architecture, "0000 0007"), "0, 7");
    EXPECT_EQ(fmt(option_code::host_name, "686f 1b5b 32 4a"), "ho\\x1b[2J");  // escaped for the log
    EXPECT_EQ(fmt(option_code::user_class, "04 69505845"), "iPXE");
    EXPECT_EQ(fmt(option_code::user_class, "69505845"), "iPXE");
    EXPECT_EQ(fmt(option_code::subnet_mask, "ffff"), "ff:ff");  // malformed: hex
    EXPECT_EQ(format_value(nullptr, hex("01 02 fe")), "01:02:fe");
}

TEST(dhcp_option_table, parse_value) {
    const auto parse = [](std::string_view name, std::string_view text) {
        return parse_value(*find_option_def(name), text);
    };
    EXPECT_EQ(parse("routers", "10.0.0.1, 10.0.0.2"), hex("0a000001 0a000002"));
    EXPECT_EQ(parse("subnet-mask", " 255.255.255.0 "), hex("ffffff00"));
    EXPECT_FALSE(parse("subnet-mask", "10.0.0.1, 10.0.0.2"));
    EXPECT_FALSE(parse("routers", ""));
    EXPECT_FALSE(parse("routers", "10.0.0.1,"));
    EXPECT_FALSE(parse("routers", "10.0.0.256"));
    EXPECT_EQ(parse("dhcp-lease-time", "3600"), hex("00000e10"));
    EXPECT_EQ(parse("dhcp-lease-time", "4294967295"), hex("ffffffff"));
    EXPECT_FALSE(parse("dhcp-lease-time", "4294967296"));
    EXPECT_FALSE(parse("dhcp-lease-time", "-1"));
    EXPECT_FALSE(parse("dhcp-lease-time", "+1"));
    EXPECT_FALSE(parse("dhcp-lease-time", "0x10"));
    EXPECT_EQ(parse("time-offset", "-3600"), hex("fffff1f0"));
    EXPECT_EQ(parse("time-offset", "-2147483648"), hex("80000000"));
    EXPECT_FALSE(parse("time-offset", "2147483648"));
    EXPECT_EQ(parse("interface-mtu", "1500"), hex("05dc"));
    EXPECT_FALSE(parse("interface-mtu", "65536"));
    EXPECT_EQ(parse("client-system", "0, 7"), hex("0000 0007"));
    EXPECT_EQ(parse("dhcp-parameter-request-list", "1,3,6"), hex("01 03 06"));
    EXPECT_FALSE(parse("dhcp-parameter-request-list", "1,256"));
    EXPECT_EQ(parse("boot-file-name", "ipxe.efi"), ascii("ipxe.efi"));
    EXPECT_FALSE(parse("boot-file-name", ""));
    EXPECT_EQ(parse("dhcp-client-identifier", "01:52:54:00:12:34:56"), hex("01 525400123456"));
    EXPECT_EQ(parse("dhcp-client-identifier", "01525400123456"), hex("01 525400123456"));
    EXPECT_FALSE(parse("dhcp-client-identifier", "1:52"));
    EXPECT_FALSE(parse("dhcp-client-identifier", "01:5g"));
    EXPECT_EQ(parse("rapid-commit", ""), bytes_t{});
    EXPECT_FALSE(parse("rapid-commit", "1"));
    EXPECT_FALSE(parse("dhcp-agent-options", "01 05 00"));
    // Text and bytes agree both ways for the text types.
    const auto* routers = find_option_def("routers");
    EXPECT_EQ(parse_value(*routers, format_value(routers, hex("0a000001 0a000002"))), hex("0a000001 0a000002"));
}

TEST(dhcp_option_table, sub_options) {
    const auto strict = parse_sub_options(hex("01 02 aabb 02 00"), sub_option_format::strict);
    ASSERT_TRUE(strict);
    ASSERT_EQ(strict->size(), 2u);
    EXPECT_EQ((*strict)[0], (option{1, hex("aabb")}));
    EXPECT_EQ((*strict)[1], (option{2, {}}));
    EXPECT_EQ(encode_sub_options(*strict), hex("01 02 aabb 02 00"));
    // In RFC 3046 form a 0 is a sub-option code, not pad.
    EXPECT_FALSE(parse_sub_options(hex("00"), sub_option_format::strict));
    const auto like = parse_sub_options(hex("00 00 13 01 01 ff 13"), sub_option_format::options_like);
    ASSERT_TRUE(like);
    EXPECT_EQ(*like, (std::vector<option>{{0x13, hex("01")}}));
    EXPECT_FALSE(encode_sub_options({option{1, bytes_t(256, 0)}}));
}

}  // namespace

// RFC 3527 link selection, as the responder picks a relayed client's subnet by it.
TEST(dhcp_message, link_selection_is_option_82_sub_option_5_of_exactly_four_octets) {
    message m;
    EXPECT_EQ(m.link_selection(), std::nullopt);
    m.set(option_code::relay_agent_information, {1, 2, 'p', '1', 5, 4, 10, 9, 0, 1});
    EXPECT_EQ(m.link_selection(), wire::ipv4_address::parse("10.9.0.1"));
    m.set(option_code::relay_agent_information, {5, 4, 0xc0, 0xa8, 0x01, 0xfe});
    EXPECT_EQ(m.link_selection(), wire::ipv4_address::parse("192.168.1.254"));
    // Three octets (a broken relay), or a sub-option running past the end: none.
    m.set(option_code::relay_agent_information, {5, 3, 10, 9, 0});
    EXPECT_EQ(m.link_selection(), std::nullopt);
    m.set(option_code::relay_agent_information, {5, 4, 10, 9, 0});
    EXPECT_EQ(m.link_selection(), std::nullopt);
    m.set(option_code::relay_agent_information, {1, 2, 'p', '1'});
    EXPECT_EQ(m.link_selection(), std::nullopt);
}

// PXE 2.1 table 2-1: what EDK2 (OVMF) needs to boot the offered file.
TEST(dhcp_options, pxe_discovery_control_asks_for_the_boot_file_in_the_offer) {
    const auto v = pxe_discovery_control_option();
    EXPECT_EQ(v, (std::vector<std::uint8_t>{6, 1, 0x08, 255}));
    const auto subs = parse_sub_options(v, sub_option_format::options_like);
    ASSERT_TRUE(subs);
    ASSERT_EQ(subs->size(), 1u);
    EXPECT_EQ((*subs)[0].code, static_cast<std::uint8_t>(pxe_sub_option::discovery_control));
    EXPECT_EQ((*subs)[0].value, std::vector<std::uint8_t>{pxe_boot_file_in_offer});
}

}  // namespace pxed::dhcp
