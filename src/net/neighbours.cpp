#include "pxed/net/neighbours.hpp"

#include <fstream>
#include <sstream>
#include <string>

#include "pxed/wire/ipv4.hpp"

namespace pxed::net {

std::optional<wire::mac_address> neighbour_in(std::string_view arp_table, std::uint32_t ipv4) {
    constexpr unsigned complete = 0x2;  // ATF_COM
    const std::string want = wire::ipv4_address{ipv4}.to_string();
    std::istringstream in{std::string(arp_table)};
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string ip, type, flags, hw;
        if (!(f >> ip >> type >> flags >> hw) || ip != want) continue;
        unsigned long bits = 0;
        try {
            bits = std::stoul(flags, nullptr, 16);
        } catch (const std::exception&) {
            continue;
        }
        if ((bits & complete) == 0) continue;
        if (auto mac = wire::mac_address::parse(hw)) return mac;
    }
    return std::nullopt;
}

std::string read_neighbour_table() {
    std::ifstream f("/proc/net/arp");
    if (!f) return {};
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

}  // namespace pxed::net
