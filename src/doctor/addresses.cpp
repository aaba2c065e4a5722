// server.address, next_server and server.interfaces against the machine's
// interfaces: a next-server that is not this host sends every client's TFTP
// request into the void, and DHCP on an interface with no address in a
// configured subnet answers nobody (or the wrong network).

#include <algorithm>

#include "checks.hpp"

namespace pxed::doctor::detail {

namespace {

using inventory::severity;

bool is_local(const std::vector<interface_info>& ifs, wire::ipv4_address a) {
    return std::any_of(ifs.begin(), ifs.end(), [&](const interface_info& i) {
        return std::any_of(i.addresses.begin(), i.addresses.end(), [&](const auto& n) { return n.base() == a; });
    });
}

std::string local_fix(wire::ipv4_address a) {
    return "add it to the provisioning interface (ip addr add " + a.to_string() +
           "/24 dev IFACE), correct it in site.yaml, or run pxed check --offline when this is not the provisioning host";
}

void check_interface(context& c, const std::vector<interface_info>& ifs, const std::string& name) {
    const auto& s = c.site;
    const auto at = c.where.find({"server", "interfaces", name});
    const auto it = std::find_if(ifs.begin(), ifs.end(), [&](const interface_info& i) { return i.name == name; });
    if (it == ifs.end()) {
        c.add(severity::error, at, "interface",
              "server.interfaces lists '" + name + "', which is not an interface of this machine.",
              "list the interfaces with `ip -br link` and correct server.interfaces");
        return;
    }
    if (!it->up)
        c.add(severity::warning, at, "interface", "Interface '" + name + "' is down, so DHCP on it reaches nobody.",
              "ip link set " + name + " up");
    const bool all_relayed = std::all_of(s.subnets.begin(), s.subnets.end(), [](const auto& n) { return n.relay_only; });
    if (s.subnets.empty() || all_relayed) return;
    const bool in_subnet = std::any_of(it->addresses.begin(), it->addresses.end(), [&](const wire::ipv4_network& a) {
        return std::any_of(s.subnets.begin(), s.subnets.end(),
                           [&](const auto& n) { return !n.relay_only && n.network.contains(a.base()); });
    });
    if (in_subnet) return;
    const auto level = s.server.dhcp.mode == inventory::dhcp_mode::proxy ? severity::warning : severity::error;
    if (it->addresses.empty())
        c.add(level, at, "interface",
              "Interface '" + name + "' has no IPv4 address, so pxed cannot answer DHCP clients on it.",
              "give it an address in one of the subnets (ip addr add ADDRESS/PREFIX dev " + name +
                  "), or mark subnets reached through a relay agent relay_only: true");
    else
        c.add(level, at, "interface",
              "Interface '" + name + "' has address " + it->addresses.front().to_string() +
                  ", which is in none of the subnets of site.yaml, so its clients get no lease.",
              "add the interface's subnet to subnets:, give it an address in a configured subnet, or mark subnets "
              "reached through a relay agent relay_only: true");
}

}  // namespace

void check_addresses(context& c) {
    if (c.opts.offline) {
        c.notes.push_back("addresses and interfaces not checked (--offline).");
        return;
    }
    const auto& s = c.site;
    const auto ifs = c.host.interfaces();
    if (!is_local(ifs, s.server.address))
        c.add(severity::error, c.where.find({"server", "address"}), "address",
              "server.address " + s.server.address.to_string() +
                  " is not an address of this machine, so clients would fetch their boot files from another host.",
              local_fix(s.server.address));
    if (!s.server.listen.is_unspecified() && s.server.listen != s.server.address && !is_local(ifs, s.server.listen))
        c.add(severity::error, c.where.find({"server", "listen"}), "address",
              "server.listen " + s.server.listen.to_string() +
                  " is not an address of this machine, so the TFTP, HTTP and FTP servers cannot bind to it.",
              local_fix(s.server.listen));
    for (std::size_t i = 0; i < s.subnets.size(); ++i) {
        const auto& n = s.subnets[i];
        if (!n.next_server || *n.next_server == s.server.address || is_local(ifs, *n.next_server)) continue;
        auto at = c.where.find({"subnets", std::to_string(i), "next_server"});
        if (at.line == 0) at = n.where;
        c.add(severity::error, at, "address",
              "next_server " + n.next_server->to_string() + " of subnet " + n.network.to_string() +
                  " is not an address of this machine, so its clients would ask another host for their boot files.",
              local_fix(*n.next_server));
    }
    if (s.server.dhcp.enabled)
        for (const auto& name : s.server.dhcp.interfaces) check_interface(c, ifs, name);
}

}  // namespace pxed::doctor::detail
