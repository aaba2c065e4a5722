#pragma once
/// The host lifecycle as the daemon runs it (docs/lifecycle.md): the pure
/// tracker (engine/host_lifecycle), the host database it is persisted in,
/// and the log lines. Every state change is committed to the database
/// before the request that caused it is answered; a change the database
/// refuses is undone and reported. Runs on the event loop's thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_set>
#include <string>

#include "pxed/app/access_guard.hpp"
#include "pxed/engine/boot_trace.hpp"
#include "pxed/engine/host_lifecycle.hpp"
#include "pxed/render/documents.hpp"
#include "pxed/store/backend.hpp"
#include "pxed/store/hosts.hpp"

namespace pxed::app {

class lifecycle_service {
public:
    /// Opens <state_dir>/hosts.sqlite3; throws std::runtime_error when it cannot.
    explicit lifecycle_service(const std::string& state_dir);
    /// Opens the host database `o` names (SQLite in its state_dir, or a
    /// PostgreSQL database shared with other instances).
    explicit lifecycle_service(const store::store_options& o);
    /// On a host store of the caller's (tests).
    explicit lifecycle_service(std::unique_ptr<store::host_backend> store);

    /// Shared stores: host records other instances change reach this one
    /// through `post` (which runs its argument on the event loop) and are
    /// adopted; the database going and coming is logged. Call after start().
    void watch(std::function<void(std::function<void()>)> post);
    void stop_watching();
    /// Records another instance wrote (or the database kept instead of a
    /// refused change): each replaces the tracker's record of its host.
    void adopt(const std::vector<store::host_record>& rows);

    /// Start-up: records for hosts new to the site (every host visited).
    void start(std::shared_ptr<const inventory::site> site, std::int64_t now);
    /// Reload: what lifecycle::plan_reload() worked out off the loop
    /// (against the site this service follows, site()); costs the hosts
    /// the plan names, so a reload of 100,000 unchanged hosts costs
    /// nothing here. Records for hosts new to the site are written.
    void reload(const lifecycle::reload_plan& plan, std::int64_t now);
    /// The site the tracker follows: what a reload plans against.
    const std::shared_ptr<const inventory::site>& site() const { return tracker_.site(); }

    /// What the rendered documents consult (and tell what was fetched).
    std::shared_ptr<const render::host_status_source> status_source() const { return source_; }

    lifecycle::answer install_done(const wire::mac_address& mac, const std::string& token, const std::string& who,
                                   std::int64_t now);
    lifecycle::answer reinstall(const wire::mac_address& mac, const std::string& who, std::int64_t now);
    lifecycle::answer mark_installed(const wire::mac_address& mac, const std::string& who, std::int64_t now);

    /// Installs past their timeout become failed; last-seen times are
    /// written out. Call every few seconds, and at shutdown.
    void tick(std::int64_t now);

    /// Writes out last-seen times now (shutdown).
    void flush();

    void fetched(const wire::mac_address& mac, render::document_kind kind, std::int64_t now);

    const lifecycle::tracker& tracker() const { return tracker_; }

    /// Told of what concerns a host, for the boot trace: state changes,
    /// documents fetched, callbacks, refusals (its mac set, or its client
    /// address for a refusal the caller attributes). Unset: none.
    using trace_sink = std::function<void(trace::event&&, bool attributed)>;
    void set_trace(trace_sink t) { trace_ = std::move(t); }

    /// Who may have a host's documents (the daemon's; not owned). Without
    /// one no address is bound to any host: only tokens release kickstarts.
    void set_guard(access_guard* g) { guard_ = g; }

private:
    class source;
    bool persist(const std::vector<lifecycle::change>& changes, const std::vector<store::host_record>& before);
    void trace_change(const lifecycle::change& c) const;
    template <typename Change>
    lifecycle::answer recorded(const wire::mac_address& mac, Change change);

    std::unique_ptr<store::host_backend> store_;
    lifecycle::tracker tracker_;
    std::shared_ptr<const render::host_status_source> source_;
    std::unordered_set<wire::mac_address> seen_;  // last_seen changed, not yet written
    access_guard* guard_ = nullptr;
    trace_sink trace_;
    std::int64_t last_flush_ = 0;
};

}  // namespace pxed::app
