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

}  // namespace pxed::wire
