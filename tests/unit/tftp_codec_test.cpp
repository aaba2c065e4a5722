// TFTP codec: golden requests as real clients put them on the wire, the
// encoders' exact bytes, round trips, and a table of malformed datagrams.
//
// The tftp-hpa, atftp and curl requests were captured with tcpdump (Debian
// 12 packages: tftp-hpa 5.2, atftp 0.8.0, curl 7.88.1, talking to pxed over
// a veth pair); the iPXE and PXE ROM ones follow those clients' sources and
// logs. They are written out by hand, one field per string literal ("\0"
// "0" is a NUL then the digit; "\00" would be a single NUL), and each
// carries its expected length so a typo in a vector cannot go unnoticed.

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "pxed/proto/tftp.hpp"

namespace pxed::tftp {
namespace {

template <std::size_t N>
std::vector<std::uint8_t> bytes(const char (&literal)[N]) {
    return std::vector<std::uint8_t>(literal, literal + N - 1);
}

std::vector<std::uint8_t> bytes(const std::string& s) { return std::vector<std::uint8_t>(s.begin(), s.end()); }

const request& as_request(const decode_result& r) {
    static const request empty;
    const auto* req = r.get_if<request>();
    EXPECT_NE(req, nullptr);
    return req ? *req : empty;
}

std::vector<option> opts(std::initializer_list<std::pair<const char*, const char*>> list) {
    std::vector<option> out;
    for (const auto& [n, v] : list) out.push_back(option{n, v});
    return out;
}

// --- golden requests -------------------------------------------------------

TEST(tftp_codec_golden, tftp_hpa_get_octet) {
    // tftp-hpa 5.2: `tftp -m octet 127.0.0.1 -c get pxelinux.0`. The
    // tftp-hpa client sends no RFC 2347 options.
    const auto wire = bytes("\x00\x01" "pxelinux.0" "\0" "octet" "\0");
    ASSERT_EQ(wire.size(), 2u + 11 + 6);
    const auto r = decode(wire);
    ASSERT_TRUE(r.ok());
    const request& req = as_request(r);
    EXPECT_EQ(req.op, opcode::rrq);
    EXPECT_EQ(req.filename, "pxelinux.0");
    EXPECT_EQ(req.mode_text, "octet");
    EXPECT_EQ(req.mode, transfer_mode::octet);
    EXPECT_TRUE(req.options.empty());
    EXPECT_FALSE(r.quirks().any());
    EXPECT_EQ(encode(r.value()), wire);
}

TEST(tftp_codec_golden, tftp_hpa_get_default_mode_is_netascii) {
    // tftp-hpa 5.2 without -m: `tftp 127.0.0.1 -c get pxelinux.0`.
    const auto wire = bytes("\x00\x01" "pxelinux.0" "\0" "netascii" "\0");
    ASSERT_EQ(wire.size(), 2u + 11 + 9);
    const auto r = decode(wire);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(as_request(r).mode, transfer_mode::netascii);
    EXPECT_EQ(as_request(r).mode_text, "netascii");
    EXPECT_EQ(encode(r.value()), wire);
}

TEST(tftp_codec_golden, curl_asks_for_blksize_512_and_timeout_6_every_time) {
    // curl 7.88.1: `curl -o f tftp://127.0.0.1/pxelinux.0`. curl sends its
    // default blksize and its 6 s retry time as options on every request.
    const auto wire = bytes("\x00\x01" "pxelinux.0" "\0" "octet" "\0"
                            "tsize" "\0" "0" "\0"
                            "blksize" "\0" "512" "\0"
                            "timeout" "\0" "6" "\0");
    ASSERT_EQ(wire.size(), 49u);
    const auto r = decode(wire);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(as_request(r).options, opts({{"tsize", "0"}, {"blksize", "512"}, {"timeout", "6"}}));
    EXPECT_EQ(encode(r.value()), wire);
}

TEST(tftp_codec_golden, atftp_with_blksize_tsize_windowsize) {
    // atftp 0.8.0: `atftp --get -r pxelinux.0 --option "blksize 1468"
    // --option "tsize 0" --option "windowsize 16" 127.0.0.1`. atftp writes
    // its options in the order of its option table (tsize, timeout,
    // blksize, ..., windowsize), not in command-line order.
    const auto wire = bytes("\x00\x01" "pxelinux.0" "\0" "octet" "\0"
                            "tsize" "\0" "0" "\0"
                            "blksize" "\0" "1468" "\0"
                            "windowsize" "\0" "16" "\0");
    ASSERT_EQ(wire.size(), 54u);
    const auto r = decode(wire);
    ASSERT_TRUE(r.ok());
    const request& req = as_request(r);
    EXPECT_EQ(req.filename, "pxelinux.0");
    EXPECT_EQ(req.options, opts({{"tsize", "0"}, {"blksize", "1468"}, {"windowsize", "16"}}));
    ASSERT_NE(req.find_option("WindowSize"), nullptr);
    EXPECT_EQ(req.find_option("WindowSize")->value, "16");
    EXPECT_EQ(req.find_option("timeout"), nullptr);
    EXPECT_FALSE(r.quirks().any());
    EXPECT_EQ(encode(r.value()), wire);
}

TEST(tftp_codec_golden, ipxe_rrq_for_pxelinux) {
    // iPXE (src/net/udp/tftp.c, tftp_send_rrq): "octet", then blksize with
    // its TFTP_MAX_BLKSIZE of 1432, then "tsize" "0"; the leading '/' of the
    // URI path is stripped before sending.
    const auto wire = bytes("\x00\x01" "pxelinux.0" "\0" "octet" "\0"
                            "blksize" "\0" "1432" "\0"
                            "tsize" "\0" "0" "\0");
    ASSERT_EQ(wire.size(), 2u + 11 + 6 + 8 + 5 + 6 + 2);
    const auto r = decode(wire);
    ASSERT_TRUE(r.ok());
    const request& req = as_request(r);
    EXPECT_EQ(req.options, opts({{"blksize", "1432"}, {"tsize", "0"}}));
    EXPECT_EQ(encode(r.value()), wire);
}

TEST(tftp_codec_golden, pxe_rom_tsize_probe) {
    // A PXE 2.x ROM's first RRQ asks only for tsize; after the OACK it sends
    // ERROR "TFTP Aborted" and asks again with blksize.
    const auto probe = bytes("\x00\x01" "pxelinux.0" "\0" "octet" "\0" "tsize" "\0" "0" "\0");
    ASSERT_EQ(probe.size(), 2u + 11 + 6 + 6 + 2);
    const auto r = decode(probe);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(as_request(r).options, opts({{"tsize", "0"}}));

    const auto abort = bytes("\x00\x05" "\x00\x00" "TFTP Aborted" "\0");
    const auto a = decode(abort);
    ASSERT_TRUE(a.ok());
    const auto* err = a.get_if<error_packet>();
    ASSERT_NE(err, nullptr);
    EXPECT_EQ(err->code, error_code::not_defined);
    EXPECT_EQ(err->message, "TFTP Aborted");
}

TEST(tftp_codec_golden, write_request) {
    const auto wire = bytes("\x00\x02" "upload.bin" "\0" "octet" "\0");
    const auto r = decode(wire);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(as_request(r).op, opcode::wrq);
}

// --- tolerated quirks ------------------------------------------------------

TEST(tftp_codec_quirks, nul_padding_after_last_option_is_ignored) {
    const auto wire = bytes("\x00\x01" "pxelinux.0" "\0" "octet" "\0"
                            "blksize" "\0" "1432" "\0"
                            "\0\0\0\0\0\0");
    const auto r = decode(wire);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(as_request(r).options, opts({{"blksize", "1432"}}));
    EXPECT_EQ(r.quirks().ignored_trailing_bytes, 6u);
}

TEST(tftp_codec_quirks, garbage_after_an_empty_name_is_ignored) {
    const auto wire = bytes("\x00\x01" "pxelinux.0" "\0" "octet" "\0" "\0" "\xff\xfe" "junk");
    const auto r = decode(wire);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(as_request(r).options.empty());
    EXPECT_EQ(r.quirks().ignored_trailing_bytes, 7u);
}

TEST(tftp_codec_quirks, padding_right_after_mode_means_no_options) {
    const auto wire = bytes("\x00\x01" "f" "\0" "octet" "\0" "\0\0");
    const auto r = decode(wire);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(as_request(r).options.empty());
    EXPECT_EQ(r.quirks().ignored_trailing_bytes, 2u);
}

TEST(tftp_codec_quirks, missing_final_nul_on_last_value) {
    const auto wire = bytes("\x00\x01" "pxelinux.0" "\0" "octet" "\0" "tsize" "\0" "0" "\0" "blksize" "\0" "1468");
    const auto r = decode(wire);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(as_request(r).options, opts({{"tsize", "0"}, {"blksize", "1468"}}));
    EXPECT_TRUE(r.quirks().unterminated_last_string);
    // Re-encoding repairs it.
    EXPECT_EQ(encode(r.value()).back(), 0);
}

TEST(tftp_codec_quirks, missing_final_nul_on_mode) {
    const auto wire = bytes("\x00\x01" "pxelinux.0" "\0" "octet");
    const auto r = decode(wire);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(as_request(r).mode, transfer_mode::octet);
    EXPECT_TRUE(r.quirks().unterminated_last_string);
}

TEST(tftp_codec_quirks, empty_option_value_is_kept) {
    // An empty value is well formed; tftpy refusing one broke Grandstream
    // phone provisioning (tftpy issue #141).
    const auto wire = bytes("\x00\x01" "cfg.xml" "\0" "octet" "\0" "grandstream_option" "\0" "\0" "tsize" "\0" "0" "\0");
    const auto r = decode(wire);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(as_request(r).options, opts({{"grandstream_option", ""}, {"tsize", "0"}}));
}

TEST(tftp_codec_quirks, ack_with_extra_bytes) {
    const auto r = decode(bytes("\x00\x04" "\x01\x02" "\x00\x00"));
    ASSERT_TRUE(r.ok());
    ASSERT_NE(r.get_if<ack_packet>(), nullptr);
    EXPECT_EQ(r.get_if<ack_packet>()->block, 0x0102);
    EXPECT_EQ(r.quirks().ack_extra_bytes, 2u);
}

TEST(tftp_codec_quirks, error_without_nul_or_message) {
    const auto unterminated = decode(bytes("\x00\x05" "\x00\x08" "no options"));
    ASSERT_TRUE(unterminated.ok());
    EXPECT_EQ(unterminated.get_if<error_packet>()->code, error_code::option_refused);
    EXPECT_EQ(unterminated.get_if<error_packet>()->message, "no options");
    EXPECT_TRUE(unterminated.quirks().unterminated_last_string);

    const auto bare = decode(bytes("\x00\x05" "\x00\x01"));
    ASSERT_TRUE(bare.ok());
    EXPECT_EQ(bare.get_if<error_packet>()->code, error_code::file_not_found);
    EXPECT_EQ(bare.get_if<error_packet>()->message, "");
}

// --- other packets ---------------------------------------------------------

TEST(tftp_codec_packets, data_ack_oack_decode) {
    const auto d = decode(bytes("\x00\x03" "\xff\xff" "hello"));
    ASSERT_TRUE(d.ok());
    ASSERT_NE(d.get_if<data_packet>(), nullptr);
    EXPECT_EQ(d.get_if<data_packet>()->block, 65535);
    EXPECT_EQ(d.get_if<data_packet>()->payload, bytes("hello"));

    const auto empty_data = decode(bytes("\x00\x03" "\x00\x07"));
    ASSERT_TRUE(empty_data.ok());
    EXPECT_TRUE(empty_data.get_if<data_packet>()->payload.empty());

    const auto a = decode(bytes("\x00\x04" "\x12\x34"));
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a.get_if<ack_packet>()->block, 0x1234);
    EXPECT_FALSE(a.quirks().any());

