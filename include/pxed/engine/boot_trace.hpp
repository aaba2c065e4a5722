#pragma once
/// The per-host boot trace (docs/troubleshooting.md): every event that
/// concerns a host, attributed to its MAC, kept in memory within bounds,
/// and read back as a timeline with the stage the boot reached and a
/// plain-language hint where it stalled. No sockets, no clock of its own:
/// the daemon hands in events and the time; tests drive it alike.
/// Single-threaded: the event loop owns the book.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pxed/wire/ipv4.hpp"
#include "pxed/wire/mac.hpp"

namespace pxed::dhcp {
struct message;
struct arrival;
struct outcome;
}  // namespace pxed::dhcp

namespace pxed::trace {

enum class kind : std::uint8_t {
    dhcp,       ///< a DHCP message in, and what was answered (or why nothing)
    tftp,       ///< a file over TFTP: sent, refused, failed
    http,       ///< a request over HTTP
    ftp,        ///< a file over FTP
    document,   ///< one of the host's rendered documents was opened
    refused,    ///< a request for the host's documents was refused
    callback,   ///< the install-done callback
    lifecycle,  ///< a lifecycle state change
    reload,     ///< a reload changed the host's documents
};

const char* to_string(kind k);
std::optional<kind> kind_from(std::string_view name);

/// Flags on a DHCP event.
inline constexpr std::uint8_t flag_firmware = 1;  ///< from PXE/HTTP boot firmware (not iPXE, not an installer)
inline constexpr std::uint8_t flag_answered = 2;  ///< pxed replied
inline constexpr std::uint8_t flag_boot_file = 4; ///< the reply named a boot file
inline constexpr std::uint8_t flag_bound = 8;     ///< an ACK binding `client` to the MAC
/// Packages an installer fetched one after another, folded into one event
/// ("312 packages"): an install fetches hundreds, and a trace is read by a
/// person. `what` is their directory and extension, the count in `outcome`.
inline constexpr std::uint8_t flag_packages = 16;
/// The answer's boot is for another CPU than the firmware's (the host's
/// profile arch against option 93): `detail` ends with "arch mismatch: ...".
inline constexpr std::uint8_t flag_arch_mismatch = 32;

struct event {
    std::uint64_t seq = 0;      ///< assigned by the book: increasing, never reused
    std::int64_t time_ms = 0;   ///< Unix milliseconds
    wire::mac_address mac;      ///< whose event; set by attribution
    kind k = kind::dhcp;
    bool ok = true;             ///< false: refused, failed, not answered
    std::uint8_t flags = 0;
    std::uint32_t client = 0;   ///< the client's IPv4 address (0: unknown)
    std::string what;           ///< "DISCOVER", a file's path, "kickstart", "installing"
    std::string outcome;        ///< "OFFER 10.0.0.5", "sent", "not found", "timed out"
    std::string detail;         ///< arch and vendor class, options, reasons
    std::uint64_t bytes = 0;
    std::uint32_t duration_ms = 0;
    /// Several instances sharing one store (docs/multi-instance.md): the
    /// one that recorded it, and its number there. Empty and 0 for events
    /// of this process that have not been stored.
    std::string instance;
    std::uint64_t origin_seq = 0;
};

/// What a DHCP request and pxed's decision about it come to.
event from_dhcp(const dhcp::message& request, const dhcp::arrival& from, const dhcp::outcome& decision);

/// The MAC a request path names: pxelinux.cfg/01-52-54-00-12-34-56,
/// grub.cfg-01-..., ipxe/52:54:00:12:34:56.ipxe, ks/525400123456.ks.
std::optional<wire::mac_address> mac_in_path(std::string_view path);

/// The steps of a network install, in order.
enum class stage : std::uint8_t { none, dhcp, boot_loader, config, kernel, installer, kickstart, done };
const char* to_string(stage s);

/// What part of a boot a fetched path is.
enum class role : std::uint8_t { other, boot_loader, loader_module, config, kernel, initrd, installer, kickstart };
role role_of(std::string_view path);

struct limits {
    std::size_t per_host = 1000;   ///< events kept per inventory host (an install fetches hundreds of files)
    std::size_t total = 100000;    ///< events kept in all, inventory hosts
    std::size_t per_stranger = 20; ///< events kept per MAC not in the inventory
    std::size_t strangers = 2000;  ///< MACs not in the inventory kept (least recently seen go first)
};

/// A MAC not in the inventory that tried to boot.
struct stranger {
    wire::mac_address mac;
    std::int64_t first_ms = 0;
    std::int64_t last_ms = 0;
    std::uint64_t events = 0;   ///< recorded since pxed started (or the store kept)
    std::string detail;         ///< its last DHCP request: arch, vendor class, relay
    std::uint32_t client = 0;   ///< its last known address
};

class book {
public:
    /// `known`: whether a MAC is an inventory host now. Strangers have
    /// bounds of their own, so a flood of made-up MACs never pushes a real
    /// host's history out.
    book(limits l, std::function<bool(const wire::mac_address&)> known);

