#include <gtest/gtest.h>

#include "pxed/wire/bytes.hpp"
#include "pxed/wire/ipv4.hpp"
#include "pxed/wire/mac.hpp"
#include "pxed/wire/result.hpp"
#include "pxed/wire/text.hpp"
#include "pxed/wire/token.hpp"

using namespace pxed::wire;

TEST(mac_address, parses_colon_dash_and_bare_forms_in_any_case) {
    const auto expected = mac_address::parse("52:54:00:12:34:56");
    ASSERT_TRUE(expected);
    EXPECT_EQ(mac_address::parse("52-54-00-12-34-56"), expected);
    EXPECT_EQ(mac_address::parse("525400123456"), expected);
    EXPECT_EQ(mac_address::parse("52:54:00:AB:cd:Ef")->to_string(), "52:54:00:ab:cd:ef");
    EXPECT_EQ(expected->to_dashed(), "52-54-00-12-34-56");
}

TEST(mac_address, refuses_malformed_text) {
    for (const char* bad : {"", "52:54:00:12:34", "52:54:00:12:34:56:78", "52:54-00:12:34:56", "52:54:00:12:34:5g",
                            "52.54.00.12.34.56", "5254001234567", " 52:54:00:12:34:56", "52:54:00:12:34:56 "})
        EXPECT_FALSE(mac_address::parse(bad)) << bad;
}

TEST(mac_address, orders_byte_by_byte_from_the_first) {
    // Listings (hosts, leases, traces) are sorted by MAC: the order must
    // stay the bytes' order, first byte most significant.
    const auto m = [](const char* text) { return *mac_address::parse(text); };
    EXPECT_LT(m("00:ff:ff:ff:ff:ff"), m("01:00:00:00:00:00"));
    EXPECT_LT(m("52:54:00:12:34:56"), m("52:54:00:12:34:57"));
    EXPECT_LT(m("52:54:00:12:34:ff"), m("52:54:00:12:35:00"));
    EXPECT_FALSE(m("ff:00:00:00:00:00") < m("fe:ff:ff:ff:ff:ff"));
    EXPECT_FALSE(m("52:54:00:12:34:56") < m("52:54:00:12:34:56"));
    EXPECT_EQ(m("ff:ff:ff:ff:ff:ff").value(), 0xffffffffffffULL);
    EXPECT_EQ(m("52:54:00:12:34:56").value(), 0x525400123456ULL);
    EXPECT_NE(m("52:54:00:12:34:56"), m("52:54:00:12:34:57"));
    EXPECT_NE(m("00:54:00:12:34:56"), m("52:54:00:12:34:56"));
}

TEST(ipv4_address, parses_strict_dotted_quads) {
    EXPECT_EQ(ipv4_address::parse("192.168.1.2")->value(), 0xC0A80102u);
    EXPECT_EQ(ipv4_address::parse("0.0.0.0")->value(), 0u);
    EXPECT_EQ(ipv4_address::parse("255.255.255.255")->value(), 0xFFFFFFFFu);
    for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..3.4", "1.2.3.4 ", "-1.2.3.4",
                            "1.2.3.4/24", "a.b.c.d", "1.2.3.+4"})
        EXPECT_FALSE(ipv4_address::parse(bad)) << bad;
}

TEST(ipv4_address, formats_as_text_and_pxelinux_hex) {
    const auto a = *ipv4_address::parse("192.168.1.230");
    EXPECT_EQ(a.to_string(), "192.168.1.230");
    EXPECT_EQ(a.to_hex(), "C0A801E6");
}

TEST(ipv4_network, contains_overlaps_and_reports_host_bits) {
    const auto n = *ipv4_network::parse("192.168.1.0/24");
    EXPECT_FALSE(n.has_host_bits());
    EXPECT_TRUE(n.contains(*ipv4_address::parse("192.168.1.255")));
    EXPECT_FALSE(n.contains(*ipv4_address::parse("192.168.2.0")));
    EXPECT_EQ(n.broadcast().to_string(), "192.168.1.255");
    EXPECT_TRUE(n.overlaps(*ipv4_network::parse("192.168.0.0/16")));
    EXPECT_TRUE(ipv4_network::parse("192.168.0.0/16")->overlaps(n));
    EXPECT_FALSE(n.overlaps(*ipv4_network::parse("192.168.2.0/24")));
    EXPECT_TRUE(ipv4_network::parse("192.168.1.5/24")->has_host_bits());
    EXPECT_FALSE(ipv4_network::parse("192.168.1.0/33"));
    EXPECT_FALSE(ipv4_network::parse("192.168.1.0"));
    EXPECT_EQ(ipv4_network::parse("0.0.0.0/0")->mask(), 0u);
}

TEST(ipv4_range, parses_and_measures) {
    const auto r = *ipv4_range::parse("192.168.1.230 - 192.168.1.240");
    EXPECT_EQ(r.size(), 11u);
    EXPECT_TRUE(r.contains(*ipv4_address::parse("192.168.1.235")));
    EXPECT_FALSE(r.contains(*ipv4_address::parse("192.168.1.241")));
    EXPECT_FALSE(ipv4_range::parse("192.168.1.230"));
}

