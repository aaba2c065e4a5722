#include "pxed/engine/host_lifecycle.hpp"

#include <algorithm>

#include "pxed/wire/token.hpp"

namespace pxed::lifecycle {
namespace {

using store::host_state;

std::string who_is(const store::host_record& r) {
    return r.mac.to_string() + (r.hostname.empty() ? "" : " (" + r.hostname + ")");
}

answer not_in_inventory(const wire::mac_address& mac) {
    return {verdict::unknown_host, "no host with MAC " + mac.to_string() + " in the inventory", std::nullopt};
}

}  // namespace

// Whether the host's documents boot the installer now (site.yaml's
// netboot: false aside, which the renderer applies).
bool tracker::boots_installer(const store::host_record& r, const inventory::lifecycle_policy& p) {
    const auto s = r.state;
    return s == host_state::pending || s == host_state::installing ||
           (s == host_state::failed && p.on_timeout == inventory::timeout_action::install);
}

tracker::tracker(token_source tokens) : tokens_(std::move(tokens)) {}

std::vector<change> tracker::restore(std::vector<store::host_record> records,
                                     std::shared_ptr<const inventory::site> site, unix_time now) {
    hosts_.clear();
    site_.reset();
    for (auto& r : records) {
        const auto mac = r.mac;
        hosts_[mac].record = std::move(r);
    }
    return reconcile(std::move(site), now);
}

std::vector<change> tracker::reconcile(std::shared_ptr<const inventory::site> site, unix_time now) {
    std::vector<change> out;
    site_ = std::move(site);
    for (auto& [mac, e] : hosts_) e.in_inventory = false;
    if (!site_) return out;
    for (const auto& h : site_->hosts) reconcile_host(h, now, out);
    return out;
}

// One host of site_: its record created, or refreshed from site.yaml.
void tracker::reconcile_host(const inventory::host& h, unix_time now, std::vector<change>& out) {
    auto it = hosts_.find(h.mac);
    const bool is_new = it == hosts_.end();
    if (is_new) it = hosts_.emplace(h.mac, entry{}).first;
    auto& e = it->second;
    e.in_inventory = true;
    auto& r = e.record;
    if (is_new) {
        const auto policy = site_->lifecycle_for(h);
        r.mac = h.mac;
        r.hostname = h.hostname;
        r.profile = h.profile;
        r.generation = 1;
        r.token = tokens_();
        // netboot: false is a host site.yaml says is installed already.
        const bool adopted = policy.new_hosts == inventory::new_host_state::installed || !h.netboot;
        r.state = adopted ? host_state::installed : host_state::pending;
        r.changed_at = now;
        r.changed_by = "site.yaml";
        r.last_event = !h.netboot ? std::string("added to the inventory (netboot: false)")
                                  : std::string("added to the inventory (lifecycle.new_hosts: ") +
                                        inventory::to_string(policy.new_hosts) + ")";
        out.push_back({r, "lifecycle: " + who_is(r) + " is new in site.yaml: " + to_string(r.state)});
        return;
    }
    if (r.token.empty()) r.token = tokens_();  // a row from outside pxed
    if (r.hostname != h.hostname || r.profile != h.profile) {
        r.hostname = h.hostname;
        r.profile = h.profile;
        out.push_back({r, {}});
    }
}

reload_plan plan_reload(std::shared_ptr<const inventory::site> before, std::shared_ptr<const inventory::site> after) {
    reload_plan p;
    p.before = std::move(before);
    p.after = std::move(after);
    if (!p.after) return p;
    // What reconcile() would change, given that the tracker reconciled
    // `before` last: every host of `before` has its record, with before's
    // hostname and profile and a token (nothing else renames a record or
    // empties a token), and is in the inventory; every other record is not.
    for (std::size_t i = 0; i < p.after->hosts.size(); ++i) {
        const auto& h = p.after->hosts[i];
        const auto* old = p.before ? p.before->find_host(h.mac) : nullptr;
        if (!old || old->hostname != h.hostname || old->profile != h.profile) p.touched.push_back(i);
    }
    if (p.before)
        for (const auto& h : p.before->hosts)
            if (!p.after->find_host(h.mac)) p.removed.push_back(h.mac);
    return p;
}

std::vector<change> tracker::apply(const reload_plan& plan, unix_time now) {
    if (!site_ || plan.before != site_ || !plan.after) return reconcile(plan.after, now);
    std::vector<change> out;
    site_ = plan.after;
    for (const auto& mac : plan.removed)
        if (const auto it = hosts_.find(mac); it != hosts_.end()) it->second.in_inventory = false;
    for (const auto i : plan.touched) reconcile_host(site_->hosts[i], now, out);
    return out;
}

const inventory::host* tracker::host_of(const wire::mac_address& mac) const {
    return site_ ? site_->find_host(mac) : nullptr;
}

tracker::view tracker::known(const wire::mac_address& mac) {
    const auto it = hosts_.find(mac);
    if (it == hosts_.end() || !it->second.in_inventory) return {};
    const auto* h = host_of(mac);
    return h ? view{&it->second, h} : view{};
}

change tracker::moved(entry& e, host_state to, const std::string& by, const std::string& why, unix_time now) {
    auto& r = e.record;
    const auto from = r.state;
    r.state = to;
    r.changed_at = now;
    r.changed_by = by;
    r.last_event = why;
    if (to == host_state::installing) {
        r.install_started = now;
        r.install_done = 0;
    }
    if (to == host_state::installed) r.install_done = now;
    return {r, "lifecycle: " + who_is(r) + " " + to_string(from) + " -> " + to_string(to) + " (generation " +
                   std::to_string(r.generation) + "): " + why + (by.empty() ? "" : ", by " + by)};
}

std::vector<change> tracker::fetched(const wire::mac_address& mac, fetch what, const std::string& how, unix_time now,
                                     store::host_record* before) {
    std::vector<change> out;
    const auto k = known(mac);
    if (!k) return out;
    auto& r = k.e->record;
    static constexpr std::string_view verb = "fetched ";
    const bool same_event = r.last_event.size() == verb.size() + how.size() &&
                            std::string_view(r.last_event).substr(0, verb.size()) == verb &&
                            std::string_view(r.last_event).substr(verb.size()) == how;
    const auto policy = site_->lifecycle_for(*k.host);
    // netboot: false boots the disk whatever the state.
    const bool installs = k.host->netboot && boots_installer(r, policy);
    const bool one_shot = what == fetch::kickstart && policy.install_done == inventory::install_end::kickstart;
    if (before && installs && (r.state != host_state::installing || one_shot)) *before = r;
    r.last_seen = now;
    if (!same_event) r.last_event = std::string(verb) + how;
    if (!installs) return out;
    if (r.state != host_state::installing)
        out.push_back(moved(*k.e, host_state::installing, "", std::string("fetched ") + how, now));
    if (one_shot)
        out.push_back(moved(*k.e, host_state::installed, "lifecycle.install_done: kickstart",
                            "one-shot: its kickstart was fetched", now));
    return out;
}

answer tracker::install_done(const wire::mac_address& mac, const std::string& token, const std::string& who,
                             unix_time now) {
    const auto k = known(mac);
    if (!k) return not_in_inventory(mac);
    auto& r = k.e->record;
    // The token first: without it a caller learns nothing about the state.
    if (!wire::constant_time_equal(token, r.token))
        return {verdict::bad_token, "the token is not the install token of " + mac.to_string(), std::nullopt};
    if (r.state == host_state::installed)
        return {verdict::not_installing,
                who_is(r) + " is installed already (generation " + std::to_string(r.generation) + "); nothing changed",
                std::nullopt};
    const bool late = r.state == host_state::failed;
    auto c = moved(*k.e, host_state::installed, who,
                   late ? "the installer said it is done, after the install was marked failed"
                        : "the installer said it is done",
                   now);
    return {verdict::done, who_is(r) + " is installed", std::move(c)};
}

answer tracker::reinstall(const wire::mac_address& mac, const std::string& who, unix_time now) {
    const auto k = known(mac);
    if (!k) return not_in_inventory(mac);
    auto& r = k.e->record;
    // A new generation: the old token, and any callback carrying it, is void.
    r.generation += 1;
    r.token = tokens_();
    r.install_started = 0;
    r.install_done = 0;
    auto c = moved(*k.e, host_state::pending, who, "reinstall requested", now);
    std::string msg = who_is(r) + " will install at its next network boot (generation " +
                      std::to_string(r.generation) + ")";
    if (!k.host->netboot) msg += "; site.yaml has netboot: false for it, so it boots its disk until that changes";
    return {verdict::done, std::move(msg), std::move(c)};
}

answer tracker::mark_installed(const wire::mac_address& mac, const std::string& who, unix_time now) {
    const auto k = known(mac);
    if (!k) return not_in_inventory(mac);
    if (k.e->record.state == host_state::installed)
        return {verdict::unchanged, who_is(k.e->record) + " is installed already", std::nullopt};
    auto c = moved(*k.e, host_state::installed, who, "marked installed", now);
    return {verdict::done, who_is(k.e->record) + " is installed; it boots its disk from now on", std::move(c)};
}

std::vector<change> tracker::expire(unix_time now) {
    std::vector<change> out;
    for (auto& [mac, e] : hosts_) {
        if (!e.in_inventory || e.record.state != host_state::installing) continue;
        const auto* h = host_of(mac);
        if (!h) continue;
        const auto policy = site_->lifecycle_for(*h);
        const auto limit = policy.install_timeout.count();
        if (now - e.record.install_started < limit) continue;
        const auto mins = std::to_string(limit / 60);
        out.push_back(moved(e, host_state::failed, "lifecycle.install_timeout",
                            "not done " + mins + " min after it started; next boot: " +
                                (policy.on_timeout == inventory::timeout_action::install ? "the installer again"
                                                                                           : "the local disk"),
                            now));
    }
    std::sort(out.begin(), out.end(), [](const change& a, const change& b) { return a.record.mac < b.record.mac; });
    return out;
}

const store::host_record* tracker::find(const wire::mac_address& mac) const {
    const auto it = hosts_.find(mac);
    return it == hosts_.end() ? nullptr : &it->second.record;
}

std::optional<render::host_status> tracker::status(const wire::mac_address& mac) const {
    const auto it = hosts_.find(mac);
    if (it == hosts_.end()) return std::nullopt;
    const auto& r = it->second.record;
    // A record of a host no longer in site.yaml: the site's defaults.
    const auto* h = it->second.in_inventory ? host_of(mac) : nullptr;
    const auto policy = h ? site_->lifecycle_for(*h) : site_ ? site_->lifecycle : inventory::lifecycle_policy{};
    const bool netboot = h ? h->netboot : true;
    render::host_status s;
    s.install = boots_installer(r, policy);
    s.state = to_string(r.state);
    s.generation = r.generation;
    // Only a callback install is told where to call: under the one-shot its
    // kickstart ended the install already, and the call could only fail.
    if (policy.install_done == inventory::install_end::callback) s.token = r.token;
    // The kickstart's token works while the install is under way: before
    // it starts, while it runs, and for a failed host that installs again.
    if (s.install && netboot && r.state != host_state::installed) s.access_token = r.token;
    return s;
}

bool tracker::no_boot_file(const wire::mac_address& mac) const {
    const auto it = hosts_.find(mac);
    if (it == hosts_.end() || !it->second.in_inventory) return false;
    const auto* h = host_of(mac);
    if (!h) return false;
    const auto policy = site_->lifecycle_for(*h);
    return policy.when_installed == inventory::installed_pxe::none &&
           (!boots_installer(it->second.record, policy) || !h->netboot);
}

void tracker::put(const store::host_record& r) {
    const auto it = hosts_.find(r.mac);
    if (it != hosts_.end()) it->second.record = r;
}

std::vector<store::host_record> tracker::all() const {
    std::vector<store::host_record> out;
    out.reserve(hosts_.size());
    for (const auto& [mac, e] : hosts_) out.push_back(e.record);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.mac < b.mac; });
    return out;
}

tracker::state_counts tracker::inventory_by_state() const {
    state_counts n{};
    for (const auto& [mac, e] : hosts_) {
        const auto i = static_cast<std::size_t>(e.record.state);
        if (e.in_inventory && i < n.size()) ++n[i];
    }
    return n;
}

bool tracker::in_inventory(const wire::mac_address& mac) const {
    const auto it = hosts_.find(mac);
    return it != hosts_.end() && it->second.in_inventory;
}

}  // namespace pxed::lifecycle
