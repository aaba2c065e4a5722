#include "pxed/wire/ipv4.hpp"

#include <charconv>
#include <cstdio>

namespace pxed::wire {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// A decimal number in [0, max] with no sign, no leading zeros and nothing after it.
std::optional<unsigned> parse_decimal(std::string_view s, unsigned max) {
    if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || v > max) return std::nullopt;
    return v;
}

}  // namespace

std::optional<ipv4_address> ipv4_address::parse(std::string_view text) {
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
        const auto dot = text.find('.');
        const bool last = i == 3;
        if (last != (dot == std::string_view::npos)) return std::nullopt;
        const auto octet = parse_decimal(text.substr(0, dot), 255);
        if (!octet) return std::nullopt;
        value = value << 8 | *octet;
        text = last ? std::string_view{} : text.substr(dot + 1);
    }
    return ipv4_address{value};
}

std::string ipv4_address::to_string() const {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", value_ >> 24, (value_ >> 16) & 0xff, (value_ >> 8) & 0xff,
                  value_ & 0xff);
    return buf;
}

std::string ipv4_address::to_hex() const {
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08X", value_);
    return buf;
}

std::optional<ipv4_network> ipv4_network::parse(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    const auto addr = ipv4_address::parse(text.substr(0, slash));
    const auto prefix = parse_decimal(text.substr(slash + 1), 32);
    if (!addr || !prefix) return std::nullopt;
    return ipv4_network{*addr, *prefix};
}

std::string ipv4_network::to_string() const { return base_.to_string() + "/" + std::to_string(prefix_); }

std::optional<ipv4_range> ipv4_range::parse(std::string_view text) {
    const auto dash = text.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    const auto first = ipv4_address::parse(trim(text.substr(0, dash)));
    const auto last = ipv4_address::parse(trim(text.substr(dash + 1)));
    if (!first || !last) return std::nullopt;
    return ipv4_range{*first, *last};
}

std::string ipv4_range::to_string() const { return first.to_string() + "-" + last.to_string(); }

}  // namespace pxed::wire
