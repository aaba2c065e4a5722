#pragma once
/// The DHCP server's decisions (RFC 2131 section 4.3, PXE, proxyDHCP), with
/// no sockets and no clock of its own: the server hands in each decoded
/// request, where it arrived and the time, and carries out what comes back
/// (persist these leases, then send this reply there). Tests drive it with
/// scripted packets and a fake clock.
///
/// Address state lives here, in memory; the lease store only persists it.
/// Single-threaded: the server's event loop owns the responder.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "pxed/inventory/site.hpp"
#include "pxed/proto/dhcp.hpp"
#include "pxed/render/renderer.hpp"
#include "pxed/store/leases.hpp"

namespace pxed::dhcp {

using unix_time = std::int64_t;

/// The DHCP client port and server port (RFC 2131 section 4.1), and the PXE
/// boot server port that proxyDHCP clients ask on (PXE 2.1 section 2.2.2).
inline constexpr std::uint16_t client_port = 68;
inline constexpr std::uint16_t server_port = 67;
inline constexpr std::uint16_t pxe_port = 4011;

/// Where a request came in, as the socket layer saw it.
struct arrival {
    int ifindex = 0;
    std::string ifname;
    /// The IPv4 addresses of the receiving interface with their prefixes:
    /// how a client without a relay is matched to a subnet.
    std::vector<wire::ipv4_network> interface_addresses;
    wire::ipv4_address destination;  ///< the address the datagram was sent to
    std::uint16_t local_port = server_port;
    wire::ipv4_address source;
    std::uint16_t source_port = client_port;
};

/// Where a reply goes (RFC 2131 section 4.1).
struct destination {
    wire::ipv4_address address;
    std::uint16_t port = client_port;
    /// Out of this interface, from this address (the server identifier).
    int ifindex = 0;
    wire::ipv4_address source;
    /// The client has no address yet and asked for a unicast reply to its
    /// hardware address. Sent as a broadcast unless the server can reach a
    /// MAC directly.
    bool to_hardware_address = false;
};

struct reply {
    message msg;
    destination to;
    /// Largest datagram the client takes, IP and UDP headers included
    /// (its option 57, else 576). The server caps it at the link MTU.
    std::size_t max_size = default_max_message_size;
};

enum class log_level { debug, info, warn };

/// Which log budget a line draws on. The server rate-limits each kind that
/// a stranger can cause at will on its own, so that a flood of one (forged
/// relay packets, say) cannot hide another (the new-client limit biting).
enum class log_kind {
    routine,           ///< leases, boot choices: bounded by real clients
    untrusted_relay,   ///< relayed packets from outside server.dhcp.relay_agents
    new_client_limit,  ///< DISCOVERs held back by server.dhcp.new_clients_per_second
    decline,           ///< DHCPDECLINEs refused, quarantine full, reservations kept
    stranger,          ///< NAKs, and REQUESTs and RELEASEs from clients with no record here
    store_down,        ///< new clients not answered while the lease database is unreachable
};

struct outcome {
    std::optional<dhcp::reply> reply;
    /// Leases to commit before the reply may leave: an ACK goes out only
    /// once the lease it grants is on disk.
    std::vector<store::lease> changes;
    /// Shared stores (responder_config::shared_store): the reply to send
    /// instead of `reply` (an ACK) when the store refuses the lease it
    /// grants because another instance took the address meanwhile: a NAK,
    /// so the client starts over at once.
    std::optional<dhcp::reply> if_refused;
    /// One line for the operator; empty when there is nothing to say.
    std::string log;
    /// What is wrong with the boot answered (also in `log`, which is then a
    /// warning): the host's profile is for another CPU than its firmware.
    /// Empty: nothing. The boot trace keeps it (trace::flag_arch_mismatch).
    std::string arch_mismatch;
    log_level level = log_level::debug;
    log_kind kind = log_kind::routine;
};

struct responder_config {
    /// How long an OFFERed address stays set aside for its client.
    std::int64_t offer_hold = 30;
    /// How long an address a client DECLINEd stays out of the pool.
    std::int64_t decline_quarantine = 3600;
    /// Sources (relay agents, interfaces, switch ports) whose new clients
    /// are tracked for server.dhcp.new_clients_per_second; beyond it the
    /// least recently seen are forgotten.
    std::size_t max_sources = 4096;
    /// Shortest lease a client may ask for (option 51).
    std::int64_t min_lease = 60;
    /// Hosts that get no boot file now: installed ones under
    /// lifecycle.installed_pxe: none (the host lifecycle decides). Unset: none.
    std::function<bool(const wire::mac_address&)> no_boot_file;
    /// Other pxed instances write the same lease database: every ACK that
    /// writes a lease comes with the NAK to send if the store refuses it
    /// (outcome::if_refused).
    bool shared_store = false;
};

/// What pxed tells a PXE client to load.
struct boot_choice {
    std::string file;                ///< boot file name or URL; empty: none
    wire::ipv4_address next_server;  ///< siaddr
    std::string vendor_class;        ///< option 60 to echo ("PXEClient", "HTTPClient"), or empty
    std::string why;                 ///< "bios", "uefi-x64", "ipxe", ... for logs
};

/// The addresses a site reserves for its hosts (their `ip:`), sorted: no
/// dynamic lease hands one out. Building it walks every host, so a reload
/// builds it on its worker thread (reserved_addresses_of) and hands it to
/// responder::update with the new site; the event loop only swaps it in.
class reserved_addresses {
public:
    static std::shared_ptr<const reserved_addresses> of(const inventory::site& site);
    bool contains(wire::ipv4_address a) const;
    std::size_t size() const { return ips_.size(); }

private:
    std::vector<std::uint32_t> ips_;
};

class responder {
public:
    responder(std::shared_ptr<const inventory::site> site, std::shared_ptr<const render::renderer> renderer,
              responder_config config = {});

