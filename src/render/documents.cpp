#include "pxed/render/documents.hpp"

#include <algorithm>
#include <list>
#include <mutex>
#include <set>

#include "pxed/wire/text.hpp"
#include "pxed/wire/token.hpp"

namespace pxed::render {
namespace {

constexpr const char* text_plain = "text/plain; charset=utf-8";

using wire::ends_with;
using wire::starts_with;

std::string grub_prefix(const inventory::site& s) { return s.boot.grub_dir.empty() ? std::string{} : s.boot.grub_dir + "/"; }

}  // namespace

// What a request path names.
struct documents::target {
    // unknown_kickstart: ks/<name>.ks naming no host. Refused like a host's
    // kickstart, so that a refusal does not tell which names exist.
    enum what_t { none, menu, host_document, profile_kickstart, unknown_kickstart } what = none;
    document_kind kind = document_kind::pxelinux;
    const inventory::host* host = nullptr;
    const inventory::profile* profile = nullptr;
    // ks/nocloud/...: which file of a cloud-init NoCloud seed; the
    // kickstart is its user-data.
    enum { no_seed, user_data, meta_data, vendor_data } seed = no_seed;
    std::string path_token;  // ks/nocloud/<mac>/token=<hex>/<file>

    target() = default;
    target(what_t w, document_kind k, const inventory::host* h, const inventory::profile* p)
        : what(w), kind(k), host(h), profile(p) {}
};

namespace {

// A profile whose kickstart is cloud-config (Ubuntu autoinstall) is served
// as a NoCloud seed too.
bool serves_nocloud(const inventory::profile* p) { return p && ends_with(p->kickstart, ".yaml"); }

}  // namespace

// Rendered texts by key (the path, and the host status it was rendered
// for), least recently used first out past a byte bound. Rendering a
// kickstart costs ~0.5 ms of kainjow (it compiles a template's partials
// again on every rendering); a rack installing at once asks for the same
// few hundred documents over and over (bench/README.md, HTTP storm). The
// servers' thread and a reload worker may share one: under a lock.
class documents::rendered_cache {
public:
    static constexpr std::size_t max_bytes = std::size_t{16} << 20;
    static constexpr std::size_t per_entry = 128;  // list and map nodes

    std::shared_ptr<const std::string> get(const std::string& key) {
        std::lock_guard<std::mutex> g(lock_);
        const auto it = index_.find(key);
        if (it == index_.end()) return nullptr;
        lru_.splice(lru_.begin(), lru_, it->second);
        return it->second->text;
    }

    void put(const std::string& key, std::shared_ptr<const std::string> text) {
        const auto cost = key.size() + text->size() + per_entry;
        if (cost > max_bytes / 64) return;  // a huge document is rendered each time
        std::lock_guard<std::mutex> g(lock_);
        if (index_.count(key) != 0) return;
        lru_.push_front({key, std::move(text), cost});
        index_.emplace(lru_.front().key, lru_.begin());
        bytes_ += cost;
        while (bytes_ > max_bytes) {
            bytes_ -= lru_.back().cost;
            index_.erase(lru_.back().key);
            lru_.pop_back();
        }
    }

