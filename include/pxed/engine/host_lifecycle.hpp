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
#include <optional>
#include <string>
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

class tracker {
public:
    /// Makes the install tokens (wire::random_token in the daemon).
    using token_source = std::function<std::string()>;

    explicit tracker(token_source tokens);

    /// Start-up: the records read back from the store, then reconcile().
    std::vector<change> restore(std::vector<store::host_record> records, const inventory::site& site, unix_time now);

    /// A (re)loaded site: hosts new to it get a record (pending, or
    /// installed per lifecycle.new_hosts); hostnames and profiles are
    /// refreshed; hosts no longer in it keep their record.
    std::vector<change> reconcile(const inventory::site& site, unix_time now);

    /// A host's own document is being sent: pending -> installing, and
    /// with install_done: kickstart, its kickstart ends the install.
    std::vector<change> fetched(const wire::mac_address& mac, fetch what, const std::string& how, unix_time now);

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
    struct entry {
        store::host_record record;
        inventory::lifecycle_policy policy;
        bool netboot = true;  ///< site.yaml's netboot: false means it never installs
        bool in_inventory = false;
    };
    static bool boots_installer(const entry& e);
    change moved(entry& e, store::host_state to, const std::string& by, const std::string& why, unix_time now);
    entry* known(const wire::mac_address& mac);

    token_source tokens_;
    std::map<wire::mac_address, entry> hosts_;
};

}  // namespace pxed::lifecycle
