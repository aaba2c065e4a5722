#include "pxed/proto/dhcp_options.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>

#include "pxed/wire/bytes.hpp"
#include "pxed/wire/ipv4.hpp"
#include "pxed/wire/text.hpp"

namespace pxed::dhcp {

namespace {

using vt = value_type;

// Sorted by code (find_option_def searches it by binary search, and a unit
// test checks the order). Names are Kea's where Kea defines the option, so
// a configuration written for Kea reads the same here. min_length is the
// RFC's minimum: for fixed-size types it is the size.
constexpr option_def table[] = {
    {1, "subnet-mask", vt::ipv4, 4, "RFC 2132 3.3"},
    {2, "time-offset", vt::i32, 4, "RFC 2132 3.4"},
    {3, "routers", vt::ipv4_list, 4, "RFC 2132 3.5"},
    {4, "time-servers", vt::ipv4_list, 4, "RFC 2132 3.6"},
    {6, "domain-name-servers", vt::ipv4_list, 4, "RFC 2132 3.8"},
    {7, "log-servers", vt::ipv4_list, 4, "RFC 2132 3.9"},
    {12, "host-name", vt::string, 1, "RFC 2132 3.14"},
    {13, "boot-size", vt::u16, 2, "RFC 2132 3.15"},
    {15, "domain-name", vt::string, 1, "RFC 2132 3.17"},
    {17, "root-path", vt::string, 1, "RFC 2132 3.19"},
    {26, "interface-mtu", vt::u16, 2, "RFC 2132 5.1"},
    {28, "broadcast-address", vt::ipv4, 4, "RFC 2132 5.3"},
    {42, "ntp-servers", vt::ipv4_list, 4, "RFC 2132 8.3"},
    // Opaque unless the vendor class says otherwise (PXE encapsulates,
    // RFC 2132 8.4 allows either), so only the length is checked.
    {43, "vendor-encapsulated-options", vt::bytes, 1, "RFC 2132 8.4"},
    {50, "dhcp-requested-address", vt::ipv4, 4, "RFC 2132 9.1"},
    {51, "dhcp-lease-time", vt::u32, 4, "RFC 2132 9.2"},
    {52, "dhcp-option-overload", vt::u8, 1, "RFC 2132 9.3"},
    {53, "dhcp-message-type", vt::u8, 1, "RFC 2132 9.6"},
    {54, "dhcp-server-identifier", vt::ipv4, 4, "RFC 2132 9.7"},
    {55, "dhcp-parameter-request-list", vt::u8_list, 1, "RFC 2132 9.8"},
    {56, "dhcp-message", vt::string, 1, "RFC 2132 9.9"},
    {57, "dhcp-max-message-size", vt::u16, 2, "RFC 2132 9.10"},
    {58, "dhcp-renewal-time", vt::u32, 4, "RFC 2132 9.11"},
    {59, "dhcp-rebinding-time", vt::u32, 4, "RFC 2132 9.12"},
    {60, "vendor-class-identifier", vt::string, 1, "RFC 2132 9.13"},
    {61, "dhcp-client-identifier", vt::bytes, 2, "RFC 2132 9.14"},
    {66, "tftp-server-name", vt::string, 1, "RFC 2132 9.4"},
    {67, "boot-file-name", vt::string, 1, "RFC 2132 9.5"},
    {77, "user-class", vt::user_class, 1, "RFC 3004"},
    {80, "rapid-commit", vt::empty, 0, "RFC 4039"},
    // Flags, two obsolete RCODE octets, then the name (RFC 4702 section 2).
    {81, "fqdn", vt::bytes, 3, "RFC 4702"},
    {82, "dhcp-agent-options", vt::sub_options, 2, "RFC 3046"},
    {93, "client-system", vt::u16_list, 2, "RFC 4578 2.1"},
    {94, "client-ndi", vt::client_ndi, 3, "RFC 4578 2.2"},
    {97, "uuid-guid", vt::uuid, 17, "RFC 4578 2.3"},
    // DNS wire format with compression pointers, kept opaque.
    {119, "domain-search", vt::bytes, 1, "RFC 3397"},
    // Prefix width, significant octets, router: at least 0 + 4 octets.
    {121, "classless-static-route", vt::bytes, 5, "RFC 3442"},
    {150, "tftp-server-address", vt::ipv4_list, 4, "RFC 5859"},
    {175, "ipxe-encapsulated-options", vt::encapsulated, 1, "iPXE (IANA: tentative, Etherboot)"},
    {208, "pxelinux-magic", vt::bytes, 4, "RFC 5071 4"},
    {209, "pxelinux-configfile", vt::string, 1, "RFC 5071 5"},
    {210, "pxelinux-pathprefix", vt::string, 1, "RFC 5071 6"},
    {211, "pxelinux-reboottime", vt::u32, 4, "RFC 5071 7"},
};

constexpr std::size_t table_size = sizeof table / sizeof table[0];

std::string_view as_chars(const std::uint8_t* p, std::size_t n) {
    return std::string_view(reinterpret_cast<const char*>(p), n);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Splits "a, b ,c" on commas, trimming each item. An empty text is no items.
std::vector<std::string_view> split_list(std::string_view text) {
    std::vector<std::string_view> items;
    text = trim(text);
    if (text.empty()) return items;
    while (true) {
        const auto comma = text.find(',');
        items.push_back(trim(text.substr(0, comma)));
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return items;
}

// Digits only (no sign, no blanks, no "0x"), within [0, max].
std::optional<std::uint64_t> parse_unsigned(std::string_view s, std::uint64_t max) {
    if (s.empty() || s.front() < '0' || s.front() > '9') return std::nullopt;
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v > max) return std::nullopt;
    return v;
}

std::optional<std::int32_t> parse_i32(std::string_view s) {
    if (s.empty() || s.front() == '+') return std::nullopt;
    std::int32_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

// "01:02:0a", "01 02 0a" or "01020a": two digits per octet, separators only
// between octets.
std::optional<std::vector<std::uint8_t>> parse_hex(std::string_view text) {
    std::vector<std::uint8_t> out;
    int high = -1;
    for (const char c : trim(text)) {
        if (c == ':' || c == ' ') {
            if (high >= 0) return std::nullopt;
            continue;
        }
        const int d = wire::hex_value(c);
        if (d < 0) return std::nullopt;
        if (high < 0) {
            high = d;
        } else {
            out.push_back(static_cast<std::uint8_t>(high << 4 | d));
            high = -1;
        }
    }
    if (high >= 0) return std::nullopt;
    return out;
}

std::size_t item_size(value_type t) {
    switch (t) {
        case vt::ipv4:
        case vt::ipv4_list:
        case vt::u32:
        case vt::i32: return 4;
        case vt::u16:
        case vt::u16_list: return 2;
        default: return 1;
    }
}

std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) {
        if (!out.empty()) out += ", ";
        out += p;
    }
    return out;
}

// The fixed-width values of a list type, formatted one by one.
// Callers have checked value_valid, so the size is a multiple of what `one` reads.
template <typename F>
std::string format_items(const std::uint8_t* data, std::size_t size, F&& one) {
    std::vector<std::string> parts;
    wire::byte_reader in(data, size);
    while (!in.at_end() && in.ok()) parts.push_back(one(in));
    return join(parts);
}

std::string format_uuid(const std::uint8_t* u) {
    // RFC 4578 2.3 fixes no byte order for the 16 octets (iPXE sends the
    // first three fields little-endian, as EFI does); print them as sent.
    char buf[37];
    std::snprintf(buf, sizeof buf, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
                  u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
    return buf;
}

}  // namespace

option_def_table option_defs() { return option_def_table{table, table_size}; }

const option_def* find_option_def(std::uint8_t code) {
    const auto* end = table + table_size;
    const auto* it = std::lower_bound(table, end, code, [](const option_def& d, std::uint8_t c) { return d.code < c; });
    return it != end && it->code == code ? it : nullptr;
}

const option_def* find_option_def(std::string_view name) {
    for (const auto& d : table) {
        if (d.name == name) return &d;
    }
    return nullptr;
}

std::vector<std::uint8_t> pxe_discovery_control_option() {
    return {static_cast<std::uint8_t>(pxe_sub_option::discovery_control), 1, pxe_boot_file_in_offer, code_of(option_code::end)};
}

bool value_valid(const option_def& def, const std::uint8_t* data, std::size_t size) {
    if (size < def.min_length) return false;
    switch (def.type) {
        case vt::empty: return size == 0;
        case vt::bytes:
        case vt::string:
        case vt::user_class: return true;
        case vt::ipv4:
        case vt::u8:
        case vt::u16:
        case vt::u32:
        case vt::i32:
        case vt::client_ndi: return size == def.min_length;
        case vt::ipv4_list:
        case vt::u8_list:
        case vt::u16_list: return size % item_size(def.type) == 0;
        case vt::uuid: return size == 17 && data[0] == 0;
        case vt::sub_options: return parse_sub_options(data, size, sub_option_format::strict).has_value();
        case vt::encapsulated: return parse_sub_options(data, size, sub_option_format::options_like).has_value();
    }
    return false;
}

std::string format_value(const option_def* def, const std::uint8_t* data, std::size_t size) {
    if (def == nullptr || !value_valid(*def, data, size)) return wire::hex_encode(data, size, ':');
    switch (def->type) {
        case vt::empty: return {};
        case vt::bytes:
        case vt::client_ndi: return wire::hex_encode(data, size, ':');
        case vt::string: return wire::escape_for_log(as_chars(data, size));
        case vt::ipv4:
        case vt::ipv4_list:
            return format_items(data, size, [](wire::byte_reader& in) {
                std::uint32_t v = 0;
                in.read_u32(v);
                return wire::ipv4_address{v}.to_string();
            });
        case vt::u8:
        case vt::u8_list:
            return format_items(data, size, [](wire::byte_reader& in) {
                std::uint8_t v = 0;
                in.read_u8(v);
                return std::to_string(v);
            });
        case vt::u16:
        case vt::u16_list:
            return format_items(data, size, [](wire::byte_reader& in) {
                std::uint16_t v = 0;
                in.read_u16(v);
                return std::to_string(v);
            });
        case vt::u32: {
            std::uint32_t v = 0;
            wire::byte_reader(data, size).read_u32(v);
            return std::to_string(v);
        }
        case vt::i32: {
            std::uint32_t v = 0;
            wire::byte_reader(data, size).read_u32(v);
            // Two's complement by arithmetic, not by a cast that C++17
            // leaves implementation-defined.
            const auto s = v <= 0x7fffffffu ? std::int64_t{v} : std::int64_t{v} - 0x100000000;
            return std::to_string(s);
        }
        case vt::uuid: return format_uuid(data + 1);
        case vt::user_class: {
            std::vector<std::string> parts;
            std::size_t pos = 0;
            while (pos < size) {
                const std::size_t len = data[pos];
                if (len == 0 || len > size - pos - 1) return wire::escape_for_log(as_chars(data, size));
                parts.push_back(wire::escape_for_log(as_chars(data + pos + 1, len)));
                pos += 1 + len;
            }
            return join(parts);
        }
        case vt::sub_options:
        case vt::encapsulated: {
            const auto format =
                def->type == vt::sub_options ? sub_option_format::strict : sub_option_format::options_like;
            // Held in a local: a range-for over *parse_sub_options(...) would
            // iterate a destroyed temporary.
            const auto subs = parse_sub_options(data, size, format);
            std::vector<std::string> parts;
            for (const auto& sub : *subs) {
                parts.push_back(std::to_string(sub.code) + "=" + wire::hex_encode(sub.value.data(), sub.value.size(), ':'));
            }
            return join(parts);
        }
    }
    return wire::hex_encode(data, size, ':');
}

std::optional<std::vector<std::uint8_t>> parse_value(const option_def& def, std::string_view text) {
    std::vector<std::uint8_t> out;
    wire::byte_writer w(out);
    switch (def.type) {
        case vt::empty:
            if (!trim(text).empty()) return std::nullopt;
            break;
        case vt::string: w.put_string(text); break;
        case vt::ipv4:
        case vt::ipv4_list: {
            const auto items = split_list(text);
            if (def.type == vt::ipv4 && items.size() != 1) return std::nullopt;
            for (const auto item : items) {
                const auto a = wire::ipv4_address::parse(item);
                if (!a) return std::nullopt;
                w.put_u32(a->value());
            }
            break;
        }
        case vt::u8:
        case vt::u8_list:
        case vt::u16:
        case vt::u16_list:
        case vt::u32: {
            const auto items = split_list(text);
            const bool list = def.type == vt::u8_list || def.type == vt::u16_list;
            if (!list && items.size() != 1) return std::nullopt;
            const std::size_t width = item_size(def.type);
            const std::uint64_t max = width == 1 ? 0xff : width == 2 ? 0xffff : 0xffffffffu;
            for (const auto item : items) {
                const auto v = parse_unsigned(item, max);
                if (!v) return std::nullopt;
                if (width == 1) w.put_u8(static_cast<std::uint8_t>(*v));
                if (width == 2) w.put_u16(static_cast<std::uint16_t>(*v));
                if (width == 4) w.put_u32(static_cast<std::uint32_t>(*v));
            }
            break;
        }
        case vt::i32: {
            const auto v = parse_i32(trim(text));
            if (!v) return std::nullopt;
            const std::int64_t wide = *v < 0 ? std::int64_t{*v} + 0x100000000 : std::int64_t{*v};
            w.put_u32(static_cast<std::uint32_t>(wide));
            break;
        }
        case vt::bytes:
        case vt::client_ndi:
        case vt::uuid:
        case vt::user_class:
        case vt::sub_options:
        case vt::encapsulated: {
            auto bytes = parse_hex(text);
            if (!bytes) return std::nullopt;
            out = std::move(*bytes);
            break;
        }
    }
    if (!value_valid(def, out.data(), out.size())) return std::nullopt;
    return out;
}

std::optional<std::vector<option>> parse_sub_options(const std::uint8_t* data, std::size_t size,
                                                     sub_option_format format) {
    std::vector<option> out;
    wire::byte_reader in(data, size);
    while (!in.at_end()) {
        std::uint8_t code = 0;
        in.read_u8(code);
        if (format == sub_option_format::options_like) {
            if (code == 0) continue;
            if (code == 255) break;
        }
        std::uint8_t len = 0;
        const std::uint8_t* value = nullptr;
        if (!in.read_u8(len) || !in.read_bytes(len, value)) return std::nullopt;
        out.push_back(option{code, std::vector<std::uint8_t>(value, value + len)});
    }
    return out;
}

std::optional<std::vector<std::uint8_t>> encode_sub_options(const std::vector<option>& subs) {
    std::vector<std::uint8_t> out;
    wire::byte_writer w(out);
    for (const auto& sub : subs) {
        if (sub.value.size() > 255) return std::nullopt;
        w.put_u8(sub.code);
        w.put_u8(static_cast<std::uint8_t>(sub.value.size()));
        w.put_bytes(sub.value.data(), sub.value.size());
    }
    return out;
}

const option* find_sub_option(const std::vector<option>& subs, std::uint8_t code) {
    for (const auto& sub : subs) {
        if (sub.code == code) return &sub;
    }
    return nullptr;
}

}  // namespace pxed::dhcp
