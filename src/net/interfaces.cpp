#include "pxed/net/interfaces.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace pxed::net {
namespace {

unsigned prefix_of(const sockaddr* mask) {
    if (!mask || mask->sa_family != AF_INET) return 32;
    const auto m = ntohl(reinterpret_cast<const sockaddr_in*>(mask)->sin_addr.s_addr);
    return static_cast<unsigned>(__builtin_popcount(m));
}

std::size_t mtu_of(const std::string& name) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 1500;
    ifreq req{};
    std::strncpy(req.ifr_name, name.c_str(), IFNAMSIZ - 1);
    const bool ok = ::ioctl(fd, SIOCGIFMTU, &req) == 0 && req.ifr_mtu >= 576;
    ::close(fd);
    return ok ? static_cast<std::size_t>(req.ifr_mtu) : 1500;
}

}  // namespace

bool interface_table::refresh() {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return false;
    std::map<int, interface_info> fresh;
    for (auto* a = list; a; a = a->ifa_next) {
        if (!a->ifa_name) continue;
        const int index = static_cast<int>(::if_nametoindex(a->ifa_name));
        if (index == 0) continue;
        auto& info = fresh[index];
        if (info.name.empty()) {
            info.index = index;
            info.name = a->ifa_name;
            info.loopback = (a->ifa_flags & IFF_LOOPBACK) != 0;
            info.mtu = mtu_of(info.name);
        }
        if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET) {
            const auto addr = ntohl(reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
            info.addresses.emplace_back(wire::ipv4_address(addr), prefix_of(a->ifa_netmask));
        }
    }
    ::freeifaddrs(list);
    by_index_ = std::move(fresh);
    return true;
}

const interface_info* interface_table::find(int index) const {
    const auto it = by_index_.find(index);
    return it == by_index_.end() ? nullptr : &it->second;
}

}  // namespace pxed::net
