#include "pxed/wire/text.hpp"

namespace pxed::wire {

std::string escape_for_log(std::string_view raw, std::size_t max_len) {
    static constexpr char hex[] = "0123456789abcdef";
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
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 0xf]);
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

}  // namespace pxed::wire