    const auto o = decode(bytes("\x00\x06" "blksize" "\0" "1468" "\0" "tsize" "\0" "42" "\0"));
    ASSERT_TRUE(o.ok());
    ASSERT_NE(o.get_if<oack_packet>(), nullptr);
    EXPECT_EQ(o.get_if<oack_packet>()->options, opts({{"blksize", "1468"}, {"tsize", "42"}}));
}

// The sender's zero-copy path: the header written in front of a payload
// already in place gives the same bytes as encode_data.
TEST(tftp_codec_encode, data_header_in_place_matches_encode_data) {
    static_assert(header_size == 4, "RFC 1350 section 5: 2 bytes opcode, 2 bytes block");
    std::vector<std::uint8_t> packet(header_size + 3, 0xaa);
    packet[header_size] = 'a';
    packet[header_size + 1] = 'b';
    packet[header_size + 2] = 'c';
    write_data_header(packet.data(), 0xfe01);
    EXPECT_EQ(packet, bytes("\x00\x03" "\xfe\x01" "abc"));
    EXPECT_EQ(packet, encode_data(0xfe01, packet.data() + header_size, 3));
    const auto back = decode(packet);
    ASSERT_NE(back.get_if<data_packet>(), nullptr);
    EXPECT_EQ(back.get_if<data_packet>()->block, 0xfe01);
    EXPECT_EQ(back.get_if<data_packet>()->payload, (std::vector<std::uint8_t>{'a', 'b', 'c'}));
    // Only the header is written: the bytes behind it are the caller's.
    std::uint8_t four[header_size + 1] = {9, 9, 9, 9, 0x5a};
    write_data_header(four, 0);
    EXPECT_EQ(four[0], 0);
    EXPECT_EQ(four[1], 3);
    EXPECT_EQ(four[2], 0);
    EXPECT_EQ(four[3], 0);
    EXPECT_EQ(four[4], 0x5a);
}

TEST(tftp_codec_encode, exact_bytes) {
    const std::uint8_t payload[] = {0xde, 0xad, 0x00, 0xbe};
    EXPECT_EQ(encode_data(0x0102, payload, sizeof payload), bytes("\x00\x03" "\x01\x02" "\xde\xad\x00\xbe"));
    EXPECT_EQ(encode_data(7, nullptr, 0), bytes("\x00\x03" "\x00\x07"));
    EXPECT_EQ(encode_ack(0), bytes("\x00\x04" "\x00\x00"));
    EXPECT_EQ(encode_ack(65535), bytes("\x00\x04" "\xff\xff"));
    EXPECT_EQ(encode_error(error_code::access_violation, "pxed is read-only"),
              bytes("\x00\x05" "\x00\x02" "pxed is read-only" "\0"));
    EXPECT_EQ(encode_error(error_code::option_refused), bytes("\x00\x05" "\x00\x08" "Option negotiation refused" "\0"));
    EXPECT_EQ(encode_error(error_code::unknown_tid), bytes("\x00\x05" "\x00\x05" "Unknown transfer ID" "\0"));
    EXPECT_EQ(encode_oack(opts({{"blksize", "1432"}, {"tsize", "94208"}})),
              bytes("\x00\x06" "blksize" "\0" "1432" "\0" "tsize" "\0" "94208" "\0"));
    // A NUL inside a string would end it early on the wire: cut there.
    EXPECT_EQ(encode_error(error_code::not_defined, std::string("bad\0tail", 8)),
              bytes("\x00\x05" "\x00\x00" "bad" "\0"));
}

TEST(tftp_codec_encode, round_trip_every_kind) {
    request rrq;
    rrq.op = opcode::rrq;
    rrq.filename = "boot/x86_64/loader/linux";
    rrq.mode_text = "Octet";
    rrq.mode = transfer_mode::octet;
    rrq.options = opts({{"BLKSIZE", "1468"}, {"timeout", "3"}});
    const std::vector<packet> all = {
        rrq,
        data_packet{42, {1, 2, 3, 0, 4}},
        data_packet{0, {}},
        ack_packet{65535},
        error_packet{error_code::file_not_found, "no such file"},
        error_packet{static_cast<error_code>(1234), "private code"},
        oack_packet{opts({{"windowsize", "16"}})},
    };
    for (const auto& p : all) {
        const auto wire = encode(p);
        const auto back = decode(wire);
        ASSERT_TRUE(back.ok()) << "index " << p.index();
        EXPECT_EQ(back.value(), p) << "index " << p.index();
        EXPECT_FALSE(back.quirks().any());
    }
}

// --- malformed input -------------------------------------------------------

struct malformed_case {
    const char* name;
    std::vector<std::uint8_t> wire;
    decode_errc code;
    std::size_t offset;
    std::optional<opcode> op;
};

std::vector<std::uint8_t> many_options(std::size_t count) {
    std::string s("\x00\x01" "f" "\0" "octet" "\0", 10);
    for (std::size_t i = 0; i < count; ++i) s += std::string("a\0" "1\0", 4);
    return bytes(s);
}

TEST(tftp_codec_malformed, table) {
    const std::vector<malformed_case> cases = {
        {"empty", {}, decode_errc::truncated, 0, std::nullopt},
        {"one byte", {0x00}, decode_errc::truncated, 0, std::nullopt},
        {"opcode 0", bytes("\x00\x00" "x" "\0"), decode_errc::unknown_opcode, 0, std::nullopt},
        {"opcode 7", bytes("\x00\x07" "x" "\0"), decode_errc::unknown_opcode, 0, std::nullopt},
        {"opcode 0x0100", bytes("\x01\x00" "x" "\0"), decode_errc::unknown_opcode, 0, std::nullopt},
        {"rrq opcode only", bytes("\x00\x01"), decode_errc::missing_nul, 2, opcode::rrq},
        {"no NUL after filename", bytes("\x00\x01" "pxelinux.0"), decode_errc::missing_nul, 2, opcode::rrq},
        {"empty filename", bytes("\x00\x01" "\0" "octet" "\0"), decode_errc::empty_filename, 2, opcode::rrq},
        {"no mode", bytes("\x00\x01" "file" "\0"), decode_errc::missing_mode, 7, opcode::rrq},
        {"empty mode", bytes("\x00\x02" "file" "\0" "\0"), decode_errc::missing_mode, 7, opcode::wrq},
        {"option without value", bytes("\x00\x01" "f" "\0" "octet" "\0" "blksize" "\0"),
         decode_errc::option_without_value, 10, opcode::rrq},
        {"option name without NUL", bytes("\x00\x01" "f" "\0" "octet" "\0" "tsize" "\0" "0" "\0" "blksize"),
         decode_errc::option_without_value, 18, opcode::rrq},
        {"33 options", many_options(33), decode_errc::too_many_options, 10 + 32 * 4, opcode::rrq},
        {"data 2 bytes", bytes("\x00\x03"), decode_errc::truncated, 2, opcode::data},
        {"data 3 bytes", bytes("\x00\x03" "\x00"), decode_errc::truncated, 3, opcode::data},
        {"ack 3 bytes", bytes("\x00\x04" "\x00"), decode_errc::truncated, 3, opcode::ack},
        {"error 3 bytes", bytes("\x00\x05" "\x00"), decode_errc::truncated, 3, opcode::error},
        {"oack option without value", bytes("\x00\x06" "blksize" "\0"), decode_errc::option_without_value, 2,
         opcode::oack},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const auto r = decode(c.wire);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, c.code) << to_string(r.error().code);
        EXPECT_EQ(r.error().offset, c.offset);
        EXPECT_EQ(r.error().op, c.op);
        EXPECT_LE(r.error().offset, c.wire.size());
    }
}

