#include "pxed/inventory/site.hpp"

namespace pxed::inventory {

bool subnet::in_dynamic_range(wire::ipv4_address a) const {
    for (const auto& r : ranges)
        if (r.contains(a)) return true;
    return false;
}

const host* site::find_host(const wire::mac_address& mac) const {
    const auto it = host_index.find(mac);
    return it == host_index.end() ? nullptr : &hosts[it->second];
}

const host* site::find_host_by_name(const std::string& hostname) const {
    for (const auto& h : hosts)
        if (!h.hostname.empty() && h.hostname == hostname) return &h;
    return nullptr;
}

const profile* site::find_profile(const std::string& name) const {
    const auto it = profiles.find(name);
    return it == profiles.end() ? nullptr : &it->second;
}

const tree* site::find_tree(const std::string& name) const {
    const auto it = trees.find(name);
    return it == trees.end() ? nullptr : &it->second;
}

const subnet* site::find_subnet(wire::ipv4_address a) const {
    for (const auto& s : subnets)
        if (s.network.contains(a)) return &s;
    return nullptr;
}

}  // namespace pxed::inventory
