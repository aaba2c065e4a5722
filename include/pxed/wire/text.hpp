#pragma once
/// Making untrusted bytes safe to print.

#include <string>
#include <string_view>

namespace pxed::wire {

/// Printable ASCII passes through; everything else (control characters,
/// ESC sequences, bytes >= 0x80), `\` and `"` become `\xNN`. Output is cut to
/// `max_len` input bytes with a trailing `...`. For filenames, hostnames and
/// vendor strings from the wire before they reach a log line.
std::string escape_for_log(std::string_view raw, std::size_t max_len = 256);

/// ASCII case-insensitive equality, for protocol keywords (TFTP modes and
/// options, HTTP tokens, FTP arguments); bytes >= 0x80 compare exactly.
bool iequals(std::string_view a, std::string_view b);

}  // namespace pxed::wire
