#include "pxed/doctor/firewall.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "command_text.hpp"

namespace pxed::doctor {
namespace {

struct port_range {
    std::uint16_t first = 0;
    std::uint16_t last = 0;
    std::string proto;  // "udp" or "tcp"
};

// firewalld's service definitions as RHEL 7 ships them
// (/usr/lib/firewalld/services/<name>.xml; firewalld 0.4.4 and 0.6.3, tags
// v0.4.4 and v0.6.3 of github.com/firewalld/firewalld): the ports each lets
// in. Only the services that can carry what pxed serves. `tftp-client` has
// the TFTP helper but no port: it lets nothing in.
struct service_def {
    std::string_view name;
    std::uint16_t port;
    std::string_view proto;
};
constexpr service_def services_table[] = {
    {"dhcp", 67, "udp"},
    {"proxy-dhcp", 4011, "udp"},
    {"tftp", 69, "udp"},  // + module nf_conntrack_tftp
    {"http", 80, "tcp"},
    {"https", 443, "tcp"},
    {"ftp", 21, "tcp"},  // + module nf_conntrack_ftp
};

// One thing pxed needs to come in, and the service that carries it when
// pxed uses that service's port.
struct need {
    std::string what;  // "TFTP", "the FTP passive ports"
    port_range ports;
    std::string_view service;  // empty: only --add-port
    std::vector<std::string_view> key;
};

std::string to_string(const port_range& r) {
    std::string s = std::to_string(r.first);
    if (r.last != r.first) s += "-" + std::to_string(r.last);
    return s + "/" + r.proto;
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

// "30000-30100/tcp", "69/udp" as `--list-ports` prints them.
std::optional<port_range> parse_port_range(std::string_view s) {
    const auto slash = s.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    port_range r;
    r.proto = std::string(s.substr(slash + 1));
    const auto nums = s.substr(0, slash);
    const auto dash = nums.find('-');
    const auto first = parse_port(nums.substr(0, dash));
    const auto last = dash == std::string_view::npos ? first : parse_port(nums.substr(dash + 1));
    if (!first || !last || *last < *first) return std::nullopt;
    r.first = *first;
    r.last = *last;
    return r;
}

std::vector<need> needs_of(const inventory::server_settings& s) {
    std::vector<need> out;
    auto add = [&](std::string what, std::uint16_t first, std::uint16_t last, const char* proto,
                   std::string_view service, std::initializer_list<std::string_view> key) {
        out.push_back({std::move(what), {first, last, proto}, service, std::vector<std::string_view>(key)});
    };
    if (s.dhcp.enabled) {
        if (s.dhcp.mode == inventory::dhcp_mode::proxy) {
            add("proxyDHCP (the clients' broadcasts)", s.dhcp.port, s.dhcp.port, "udp", "dhcp",
                {"server", "dhcp", "mode"});
            add("proxyDHCP (the PXE boot server port)", s.dhcp.proxy_port, s.dhcp.proxy_port, "udp", "proxy-dhcp",
                {"server", "dhcp", "proxy_port"});
        } else {
            add("DHCP", s.dhcp.port, s.dhcp.port, "udp", "dhcp", {"server", "dhcp"});
        }
    }
    if (s.tftp.enabled) add("TFTP", s.tftp.port, s.tftp.port, "udp", "tftp", {"server", "tftp"});
    if (s.http.enabled) add("HTTP", s.http.port, s.http.port, "tcp", "http", {"server", "http", "port"});
    if (s.ftp.enabled) {
        add("FTP", s.ftp.port, s.ftp.port, "tcp", "ftp", {"server", "ftp", "port"});
        add("the FTP passive ports", s.ftp.passive_first, s.ftp.passive_last, "tcp", "",
            {"server", "ftp", "passive_ports"});
    }
    return out;
}

const service_def* find_service(std::string_view name) {
    for (const auto& d : services_table)
        if (d.name == name) return &d;
    return nullptr;
}

// What one zone lets in: its ports, and the services that carry them.
struct zone_rules {
    std::set<std::string> services;
    std::vector<port_range> ports;  // from --list-ports and the services

    // Whether every port of `r` is let in (ranges may be open in pieces).
    bool covers(const port_range& r) const {
        unsigned next = r.first;
        bool moved = true;
        while (next <= r.last && moved) {
            moved = false;
            for (const auto& p : ports) {
                if (p.proto == r.proto && p.first <= next && next <= p.last) {
                    next = static_cast<unsigned>(p.last) + 1;
                    moved = true;
                }
            }
        }
        return next > r.last;
    }
};

std::optional<zone_rules> read_zone(const command_runner& run, const std::string& zone) {
    const auto svc = run.run({"firewall-cmd", "--zone=" + zone, "--list-services"});
    const auto prt = run.run({"firewall-cmd", "--zone=" + zone, "--list-ports"});
    if (!svc.ran || svc.status != 0 || !prt.ran || prt.status != 0) return std::nullopt;
    zone_rules z;
    for (auto& w : detail::words(svc.out)) {
        if (const auto* d = find_service(w)) z.ports.push_back({d->port, d->port, std::string(d->proto)});
        z.services.insert(std::move(w));
    }
    for (const auto& w : detail::words(prt.out))
        if (auto r = parse_port_range(w)) z.ports.push_back(*r);
    return z;
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

inventory::source_location locate(const locator& where, const std::vector<std::string_view>& key) {
    switch (key.size()) {
        case 2: return where.find({key[0], key[1]});
        case 3: return where.find({key[0], key[1], key[2]});
        default: return where.find({key[0]});
    }
}

}  // namespace

std::vector<finding> check_firewall(const inventory::site& site, const command_runner& run, const locator& where,
                                    std::string* skipped) {
    const auto state = run.run({"firewall-cmd", "--state"});
    // Not installed, or "not running" (on stderr, exit status 252): nothing to check.
    if (!state.ran || state.status != 0 || detail::first_line(state.out) != "running") {
        if (skipped != nullptr)
            *skipped = !state.ran ? "firewall-cmd is not installed: firewall not checked"
                                  : "firewalld is not running: firewall not checked";
        return {};
    }

    const auto needs = needs_of(site.server);
    if (needs.empty()) return {};

    std::string default_zone;
    auto get_default_zone = [&]() -> const std::string& {
        if (default_zone.empty()) {
            const auto r = run.run({"firewall-cmd", "--get-default-zone"});
            if (r.ran && r.status == 0) default_zone = detail::first_line(r.out);
        }
        return default_zone;
    };

    // zone -> the interfaces in it, in site.yaml's order.
    std::vector<std::pair<std::string, std::vector<std::string>>> zones;
    auto add_zone = [&](const std::string& zone, const std::string& iface) {
        if (zone.empty()) return;
        auto it = std::find_if(zones.begin(), zones.end(), [&](const auto& z) { return z.first == zone; });
        if (it == zones.end()) {
            zones.emplace_back(zone, std::vector<std::string>{});
            it = zones.end() - 1;
        }
        if (!iface.empty()) it->second.push_back(iface);
    };
    for (const auto& iface : site.server.dhcp.interfaces) {
        // Prints the zone, or (on stderr) "no zone" with exit status 2 for an
        // interface bound to none: then the default zone applies to it.
        const auto r = run.run({"firewall-cmd", "--get-zone-of-interface=" + iface});
        const auto zone = detail::first_line(r.out);
        if (r.ran && r.status == 0 && !zone.empty() && zone != "no zone")
            add_zone(zone, iface);
        else
            add_zone(get_default_zone(), iface);
    }
    if (site.server.dhcp.interfaces.empty()) add_zone(get_default_zone(), "");

    // Services this firewalld knows; empty when it cannot say (then the
    // table's names are used).
    std::set<std::string> known;
    {
        const auto r = run.run({"firewall-cmd", "--get-services"});
        if (r.ran && r.status == 0)
            for (auto& w : detail::words(r.out)) known.insert(std::move(w));
    }
    auto service_usable = [&](std::string_view name) { return known.empty() || known.count(std::string(name)) > 0; };

    std::vector<finding> out;
    for (const auto& [zone, ifaces] : zones) {
        if (zone == "trusted") continue;  // target ACCEPT: everything comes in
        const auto rules = read_zone(run, zone);
        if (!rules) {
            // Cannot read it (not root, polkit says no): no finding, but a note.
            if (skipped != nullptr)
                *skipped += (skipped->empty() ? "" : "; ") + std::string("firewall-cmd could not list zone ") + zone +
                            ": run pxed check as root to check it";
            continue;
        }
        const std::string zone_desc =
            "firewalld zone " + zone + (ifaces.empty() ? " (the default zone)" : " (" + join(ifaces) + ")");
        const bool ftp_helper = rules->services.count("ftp") > 0 && site.server.ftp.port == 21;
        for (const auto& n : needs) {
            if (rules->covers(n.ports)) continue;
            // The `ftp` service's helper lets the passive connections in: when it
            // is on, or when the FTP finding's fix is to add it.
            if (n.key.back() == "passive_ports" &&
                (ftp_helper || (site.server.ftp.port == 21 && service_usable("ftp") &&
                                !rules->covers({21, 21, "tcp"}))))
                continue;
            const auto* def = n.service.empty() ? nullptr : find_service(n.service);
            const bool by_service = def != nullptr && def->port == n.ports.first && n.ports.first == n.ports.last &&
                                    def->proto == n.ports.proto && service_usable(n.service);
            finding f;
            f.level = inventory::severity::warning;
            f.where = locate(where, n.key);
            f.topic = "firewall";
            f.message = zone_desc + " does not let " + n.what + " in (" + to_string(n.ports) +
                        "): clients on " + (ifaces.empty() ? "this machine's network" : join(ifaces)) +
                        " get no answer";
            f.fix = "firewall-cmd --permanent --zone=" + zone +
                    (by_service ? " --add-service=" + std::string(n.service) : " --add-port=" + to_string(n.ports)) +
                    " && firewall-cmd --reload";
            out.push_back(std::move(f));
        }
    }
    return out;
}

}  // namespace pxed::doctor
