#pragma once
/// The boot trace as the daemon runs it (docs/troubleshooting.md): the
/// book (engine/boot_trace), attribution of the servers' events to MACs,
/// and the trace database (store/trace: SQLite, or the PostgreSQL store
/// several instances share) written by a thread of its own so that no
/// database write ever runs on the event loop.
///
/// Attribution of a TFTP, HTTP or FTP event, first match wins: the address
/// pxed's DHCP server last ACKed to a MAC; a reservation in site.yaml; the
/// neighbour table (proxyDHCP, where another server leases); a MAC in the
/// path (pxelinux.cfg/01-..., ks/<mac>.ks). The path comes last: anyone may
/// ask for another host's file, and that request is the asker's event; and
/// an inventory host takes a bounded rate of events by path (a burst of 30,
/// then one a second), so forged requests cannot push its history out.
/// Events no MAC is found for are counted, not kept.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "pxed/engine/boot_trace.hpp"
#include "pxed/inventory/site.hpp"
#include "pxed/store/trace.hpp"

namespace pxed::app {

class trace_service {
public:
    /// Opens <state_dir>/trace.sqlite3 and reads back what it kept, each
    /// host within the bounds of the pool `site` puts it in. Throws
    /// std::runtime_error when it cannot.
    trace_service(const std::string& state_dir, trace::limits limits, std::shared_ptr<const inventory::site> site);
    /// The same on any trace store (store::open_trace_backend). A shared
    /// one (PostgreSQL, several instances): `instance` is this one's name
    /// in it, its events are written under it, and watch() brings in the
    /// other instances' as they write them.
    trace_service(std::unique_ptr<store::trace_backend> db, std::string instance, trace::limits limits,
                  std::shared_ptr<const inventory::site> site);
    ~trace_service();  ///< writes what is left, then stops the writer
    trace_service(const trace_service&) = delete;
    trace_service& operator=(const trace_service&) = delete;

    /// A site as attribution reads it: which MACs are inventory hosts, and
    /// their reserved addresses. Built by index() on a reload's worker
    /// thread (it walks every host), swapped in on the loop by set_site().
    struct site_view {
        std::shared_ptr<const inventory::site> site;
        std::unordered_map<std::uint32_t, wire::mac_address> reserved;
    };
    static std::shared_ptr<const site_view> index(std::shared_ptr<const inventory::site> site);

    /// Reload: the new site's view; hosts named in `moved` (added to or
    /// removed from the inventory) change pools in the book. Returns the
    /// view it replaced, for the caller to free off the loop.
    std::shared_ptr<const site_view> set_site(std::shared_ptr<const site_view> view,
                                              const std::vector<wire::mac_address>& moved);

    /// The last resort for an address: the kernel's neighbour table.
    using neighbour_lookup = std::function<std::optional<wire::mac_address>(std::uint32_t address)>;
    void set_neighbour_lookup(neighbour_lookup f) { neighbours_ = std::move(f); }

    /// An event whose MAC is known (DHCP, lifecycle, documents, callbacks).
    void host_event(trace::event e, std::int64_t now_ms);
    /// An event from a client address (TFTP, HTTP, FTP): attributed first.
    void client_event(trace::event e, std::int64_t now_ms);

    /// Start-up: an address pxed's DHCP server has bound to a MAC (from the
    /// lease store), as an ACK would have told.
    void learn(std::uint32_t address, const wire::mac_address& mac) { bound_[address] = mac; }

    /// The MAC an address belongs to, as attribution finds it.
    std::optional<wire::mac_address> mac_of(std::uint32_t address) const;

    /// A shared store: other instances' events, read on the store's
    /// thread, are handed to `post` to be adopted on the loop. No-op for
    /// SQLite. stop_watching() before this service goes.
    void watch(std::function<void(std::function<void()>)> post);
    void stop_watching();
    /// Other instances' rows (on the loop): into the book, each in its
    /// host's history, with their instance's name.
    void adopt(std::vector<store::trace_row> rows);
    /// Events of other instances adopted since start.
    std::uint64_t adopted() const { return adopted_; }
    /// This instance's name in a shared store (empty: SQLite).
    const std::string& instance() const { return instance_; }

    /// Hands the events recorded since the last call to the writer. Call
    /// every second or two, and at shutdown.
    void flush();

    const trace::book& book() const { return book_; }
    /// Told, on the loop, of each MAC an event was recorded or adopted for
    /// (the dashboard's rows to refresh). One observer.
    void set_observer(std::function<void(const wire::mac_address&)> f) { observer_ = std::move(f); }
    /// Events no MAC was found for, since start.
    std::uint64_t unattributed() const { return unattributed_; }
    /// Batches the database refused, since start.
    std::uint64_t write_failures() const;

private:
    class writer;
    static constexpr std::size_t flush_at = 5000;
    bool is_host(const wire::mac_address& mac) const;
    std::string instance_;
    bool shared_ = false;
    bool duplicate_warned_ = false;
    std::uint64_t adopted_ = 0;
    std::shared_ptr<const site_view> view_;
    std::unordered_map<std::uint32_t, wire::mac_address> bound_;  // ACKed by pxed's DHCP
    neighbour_lookup neighbours_;
    std::function<void(const wire::mac_address&)> observer_;
    trace::book book_;
    std::uint64_t unattributed_ = 0;
    std::uint64_t pushed_seq_ = 0;  // the last number handed to the writer
    // Events attributed by a MAC in their path, per inventory host (so no
    // bigger than the inventory): a token bucket each.
    struct budget {
        double tokens;
        std::int64_t last_ms;
    };
    std::unordered_map<wire::mac_address, budget> path_budget_;
    bool path_budget_allows(const wire::mac_address& mac, std::int64_t now_ms);
    std::unique_ptr<writer> writer_;
};

}  // namespace pxed::app