TEST(byte_reader, never_reads_past_the_end_and_stays_failed) {
    const std::uint8_t data[] = {0x00, 0x01, 0x02};
    byte_reader r(data, sizeof data);
    std::uint16_t v16 = 0;
    ASSERT_TRUE(r.read_u16(v16));
    EXPECT_EQ(v16, 1);
    std::uint32_t v32 = 0;
    EXPECT_FALSE(r.read_u32(v32));
    EXPECT_FALSE(r.ok());
    std::uint8_t v8 = 0;
    EXPECT_FALSE(r.read_u8(v8)) << "a failed reader must not resume";
}

TEST(byte_reader, reads_nul_terminated_strings) {
    const std::uint8_t data[] = {'a', 'b', 0, 'c'};
    byte_reader r(data, sizeof data);
    std::string_view s;
    ASSERT_TRUE(r.read_cstring(s));
    EXPECT_EQ(s, "ab");
    EXPECT_FALSE(r.read_cstring(s)) << "no terminating NUL";
}

TEST(byte_writer, writes_network_byte_order) {
    std::vector<std::uint8_t> out;
    byte_writer w(out);
    w.put_u16(0x0102);
    w.put_u32(0x03040506);
    w.put_cstring("x");
    EXPECT_EQ(out, (std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6, 'x', 0}));
}

