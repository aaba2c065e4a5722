#pragma once
/// Ethernet MAC addresses as they appear in YAML, DHCP chaddr and pxelinux paths.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace pxed::wire {

class mac_address {
public:
    static constexpr std::size_t length = 6;
    using bytes_type = std::array<std::uint8_t, length>;

    constexpr mac_address() = default;
    explicit constexpr mac_address(const bytes_type& bytes) : bytes_(bytes) {}

    /// Accepts `52:54:00:12:34:56`, `52-54-00-12-34-56` (pxelinux style) and
    /// `525400123456`, in either case. Anything else yields nullopt.
    static std::optional<mac_address> parse(std::string_view text);

    /// `52:54:00:12:34:56`, lower case: the canonical form in logs and the API.
    std::string to_string() const;
    /// `52-54-00-12-34-56`: the form pxelinux and GRUB put in config file names.
    std::string to_dashed() const;

    const bytes_type& bytes() const { return bytes_; }

    /// The six bytes as one number, first byte most significant: ordering by
    /// it is ordering byte by byte. Maps keyed by MAC compare with it (a
    /// `memcmp` call per comparison was 5% of a kickstart request's CPU).
    constexpr std::uint64_t value() const {
        std::uint64_t v = 0;
        for (auto b : bytes_) v = (v << 8) | b;
        return v;
    }

    friend bool operator==(const mac_address& a, const mac_address& b) { return a.value() == b.value(); }
    friend bool operator!=(const mac_address& a, const mac_address& b) { return !(a == b); }
    friend bool operator<(const mac_address& a, const mac_address& b) { return a.value() < b.value(); }

private:
    bytes_type bytes_{};
};

}  // namespace pxed::wire

template <>
struct std::hash<pxed::wire::mac_address> {
    std::size_t operator()(const pxed::wire::mac_address& m) const noexcept {
        return std::hash<std::uint64_t>{}(m.value());
    }
};
