#pragma once
// Reading what the system's tools print (firewall-cmd, getenforce, stat,
// matchpathcon): shared by the doctor's checks, internal to src/doctor.

#include <string>
#include <string_view>
#include <vector>

namespace pxed::doctor::detail {

/// Whitespace-separated words of a tool's output, in order.
inline std::vector<std::string> words(std::string_view text) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
        const std::size_t start = i;
        while (i < text.size() && !(text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
        if (i > start) out.emplace_back(text.substr(start, i - start));
    }
    return out;
}

/// The output's only word, or its first line trimmed: "running\n" -> "running".
inline std::string first_line(std::string_view text) {
    const auto nl = text.find('\n');
    if (nl != std::string_view::npos) text = text.substr(0, nl);
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
    return std::string(text);
}

}  // namespace pxed::doctor::detail
