#pragma once
// The checks examine() runs, each in a file of its own, and what they share.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pxed/doctor/doctor.hpp"

namespace pxed::doctor::detail {

/// Little-endian unsigned of `width` bytes at `off` in a file's bytes
/// (ELF, PE and kernel headers); nullopt past the end.
inline std::optional<std::uint64_t> read_le(std::string_view b, std::uint64_t off, unsigned width) {
    if (off > b.size() || b.size() - off < width) return std::nullopt;
    std::uint64_t v = 0;
    for (unsigned i = width; i-- > 0;) v = v << 8 | static_cast<unsigned char>(b[off + i]);
    return v;
}

/// A file or directory pxed will serve, for the permission check.
struct served_path {
    std::string path;  ///< absolute
    inventory::source_location where;
    bool tree = false;  ///< a directory whose whole content is served
};

struct context {
    const inventory::site& site;
    const machine& host;
    const locator& where;
    const options& opts;
    std::vector<finding>& out;
    std::vector<std::string>& notes;
    std::vector<served_path> served;  ///< filled by the checks that find files

    void add(inventory::severity level, inventory::source_location at, std::string topic, std::string message,
             std::string fix) {
        out.push_back({level, std::move(at), std::move(topic), std::move(message), std::move(fix)});
    }
};

void check_addresses(context& c);
void check_boot_loaders(context& c);
void check_permissions(context& c);
void check_kernels(context& c);

}  // namespace pxed::doctor::detail
