#include "pxed/engine/dhcp_responder.hpp"

#include <algorithm>
#include <functional>
#include <utility>

#include "pxed/wire/text.hpp"

namespace pxed::dhcp {
namespace {

using inventory::site;
using wire::ipv4_address;

const ipv4_address broadcast_address{0xffffffffu};

using wire::starts_with;

// A relay agent unicasts to the server (RFC 1542 section 4.1.1); a packet
// with giaddr set that came as a broadcast is a client pretending.
bool unicast_to_us(const arrival& a) {
    if (a.destination.is_unspecified() || a.destination == ipv4_address{0xffffffffu}) return false;
    for (const auto& ifa : a.interface_addresses)
        if (ifa.prefix() < 32 && a.destination == ifa.broadcast()) return false;
    return true;
}

std::string describe_client(const message& m) {
    if (const auto mac = m.mac()) return mac->to_string();
    const auto hw = m.hardware_address();
    return "hw" + wire::hex_encode(hw.data(), hw.size());
}

std::string describe_arrival(const message& m, const arrival& a) {
    std::string via = a.ifname.empty() ? "if#" + std::to_string(a.ifindex) : a.ifname;
    if (!m.giaddr.is_unspecified()) via += " relay " + m.giaddr.to_string();
    return via;
}

// PXE 2.1 section 2.2.5 / RFC 4578: a PXE ROM or UEFI network stack says
// "PXEClient:Arch:xxxxx:UNDI:yyyzzz" in option 60; UEFI HTTP Boot says
// "HTTPClient:Arch:xxxxx" (UEFI 2.5 section 24.7).
bool is_pxe_vendor(const message& m) {
    const auto vc = m.vendor_class();
    return vc && (starts_with(*vc, "PXEClient") || starts_with(*vc, "HTTPClient"));
}

bool is_http_boot(const message& m) {
    const auto vc = m.vendor_class();
    if (vc && starts_with(*vc, "HTTPClient")) return true;
    const auto f = m.firmware();
    return f == boot_firmware::uefi_x64_http || f == boot_firmware::uefi_arm64_http;
}

// A PXE client in the proxyDHCP sense: one whose firmware will act on a boot
// offer that carries no address.
bool is_pxe_client(const message& m) { return is_pxe_vendor(m) || m.has_ipxe(); }

// The CPU whose kernels a firmware boots, by its option 93 (RFC 4578).
// UEFI ia32 runs 32-bit loaders on x86-64 CPUs as often as not: not said.
std::optional<inventory::cpu_arch> firmware_cpu(boot_firmware f) {
    switch (f) {
    case boot_firmware::bios:
    case boot_firmware::uefi_x64:
    case boot_firmware::uefi_x64_http: return inventory::cpu_arch::x86_64;
    case boot_firmware::uefi_arm64:
    case boot_firmware::uefi_arm64_http: return inventory::cpu_arch::arm64;
    case boot_firmware::uefi_ia32:
    case boot_firmware::unknown: break;
    }
    return std::nullopt;
}

// A host whose firmware is of another CPU than its profile's kernel: its
// boot loader fails on that kernel (GRUB: "invalid magic number"), so the
// answer says why up front. Empty when they agree, or nothing is known.
std::string arch_mismatch(const message& req, const site& s, const inventory::host* h) {
    if (!h || !h->netboot) return {};
    const auto* p = s.find_profile(h->profile);
    const auto fw = req.firmware();
    const auto cpu = firmware_cpu(fw);
    if (!p || !cpu || *cpu == p->arch) return {};
    const auto arches = req.client_arch();
    const auto code = arches.empty() ? std::string("in its vendor class") : std::to_string(static_cast<int>(arches.front()));
    return "its profile '" + p->name + "' is arch " + inventory::to_string(p->arch) + " but its firmware is " +
           std::string(to_string(fw)) + " (option 93 arch " + code + "), which cannot boot that kernel: give the host an " +
           inventory::to_string(*cpu) + " profile";
}

std::string rendered_hostname(const message& m, const inventory::host* h) {
    if (h && !h->hostname.empty()) return h->hostname;
    return m.hostname().value_or(std::string{});
}

}  // namespace

std::string client_key(const message& m) {
    if (const auto mac = m.mac()) return std::string(reinterpret_cast<const char*>(mac->bytes().data()), 6);
    if (const auto id = m.client_id(); id && !id->empty()) return "id:" + std::string(id->begin(), id->end());
    const auto hw = m.hardware_address();
    if (hw.empty()) return {};
    return "hw:" + std::string(hw.begin(), hw.end());
}

struct responder::context {
    const message& req;
    const arrival& from;
    unix_time now;
    const site& s;
    std::string key;
    std::optional<wire::mac_address> mac;
    const inventory::host* host = nullptr;
    const inventory::subnet* subnet = nullptr;
    ipv4_address server_id;
    std::string who;  // for logs: MAC and where it came from
};

responder::responder(std::shared_ptr<const site> s, std::shared_ptr<const render::renderer> r, responder_config config)
    : config_(config) {
    update(std::move(s), std::move(r));
}

std::shared_ptr<const reserved_addresses> reserved_addresses::of(const site& s) {
    auto out = std::make_shared<reserved_addresses>();
    for (const auto& h : s.hosts)
        if (h.ip) out->ips_.push_back(h.ip->value());
    std::sort(out->ips_.begin(), out->ips_.end());
    out->ips_.erase(std::unique(out->ips_.begin(), out->ips_.end()), out->ips_.end());
    out->ips_.shrink_to_fit();
    return out;
}

bool reserved_addresses::contains(ipv4_address a) const {
    return std::binary_search(ips_.begin(), ips_.end(), a.value());
}

void responder::update(std::shared_ptr<const site> s, std::shared_ptr<const render::renderer> r) {
    auto reserved = reserved_addresses::of(*s);
    update(std::move(s), std::move(r), std::move(reserved));
}

std::shared_ptr<const reserved_addresses> responder::update(std::shared_ptr<const site> s,
                                                            std::shared_ptr<const render::renderer> r,
                                                            std::shared_ptr<const reserved_addresses> reserved) {
    if (!reserved) reserved = reserved_addresses::of(*s);
    site_ = std::move(s);
    renderer_ = std::move(r);
    return std::exchange(reserved_, std::move(reserved));
}

void responder::restore(const std::vector<store::lease>& leases, unix_time now) {
    for (const auto& l : leases) {
        auto& b = by_ip_[l.ip.value()];
        b.lease = l;
        b.offer_only = false;
        auto it = by_client_.find(l.client_key);
        // A client with several rows (it moved between subnets) keeps the newest.
        if (it == by_client_.end() || by_ip_[it->second].lease.starts <= l.starts) by_client_[l.client_key] = l.ip.value();
        if ((l.state == store::lease_state::bound || l.state == store::lease_state::declined) && l.ends != 0)
            schedule(l.ip.value(), std::max(l.ends, now));
    }
}

void responder::adopt(const std::vector<store::lease>& rows, unix_time now) {
    for (const auto& row : rows) {
        const auto ip = row.ip.value();
        auto& b = by_ip_[ip];
        if (!b.lease.client_key.empty() && b.lease.client_key != row.client_key) {
            const auto prev = by_client_.find(b.lease.client_key);
            if (prev != by_client_.end() && prev->second == ip) by_client_.erase(prev);
        }
        const bool own_offer = b.hold_until > now && b.lease.client_key == row.client_key;
        const auto hold = own_offer ? b.hold_until : 0;
        b.lease = row;
        b.lease.reservation = false;
        b.lease.taken_from.clear();
        b.offer_only = false;
        b.hold_until = hold;
        if (!row.client_key.empty() && row.state != store::lease_state::declined) {
            const auto it = by_client_.find(row.client_key);
            bool newest = it == by_client_.end() || it->second == ip;
            if (!newest) {
                const auto other = by_ip_.find(it->second);
                newest = other == by_ip_.end() || other->second.lease.client_key != row.client_key ||
                         other->second.lease.starts <= row.starts;
            }
            if (newest) by_client_[row.client_key] = ip;
        }
        if ((row.state == store::lease_state::bound || row.state == store::lease_state::declined) && row.ends != 0)
            schedule(ip, std::max(row.ends, now));
        if (hold != 0) schedule(ip, hold);
    }
}

void responder::unconfirmed(const std::vector<store::lease>& changes, unix_time now) {
    for (const auto& ch : changes) {
        if (ch.state != store::lease_state::bound) continue;
        const auto it = by_ip_.find(ch.ip.value());
        if (it == by_ip_.end()) continue;
        auto& b = it->second;
        // Only if nothing newer was decided for the address meanwhile.
        if (b.offer_only || b.lease.client_key != ch.client_key || b.lease.ends != ch.ends ||
            b.lease.state != store::lease_state::bound)
            continue;
        b.offer_only = true;
        b.hold_until = now + config_.offer_hold;
        b.lease.state = store::lease_state::expired;
        b.lease.ends = b.hold_until;
        schedule(ch.ip.value(), b.hold_until);
    }
}

// ---------------------------------------------------------------------------
// Dispatch

outcome responder::handle(const message& req, const arrival& from, unix_time now) {
    outcome ignored;
    if (req.op != op_code::boot_request) return ignored;  // a reply from another server, or our own echo
    context c{req, from, now, *site_, client_key(req), req.mac(), nullptr, nullptr, {}, {}};
    if (c.key.empty()) {
        ignored.log = "request without a hardware address or client identifier from " + describe_arrival(req, from);
        return ignored;
    }
    c.who = describe_client(req) + " via " + describe_arrival(req, from);
    if (!req.giaddr.is_unspecified() && !relay_trusted(req, from)) {
        // Anyone who reaches port 67 can fill in giaddr and option 82: only
        // the relay agents the site names may pick a subnet and a reply
        // address for a client (RFC 3527 section 4 asks the same of link
        // selection).
        ignored.level = log_level::warn;
        ignored.kind = log_kind::untrusted_relay;
        ignored.log = "relayed packet for " + describe_client(req) + " (giaddr " + req.giaddr.to_string() + ") from " +
                      from.source.to_string() +
                      (site_->server.dhcp.relay_agents.empty() ? ": server.dhcp.relay_agents is empty"
                                                               : ", which is not in server.dhcp.relay_agents") +
                      (unicast_to_us(from) ? "" : " (and a relay agent unicasts, this was a broadcast)") + "; ignored";
        return ignored;
    }
    if (c.mac) c.host = c.s.find_host(*c.mac);
    if (!c.host && c.s.menu.unknown_hosts == inventory::unknown_policy::ignore) {
        ignored.log = "ignoring unknown client " + c.who + " (menu.unknown_hosts: ignore)";
        return ignored;
    }
    if (c.s.server.dhcp.mode == inventory::dhcp_mode::proxy) return on_proxy(c);
    if (from.local_port == pxe_port) return ignored;  // only proxyDHCP serves the PXE port

    const auto type = req.message_type();
    c.subnet = select_subnet(req, from);
    if (!c.subnet) {
        ignored.log = "no subnet for " + c.who + ": not answering";
        return ignored;
    }
    c.server_id = server_id_for(c);
    if (!type) return on_bootp(c);
    switch (*type) {
    case message_type::discover: return on_discover(c);
    case message_type::request: return on_request(c);
    case message_type::decline: return on_decline(c);
    case message_type::release: return on_release(c);
    case message_type::inform: return on_inform(c);
    default:
        ignored.log = to_string(*type) + " from " + c.who + " is not for a server; ignored";
        return ignored;
    }
}

bool responder::relay_trusted(const message&, const arrival& a) const {
    if (!unicast_to_us(a)) return false;
    for (const auto& n : site_->server.dhcp.relay_agents)
        if (n.contains(a.source)) return true;
    return false;
}

// New clients (no lease or offer here, no reservation) per source: a relay
// agent (and the switch port its option 82 names), or the interface a
// direct client is on. A token bucket refilled at new_clients_per_second.
bool responder::admit_new_client(const context& c) {
    const auto& d = site_->server.dhcp;
    std::string src;
    if (!c.req.giaddr.is_unspecified()) {
        src = "relay " + c.from.source.to_string();
        if (const auto rai = c.req.relay_agent_info())
            if (const auto* circuit = find_sub_option(*rai, relay_sub_option::circuit_id))
                src += " circuit " + std::string(circuit->value.begin(), circuit->value.end());
    } else {
        src = "interface " + std::to_string(c.from.ifindex);
    }
    auto it = sources_.find(src);
    if (it == sources_.end()) {
        if (sources_.size() >= config_.max_sources) {
            auto oldest = sources_.begin();
            for (auto i = sources_.begin(); i != sources_.end(); ++i)
                if (i->second.last < oldest->second.last) oldest = i;
            sources_.erase(oldest);
        }
        it = sources_.emplace(src, source_budget{static_cast<double>(d.new_clients_burst), c.now}).first;
    }
    auto& b = it->second;
    if (c.now > b.last)
        b.tokens = std::min(static_cast<double>(d.new_clients_burst),
                            b.tokens + static_cast<double>(c.now - b.last) * d.new_clients_per_second);
    b.last = std::max(b.last, c.now);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
}

// What the server knows of this client and `ip`: its reservation, or a
// binding (offer, lease, even expired or released) of `ip` to it.
bool responder::has_record(const context& c, ipv4_address ip) const {
    if (const auto r = reserved_ip(c); r && *r == ip) return true;
    const auto it = by_ip_.find(ip.value());
    return it != by_ip_.end() && it->second.lease.client_key == c.key;
}

std::size_t responder::quarantined_in(const inventory::subnet& sn, unix_time now) const {
    std::size_t n = 0;
    for (const auto& [ip, b] : by_ip_)
        if (b.lease.state == store::lease_state::declined && b.lease.ends > now && sn.network.contains(ipv4_address{ip})) ++n;
    return n;
}

// RFC 2131 section 4.3.1: the subnet is the relay's (giaddr) when there is
// one, else that of the interface the request came in on.
const inventory::subnet* responder::select_subnet(const message& m, const arrival& a) const {
    const auto& s = *site_;
    if (!m.giaddr.is_unspecified()) {
        // RFC 3527: a relay may name the client's link apart from giaddr.
        return s.find_subnet(m.link_selection().value_or(m.giaddr));
    }
    for (const auto& ifa : a.interface_addresses)
        for (const auto& sn : s.subnets)
            if (!sn.relay_only && sn.network.contains(ifa.base())) return &sn;
    return nullptr;
}

// The server identifier (option 54) must be an address the client can
// unicast to when it renews: the interface's own address on the client's
// subnet, or, through a relay, the address the relay sent to.
ipv4_address responder::server_id_for(const context& c) const {
    if (c.req.giaddr.is_unspecified()) {
        for (const auto& ifa : c.from.interface_addresses)
            if (c.subnet && c.subnet->network.contains(ifa.base())) return ifa.base();
        if (!c.from.interface_addresses.empty()) return c.from.interface_addresses.front().base();
    }
    if (!c.from.destination.is_unspecified() && c.from.destination != broadcast_address) return c.from.destination;
    return site_->server.address;
}

// ---------------------------------------------------------------------------
// Addresses

std::optional<ipv4_address> responder::reserved_ip(const context& c) const {
    if (c.host && c.host->ip && c.subnet && c.subnet->network.contains(*c.host->ip)) return c.host->ip;
    return std::nullopt;
}

// Free for `key`: nobody else holds it, and it is not quarantined.
bool responder::available_to(ipv4_address ip, const std::string& key, unix_time now) const {
    const auto it = by_ip_.find(ip.value());
    if (it == by_ip_.end()) return true;
    const auto& b = it->second;
    const auto& l = b.lease;
    if (l.state == store::lease_state::declined) return l.ends != 0 && l.ends <= now;
    if (l.client_key == key) return true;
    if (b.hold_until > now) return false;
    if (b.offer_only) return true;
    switch (l.state) {
    case store::lease_state::bound: return l.ends != 0 && l.ends <= now;
    case store::lease_state::released:
    case store::lease_state::expired: return true;
    case store::lease_state::declined: break;
    }
    return false;
}

// Whether `ip` may be given to this client on this subnet at all: its
// reservation, or a dynamic address nobody has reserved.
bool responder::assignable(const context& c, ipv4_address ip) const {
    if (const auto r = reserved_ip(c); r && *r == ip) return true;
    if (!c.subnet->in_dynamic_range(ip)) return false;
    if (reserved_->contains(ip)) return false;
    if (ip == site_->server.address || ip == c.server_id) return false;
    if (std::find(c.subnet->routers.begin(), c.subnet->routers.end(), ip) != c.subnet->routers.end()) return false;
    return available_to(ip, c.key, c.now);
}

// The address to offer: the reservation; else what this client had (even
// expired, as long as nobody took it); else the address it asks for; else a
// fresh one. Fresh addresses are searched from a point derived from the MAC,
// so a client tends to get the same address even after the lease database
// is lost, and clients arriving together do not all contend for the bottom
// of the range.
std::optional<ipv4_address> responder::allocate(context& c) {
    if (const auto r = reserved_ip(c)) {
        if (available_to(*r, c.key, c.now)) return r;
        return std::nullopt;  // quarantined by a DECLINE: the caller logs it
    }
    if (const auto it = by_client_.find(c.key); it != by_client_.end()) {
        const ipv4_address prev{it->second};
        const auto b = by_ip_.find(it->second);
        if (b != by_ip_.end() && b->second.lease.client_key == c.key && c.subnet->network.contains(prev) &&
            assignable(c, prev))
            return prev;
    }
    if (const auto want = c.req.requested_ip(); want && c.subnet->network.contains(*want) && assignable(c, *want))
        return want;

    const auto hash = std::hash<std::string>{}(c.key);
    std::optional<ipv4_address> reusable;
    unix_time reusable_since = 0;
    for (const auto& range : c.subnet->ranges) {
        const auto size = range.size();
        if (size == 0) continue;
        const std::uint64_t start = hash % size;
        for (std::uint64_t i = 0; i < size; ++i) {
            const ipv4_address ip{static_cast<std::uint32_t>(range.first.value() + (start + i) % size)};
            const auto it = by_ip_.find(ip.value());
            if (it == by_ip_.end()) {
                if (assignable(c, ip)) return ip;
                continue;
            }
            // Held once by someone else and free again: remember the one
            // free the longest, and use it only if no never-used address is left.
            if (assignable(c, ip)) {
                const auto since = it->second.offer_only ? it->second.hold_until : it->second.lease.ends;
                if (!reusable || since < reusable_since) {
                    reusable = ip;
                    reusable_since = since;
                }
            }
        }
    }
    return reusable;
}

std::int64_t responder::lease_seconds(const context& c) const {
    const std::int64_t dflt = c.subnet->lease_time.count();
    const std::int64_t max = c.subnet->max_lease_time.count();
    if (const auto asked = c.req.lease_time())
        return std::clamp<std::int64_t>(static_cast<std::int64_t>(*asked), std::min(config_.min_lease, max), max);
    return dflt;
}

store::lease& responder::bind(context& c, ipv4_address ip, store::lease_state state, unix_time ends) {
    // The address may have been someone else's (expired): they lose it.
    auto& b = by_ip_[ip.value()];
    if (!b.lease.client_key.empty() && b.lease.client_key != c.key) {
        const auto prev = by_client_.find(b.lease.client_key);
        if (prev != by_client_.end() && prev->second == ip.value()) by_client_.erase(prev);
    }
    // And this client lets go of the address it held before, if any.
    if (const auto it = by_client_.find(c.key); it != by_client_.end() && it->second != ip.value()) {
        const auto old = by_ip_.find(it->second);
        if (old != by_ip_.end() && old->second.offer_only) by_ip_.erase(old);
    }
    by_client_[c.key] = ip.value();
    const bool was_bound_to_client = !b.offer_only && b.lease.client_key == c.key && b.lease.state == store::lease_state::bound;
    b.offer_only = false;
    b.hold_until = 0;
    auto& l = b.lease;
    if (!was_bound_to_client || l.ip != ip) l.starts = c.now;
    l.ip = ip;
    l.client_key = c.key;
    l.mac = c.mac;
    l.hostname = rendered_hostname(c.req, c.host);
    l.state = state;
    l.ends = ends;
    l.subnet = c.subnet ? c.subnet->network.to_string() : std::string{};
    if (ends != 0) schedule(ip.value(), ends);
    return l;
}

void responder::forget_binding(std::uint32_t ip) {
    const auto it = by_ip_.find(ip);
    if (it == by_ip_.end()) return;
    const auto c = by_client_.find(it->second.lease.client_key);
    if (c != by_client_.end() && c->second == ip) by_client_.erase(c);
    by_ip_.erase(it);
}

// ---------------------------------------------------------------------------
// Messages (RFC 2131 section 4.3)

outcome responder::on_discover(context& c) {
    outcome o;
    if (!store_up_) {
        // Only a client whose lease the store holds can be answered (with
        // that address, renewed for what is left of it at its REQUEST).
        const auto it = by_client_.find(c.key);
        const auto b = it == by_client_.end() ? by_ip_.end() : by_ip_.find(it->second);
        const bool stored = b != by_ip_.end() && !b->second.offer_only && b->second.lease.client_key == c.key &&
                            b->second.lease.state == store::lease_state::bound && b->second.lease.ends > c.now;
        if (!stored) {
            o.level = log_level::warn;
            o.kind = log_kind::store_down;
            o.log = "DHCPDISCOVER from " + c.who +
                    " not answered: the lease database is unreachable; new leases wait for it (known clients are "
                    "still renewed)";
            return o;
        }
    }
    if (!c.host && !by_client_.count(c.key) && !admit_new_client(c)) {
        o.level = log_level::warn;
        o.kind = log_kind::new_client_limit;
        o.log = "DHCPDISCOVER from " + c.who + " not answered: more than " +
                std::to_string(site_->server.dhcp.new_clients_burst) + " new clients at once from there (then " +
                std::to_string(site_->server.dhcp.new_clients_per_second) +
                " a second; server.dhcp.new_clients_per_second); known clients are still served";
        return o;
    }
    const auto ip = allocate(c);
    if (!ip) {
        o.level = log_level::warn;
        if (const auto r = reserved_ip(c))
            o.log = "DHCPDISCOVER from " + c.who + ": its reserved address " + r->to_string() +
                    " is quarantined after a DHCPDECLINE; not answering";
        else
            o.log = "DHCPDISCOVER from " + c.who + ": no free address in " + c.subnet->network.to_string();
        return o;
    }
    // Set the address aside so nobody else is offered it meanwhile, but
    // write nothing: an offer is not a lease.
    auto& b = by_ip_[ip->value()];
    if (b.lease.client_key != c.key) {
        // New, or free again after somebody else's lease ended: theirs no more.
        if (!b.lease.client_key.empty()) {
            const auto prev = by_client_.find(b.lease.client_key);
            if (prev != by_client_.end() && prev->second == ip->value()) by_client_.erase(prev);
        }
        b = binding{};
        b.offer_only = true;
        b.lease.ip = *ip;
        b.lease.client_key = c.key;
        b.lease.mac = c.mac;
        b.lease.state = store::lease_state::expired;
        b.lease.starts = c.now;
        b.lease.subnet = c.subnet->network.to_string();
    }
    b.hold_until = c.now + config_.offer_hold;
    if (b.offer_only) b.lease.ends = b.hold_until;
    by_client_[c.key] = ip->value();
    schedule(ip->value(), b.hold_until);
    const auto lease = lease_seconds(c);
    auto r = make_reply(c, message_type::offer);
    r.yiaddr = *ip;
    add_network_options(c, r, true, lease);
    const auto boot = choose_boot(c.req, c.host);
    add_boot_options(c, r, boot);
    o.reply = dhcp::reply{std::move(r), reply_destination(c, message_type::offer), max_reply_size(c.req)};
    o.log = "DHCPOFFER " + ip->to_string() + " to " + c.who + (boot.file.empty() ? "" : ", boot " + boot.file);
    if (!boot.file.empty()) warn_arch_mismatch(c, o);
    return o;
}

outcome responder::on_request(context& c) {
    const auto sid = c.req.server_id();
    const auto requested = c.req.requested_ip();
    outcome o;
    if (sid) {
        // SELECTING. A server identifier that is not ours means the client
        // took another server's offer: release ours silently.
        if (*sid != c.server_id && *sid != site_->server.address) {
            if (const auto it = by_client_.find(c.key); it != by_client_.end()) {
                const auto b = by_ip_.find(it->second);
                if (b != by_ip_.end() && b->second.offer_only) forget_binding(it->second);
            }
            o.log = "DHCPREQUEST from " + c.who + " is for server " + sid->to_string() + "; not ours";
            return o;
        }
        const auto ip = requested ? *requested : c.req.ciaddr;
        if (ip.is_unspecified()) return nak(c, "no requested address");
        if (!c.subnet->network.contains(ip) || !assignable(c, ip))
            return nak(c, ip.to_string() + " is not available to this client");
        if (const auto r = reserved_ip(c); r && *r != ip) return nak(c, "the client's reserved address is " + r->to_string());
        // SELECTING answers our OFFER: an address we never offered this
        // client is not taken by naming our server identifier.
        if (!has_record(c, ip)) return nak(c, ip.to_string() + " was not offered to this client");
        return ack(c, ip);
    }
    // INIT-REBOOT (option 50, no ciaddr), or RENEWING / REBINDING (ciaddr).
    const auto ip = c.req.ciaddr.is_unspecified() ? requested.value_or(ipv4_address{}) : c.req.ciaddr;
    const char* state = c.req.ciaddr.is_unspecified() ? "INIT-REBOOT" : "RENEWING";
    if (ip.is_unspecified()) return nak(c, "neither ciaddr nor a requested address");
    if (!c.subnet->network.contains(ip)) {
        // RFC 2131 4.3.2: the client moved to another network.
        if (c.subnet->authoritative) return nak(c, std::string(state) + ": " + ip.to_string() + " is not on " + c.subnet->network.to_string());
        o.log = "DHCPREQUEST (" + std::string(state) + ") from " + c.who + " for foreign address; not authoritative, silent";
        return o;
    }
    if (const auto r = reserved_ip(c); r && *r != ip) return nak(c, "the client's reserved address is " + r->to_string());
    if (!has_record(c, ip)) {
        // RFC 2131 4.3.2: a server with no record of the client stays
        // silent. Answering would let one packet per address, each from a
        // made-up MAC, take the whole pool without a DISCOVER. A client we
        // know under another address is told no, so it starts over.
        const auto known = by_client_.find(c.key);
        if (known != by_client_.end() && c.subnet->authoritative)
            return nak(c, std::string(state) + ": " + ip.to_string() + " is not the address this client has here");
        o.level = log_level::info;
        o.kind = log_kind::stranger;
        o.log = "DHCPREQUEST (" + std::string(state) + ") from " + c.who + " for " + ip.to_string() +
                ": no record of this client here; silent (RFC 2131 4.3.2), it will ask anew with a DISCOVER";
        return o;
    }
    if (!assignable(c, ip)) {
        if (c.subnet->authoritative) return nak(c, std::string(state) + ": " + ip.to_string() + " is not available to this client");
        o.log = "DHCPREQUEST (" + std::string(state) + ") from " + c.who + " for " + ip.to_string() + ": not ours, silent";
        return o;
    }
    return ack(c, ip);
}

outcome responder::ack(context& c, ipv4_address ip) {
    auto lease = lease_seconds(c);
    outcome o;
    // A client that renews again within the first quarter of its lease
    // (a retry, a reboot, or a client asking on purpose, again and again,
    // for other lease times) gets what is left of it: nothing to write,
    // nothing to queue.
    bool cached = false;
    if (const auto it = by_ip_.find(ip.value()); it != by_ip_.end()) {
        auto& b = it->second;
        const auto& l = b.lease;
        const auto left = l.ends - c.now;
        const bool stored_for_client =
            !b.offer_only && l.client_key == c.key && l.state == store::lease_state::bound && l.ends != 0 && left > 0;
        // With the store unreachable, any lease it holds for this client
        // is renewed for what is left of it: nothing new is promised.
        if (stored_for_client &&
            (!store_up_ || (left * 4 >= lease * 3 && l.mac == c.mac && l.hostname == rendered_hostname(c.req, c.host)))) {
            cached = true;
            lease = left;
            b.hold_until = 0;
            by_client_[c.key] = ip.value();
        }
    }
    if (!cached && !store_up_) {
        // A new lease would only be withheld at the commit: say why now.
        o.level = log_level::warn;
        o.kind = log_kind::store_down;
        o.log = "DHCPREQUEST from " + c.who + " for " + ip.to_string() +
                " not answered: the lease database is unreachable and holds no lease of this client to renew; "
                "new leases wait for it";
        return o;
    }
    if (!cached) {
        o.changes.push_back(bind(c, ip, store::lease_state::bound, c.now + lease));
        // A reservation's claim wins over a dynamic lease another
        // instance (or an older site.yaml) gave out.
        const auto r = reserved_ip(c);
        o.changes.back().reservation = r && *r == ip;
        if (config_.shared_store)
            o.if_refused = nak(c, ip.to_string() + " was taken by another pxed instance sharing the lease database").reply;
    }
    auto r = make_reply(c, message_type::ack);
    r.yiaddr = ip;
    r.ciaddr = c.req.ciaddr;
    add_network_options(c, r, true, lease);
    const auto boot = choose_boot(c.req, c.host);
    add_boot_options(c, r, boot);
    o.reply = dhcp::reply{std::move(r), reply_destination(c, message_type::ack), max_reply_size(c.req)};
    o.level = cached ? log_level::debug : log_level::info;
    o.log = "DHCPACK " + ip.to_string() + " to " + c.who + (c.host ? " (host " + c.host->hostname + ")" : "") +
            ", lease " + std::to_string(lease) + "s" + (cached ? " (what is left of it; renewed recently)" : "") +
            (boot.file.empty() ? "" : ", boot " + boot.file + " [" + boot.why + "]");
    if (!boot.file.empty()) warn_arch_mismatch(c, o);
    return o;
}

void responder::warn_arch_mismatch(const context& c, outcome& o) const {
    o.arch_mismatch = arch_mismatch(c.req, *site_, c.host);
    if (o.arch_mismatch.empty()) return;
    o.log += "; WARNING: " + o.arch_mismatch;
    o.level = log_level::warn;
}

outcome responder::nak(context& c, const std::string& why) {
    outcome o;
    auto r = make_reply(c, message_type::nak);
    r.siaddr = {};
    r.set_string(option_code::message, why);
    o.reply = dhcp::reply{std::move(r), reply_destination(c, message_type::nak), max_reply_size(c.req)};
    o.level = log_level::info;
    // Any client can ask for what it cannot have, as often as it likes.
    o.kind = log_kind::stranger;
    o.log = "DHCPNAK to " + c.who + ": " + why;
    return o;
}

outcome responder::on_decline(context& c) {
    outcome o;
    const auto ip = c.req.requested_ip();
    const auto sid = c.req.server_id();
    if (!ip || (sid && *sid != c.server_id && *sid != site_->server.address)) {
        o.log = "DHCPDECLINE from " + c.who + " not for us; ignored";
        return o;
    }
    const auto it = by_ip_.find(ip->value());
    if (it == by_ip_.end() || it->second.lease.client_key != c.key) {
        // Only the holder may take an address out of the pool, or any
        // client could empty it.
        o.level = log_level::warn;
        o.kind = log_kind::decline;
        o.log = "DHCPDECLINE of " + ip->to_string() + " from " + c.who + ", which does not hold it; ignored";
        return o;
    }
    o.level = log_level::warn;
    o.kind = log_kind::decline;
    auto& held = it->second.lease;
    if (const auto r = reserved_ip(c); r && *r == *ip) {
        // A reservation is never quarantined: its owner would never boot
        // again, and a machine that spoofs the owner's MAC could make sure
        // of it. The owner keeps it; the operator finds the other machine.
        held.state = store::lease_state::released;
        held.ends = c.now;
        it->second.hold_until = 0;
        o.changes.push_back(held);
        o.log = "DHCPDECLINE of reserved address " + ip->to_string() + " from " + c.who +
                (c.host ? " (host " + c.host->hostname + ")" : "") +
                ": it says another machine uses that address; the reservation stays with it, find that machine";
        return o;
    }
    const auto* sn = site_->find_subnet(*ip);
    std::uint64_t pool = 0;
    if (sn)
        for (const auto& range : sn->ranges) pool += range.size();
    const auto pct = site_->server.dhcp.quarantine_max_percent;
    const auto limit = pct == 0 ? 0 : std::max<std::uint64_t>(1, pool * pct / 100);
    // The client must get another address next time.
    by_client_.erase(c.key);
    if (!sn || quarantined_in(*sn, c.now) >= limit) {
        // Quarantine must not be a way to empty a pool: past the limit, a
        // declined address goes back to the pool at once, belonging to nobody.
        held.state = store::lease_state::expired;
        held.ends = c.now;
        held.client_key.clear();
        held.mac.reset();
        held.hostname.clear();
        it->second.offer_only = false;
        it->second.hold_until = 0;
        o.changes.push_back(held);
        o.changes.back().taken_from = c.key;
        o.log = "DHCPDECLINE " + ip->to_string() + " from " + c.who + ": not quarantined, " +
                (limit == 0 ? std::string("server.dhcp.quarantine_max_percent is 0")
                            : std::to_string(limit) + " address(es) of " + (sn ? sn->network.to_string() : "its subnet") +
                                  " already are (server.dhcp.quarantine_max_percent: " + std::to_string(pct) + ")") +
                "; back in the pool";
        return o;
    }
    auto& l = bind(c, *ip, store::lease_state::declined, c.now + config_.decline_quarantine);
    by_client_.erase(c.key);
    o.changes.push_back(l);
    o.log = "DHCPDECLINE " + ip->to_string() + " from " + c.who + ": another machine uses it; quarantined for " +
            std::to_string(config_.decline_quarantine) + "s";
    return o;
}

outcome responder::on_release(context& c) {
    outcome o;
    const auto ip = c.req.ciaddr;
    const auto it = by_ip_.find(ip.value());
    if (ip.is_unspecified() || it == by_ip_.end() || it->second.lease.client_key != c.key ||
        it->second.lease.state != store::lease_state::bound) {
        o.kind = log_kind::stranger;
        o.log = "DHCPRELEASE of " + ip.to_string() + " from " + c.who + ", which does not hold it; ignored";
        return o;
    }
    const auto sid = c.req.server_id();
    if (sid && *sid != c.server_id && *sid != site_->server.address) {
        o.log = "DHCPRELEASE from " + c.who + " is for server " + sid->to_string() + "; not ours";
        return o;
    }
    // A client releases from the address it gives back (RFC 2131 4.4.6:
    // unicast, ciaddr filled in). MAC and address alone are no proof: both
    // are seen by everyone on the segment.
    if (c.req.giaddr.is_unspecified() && c.from.source != ip) {
        o.level = log_level::warn;
        o.kind = log_kind::stranger;
        o.log = "DHCPRELEASE of " + ip.to_string() + " from " + c.who + " sent from " + c.from.source.to_string() +
                ", not from that address; ignored";
        return o;
    }
    // Released, but still remembered as this client's: it gets the same
    // address back unless somebody else needed it meanwhile.
    auto& l = it->second.lease;
    l.state = store::lease_state::released;
    l.ends = c.now;
    o.changes.push_back(l);
    o.level = log_level::info;
    o.log = "DHCPRELEASE " + ip.to_string() + " from " + c.who;
    return o;
}

outcome responder::on_inform(context& c) {
    // RFC 2131 4.3.5: configuration only; no yiaddr, no lease time.
    outcome o;
    auto r = make_reply(c, message_type::ack);
    r.ciaddr = c.req.ciaddr;
    add_network_options(c, r, false, 0);
    const auto boot = choose_boot(c.req, c.host);
    add_boot_options(c, r, boot);
    o.reply = dhcp::reply{std::move(r), reply_destination(c, message_type::inform), max_reply_size(c.req)};
    o.log = "DHCPINFORM from " + c.who + " answered";
    return o;
}

// RFC 951 BOOTP: only hosts with a reservation; BOOTP has no way to give an
// address back, so a dynamic one would leak.
outcome responder::on_bootp(context& c) {
    outcome o;
    const auto ip = reserved_ip(c);
    if (!ip) {
        o.log = "BOOTREQUEST from " + c.who + " without a reservation; ignored";
        return o;
    }
    auto& l = bind(c, *ip, store::lease_state::bound, 0);
    o.changes.push_back(l);
    message r;
    r.op = op_code::boot_reply;
    r.htype = c.req.htype;
    r.hlen = c.req.hlen;
    r.xid = c.req.xid;
    r.flags = c.req.flags;
    r.giaddr = c.req.giaddr;
    r.chaddr = c.req.chaddr;
    r.yiaddr = *ip;
    add_network_options(c, r, false, 0);
    add_boot_options(c, r, choose_boot(c.req, c.host));
    o.reply = dhcp::reply{std::move(r), reply_destination(c, message_type::offer), default_max_message_size};
    o.level = log_level::info;
    o.log = "BOOTREPLY " + ip->to_string() + " to " + c.who;
    return o;
}

// proxyDHCP (PXE 2.1 section 2.2.3): another server gives addresses; pxed
// answers PXE clients' DISCOVERs on port 67 and their boot server REQUESTs
// on port 4011 with boot information only: yiaddr stays 0.
outcome responder::on_proxy(context& c) {
    outcome o;
    const auto type = c.req.message_type();
    if (!type || !is_pxe_client(c.req)) return o;
    const bool boot_server = c.from.local_port == pxe_port;
    if (!(type == message_type::discover && !boot_server) &&
        !((type == message_type::request || type == message_type::inform) && boot_server))
        return o;
    c.subnet = select_subnet(c.req, c.from);
    c.server_id = server_id_for(c);
    const auto boot = choose_boot(c.req, c.host);
    if (boot.file.empty()) {
        o.log = "proxyDHCP: nothing to boot for " + c.who + " (" + boot.why + ")";
        return o;
    }
    auto r = make_reply(c, boot_server ? message_type::ack : message_type::offer);
    r.ciaddr = boot_server ? c.req.ciaddr : ipv4_address{};
    add_boot_options(c, r, boot);
    // PXE 2.1 table 2-1: option 43 with PXE_DISCOVERY_CONTROL bit 3 set:
    // "download the boot file in the offer", no boot server discovery.
    r.set(option_code::vendor_encapsulated, pxe_discovery_control_option());
    // PXE 2.1: the proxy echoes the client's UUID (option 97).
    if (const auto* uuid = c.req.find(option_code::client_machine_id)) r.set(uuid->code, uuid->value);
    destination to;
    if (boot_server) {
        to.address = c.from.source;
        to.port = c.from.source_port;
        to.ifindex = c.from.ifindex;
        to.source = c.server_id;
    } else {
        to = reply_destination(c, message_type::offer);
    }
    o.reply = dhcp::reply{std::move(r), to, max_reply_size(c.req)};
    o.level = log_level::info;
    o.log = std::string("proxyDHCP ") + (boot_server ? "ACK" : "OFFER") + " to " + c.who + ": boot " + boot.file +
            " from " + boot.next_server.to_string() + " [" + boot.why + "]";
    warn_arch_mismatch(c, o);
    return o;
}

// ---------------------------------------------------------------------------
// Replies

message responder::make_reply(const context& c, message_type type) const {
    message r;
    r.op = op_code::boot_reply;
    r.htype = c.req.htype;
    r.hlen = c.req.hlen;
    r.xid = c.req.xid;
    r.flags = c.req.flags;
    r.giaddr = c.req.giaddr;
    r.chaddr = c.req.chaddr;
    // Option 53 first: some clients look for it only at the start.
    r.set_message_type(type);
    r.set_ipv4(option_code::server_identifier, c.server_id);
    return r;
}

void responder::add_network_options(const context& c, message& r, bool with_lease, std::int64_t lease) const {
    const auto* sn = c.subnet;
    if (with_lease) {
        r.set_u32(option_code::lease_time, static_cast<std::uint32_t>(lease));
        // RFC 2131 4.4.5 defaults: T1 = 0.5, T2 = 0.875 of the lease.
        r.set_u32(option_code::renewal_time, static_cast<std::uint32_t>(lease / 2));
        r.set_u32(option_code::rebinding_time, static_cast<std::uint32_t>(lease * 7 / 8));
    }
    if (!sn) return;
    r.set_ipv4(option_code::subnet_mask, ipv4_address{sn->network.mask()});
    r.set_ipv4(option_code::broadcast_address, sn->network.broadcast());
    if (!sn->routers.empty()) r.set_ipv4_list(option_code::routers, sn->routers);
    if (!sn->dns.empty()) r.set_ipv4_list(option_code::domain_name_servers, sn->dns);
    if (!sn->domain.empty()) r.set_string(option_code::domain_name, sn->domain);
    if (c.host && !c.host->hostname.empty()) {
        // A hostname like "web1.example.com" carries the domain too; option
        // 12 takes the first label.
        const auto& h = c.host->hostname;
        r.set_string(option_code::host_name, h.substr(0, h.find('.')));
    }
}

boot_choice responder::choose_boot(const message& req, const inventory::host* host) const {
    const auto& s = *site_;
    boot_choice b;
    b.next_server = s.server.address;
    if (host && config_.no_boot_file && config_.no_boot_file(host->mac)) {
        // Installed, and the site wants its firmware to go on to the disk.
        b.why = "installed (lifecycle.installed_pxe: none)";
        return b;
    }
    const auto vc = req.vendor_class();
    if (vc && starts_with(*vc, "PXEClient")) b.vendor_class = "PXEClient";
    if (is_http_boot(req)) return choose_http_boot(req, host, std::move(b));
    if (req.has_ipxe() && !s.boot.ipxe.empty() && renderer_) {
        // iPXE loaded by the firmware asks again: hand it the script URL,
        // not the iPXE binary it is already running, or it loops forever.
        if (const auto mac = req.mac()) {
            b.file = renderer_->ipxe_chain_url(*mac);
            b.why = "ipxe";
            if (!b.file.empty()) return b;
        }
    }
    const auto pick = [&b](const std::string& file, const char* why) {
        b.file = file;
        b.why = why;
    };
    switch (req.firmware()) {
    case boot_firmware::bios: pick(s.boot.bios, "bios"); break;
    case boot_firmware::uefi_x64: pick(s.boot.uefi_x64, "uefi-x64"); break;
    case boot_firmware::uefi_ia32: pick(s.boot.uefi_ia32, "uefi-ia32"); break;
    case boot_firmware::uefi_arm64: pick(s.boot.uefi_arm64, "uefi-arm64"); break;
    case boot_firmware::uefi_x64_http:
    case boot_firmware::uefi_arm64_http: break;  // handled above
    case boot_firmware::unknown:
        if (req.client_arch().empty() && !arch_from_vendor_class(vc.value_or(""))) {
            // No architecture at all: an OS's DHCP client (dhclient, the
            // installer) rather than firmware. It gets the BIOS boot file, as
            // ISC dhcpd's classic `filename "pxelinux.0"` gives everyone.
            b.file = s.boot.bios;
            b.why = "no architecture given";
        } else {
            const auto arch = req.client_arch();
            // An architecture no boot.* key serves: the reason says so already.
            b.why = "architecture " + std::to_string(arch.empty() ? -1 : static_cast<int>(arch.front())) +
                    " has no boot file";
            return b;
        }
        break;
    }
    if (b.file.empty()) b.why += ": no boot file configured";
    return b;
}

// UEFI 2.5 section 24.7.2: an HTTP Boot client only takes an offer that
// echoes "HTTPClient" and has a URL as boot file. The URL is the host's own
// uefi-http, else its profile's, else boot.uefi-http (by default the boot
// file of the client's architecture from pxed's HTTP server); "off" at any
// level means none. Without a URL the offer is a plain one: no HTTPClient.
boot_choice responder::choose_http_boot(const message& req, const inventory::host* host, boot_choice b) const {
    const auto& s = *site_;
    const std::string* url = &s.boot.uefi_http;
    std::string from = "boot.uefi-http";
    if (host) {
        const auto* p = s.find_profile(host->profile);
        if (!host->uefi_http.empty()) {
            url = &host->uefi_http;
            from = "the host's uefi-http";
        } else if (p && !p->uefi_http.empty()) {
            url = &p->uefi_http;
            from = "profile " + p->name + "'s uefi-http";
        }
    }
    const std::string* boot_file = nullptr;
    switch (req.firmware()) {
    case boot_firmware::uefi_x64_http: boot_file = &s.boot.uefi_x64; b.why = "uefi-x64-http"; break;
    case boot_firmware::uefi_arm64_http: boot_file = &s.boot.uefi_arm64; b.why = "uefi-arm64-http"; break;
    default: {
        const auto arch = req.client_arch();
        b.why = "HTTP boot, architecture " + (arch.empty() ? std::string("unknown") : std::to_string(static_cast<int>(arch.front())));
        break;
    }
    }
    if (url->empty() || *url == "off") {
        b.why += url->empty() ? ": no URL (boot.uefi-http is off, or HTTP is)" : ": " + from + " is off";
        return b;
    }
    if (url->find("{{boot_file}}") != std::string::npos && (!boot_file || boot_file->empty())) {
        b.why += ": no boot file for it (" + from + " names {{boot_file}})";
        return b;
    }
    const auto mac = req.mac();
    if (renderer_ && mac) b.file = renderer_->uefi_http_url(*url, *mac, boot_file ? *boot_file : std::string{});
    if (b.file.empty()) {
        b.why += ": " + from + " does not render (pxed check says why)";
        return b;
    }
    b.vendor_class = "HTTPClient";
    b.why += " (" + from + ")";
    return b;
}

void responder::add_boot_options(const context& c, message& r, const boot_choice& b) const {
    const auto* sn = c.subnet;
    const auto next = sn && sn->next_server ? *sn->next_server : b.next_server;
    if (!b.vendor_class.empty()) r.set_string(option_code::vendor_class_identifier, b.vendor_class);
    // "PXEClient" without option 43 is a BINL offer to EDK2 (OVMF's own PXE):
    // it asks next-server:4011 for the boot file, 4 times, then fails with
    // PXE-E16. PXE 2.1 PXE_DISCOVERY_CONTROL bit 3: boot the file offered.
    if (b.vendor_class == "PXEClient" && !b.file.empty())
        r.set(option_code::vendor_encapsulated, pxe_discovery_control_option());
    if (!b.file.empty()) {
        r.siaddr = next;
        // The file field holds 128 octets; a longer name (an iPXE URL)
        // travels in option 67 only.
        if (b.file.size() < file_size) r.file = b.file;
        if (c.req.requests(option_code::bootfile_name) || b.file.size() >= file_size)
            r.set_string(option_code::bootfile_name, b.file);
        if (c.req.requests(option_code::tftp_server_name)) r.set_string(option_code::tftp_server_name, next.to_string());
    }
    // RFC 6842: echo the client identifier.
    if (const auto* id = c.req.find(option_code::client_identifier)) r.set(id->code, id->value);
    // RFC 3046 2.2: relay agent information goes back to the relay as sent, last.
    if (!c.req.giaddr.is_unspecified())
        if (const auto* rai = c.req.find(option_code::relay_agent_information)) r.set(rai->code, rai->value);
}

// RFC 2131 section 4.1, "If the 'giaddr' field ... is non-zero".
destination responder::reply_destination(const context& c, message_type type) const {
    destination d;
    d.ifindex = c.from.ifindex;
    d.source = c.server_id;
    const auto& q = c.req;
    if (!q.giaddr.is_unspecified()) {
        d.address = q.giaddr;
        d.port = server_port;
        d.ifindex = 0;  // routed
        return d;
    }
    d.port = client_port;
    if (type == message_type::nak) {
        d.address = broadcast_address;
        return d;
    }
    if (!q.ciaddr.is_unspecified()) {
        d.address = q.ciaddr;
        return d;
    }
    d.address = broadcast_address;
    d.to_hardware_address = !q.broadcast();
    return d;
}

// ---------------------------------------------------------------------------
// Time

std::vector<store::lease> responder::expire(unix_time now) {
    std::vector<store::lease> changed;
    while (!timers_.empty() && timers_.top().when <= now) {
        const auto t = timers_.top();
        timers_.pop();
        const auto it = by_ip_.find(t.ip);
        if (it == by_ip_.end()) continue;
        auto& b = it->second;
        if (b.queued == t.when) b.queued = 0;
        if (b.offer_only) {
            if (b.hold_until <= now) forget_binding(t.ip);
            else schedule(t.ip, b.hold_until);
            continue;
        }
        auto& l = b.lease;
        if (l.ends == 0) continue;
        if (l.ends > now) {  // renewed since
            schedule(t.ip, l.ends);
            continue;
        }
        if (l.state == store::lease_state::bound) {
            l.state = store::lease_state::expired;
            changed.push_back(l);
        } else if (l.state == store::lease_state::declined) {
            // Back in the pool, belonging to nobody.
            auto decliner = std::move(l.client_key);
            l.state = store::lease_state::expired;
            l.client_key.clear();
            l.mac.reset();
            l.hostname.clear();
            changed.push_back(l);
            changed.back().taken_from = std::move(decliner);
        }
    }
    return changed;
}

// One entry per address at most, give or take a stale one: an entry is
// pushed only when the address falls due earlier than the entry already
// queued for it, and a popped entry re-queues the address if it is not due
// yet. Repeated requests cannot grow the queue; forgotten offers leave
// stale entries, swept out when they outnumber the addresses.
void responder::schedule(std::uint32_t ip, unix_time when) {
    const auto it = by_ip_.find(ip);
    if (it == by_ip_.end()) return;
    auto& b = it->second;
    if (b.queued != 0 && b.queued <= when) return;
    timers_.push({when, ip});
    b.queued = when;
    if (timers_.size() <= 2 * by_ip_.size() + 64) return;
    timer_heap fresh;
    for (auto& [addr, bi] : by_ip_) {
        const auto& l = bi.lease;
        unix_time due = 0;
        if (bi.offer_only) due = bi.hold_until;
        else if ((l.state == store::lease_state::bound || l.state == store::lease_state::declined) && l.ends != 0) due = l.ends;
        bi.queued = due;
        if (due != 0) fresh.push({due, addr});
    }
    timers_ = std::move(fresh);
}

std::vector<store::lease> responder::leases() const {
    std::vector<store::lease> out;
    out.reserve(by_ip_.size());
    for (const auto& [ip, b] : by_ip_)
        if (!b.offer_only) out.push_back(b.lease);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.ip < b.ip; });
    return out;
}

std::optional<wire::ipv4_address> responder::bound_address(const wire::mac_address& mac, unix_time now) const {
    const auto c = by_client_.find(std::string(reinterpret_cast<const char*>(mac.bytes().data()), 6));
    if (c == by_client_.end()) return std::nullopt;
    const auto b = by_ip_.find(c->second);
    if (b == by_ip_.end()) return std::nullopt;
    if (!in_use(b->second, now)) return std::nullopt;
    return b->second.lease.ip;
}

bool responder::in_use(const binding& b, unix_time now) {
    return !b.offer_only && b.lease.state == store::lease_state::bound && (b.lease.ends == 0 || b.lease.ends > now);
}

std::size_t responder::active_leases(unix_time now, const inventory::subnet* within) const {
    std::size_t n = 0;
    for (const auto& [ip, b] : by_ip_)
        if (in_use(b, now) && (!within || within->network.contains(ipv4_address{ip}))) ++n;
    return n;
}

}  // namespace pxed::dhcp
