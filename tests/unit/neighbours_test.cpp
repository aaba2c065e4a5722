// Reading the kernel's neighbour table (/proc/net/arp), which tells pxed
// which MAC a request's address belongs to where pxed leases nothing.

#include <gtest/gtest.h>

#include "pxed/net/neighbours.hpp"

namespace pxed::net {
namespace {

const char* const table =
    "IP address       HW type     Flags       HW address            Mask     Device\n"
    "10.77.0.10       0x1         0x2         52:54:00:77:00:0a     *        eth0\n"
    "10.77.0.11       0x1         0x0         52:54:00:77:00:0b     *        eth0\n"
    "10.77.0.12       0x1         0x6         52:54:00:77:00:0c     *        eth0\n"
    "10.77.0.13       0x1         zz          52:54:00:77:00:0d     *        eth0\n"
    "10.77.0.1        0x1         0x2         00:00:00:00:00:00     *        eth0\n";

constexpr std::uint32_t ip(std::uint8_t d) { return 0x0a4d0000u | d; }  // 10.77.0.d

TEST(neighbours, a_complete_entry_names_its_mac) {
    EXPECT_EQ(neighbour_in(table, ip(10)), wire::mac_address::parse("52:54:00:77:00:0a"));
    EXPECT_EQ(neighbour_in(table, ip(12)), wire::mac_address::parse("52:54:00:77:00:0c")) << "complete + permanent";
}

TEST(neighbours, incomplete_unknown_or_garbled_entries_name_none) {
    EXPECT_EQ(neighbour_in(table, ip(11)), std::nullopt) << "incomplete: the MAC is not confirmed";
    EXPECT_EQ(neighbour_in(table, ip(13)), std::nullopt) << "flags that do not parse";
    EXPECT_EQ(neighbour_in(table, ip(99)), std::nullopt);
    EXPECT_EQ(neighbour_in("", ip(10)), std::nullopt);
    EXPECT_EQ(neighbour_in("IP address HW type Flags HW address Mask Device\n10.77.0.10 0x1 0x2\n", ip(10)),
              std::nullopt);
    // The header line is never an entry, even if it looked like one.
    EXPECT_EQ(neighbour_in("10.77.0.10 0x1 0x2 52:54:00:77:00:0a * eth0\n", ip(10)), std::nullopt);
}

}  // namespace
}  // namespace pxed::net