    /// A reload: the new inventory applies to the next request; leases stay.
    void update(std::shared_ptr<const inventory::site> site, std::shared_ptr<const render::renderer> renderer);
    /// The same with the site's reserved addresses built beforehand (off
    /// the event loop: reserved_addresses::of(*site)); walks no host
    /// (null: builds them here).
    /// Returns the ones replaced, for the caller to free where it likes.
    std::shared_ptr<const reserved_addresses> update(std::shared_ptr<const inventory::site> site,
                                                     std::shared_ptr<const render::renderer> renderer,
                                                     std::shared_ptr<const reserved_addresses> reserved);

    /// Start-up: the leases read back from the store.
    void restore(const std::vector<store::lease>& leases, unix_time now);

    /// Rows the store holds that differ from what this responder decided:
    /// written by another instance sharing the database, or the holder of
    /// an address whose change the store refused. Each replaces what is
    /// known of its address; an OFFER of ours to the same client stays set
    /// aside, one to another client is forgotten (its REQUEST gets a NAK).
    void adopt(const std::vector<store::lease>& rows, unix_time now);

    /// Changes the store could not write (it failed, or is unreachable):
    /// a lease they bound is only set aside for its client again, as an
    /// OFFER is, so that the client's next REQUEST is written anew and
    /// never answered from a lease that is not stored.
    void unconfirmed(const std::vector<store::lease>& changes, unix_time now);

    /// Whether the lease store can be written (a shared database can be
    /// unreachable). While it cannot, only clients holding a stored,
    /// unexpired lease are answered, renewed for what is left of it; new
    /// clients get no OFFER and no ACK, and the log says why.
    void set_store_available(bool up) { store_up_ = up; }
    bool store_available() const { return store_up_; }

    /// Decides what to do with one request.
    outcome handle(const message& request, const arrival& from, unix_time now);

    /// Leases whose time ran out, now marked expired (persist them), and
    /// offers not taken up forgotten. Call at least once a second.
    std::vector<store::lease> expire(unix_time now);

    /// Every lease and quarantined address, by address, for operators.
    std::vector<store::lease> leases() const;

    /// The address bound to `mac` at `now` (a lease acknowledged and not
    /// expired), if any: a host's documents go to that address.
    std::optional<wire::ipv4_address> bound_address(const wire::mac_address& mac, unix_time now) const;

