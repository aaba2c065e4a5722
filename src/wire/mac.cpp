#include "pxed/wire/mac.hpp"

#include "pxed/wire/text.hpp"

namespace pxed::wire {
namespace {

std::string format(const mac_address::bytes_type& b, char sep) {
    std::string s;
    s.reserve(17);
    for (std::size_t i = 0; i < b.size(); ++i) {
        if (i) s.push_back(sep);
        append_hex(s, b[i]);
    }
    return s;
}

}  // namespace

std::optional<mac_address> mac_address::parse(std::string_view text) {
    bytes_type b{};
    char sep = 0;
    if (text.size() == 17) {
        sep = text[2];
        if (sep != ':' && sep != '-') return std::nullopt;
    } else if (text.size() != 12) {
        return std::nullopt;
    }
    const std::size_t stride = sep ? 3 : 2;
    for (std::size_t i = 0; i < length; ++i) {
        const std::size_t at = i * stride;
        const int hi = hex_value(text[at]);
        const int lo = hex_value(text[at + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        // Mixed separators ("52:54-00...") are a typo, not a MAC.
        if (sep && i + 1 < length && text[at + 2] != sep) return std::nullopt;
        b[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return mac_address{b};
}

std::string mac_address::to_string() const { return format(bytes_, ':'); }
std::string mac_address::to_dashed() const { return format(bytes_, '-'); }

}  // namespace pxed::wire