    /// Records one event (its mac set); returns its sequence number.
    std::uint64_t record(event e);

    /// Start-up: events read back from the store, oldest first. Their
    /// sequence numbers are kept; new ones continue after the highest of
    /// them and `last_seq` (numbers given to events that were not stored).
    void restore(std::vector<event> events, std::uint64_t last_seq = 0);

    /// An event another instance recorded (its `instance` and
    /// `origin_seq` set), read from the shared store: appended with a
    /// number of this book's, or, when that instance's event is already
    /// here (a package count that grew, a row read twice), put in its
    /// place. Not handed back by take_unsaved(): its instance stores it.
    /// Whether it was new here.
    bool adopt(event e);

    /// After a reload: hosts added to or removed from the inventory move
    /// between the two pools.
    void reclassify();
    /// The same, looking only at `macs` (the hosts a reload added or
    /// removed): what the event loop runs at a reload's swap, in time
    /// proportional to them rather than to every MAC traced.
    void reclassify(const std::vector<wire::mac_address>& macs);

    /// A host's events after `after` (a sequence number), oldest first.
    std::vector<event> of(const wire::mac_address& mac, std::uint64_t after = 0) const;

    /// MACs not in the inventory that sent DHCP, most recent first.
    std::vector<stranger> strangers() const;

    /// Inventory hosts' events recorded since the last call, oldest first
    /// (for the store; strangers' are kept in memory only).
    std::vector<event> take_unsaved();

    std::uint64_t last_seq() const { return seq_; }
    std::size_t unsaved() const { return unsaved_.size(); }
    /// MACs outside the inventory that appeared (or came back after being
    /// forgotten) since start.
    std::uint64_t strangers_seen() const { return strangers_seen_; }
    std::size_t size() const { return size_known_ + size_strangers_; }
    std::size_t hosts() const { return log_.size(); }

private:
    using order_queue = std::deque<std::pair<std::uint64_t, wire::mac_address>>;
    static constexpr std::size_t max_unsaved = 50000;
    struct history {
        std::deque<event> events;
        bool known = false;
        std::int64_t first_ms = 0;
        std::uint64_t count = 0;
        std::list<wire::mac_address>::iterator lru;  ///< strangers only
    };
    history& host(const wire::mac_address& mac, std::int64_t time_ms);
    std::uint64_t append(history& h, event e);
    void forget(std::unordered_map<wire::mac_address, history>::iterator it);
    void stage(const event& e);
    void trim_total(order_queue& order, std::size_t& size, std::size_t cap);
    void rebuild_orders();

    bool reclassify_one(const wire::mac_address& mac, history& h);
    void rebalance();

    limits limits_;
    std::function<bool(const wire::mac_address&)> known_;
    std::unordered_map<wire::mac_address, history> log_;
    // One entry per event recorded, in order, for the total bounds: the
    // oldest entry names the host whose oldest event goes first. Entries of
    // events already gone by the per-host bound are skipped.
    order_queue order_known_;
    order_queue order_strangers_;
    std::size_t size_known_ = 0;
    std::size_t size_strangers_ = 0;
    std::list<wire::mac_address> strangers_lru_;  ///< least recently seen first
    std::uint64_t seq_ = 0;
    std::uint64_t strangers_seen_ = 0;
    std::vector<event> unsaved_;
};

/// A host's boot as the trace tells it.
struct reading {
    stage reached = stage::none;
    /// The events of the latest boot attempt start at this sequence number.
    std::uint64_t attempt_from = 0;
    std::vector<std::string> hints;
};

struct host_facts {
    bool known = true;           ///< in the inventory
    std::string state;           ///< lifecycle state ("pending", "installed", ...), empty: none
    bool proxy = false;          ///< pxed runs as proxyDHCP: another server leases addresses
};

/// Reads a host's events (oldest first) at `now_ms`: the stage reached by
/// its latest boot attempt and what to look at where it stalled.
reading read(const std::vector<event>& events, std::int64_t now_ms, const host_facts& facts);

/// One line of a timeline:
/// "2026-12-03 06:43:18.120  tftp       pxelinux.0: completed, 41 KiB in 5 ms [10.0.0.5] (blksize 1468)".
std::string format_line(const event& e, bool utc = false);

}  // namespace pxed::trace