    /// Addresses handed out and still valid at `now` (bound, unexpired),
    /// in `within` when given (reservations bound there included).
    std::size_t active_leases(unix_time now, const inventory::subnet* within = nullptr) const;

    /// Entries in the expiry queue (at most a few per address; for tests).
    std::size_t queued_timers() const { return timers_.size(); }

    /// The boot choice for a client; public for tests and `pxed` tooling.
    boot_choice choose_boot(const message& request, const inventory::host* host) const;

private:
    struct binding {
        store::lease lease;
        bool offer_only = false;  ///< exists only because of an OFFER: never persisted
        unix_time hold_until = 0; ///< set aside for lease.client_key by an OFFER until then
        unix_time queued = 0;     ///< the earliest entry for it in timers_, 0: none
    };
    /// New clients a source may still bring (a token bucket, whole seconds).
    struct source_budget {
        double tokens = 0;
        unix_time last = 0;
    };
    struct context;
    struct timer_entry {
        unix_time when;
        std::uint32_t ip;
        bool operator>(const timer_entry& o) const { return when > o.when; }
    };
    using timer_heap = std::priority_queue<timer_entry, std::vector<timer_entry>, std::greater<timer_entry>>;

    outcome on_discover(context& c);
    outcome on_request(context& c);
    outcome on_decline(context& c);
    outcome on_release(context& c);
    outcome on_inform(context& c);
    outcome on_bootp(context& c);
    outcome on_proxy(context& c);

    boot_choice choose_http_boot(const message& req, const inventory::host* host, boot_choice b) const;
    bool relay_trusted(const message& m, const arrival& a) const;
    bool admit_new_client(const context& c);
    bool has_record(const context& c, wire::ipv4_address ip) const;
    std::size_t quarantined_in(const inventory::subnet& sn, unix_time now) const;
    /// Acknowledged and unexpired at `now` (ends 0: no end): in use.
    static bool in_use(const binding& b, unix_time now);
    void schedule(std::uint32_t ip, unix_time when);
    const inventory::subnet* select_subnet(const message& m, const arrival& a) const;
    wire::ipv4_address server_id_for(const context& c) const;
    std::optional<wire::ipv4_address> reserved_ip(const context& c) const;
    bool available_to(wire::ipv4_address ip, const std::string& key, unix_time now) const;
    std::optional<wire::ipv4_address> allocate(context& c);
    bool assignable(const context& c, wire::ipv4_address ip) const;
    std::int64_t lease_seconds(const context& c) const;

    message make_reply(const context& c, message_type type) const;
    void add_network_options(const context& c, message& r, bool with_lease, std::int64_t lease) const;
    void add_boot_options(const context& c, message& r, const boot_choice& b) const;
    /// Fills o.arch_mismatch (and says it in o.log) for a boot answered.
    void warn_arch_mismatch(const context& c, outcome& o) const;
    destination reply_destination(const context& c, message_type type) const;
    outcome nak(context& c, const std::string& why);
    outcome ack(context& c, wire::ipv4_address ip);

    store::lease& bind(context& c, wire::ipv4_address ip, store::lease_state state, unix_time ends);
    void forget_binding(std::uint32_t ip);

    std::shared_ptr<const inventory::site> site_;
    std::shared_ptr<const render::renderer> renderer_;
    responder_config config_;
    std::shared_ptr<const reserved_addresses> reserved_;  // every host.ip
    std::unordered_map<std::uint32_t, binding> by_ip_;
    std::unordered_map<std::string, std::uint32_t> by_client_;  // client key -> its latest address
    timer_heap timers_;  // lease ends and offer holds; entries re-checked when popped
    std::unordered_map<std::string, source_budget> sources_;  // new-client budgets by source
    bool store_up_ = true;
};

/// The key a client's lease is held under: its MAC for Ethernet, else its
/// client identifier (option 61), else its raw hardware address.
///
/// Keyed by MAC on purpose: one machine sends a different client
/// identifier from its PXE ROM, from iPXE, from the installer and from the
/// installed OS (or none at all), and a provisioning server must give it
/// one address through all of them.
std::string client_key(const message& m);

}  // namespace pxed::dhcp