TEST(tftp_codec_malformed, thirty_two_options_are_still_fine) {
    const auto r = decode(many_options(32));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(as_request(r).options.size(), 32u);
}

TEST(tftp_codec_malformed, every_prefix_of_a_good_request_decodes_or_fails_cleanly) {
    const auto wire = bytes("\x00\x01" "pxelinux.0" "\0" "octet" "\0" "blksize" "\0" "1432" "\0" "tsize" "\0" "0" "\0");
    for (std::size_t n = 0; n <= wire.size(); ++n) {
        // Copy into an exact-size buffer so a sanitizer would catch a read
        // past the end.
        const std::vector<std::uint8_t> prefix(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
        const auto r = decode(prefix);
        if (!r.ok()) {
            EXPECT_LE(r.error().offset, n);
        }
    }
}

// --- helpers ---------------------------------------------------------------

TEST(tftp_codec_helpers, parse_decimal) {
    EXPECT_EQ(parse_decimal("0"), 0u);
    EXPECT_EQ(parse_decimal("1432"), 1432u);
    EXPECT_EQ(parse_decimal("0512"), 512u);
    EXPECT_EQ(parse_decimal("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(parse_decimal("99999999999999999999999"), std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(parse_decimal(""), std::nullopt);
    EXPECT_EQ(parse_decimal("+5"), std::nullopt);
    EXPECT_EQ(parse_decimal("-1"), std::nullopt);
    EXPECT_EQ(parse_decimal(" 5"), std::nullopt);
    EXPECT_EQ(parse_decimal("5 "), std::nullopt);
    EXPECT_EQ(parse_decimal("1e3"), std::nullopt);
    EXPECT_EQ(parse_decimal("0x10"), std::nullopt);
}

TEST(tftp_codec_helpers, names_and_modes) {
    EXPECT_TRUE(names_equal("BlkSize", "blksize"));
    EXPECT_FALSE(names_equal("blksize2", "blksize"));
    EXPECT_FALSE(names_equal("blksizf", "blksize"));
    EXPECT_EQ(parse_mode("OCTET"), transfer_mode::octet);
    EXPECT_EQ(parse_mode("NetASCII"), transfer_mode::netascii);
    EXPECT_EQ(parse_mode("mail"), transfer_mode::mail);
    EXPECT_EQ(parse_mode("binary"), transfer_mode::unknown);
    EXPECT_EQ(parse_mode(""), transfer_mode::unknown);
}

}  // namespace
}  // namespace pxed::tftp
