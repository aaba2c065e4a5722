#pragma once
/// Where each host of the inventory is in its life, and what moves it on
/// (docs/lifecycle.md). Pure: the daemon hands in what happened and the
/// time, persists the records that come back (before it answers anyone),
/// and logs the lines. Tests drive it with a fake clock.
///
///   pending --(boot config or kickstart fetched)--> installing
///   installing --(install-done callback with the generation's token)--> installed
///   pending/installing --(kickstart fetched, install_done: kickstart)--> installed
///   installing --(install_timeout passed)--> failed
///   any --(reinstall: new generation, new token)--> pending
///   any --(mark-installed)--> installed
///
/// Single-threaded: the daemon's event loop owns the tracker.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "pxed/inventory/site.hpp"
#include "pxed/render/renderer.hpp"
#include "pxed/store/hosts.hpp"

namespace pxed::lifecycle {

using unix_time = std::int64_t;

/// What a host fetched: its boot loader config (pxelinux, GRUB, iPXE) or
/// its own kickstart.
enum class fetch { boot_config, kickstart };

/// A record to persist (before answering) and a line for the operator.
struct change {
    store::host_record record;
    std::string log;  ///< empty: persist quietly (a new host, history)
};

/// The answer to an operator's or a callback's request.
enum class verdict {
    done,            ///< the state changed
    unchanged,       ///< already so (mark-installed of an installed host)
    unknown_host,    ///< not in the inventory
    bad_token,       ///< not the token of the host's current generation
    not_installing,  ///< a callback for a host that is not installing
    failed,          ///< the change could not be recorded; nothing changed
};

struct answer {
    verdict result = verdict::done;
    std::string message;  ///< for the client and the log, with no secret in it
    std::optional<change> changed;
    bool ok() const { return result == verdict::done || result == verdict::unchanged; }
};

/// What a reload changes for the tracker, worked out off the event loop
/// (plan_reload) from the site being served and the one replacing it, so
/// that applying it (tracker::apply) costs the hosts it names, not the
/// whole inventory. Both sites are immutable and shared: a worker thread
/// may build the plan while the loop goes on reading `before`.
struct reload_plan {
    std::shared_ptr<const inventory::site> before;
    std::shared_ptr<const inventory::site> after;
    /// Hosts of `after` that are not in `before`, or whose hostname or
    /// profile changed (indices into after->hosts).
    std::vector<std::size_t> touched;
    /// Hosts of `before` that `after` no longer has.
    std::vector<wire::mac_address> removed;
};

/// Pure: reads both sites, touches no tracker. O(hosts) with no lock.
reload_plan plan_reload(std::shared_ptr<const inventory::site> before, std::shared_ptr<const inventory::site> after);

class tracker {
public:
    /// Makes the install tokens (wire::random_token in the daemon).
    using token_source = std::function<std::string()>;

    explicit tracker(token_source tokens);

    /// Start-up: the records read back from the store, then reconcile().
    std::vector<change> restore(std::vector<store::host_record> records,
                                std::shared_ptr<const inventory::site> site, unix_time now);

    /// A (re)loaded site: hosts new to it get a record (pending, or
    /// installed per lifecycle.new_hosts); hostnames and profiles are
    /// refreshed; hosts no longer in it keep their record. Walks every
    /// host: start-up, and tests. The tracker keeps `site` (policies and
    /// netboot are read from it when asked).
    std::vector<change> reconcile(std::shared_ptr<const inventory::site> site, unix_time now);

    /// The same as reconcile(plan.after, now), in time proportional to the
    /// hosts the plan names: what the event loop runs at a reload's swap.
    /// A plan made against another site than the tracker's falls back to
    /// reconcile().
    std::vector<change> apply(const reload_plan& plan, unix_time now);

    /// The site the tracker follows (null before the first reconcile).
    const std::shared_ptr<const inventory::site>& site() const { return site_; }

    /// A host's own document is being sent: pending -> installing, and
    /// with install_done: kickstart, its kickstart ends the install.
    /// `before`, when given, gets the record as it was before the first
    /// change, and only when there is one: a repeated fetch (a storm's
    /// thousandth kickstart) copies nothing.
    std::vector<change> fetched(const wire::mac_address& mac, fetch what, const std::string& how, unix_time now,
                                store::host_record* before = nullptr);

    /// The install-done callback. `token` as the client sent it; `who`
    /// names the client for the record.
    answer install_done(const wire::mac_address& mac, const std::string& token, const std::string& who, unix_time now);

    /// Back to pending with a new generation and token: the next boot installs.
    answer reinstall(const wire::mac_address& mac, const std::string& who, unix_time now);

    /// Installed by other means: boots its disk from now on.
    answer mark_installed(const wire::mac_address& mac, const std::string& who, unix_time now);

    /// Installs past their install_timeout, now failed.
    std::vector<change> expire(unix_time now);

    /// The record of a host (in the inventory or not); nullptr if none.
    const store::host_record* find(const wire::mac_address& mac) const;

    /// What a host's documents should show (the token only under
    /// install_done: callback); nullopt for a MAC without a record.
    std::optional<render::host_status> status(const wire::mac_address& mac) const;

    /// Puts a record back as it was (a change the store could not keep).
    void put(const store::host_record& r);

    /// Whether DHCP should give this host no boot file: it boots its disk
    /// and its policy says installed_pxe: none.
    bool no_boot_file(const wire::mac_address& mac) const;

    /// Every record, by MAC; `in_inventory` says whether site.yaml still has it.
    std::vector<store::host_record> all() const;
    bool in_inventory(const wire::mac_address& mac) const;
    /// Hosts of site.yaml by state, indexed by host_state's value (0 unused).
    using state_counts = std::array<std::size_t, 5>;
    state_counts inventory_by_state() const;

private:
    // A host's policy and netboot are not copied here but read from site_
    // when asked: a reload that changes the top-level lifecycle or a
    // profile's changes them for thousands of hosts at no cost at the swap.
    struct entry {
        store::host_record record;
        bool in_inventory = false;
    };
    // An entry and its host in site_ (nullptr: not in the inventory).
    struct view {
        entry* e = nullptr;
        const inventory::host* host = nullptr;
        explicit operator bool() const { return e != nullptr; }
    };
    static bool boots_installer(const store::host_record& r, const inventory::lifecycle_policy& p);
    change moved(entry& e, store::host_state to, const std::string& by, const std::string& why, unix_time now);
    view known(const wire::mac_address& mac);
    const inventory::host* host_of(const wire::mac_address& mac) const;
    void reconcile_host(const inventory::host& h, unix_time now, std::vector<change>& out);

    token_source tokens_;
    std::shared_ptr<const inventory::site> site_;
    // Hashed: every request for a host's document looks its host up here
    // several times. all() and expire() sort what they return by MAC.
    std::unordered_map<wire::mac_address, entry> hosts_;
};

}  // namespace pxed::lifecycle
