// Runs pxed::doctor::probe_dhcp for tests/integration/dhcp_probe_test.sh
// (the `pxed check --probe-dhcp` CLI is app's; this drives the check alone).
// Usage: dhcp_probe_driver IFACE SERVER_ADDRESS server|proxy WAIT_MS
// Prints one line per finding: "<topic>: <message> | <fix>".

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "pxed/doctor/dhcp_probe.hpp"

namespace {

class no_locator final : public pxed::doctor::locator {
public:
    pxed::inventory::source_location find(std::initializer_list<std::string_view>) const override {
        return {"site.yaml", 0, 0};
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s IFACE SERVER_ADDRESS server|proxy WAIT_MS\n", argv[0]);
        return 2;
    }
    pxed::inventory::site site;
    site.server.dhcp.interfaces = {argv[1]};
    const auto address = pxed::wire::ipv4_address::parse(argv[2]);
    if (!address) {
        std::fprintf(stderr, "not an address: %s\n", argv[2]);
        return 2;
    }
    site.server.address = *address;
    site.server.dhcp.mode = std::string(argv[3]) == "proxy" ? pxed::inventory::dhcp_mode::proxy
                                                             : pxed::inventory::dhcp_mode::server;
    const auto wait = std::chrono::milliseconds(std::strtol(argv[4], nullptr, 10));
    for (const auto& f : pxed::doctor::probe_dhcp(site, no_locator{}, wait))
        std::printf("%s: %s | %s\n", f.topic.c_str(), f.message.c_str(), f.fix.c_str());
    return 0;
}
