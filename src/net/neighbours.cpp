#include "pxed/net/neighbours.hpp"

#include <fstream>
#include <sstream>
#include <string>

#include "pxed/wire/ipv4.hpp"

namespace pxed::net {

neighbour_map parse_neighbours(std::string_view arp_table) {
    constexpr unsigned complete = 0x2;  // ATF_COM
    neighbour_map out;
    std::istringstream in{std::string(arp_table)};
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string ip, type, flags, hw;
        if (!(f >> ip >> type >> flags >> hw)) continue;
        const auto address = wire::ipv4_address::parse(ip);
        if (!address) continue;
        unsigned long bits = 0;
        try {
            bits = std::stoul(flags, nullptr, 16);
        } catch (const std::exception&) {
            continue;
        }
        if ((bits & complete) == 0) continue;
        if (auto mac = wire::mac_address::parse(hw)) out.emplace(address->value(), *mac);
    }
    return out;
}

std::optional<wire::mac_address> neighbour_in(std::string_view arp_table, std::uint32_t ipv4) {
    const auto table = parse_neighbours(arp_table);
    const auto it = table.find(ipv4);
    if (it == table.end()) return std::nullopt;
    return it->second;
}

std::string read_neighbour_table() {
    std::ifstream f("/proc/net/arp");
    if (!f) return {};
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

}  // namespace pxed::net