TEST(append_json_string, escapes_controls_keeps_utf8_and_replaces_what_is_not) {
    auto j = [](std::string_view s) {
        std::string out;
        append_json_string(out, s);
        return out;
    };
    EXPECT_EQ(j("web1"), "\"web1\"");
    EXPECT_EQ(j(std::string("a\"b\\c\n\r\t\x01\x7f", 10)), "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u007f\"");
    EXPECT_EQ(j("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xbe"), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xbe\"") << "valid UTF-8 kept";
    EXPECT_EQ(j("\xff\xfe"), "\"\\ufffd\\ufffd\"");
    EXPECT_EQ(j("\xc0\xaf"), "\"\\ufffd\\ufffd\"") << "an overlong '/'";
    EXPECT_EQ(j("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"") << "a surrogate";
    EXPECT_EQ(j("\xe2\x82"), "\"\\ufffd\\ufffd\"") << "cut short at the end";
    EXPECT_EQ(j("<script>"), "\"<script>\"") << "markup is the page's to escape, as text";
}

TEST(escape_for_log, neutralises_control_and_non_ascii_bytes) {
    EXPECT_EQ(escape_for_log("pxelinux.0"), "pxelinux.0");
    EXPECT_EQ(escape_for_log(std::string("a\nb\x1b[31m\"\\\xff", 11)), "a\\x0ab\\x1b[31m\\x22\\x5c\\xff");
    EXPECT_EQ(escape_for_log("abcdef", 3), "abc...");
}

TEST(token, random_tokens_are_hex_of_the_asked_length_and_differ) {
    const auto a = pxed::wire::random_token(16);
    const auto b = pxed::wire::random_token(16);
    EXPECT_EQ(a.size(), 32u);
    EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
    EXPECT_NE(a, b);
    EXPECT_EQ(pxed::wire::random_token(4).size(), 8u);
}

TEST(token, constant_time_equal_compares_whole_strings) {
    using pxed::wire::constant_time_equal;
    EXPECT_TRUE(constant_time_equal("abc123", "abc123"));
    EXPECT_TRUE(constant_time_equal("", ""));
    EXPECT_FALSE(constant_time_equal("abc123", "abc124"));
    EXPECT_FALSE(constant_time_equal("abc123", "bbc123"));
    EXPECT_FALSE(constant_time_equal("abc123", "abc12"));
    EXPECT_FALSE(constant_time_equal("abc12", "abc123"));
    EXPECT_FALSE(constant_time_equal("", "a"));
}

TEST(token, logs_see_only_a_prefix) {
    using pxed::wire::redact_tokens;
    EXPECT_EQ(pxed::wire::token_prefix("0123456789abcdef"), "012345...");
    EXPECT_EQ(pxed::wire::token_prefix("0123"), "****");
    EXPECT_EQ(redact_tokens("/api/v1/hosts/x/install-done?token=0123456789abcdef"),
              "/api/v1/hosts/x/install-done?token=012345...");
    EXPECT_EQ(redact_tokens("/a?x=1&token=0123456789abcdef&y=2"), "/a?x=1&token=012345...&y=2");
    EXPECT_EQ(redact_tokens("/a?token=0123456789&token=abcdefabcdef"), "/a?token=012345...&token=abcdef...");
    EXPECT_EQ(redact_tokens("/ks/web1.ks"), "/ks/web1.ks");
    EXPECT_EQ(redact_tokens("/a?mytoken=0123456789abcdef"), "/a?mytoken=012345...") << "more is cut, never less";
    EXPECT_EQ(redact_tokens("GET /ks/a.ks%3Ftoken=0123456789abcdef 404 \"ks/a.ks?token=0123456789abcdef\": not found"),
              "GET /ks/a.ks%3Ftoken=012345... 404 \"ks/a.ks?token=012345...\": not found")
        << "encoded, and decoded in a reason";
    EXPECT_EQ(redact_tokens("/ks/a.ks;TOKEN=0123456789abcdef"), "/ks/a.ks;TOKEN=012345...");
    EXPECT_EQ(redact_tokens("/ks/a.ks?token%3D0123456789abcdef"), "/ks/a.ks?token%3D012345...");
    EXPECT_EQ(redact_tokens("token="), "token=");
    EXPECT_EQ(redact_tokens("tok"), "tok");
}

TEST(token, mentions_token_finds_every_text_redact_tokens_would_change) {
    using pxed::wire::mentions_token;
    using pxed::wire::redact_tokens;
    EXPECT_FALSE(mentions_token(""));
    EXPECT_FALSE(mentions_token("toke"));
    EXPECT_FALSE(mentions_token("/ks/web1.ks"));
    EXPECT_TRUE(mentions_token("TOKEN"));
    EXPECT_TRUE(mentions_token("x;ToKeN=1"));
    EXPECT_TRUE(mentions_token("/a?x=1&token%3Dabc"));
    // The callers skip redact_tokens() when it says no: that must never
    // let a token through. Every text with a token's key in any case and
    // position is found.
    const std::string key = "token=";
    for (unsigned mask = 0; mask < 32; ++mask)
        for (const std::string around : {"", "/ks/a.ks?", "x "}) {
            std::string k = key;
            for (std::size_t i = 0; i < 5; ++i)
                if (mask & (1u << i)) k[i] = static_cast<char>(k[i] - 'a' + 'A');
            const auto text = around + k + "0123456789abcdef";
            EXPECT_TRUE(mentions_token(text)) << text;
            EXPECT_NE(redact_tokens(text), text) << text;
        }
}

TEST(text, starts_with_and_ends_with) {
    struct row {
        std::string_view text, affix;
        bool starts, ends;
    };
    const row rows[] = {
        {"pxelinux.cfg/01-52", "pxelinux.cfg/", true, false},
        {"ks/web01.ks", ".ks", false, true},
        {"abc", "", true, true},
        {"abc", "abc", true, true},
        {"ab", "abc", false, false},             // longer than the text
        {"PXEClient:Arch", "pxeclient", false, false},  // case counts
        {"a.KS", ".ks", false, false},
    };
    for (const auto& r : rows) {
        EXPECT_EQ(starts_with(r.text, r.affix), r.starts) << r.text << " / " << r.affix;
        EXPECT_EQ(ends_with(r.text, r.affix), r.ends) << r.text << " / " << r.affix;
    }
    static_assert(starts_with("HTTPClient:Arch:00016", "HTTPClient"));
}

TEST(text, hex_digits_and_values_round_trip) {
    for (unsigned v = 0; v < 16; ++v) {
        EXPECT_EQ(hex_value(hex_digit(v)), static_cast<int>(v));
        EXPECT_EQ(hex_value(hex_digit_upper(v)), static_cast<int>(v));
    }
    EXPECT_EQ(hex_digit(0xa), 'a');
    EXPECT_EQ(hex_digit_upper(0xa), 'A');
    EXPECT_EQ(hex_digit(0x1f), 'f');  // only the low four bits count
    for (const char c : {'g', 'G', '/', ':', '@', '`', ' ', '\0'}) EXPECT_EQ(hex_value(c), -1) << c;
}

TEST(text, hex_encode_with_and_without_separator) {
    const std::uint8_t bytes[] = {0x00, 0x0a, 0xff, 0x5e};
    EXPECT_EQ(hex_encode(bytes, sizeof bytes), "000aff5e");
    EXPECT_EQ(hex_encode(bytes, sizeof bytes, ':'), "00:0a:ff:5e");
    EXPECT_EQ(hex_encode(bytes, 1, ':'), "00");
    EXPECT_EQ(hex_encode(bytes, 0, ':'), "");
    EXPECT_EQ(hex_encode(std::string_view("\x01\x80", 2)), "0180");
    std::string out = "x";
    append_hex(out, 0xc3);
    EXPECT_EQ(out, "xc3");
}

TEST(result, holds_a_value_or_an_error) {
    struct failure {
        int offset;
    };
    using r = result<std::string, failure>;
    r good(std::string("pxelinux.0"));
    ASSERT_TRUE(good.ok());
    EXPECT_TRUE(static_cast<bool>(good));
    EXPECT_EQ(good.value(), "pxelinux.0");
    good.value() += ".bak";
    EXPECT_EQ(good.value(), "pxelinux.0.bak");

    const r bad(failure{17});
    EXPECT_FALSE(bad.ok());
    EXPECT_FALSE(static_cast<bool>(bad));
    EXPECT_EQ(bad.error().offset, 17);
    EXPECT_THROW(bad.value(), std::bad_variant_access);  // a precondition broken loudly, not UB
}
