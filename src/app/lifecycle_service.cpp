#include "pxed/app/lifecycle_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>

#include "pxed/wire/token.hpp"

namespace pxed::app {

// The documents' view of the tracker. The servers and the tracker share
// one thread, so no lock.
class lifecycle_service::source final : public render::host_status_source {
public:
    explicit source(lifecycle_service& s) : s_(s) {}

    std::optional<render::host_status> status(const wire::mac_address& mac) const override {
        return s_.tracker_.status(mac);
    }
    void fetched(const wire::mac_address& mac, render::document_kind kind) const override {
        s_.fetched(mac, kind, static_cast<std::int64_t>(std::time(nullptr)));
    }
    std::int64_t changed_at(const wire::mac_address& mac) const override {
        const auto* r = s_.tracker_.find(mac);
        return r ? r->changed_at : 0;
    }
    bool bound_to(const wire::mac_address& mac, std::uint32_t address) const override {
        return s_.guard_ && s_.guard_->bound_to(mac, address);
    }
    bool locked_out(const fs::client& who) const override { return s_.guard_ && s_.guard_->locked_out(who); }
    void refused(const fs::client& who, const std::string& what, bool counted) const override {
        if (s_.guard_) s_.guard_->refused(who, what, counted);
        if (s_.trace_ && who.ipv4) {
            trace::event e;
            e.k = trace::kind::refused;
            e.ok = false;
            e.client = *who.ipv4;
            e.what = "documents";
            e.outcome = "refused";
            e.detail = what;
            s_.trace_(std::move(e), false);
        }
    }

private:
    lifecycle_service& s_;
};

namespace {
store::store_options sqlite_in(const std::string& state_dir) {
    store::store_options o;
    o.state_dir = state_dir;
    return o;
}
}  // namespace

lifecycle_service::lifecycle_service(const std::string& state_dir) : lifecycle_service(sqlite_in(state_dir)) {}

lifecycle_service::lifecycle_service(const store::store_options& o) : lifecycle_service(store::open_host_backend(o)) {}

lifecycle_service::lifecycle_service(std::unique_ptr<store::host_backend> store)
    : store_(std::move(store)),
      tracker_([] { return wire::random_token(16); }),
      source_(std::make_shared<source>(*this)) {}

void lifecycle_service::start(std::shared_ptr<const inventory::site> site, std::int64_t now) {
    const auto changes = tracker_.restore(store_->load(), std::move(site), now);
    if (!persist(changes, {})) throw std::runtime_error("cannot write the host database " + store_->describe());
    last_flush_ = now;
}

void lifecycle_service::watch(std::function<void(std::function<void()>)> post) {
    if (!store_->shared()) return;
    store_->watch(
        [this, post](std::vector<store::host_record> rows) {
            // On the loop: the tracker is the loop's. stop_watching() comes
            // before this service goes.
            post([this, rows = std::move(rows)] { adopt(rows); });
        },
        [](bool up, const std::string& why) {
            if (up)
                spdlog::info("lifecycle: the shared host database is reachable again; catching up");
            else
                spdlog::error("lifecycle: lost the shared host database ({}); lifecycle changes wait for it", why);
        });
}

void lifecycle_service::stop_watching() { store_->stop_watching(); }

void lifecycle_service::adopt(const std::vector<store::host_record>& rows) {
    for (const auto& r : rows) {
        const auto* mine = tracker_.find(r.mac);
        if (!mine || mine->rev >= r.rev) continue;  // not ours to follow, or not newer
        if (mine->state != r.state || mine->generation != r.generation)
            spdlog::info("lifecycle: {} ({}) is {} (generation {}) by {} through another instance", r.mac.to_string(),
                         r.hostname, store::to_string(r.state), r.generation, r.changed_by);
        tracker_.put(r);
        seen_.erase(r.mac);
    }
}

void lifecycle_service::reload(const lifecycle::reload_plan& plan, std::int64_t now) {
    persist(tracker_.apply(plan, now), {});
}

bool lifecycle_service::persist(const std::vector<lifecycle::change>& changes,
                                const std::vector<store::host_record>& before) {
    if (changes.empty()) return true;
    std::vector<store::host_record> records;
    for (const auto& c : changes) records.push_back(c.record);
    std::string error;
    std::vector<store::host_record> refused;
    if (!store_->write(records, error, &refused)) {
        spdlog::error("lifecycle: cannot write {}: {}; the change is undone", store_->describe(), error);
        for (const auto& r : before) tracker_.put(r);
        return false;
    }
    // The versions the database gave the rows: the next change names them.
    for (const auto& r : records)
        if (const auto* t = tracker_.find(r.mac); t && t->rev != r.rev) {
            auto updated = *t;
            updated.rev = r.rev;
            tracker_.put(updated);
        }
    if (!refused.empty()) {
        // Another instance changed these hosts first: its record holds.
        for (const auto& r : refused)
            spdlog::warn("lifecycle: {} ({}) was changed through another instance first (now {}, generation {}); "
                         "this instance's change is not made",
                         r.mac.to_string(), r.hostname, store::to_string(r.state), r.generation);
        for (const auto& r : refused) tracker_.put(r);
        if (refused.size() == changes.size()) return false;
    }
    for (const auto& c : changes) {
        if (std::any_of(refused.begin(), refused.end(), [&](const auto& r) { return r.mac == c.record.mac; })) continue;
        seen_.erase(c.record.mac);  // written with the change
        if (!c.log.empty()) spdlog::info("{}", c.log);
        trace_change(c);
    }
    return true;
}

// Runs one of the tracker's changes for `mac` and persists it; when the
// store refuses, the record is put back as it was.
template <typename Change>
lifecycle::answer lifecycle_service::recorded(const wire::mac_address& mac, Change change) {
    const auto* r = tracker_.find(mac);
    const std::vector<store::host_record> undo = r ? std::vector<store::host_record>{*r} : std::vector<store::host_record>{};
    auto a = change();
    if (a.changed && !persist({*a.changed}, undo))
        return {lifecycle::verdict::failed, "the host database could not record the change; nothing changed",
                std::nullopt};
    return a;
}

lifecycle::answer lifecycle_service::install_done(const wire::mac_address& mac, const std::string& token,
                                                  const std::string& who, std::int64_t now) {
    auto a = recorded(mac, [&] { return tracker_.install_done(mac, token, who, now); });
    // Only a callback with the host's token goes in its trace: anyone can
    // POST to any MAC's URL, and refusals must not push its history out.
    // (Refusals are logged and count towards the caller's lockout.)
    if (trace_ && a.ok()) {
        trace::event e;
        e.k = trace::kind::callback;
        e.mac = mac;
        e.ok = a.ok();
        e.what = "install-done";
        e.outcome = a.message;
        e.detail = who;
        trace_(std::move(e), true);
    }
    return a;
}

// A state change in the host's trace: the new state and what caused it.
void lifecycle_service::trace_change(const lifecycle::change& c) const {
    if (!trace_ || c.log.empty()) return;
    trace::event e;
    e.k = trace::kind::lifecycle;
    e.mac = c.record.mac;
    e.ok = c.record.state != store::host_state::failed;
    e.what = store::to_string(c.record.state);
    // "lifecycle: 52:54:00:.. (web1) pending -> installing (generation 1): why":
    // the trace says whose already.
    const auto& r = c.record;
    const auto whose = "lifecycle: " + r.mac.to_string() + (r.hostname.empty() ? "" : " (" + r.hostname + ")") + " ";
    e.outcome = c.log.compare(0, whose.size(), whose) == 0 ? c.log.substr(whose.size()) : c.log;
    if (e.outcome.find(c.record.changed_by) == std::string::npos) e.detail = c.record.changed_by;
    trace_(std::move(e), true);
}

lifecycle::answer lifecycle_service::reinstall(const wire::mac_address& mac, const std::string& who,
                                               std::int64_t now) {
    return recorded(mac, [&] { return tracker_.reinstall(mac, who, now); });
}

lifecycle::answer lifecycle_service::mark_installed(const wire::mac_address& mac, const std::string& who,
                                                    std::int64_t now) {
    return recorded(mac, [&] { return tracker_.mark_installed(mac, who, now); });
}

void lifecycle_service::fetched(const wire::mac_address& mac, render::document_kind kind, std::int64_t now) {
    if (!tracker_.in_inventory(mac)) return;
    const char* how = "its kickstart";
    switch (kind) {
    case render::document_kind::pxelinux: how = "its pxelinux config"; break;
    case render::document_kind::grub: how = "its GRUB config"; break;
    case render::document_kind::ipxe: how = "its iPXE script"; break;
    case render::document_kind::kickstart: break;
    }
    const auto what = kind == render::document_kind::kickstart ? lifecycle::fetch::kickstart : lifecycle::fetch::boot_config;
    if (trace_) {
        trace::event e;
        e.k = trace::kind::document;
        e.mac = mac;
        e.what = kind == render::document_kind::kickstart ? "kickstart" : "boot config";
        e.outcome = std::string("served ") + how;
        trace_(std::move(e), true);
    }
    store::host_record before;
    const auto changes = tracker_.fetched(mac, what, how, now, &before);
    if (changes.empty())
        seen_.insert(mac);
    else
        persist(changes, {before});
}

void lifecycle_service::flush() {
    if (seen_.empty()) return;
    std::vector<store::host_record> records;
    for (const auto& mac : seen_)
        if (const auto* r = tracker_.find(mac)) records.push_back(*r);
    std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) { return a.mac < b.mac; });
    std::string error;
    if (!store_->write_seen(records, error))
        spdlog::warn("lifecycle: cannot write last-seen times to {}: {}", store_->describe(), error);
    seen_.clear();
}

void lifecycle_service::tick(std::int64_t now) {
    for (auto& c : tracker_.expire(now)) {
        // A timeout is logged at warn: an admin wants to know.
        std::string error;
        std::vector<store::host_record> one{c.record}, refused;
        if (!store_->write(one, error, &refused)) {
            spdlog::error("lifecycle: cannot write {}: {}", store_->describe(), error);
        } else if (!refused.empty()) {
            tracker_.put(refused.front());  // another instance moved it on first
            continue;
        } else if (const auto* t = tracker_.find(c.record.mac)) {
            auto updated = *t;
            updated.rev = one.front().rev;
            tracker_.put(updated);
        }
        spdlog::warn("{}", c.log);
        trace_change(c);
        seen_.erase(c.record.mac);
    }
    // Last-seen times are history, not state: written every half minute.
    if (now - last_flush_ >= 30) {
        flush();
        last_flush_ = now;
    }
}

}  // namespace pxed::app
