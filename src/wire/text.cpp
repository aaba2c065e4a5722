#include "pxed/wire/text.hpp"

namespace pxed::wire {

std::string escape_for_log(std::string_view raw, std::size_t max_len) {
    std::string out;
    const bool cut = raw.size() > max_len;
    if (cut) raw = raw.substr(0, max_len);
    out.reserve(raw.size() + 8);
    for (const char ch : raw) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
            out.push_back(ch);
        } else {
            out += "\\x";
            append_hex(out, c);
        }
    }
    if (cut) out += "...";
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

std::string hex_encode(const std::uint8_t* data, std::size_t size, char separator) {
    std::string out;
    out.reserve(separator ? size * 3 : size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        if (separator && i != 0) out.push_back(separator);
        append_hex(out, data[i]);
    }
    return out;
}

}  // namespace pxed::wire
