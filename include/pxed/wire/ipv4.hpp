#pragma once
/// IPv4 addresses, networks and ranges. Values are kept in host byte order.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pxed::wire {

class ipv4_address {
public:
    constexpr ipv4_address() = default;
    explicit constexpr ipv4_address(std::uint32_t host_order) : value_(host_order) {}

    /// Strict dotted quad: four decimal octets 0-255, no leading zeros
    /// (`010` is octal to inet_aton and decimal to others: refuse it), nothing else.
    static std::optional<ipv4_address> parse(std::string_view text);

    std::string to_string() const;
    /// Upper-case hex, 8 digits: the name pxelinux tries for this address (`C0A801E6`).
    std::string to_hex() const;

    constexpr std::uint32_t value() const { return value_; }
    constexpr bool is_unspecified() const { return value_ == 0; }

    friend constexpr bool operator==(ipv4_address a, ipv4_address b) { return a.value_ == b.value_; }
    friend constexpr bool operator!=(ipv4_address a, ipv4_address b) { return a.value_ != b.value_; }
    friend constexpr bool operator<(ipv4_address a, ipv4_address b) { return a.value_ < b.value_; }
    friend constexpr bool operator<=(ipv4_address a, ipv4_address b) { return a.value_ <= b.value_; }
    friend constexpr bool operator>(ipv4_address a, ipv4_address b) { return a.value_ > b.value_; }
    friend constexpr bool operator>=(ipv4_address a, ipv4_address b) { return a.value_ >= b.value_; }

private:
    std::uint32_t value_ = 0;
};

class ipv4_network {
public:
    constexpr ipv4_network() = default;
    constexpr ipv4_network(ipv4_address base, unsigned prefix) : base_(base), prefix_(prefix) {}

    /// `192.168.1.0/24`. Host bits may be set in the text; check has_host_bits().
    static std::optional<ipv4_network> parse(std::string_view text);

    constexpr ipv4_address base() const { return base_; }
    constexpr unsigned prefix() const { return prefix_; }
    constexpr std::uint32_t mask() const { return prefix_ == 0 ? 0u : ~std::uint32_t{0} << (32 - prefix_); }
    constexpr ipv4_address network() const { return ipv4_address{base_.value() & mask()}; }
    constexpr ipv4_address broadcast() const { return ipv4_address{network().value() | ~mask()}; }
    constexpr bool has_host_bits() const { return (base_.value() & ~mask()) != 0; }

    constexpr bool contains(ipv4_address a) const { return (a.value() & mask()) == network().value(); }
    constexpr bool overlaps(const ipv4_network& o) const {
        const auto m = prefix_ < o.prefix_ ? mask() : o.mask();
        return (base_.value() & m) == (o.base_.value() & m);
    }

    std::string to_string() const;

private:
    ipv4_address base_;
    unsigned prefix_ = 32;
};

/// An inclusive range of addresses, `first` <= `last` once validated.
struct ipv4_range {
    ipv4_address first;
    ipv4_address last;

    /// `192.168.1.230-192.168.1.240` (spaces around `-` allowed).
    static std::optional<ipv4_range> parse(std::string_view text);

    constexpr bool contains(ipv4_address a) const { return first <= a && a <= last; }
    constexpr bool overlaps(const ipv4_range& o) const { return first <= o.last && o.first <= last; }
    constexpr std::uint64_t size() const {
        return last < first ? 0 : std::uint64_t{last.value()} - first.value() + 1;
    }
    std::string to_string() const;
};

}  // namespace pxed::wire
