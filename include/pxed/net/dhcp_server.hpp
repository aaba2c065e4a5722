#pragma once
/// The DHCP server: sockets and timers around the pure dhcp::responder,
/// with leases persisted in the lease store before any ACK leaves.
///
/// One socket on 0.0.0.0:67 (broadcasts only reach a wildcard socket),
/// IP_PKTINFO telling which interface each request came in on; replies go
/// out of that interface. Requests are only answered on interfaces that are
/// either listed in server.interfaces or, when that list is empty, carry an
/// address inside one of the site's subnets: pxed never answers on a
/// network the inventory does not describe. In proxy mode a second socket
/// serves the PXE boot server port 4011. Asio stays out of this header.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pxed/engine/boot_trace.hpp"
#include "pxed/engine/dhcp_responder.hpp"
#include "pxed/store/backend.hpp"
#include "pxed/store/leases.hpp"

namespace boost::asio {
class io_context;
}

namespace pxed::metrics {
class registry;
}

namespace pxed::net {

struct dhcp_server_options {
    std::uint16_t port = dhcp::server_port;
    std::uint16_t proxy_port = dhcp::pxe_port;
    /// Where leases.sqlite3 lives (server mode).
    std::string state_dir;
    store::durability durability = store::durability::process_crash;
    /// Set: the leases live in this PostgreSQL database, shared with other
    /// instances (server.store), instead of state_dir.
    std::optional<store::postgres_options> postgres;
    dhcp::responder_config responder;
    /// Where the server and its lease store count (docs/metrics.md);
    /// outlives the server. Null: counted nowhere anyone reads.
    metrics::registry* metrics = nullptr;
    /// Told of every request from an Ethernet client and what was decided,
    /// for the boot trace. Unset: none.
    std::function<void(trace::event&&)> trace;
};

class dhcp_server {
public:
    dhcp_server(boost::asio::io_context& io, dhcp_server_options options,
                std::shared_ptr<const inventory::site> site, std::shared_ptr<const render::renderer> renderer);
    ~dhcp_server();
    dhcp_server(const dhcp_server&) = delete;
    dhcp_server& operator=(const dhcp_server&) = delete;

    /// Opens the lease database, reads the leases back and binds the
    /// ports. Throws std::runtime_error / std::system_error on failure.
    void start();
    void stop();

    /// A reloaded site: applies to the next request, leases stay. `reserved`:
    /// the site's reserved addresses, built off the event loop
    /// (dhcp::reserved_addresses::of; null: built here). Returns the ones
    /// replaced, for the caller to free off the loop.
    std::shared_ptr<const dhcp::reserved_addresses> update(std::shared_ptr<const inventory::site> site,
                                                          std::shared_ptr<const render::renderer> renderer,
                                                          std::shared_ptr<const dhcp::reserved_addresses> reserved);

    /// The current leases (for the HTTP API).
    std::vector<store::lease> leases() const;
    /// The address bound to `mac` now (see dhcp::responder::bound_address).
    std::optional<wire::ipv4_address> bound_address(const wire::mac_address& mac) const;

    std::uint16_t port() const;

private:
    class impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace pxed::net
