#include "pxed/doctor/dhcp_probe.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <random>
#include <string>
#include <utility>

#include "pxed/proto/dhcp.hpp"

namespace pxed::doctor {

namespace dhcp_probe_detail {

std::vector<std::uint8_t> discover(const wire::mac_address& mac, std::uint32_t xid) {
    dhcp::message m;
    m.op = dhcp::op_code::boot_request;
    m.xid = xid;
    m.set_mac(mac);
    // RFC 2131 section 4.1: a client that cannot receive unicast before it
    // has an address sets the broadcast bit; the probe has no address to
    // be reached at, so every OFFER comes back as a broadcast.
    m.set_broadcast(true);
    m.set_message_type(dhcp::message_type::discover);
    // PXE 2.1 section 2.2.1: what a BIOS PXE ROM sends, so proxyDHCP
    // servers (dnsmasq dhcp-range=...,proxy, another pxed) answer as well.
    m.set_string(dhcp::option_code::vendor_class_identifier, "PXEClient:Arch:00000:UNDI:002001");
    m.set(dhcp::option_code::parameter_request_list, {1, 3, 6, 15, 43, 54, 60, 66, 67});
    m.set_u16(dhcp::option_code::client_system_architecture, 0);
    m.set(dhcp::option_code::client_ndi, {1, 2, 1});
    const auto r = dhcp::encode(m);
    return r.ok() ? r.bytes() : std::vector<std::uint8_t>{};
}

std::optional<offer> read_offer(const std::uint8_t* data, std::size_t size, const wire::mac_address& mac,
                                std::uint32_t xid, wire::ipv4_address source) {
    const auto r = dhcp::decode(data, size);
    if (!r.ok()) return std::nullopt;
    const auto& m = r.value();
    if (m.op != dhcp::op_code::boot_reply || m.xid != xid || m.mac() != mac) return std::nullopt;
    if (m.message_type() != dhcp::message_type::offer) return std::nullopt;
    offer o;
    o.server = m.server_id().value_or(source);
    o.address = m.yiaddr;
    return o;
}

}  // namespace dhcp_probe_detail

namespace {

using dhcp_probe_detail::offer;

struct probe_result {
    std::string error;  // why the probe could not run; empty when it did
    std::vector<offer> offers;
};

class fd_guard {
public:
    explicit fd_guard(int fd) : fd_(fd) {}
    ~fd_guard() {
        if (fd_ >= 0) ::close(fd_);
    }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

std::string failed(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

probe_result probe_interface(const std::string& iface, std::chrono::milliseconds wait) {
    probe_result res;
    std::random_device rd;
    wire::mac_address::bytes_type b{};
    for (auto& x : b) x = static_cast<std::uint8_t>(rd());
    b[0] = static_cast<std::uint8_t>((b[0] & 0xfe) | 0x02);  // unicast, locally administered
    const wire::mac_address mac(b);
    const std::uint32_t xid = (static_cast<std::uint32_t>(rd()) << 16) ^ static_cast<std::uint32_t>(rd());

    fd_guard fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
        res.error = failed("socket");
        return res;
    }
    const int one = 1;
    // dhclient may hold port 68 on this machine too (with SO_REUSEADDR):
    // both then get every broadcast to it.
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        ::setsockopt(fd.get(), SOL_SOCKET, SO_BROADCAST, &one, sizeof one) != 0) {
        res.error = failed("setsockopt");
        return res;
    }
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, iface.c_str(),
                     static_cast<socklen_t>(iface.size() + 1)) != 0) {
        res.error = failed(("bind to interface " + iface).c_str());
        return res;
    }
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(68);
    local.sin_addr.s_addr = htonl(INADDR_ANY);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
        res.error = failed("bind to port 68");
        return res;
    }
    const auto packet = dhcp_probe_detail::discover(mac, xid);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(67);
    to.sin_addr.s_addr = htonl(INADDR_BROADCAST);
    if (::sendto(fd.get(), packet.data(), packet.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) {
        res.error = failed("send");
        return res;
    }

    const auto deadline = std::chrono::steady_clock::now() + wait;
    std::array<std::uint8_t, 1500> buf{};
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd.get(), POLLIN, 0};
        const int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        sockaddr_in from{};
        socklen_t from_len = sizeof from;
        const auto got = ::recvfrom(fd.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
        if (got < 0) continue;
        const wire::ipv4_address source(ntohl(from.sin_addr.s_addr));
        if (auto o = dhcp_probe_detail::read_offer(buf.data(), static_cast<std::size_t>(got), mac, xid, source)) {
            const bool seen = std::any_of(res.offers.begin(), res.offers.end(),
                                          [&](const offer& x) { return x.server == o->server; });
            if (!seen) res.offers.push_back(*o);
        }
    }
    return res;
}

}  // namespace

std::vector<finding> probe_dhcp(const inventory::site& site, const locator& where, std::chrono::milliseconds wait,
                                std::string* skipped) {
    std::vector<finding> out;
    const auto& dhcp = site.server.dhcp;
    if (!dhcp.enabled || dhcp.interfaces.empty()) {
        if (skipped != nullptr)
            *skipped = !dhcp.enabled ? "pxed's DHCP is off (server.dhcp.enabled): DHCP probe not run"
                                     : "no interface is listed in server.interfaces: DHCP probe not run";
        return out;
    }
    const bool proxy = dhcp.mode == inventory::dhcp_mode::proxy;
    const auto at = where.find({"server", "interfaces"});
    auto warn = [&](std::string message, std::string fix) {
        finding f;
        f.level = inventory::severity::warning;
        f.where = at;
        f.topic = "dhcp-probe";
        f.message = std::move(message);
        f.fix = std::move(fix);
        out.push_back(std::move(f));
    };

    for (const auto& iface : dhcp.interfaces) {
        const auto r = probe_interface(iface, wait);
        if (!r.error.empty()) {
            warn("the DHCP probe could not run on " + iface + " (" + r.error + ")",
                 "run pxed check --probe-dhcp as root, with " + iface + " up");
            continue;
        }
        bool addresses = false;
        for (const auto& o : r.offers) {
            const bool is_proxy = o.address.value() == 0;
            addresses = addresses || !is_proxy;
            if (o.server == site.server.address) continue;  // this pxed
            if (is_proxy) {
                warn("another proxyDHCP server (" + o.server.to_string() + ") answers PXE clients on " + iface +
                         ": clients boot whichever answer they take first",
                     "stop it on " + o.server.to_string() + " (systemctl disable --now dnsmasq)");
            } else if (!proxy) {
                warn("another DHCP server (" + o.server.to_string() + ", offering " + o.address.to_string() +
                         ") answers on " + iface +
                         ": two servers on one segment hand out conflicting addresses and boot files",
                     "stop it (systemctl disable --now dhcpd dnsmasq on " + o.server.to_string() +
                         ") or set server.dhcp.mode: proxy");
            }
        }
        if (proxy && !addresses)
            warn("no DHCP server offered an address on " + iface +
                     ", and pxed in proxy mode hands out none: PXE clients get no address",
                 "start the network's DHCP server, or set server.dhcp.mode: server with a subnet for " + iface);
    }
    return out;
}

}  // namespace pxed::doctor