    std::size_t size() const {
        std::lock_guard<std::mutex> g(lock_);
        return index_.size();
    }

private:
    struct entry {
        std::string key;
        std::shared_ptr<const std::string> text;
        std::size_t cost;
    };
    mutable std::mutex lock_;
    std::list<entry> lru_;
    std::unordered_map<std::string_view, std::list<entry>::iterator> index_;  // keys live in lru_
    std::size_t bytes_ = 0;
};

std::size_t documents::cached_documents() const { return cache_->size(); }

documents::documents(std::shared_ptr<const renderer> r, std::shared_ptr<const host_status_source> status)
    : renderer_(std::move(r)), status_(std::move(status)), cache_(std::make_shared<rendered_cache>()) {
    // The renderer holds the site, and so the names the keys point into.
    for (const auto& h : renderer_->site().hosts)
        if (!h.hostname.empty()) hosts_by_name_.emplace(h.hostname, &h);  // the first wins, as find_host_by_name
}

documents::target documents::classify(std::string_view path) const {
    const auto& s = renderer_->site();
    auto host_by_mac = [&](std::string_view text) -> const inventory::host* {
        const auto mac = wire::mac_address::parse(text);
        return mac ? s.find_host(*mac) : nullptr;
    };
    auto menu = [](document_kind k) { return target{target::menu, k, nullptr, nullptr}; };
    auto host = [](document_kind k, const inventory::host* h) {
        return h ? target{target::host_document, k, h, nullptr} : target{};
    };

    if (starts_with(path, "pxelinux.cfg/")) {
        const auto name = path.substr(13);
        if (name == "default") return menu(document_kind::pxelinux);
        // pxelinux asks for "01-" (ARP type 1, Ethernet) + the dashed MAC.
        if (starts_with(name, "01-")) return host(document_kind::pxelinux, host_by_mac(name.substr(3)));
        return {};
    }
    const auto gp = grub_prefix(s);
    if (starts_with(path, gp)) {
        const auto name = path.substr(gp.size());
        if (name == "grub.cfg") return menu(document_kind::grub);
        if (starts_with(name, "grub.cfg-01-")) {
            if (auto t = host(document_kind::grub, host_by_mac(name.substr(12))); t.host) return t;
        }
    }
    if (starts_with(path, "ipxe/")) {
        const auto name = path.substr(5);
        if (name == "default") return menu(document_kind::ipxe);
        // iPXE clients chain to their own MAC's script; one pxed does not
        // know gets what pxelinux would give it: the default.
        if (const auto mac = wire::mac_address::parse(name)) {
            if (const auto* h = s.find_host(*mac)) return host(document_kind::ipxe, h);
            return menu(document_kind::ipxe);
        }
        return {};
    }
    // cloud-init's NoCloud seed (ds=nocloud-net;s=<url>/) appends
    // meta-data, user-data and vendor-data to the URL it is given:
    // ks/nocloud/<mac>/[token=<hex>/]<file>, ks/nocloud/profiles/<name>/<file>.
    if (starts_with(path, "ks/nocloud/")) {
        const target unknown{target::unknown_kickstart, document_kind::kickstart, nullptr, nullptr};
        auto rest = path.substr(11);
        const auto slash = rest.rfind('/');
        if (slash == std::string_view::npos) return unknown;
        const auto file = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
        target t = unknown;
        t.seed = file == "user-data" ? target::user_data : file == "meta-data" ? target::meta_data
                 : file == "vendor-data" ? target::vendor_data : target::no_seed;
        if (t.seed == target::no_seed) return unknown;
        if (starts_with(rest, "profiles/")) {
            const auto* p = s.find_profile(std::string(rest.substr(9)));
            if (!serves_nocloud(p)) return {};
            t.what = target::profile_kickstart;
            t.profile = p;
            return t;
        }
        if (const auto cut = rest.find('/'); cut != std::string_view::npos) {
            const auto segment = rest.substr(cut + 1);
            if (!starts_with(segment, "token=") || segment.size() == 6 || segment.find('/') != std::string_view::npos)
                return unknown;
            t.path_token = std::string(segment.substr(6));
            rest = rest.substr(0, cut);
        }
        const auto* h = host_by_mac(rest);
        if (!h || !serves_nocloud(s.find_profile(h->profile))) return unknown;
        t.what = target::host_document;
        t.host = h;
        return t;
    }
    // ks/ belongs to pxed: anything there but the profiles' kickstarts is
    // a host's, or refused like one (a leftover ks/web1.cfg or web1.ks~).
    if (starts_with(path, "ks/") && path != "ks/profiles" && !starts_with(path, "ks/profiles/") &&
        !ends_with(path, ".ks"))
        return {target::unknown_kickstart, document_kind::kickstart, nullptr, nullptr};
    if (starts_with(path, "ks/") && ends_with(path, ".ks")) {
        const auto name = path.substr(3, path.size() - 6);
        if (starts_with(name, "profiles/")) {
            const auto* p = s.find_profile(std::string(name.substr(9)));
            if (!p || p->kickstart.empty()) return {};
            return {target::profile_kickstart, document_kind::kickstart, nullptr, p};
        }
        const auto* h = host_by_mac(name);
        if (!h) {
            const auto it = hosts_by_name_.find(name);
            if (it != hosts_by_name_.end()) h = it->second;
        }
        if (!h) return {target::unknown_kickstart, document_kind::kickstart, nullptr, nullptr};
        const auto* p = s.find_profile(h->profile);
        if (!p || p->kickstart.empty()) return {target::unknown_kickstart, document_kind::kickstart, nullptr, nullptr};
        return host(document_kind::kickstart, h);
    }
    return {};
}

std::optional<fs::document> documents::find(std::string_view path) const {
    const auto& r = *renderer_;
    const auto t = classify(path);
    std::int64_t mtime = r.site().loaded_at;
    if (t.what == target::none || t.what == target::unknown_kickstart) return std::nullopt;
    // A host's document follows its host's state: its date moves with every
    // state change, so Last-Modified stays truthful; the status is part of
    // what the text is kept under.
    std::optional<host_status> st;
    if (t.what == target::host_document) {
        host_status preview{true, "pending", 1, "TOKEN", "TOKEN"};
        if (r.site().lifecycle_for(*t.host).install_done != inventory::install_end::callback) preview.token.clear();
        st = status_ ? status_->status(t.host->mac) : preview;
        if (status_) mtime = std::max(mtime, status_->changed_at(t.host->mac));
    }
    std::string key;
    key.reserve(path.size() + (st ? st->state.size() + st->token.size() + st->access_token.size() + 16 : 0));
    key += path;
    if (st) {
        key += '\0';
        key += st->install ? '1' : '0';
        for (const auto* part : {&st->state, &st->token, &st->access_token}) {
            key += '\0';
            key += *part;
        }
        key += '\0';
        key += std::to_string(st->generation);
    }
    if (auto text = cache_->get(key)) return fs::document{std::move(text), text_plain, mtime};
    rendered out;
    switch (t.what) {
    case target::none:
    case target::unknown_kickstart: return std::nullopt;
    case target::menu: out = r.default_config(t.kind); break;
    case target::profile_kickstart:
        if (t.seed == target::meta_data)
            out = r.nocloud_meta_data(nullptr, *t.profile);
        else if (t.seed == target::vendor_data)
            out.text.clear();
        else
            out = r.profile_kickstart(*t.profile);
        break;
    case target::host_document: {
        const auto* status = st ? &*st : nullptr;
        if (t.seed == target::meta_data)
            out = r.nocloud_meta_data(t.host, *r.site().find_profile(t.host->profile), status);
        else if (t.seed == target::vendor_data)
            out.text.clear();  // cloud-init asks for it; pxed has none to give
        else
            out = r.host_config(t.kind, *t.host, status);
        break;
    }
    }
    // Render failures are caught by renderer::check() when the site is
    // loaded; one that slips through is served as "not found".
    if (!out.ok()) return std::nullopt;
    auto text = std::make_shared<const std::string>(std::move(out.text));
    cache_->put(key, text);
    return fs::document{std::move(text), text_plain, mtime};
}

void documents::opened(std::string_view path) const {
    if (!status_) return;
    const auto t = classify(path);
    // Of a NoCloud seed, only user-data is the kickstart.
    if (t.what == target::host_document && (t.seed == target::no_seed || t.seed == target::user_data))
        status_->fetched(t.host->mac, t.kind);
}

fs::release documents::check(std::string_view path, const fs::client& asking) const {
    const auto& s = renderer_->site();
    // Without a status source there are no clients: `pxed render`, `check`.
    if (!status_ || s.access.host_documents == inventory::host_document_access::open) return {};
    const auto t = classify(path);
    if (t.what != target::host_document && t.what != target::unknown_kickstart) return {};
    // A NoCloud seed carries its token in the path, as if it were token=.
    fs::client who = asking;
    std::string shown(path);
    if (!t.path_token.empty()) {
        if (who.token.empty()) who.token = t.path_token;
        shown.replace(shown.find(t.path_token), t.path_token.size(), wire::token_prefix(t.path_token));
    }
    // For the log: "<path> to 10.0.0.9: why" (the server's own line names
    // the protocol; no token is ever in it, only its first characters).
    const std::string client = shown + " to " + who.address_text();
    auto refuse = [&](fs::release::verdict v, std::string why) {
        status_->refused(who, why, v == fs::release::refuse);
        return fs::release{v, std::move(why), {}};
    };
    if (t.what == target::unknown_kickstart)
        return refuse(fs::release::refuse, client + ": no host of the inventory has this kickstart");

    const auto& h = *t.host;
    // A reservation speaks for itself only where pxed leases nothing
    // (proxyDHCP, DHCP off): where it leases, the host must hold the lease,
    // or any machine could take the address by hand while the host is off.
    const bool leases = s.server.dhcp.enabled && s.server.dhcp.mode == inventory::dhcp_mode::server;
    const bool reserved = !leases && h.ip && who.ipv4 && h.ip->value() == *who.ipv4;
    const bool by_address = who.ipv4 && (reserved || status_->bound_to(h.mac, *who.ipv4));
    if (t.kind != document_kind::kickstart) {
        // Boot loaders ask by MAC and cannot carry a token: the address is
        // all there is. Refused, it looks like an unknown MAC, and the
        // boot loader goes on to the menu.
        if (by_address) return {};
        auto r = refuse(fs::release::hide, client + ": not the address pxed leased or reserved to " + h.mac.to_string());
        // An unknown MAC's iPXE script is the default one: so is a refused one.
        if (t.kind == document_kind::ipxe) r.instead = "ipxe/default";
        return r;
    }
    // Installers fetch kickstarts over HTTP or FTP, never TFTP, where the
    // source address is anyone's to forge and no token can be carried.
    if (who.forgeable_source())
        return refuse(fs::release::refuse, client + ": kickstarts are not served over TFTP (use HTTP or FTP)");
    bool token_ok = false;
    std::string token_why;
    if (!who.token.empty()) {
        const auto st = status_->status(h.mac);
        // A lockout stops strangers guessing; the host's own address is no
        // guess, so its token is still compared (address-and-token).
        if (!by_address && status_->locked_out(who))
            token_why = "its token was not looked at: too many refused requests from it lately";
        else if (!st || st->access_token.empty())
            token_why = "a token was given, but the install of " + h.mac.to_string() + " is not under way";
        else if (!wire::constant_time_equal(who.token, st->access_token))
            token_why = "the token is not the install token of " + h.mac.to_string() + " (" +
                        wire::token_prefix(who.token) + ")";
        else
            token_ok = true;
    }
    const bool both = s.access.host_documents == inventory::host_document_access::address_and_token;
    if (both ? (by_address && token_ok) : (by_address || token_ok)) return {};
    std::string why = client + ": ";
    if (!by_address) why += "not the address pxed leased or reserved to " + h.mac.to_string() + "; ";
    why += who.token.empty() ? std::string("no token") : token_why;
    return refuse(fs::release::refuse, why);
}

bool documents::hidden_from_listings(std::string_view path) const {
    // Names that say which hosts exist: a host's own documents, and real
    // files left where they would be (a classic setup's pxelinux.cfg/01-*).
    const auto& s = renderer_->site();
    const auto gp = grub_prefix(s);
    if (starts_with(path, "pxelinux.cfg/01-") || starts_with(path, gp + "grub.cfg-01-")) return true;
    if (starts_with(path, "ipxe/") && wire::mac_address::parse(path.substr(5))) return true;
    const auto t = classify(path);
    return t.what == target::host_document || t.what == target::unknown_kickstart;
}

std::vector<std::string> documents::all_paths() const {
    std::vector<std::string> out;
    for_each_path([&out](const std::string& path) { out.push_back(path); });
    return out;
}

void documents::for_each_path(const std::function<void(const std::string&)>& each) const {
    const auto& s = renderer_->site();
    const auto gp = grub_prefix(s);
    for (const auto& path : {std::string("pxelinux.cfg/default"), gp + "grub.cfg", std::string("ipxe/default")}) each(path);
    std::string path;  // one buffer for every host's paths
    const auto emit = [&](std::initializer_list<std::string_view> parts) {
        path.clear();
        for (const auto part : parts) path += part;
        each(path);
    };
    for (const auto& h : s.hosts) {
        const auto dashed = h.mac.to_dashed();
        emit({"pxelinux.cfg/01-", dashed});
        emit({gp, "grub.cfg-01-", dashed});
        emit({"ipxe/", dashed});
        const auto* p = s.find_profile(h.profile);
        if (p && !p->kickstart.empty()) emit({"ks/", dashed, ".ks"});
        if (serves_nocloud(p))
            for (const char* f : {"meta-data", "user-data"}) emit({"ks/nocloud/", dashed, "/", f});
    }
    for (const auto& [name, p] : s.profiles) {
        if (!p.kickstart.empty()) emit({"ks/profiles/", name, ".ks"});
        if (serves_nocloud(&p))
            for (const char* f : {"meta-data", "user-data"}) emit({"ks/nocloud/profiles/", name, "/", f});
    }
}

std::vector<std::string> documents::list(std::string_view dir) const {
    std::string prefix(dir);
    if (!prefix.empty()) prefix += '/';
    std::set<std::string> names;
    // What anyone may see: a listing must not tell which hosts exist.
    const auto& s = renderer_->site();
    std::vector<std::string> shown{"pxelinux.cfg/default", grub_prefix(s) + "grub.cfg", "ipxe/default"};
    for (const auto& [name, p] : s.profiles)
        if (!p.kickstart.empty()) shown.push_back("ks/profiles/" + name + ".ks");
    for (const auto& p : shown) {
        if (!starts_with(p, prefix)) continue;
        const auto rest = p.substr(prefix.size());
        const auto slash = rest.find('/');
        names.insert(slash == std::string::npos ? rest : rest.substr(0, slash + 1));
    }
    return {names.begin(), names.end()};
}

std::vector<rendered_file> documents::render_all(std::vector<inventory::diagnostic>& diags) const {
    std::vector<rendered_file> out;
    for (const auto& p : all_paths()) {
        if (auto d = find(p))
            out.push_back({p, *d->body});
        else
            diags.push_back({inventory::severity::error, {renderer_->site().source_file, 0, 0}, "could not render " + p});
    }
    return out;
}

}  // namespace pxed::render
