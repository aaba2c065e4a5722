#pragma once
/// Text helpers shared by every layer: prefixes, hex, making untrusted bytes
/// safe to print. The one home for them; grep here before writing another.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pxed::wire {

/// Printable ASCII passes through; everything else (control characters,
/// ESC sequences, bytes >= 0x80), `\` and `"` become `\xNN`. Output is cut to
/// `max_len` input bytes with a trailing `...`. For filenames, hostnames and
/// vendor strings from the wire before they reach a log line.
std::string escape_for_log(std::string_view raw, std::size_t max_len = 256);

/// `s` as a JSON string, quotes included, appended to `out`: control
/// characters escaped, valid UTF-8 kept, every byte that is not part of
/// valid UTF-8 replaced by U+FFFD (text from the wire: hostnames, paths).
void append_json_string(std::string& out, std::string_view s);

/// ASCII case-insensitive equality, for protocol keywords (TFTP modes and
/// options, HTTP tokens, FTP arguments); bytes >= 0x80 compare exactly.
bool iequals(std::string_view a, std::string_view b);

/// The one of `candidates` closest to `word` (Levenshtein distance), at most
/// two edits away, for "did you mean ...?"; empty if none is that close.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

/// `s` begins with `prefix` (C++17's string_view has no starts_with).
constexpr bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}
/// `s` ends with `suffix`.
constexpr bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

/// The hex digit for the low four bits of `nibble`: lower case, as pxed
/// writes MACs, tokens and raw option bytes; upper case where a format asks
/// for it (RFC 3986 section 2.1 percent-encoding, pxelinux's address names).
constexpr char hex_digit(unsigned nibble) { return "0123456789abcdef"[nibble & 0xf]; }
constexpr char hex_digit_upper(unsigned nibble) { return "0123456789ABCDEF"[nibble & 0xf]; }

/// 0-15 for a hex digit in either case, -1 for anything else.
constexpr int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// Appends `byte` as two lower-case hex digits.
inline void append_hex(std::string& out, std::uint8_t byte) {
    out.push_back(hex_digit(byte >> 4));
    out.push_back(hex_digit(byte));
}

/// Bytes as lower-case hex, two digits each, with `separator` between
/// octets unless it is '\0' ("0a1b" or "0a:1b").
std::string hex_encode(const std::uint8_t* data, std::size_t size, char separator = '\0');
inline std::string hex_encode(std::string_view bytes, char separator = '\0') {
    return hex_encode(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), separator);
}

}  // namespace pxed::wire
