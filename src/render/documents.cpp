#include "pxed/render/documents.hpp"

#include <set>

namespace pxed::render {
namespace {

constexpr const char* text_plain = "text/plain; charset=utf-8";

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string grub_prefix(const inventory::site& s) { return s.boot.grub_dir.empty() ? std::string{} : s.boot.grub_dir + "/"; }

}  // namespace

documents::documents(std::shared_ptr<const renderer> r) : renderer_(std::move(r)) {}

std::optional<fs::document> documents::find(std::string_view path) const {
    const auto& r = *renderer_;
    const auto& s = r.site();
    auto done = [&](rendered out) -> std::optional<fs::document> {
        // Render failures are caught by renderer::check() when the site is
        // loaded; one that slips through is served as "not found".
        if (!out.ok()) return std::nullopt;
        return fs::document{std::make_shared<const std::string>(std::move(out.text)), text_plain, s.loaded_at};
    };
    auto host_by_mac = [&](std::string_view text) -> const inventory::host* {
        const auto mac = wire::mac_address::parse(text);
        return mac ? s.find_host(*mac) : nullptr;
    };

    if (starts_with(path, "pxelinux.cfg/")) {
        const auto name = path.substr(13);
        if (name == "default") return done(r.default_config(document_kind::pxelinux));
        // pxelinux asks for "01-" (ARP type 1, Ethernet) + the dashed MAC.
        if (starts_with(name, "01-"))
            if (const auto* h = host_by_mac(name.substr(3))) return done(r.host_config(document_kind::pxelinux, *h));
        return std::nullopt;
    }
    const auto gp = grub_prefix(s);
    if (starts_with(path, gp)) {
        const auto name = path.substr(gp.size());
        if (name == "grub.cfg") return done(r.default_config(document_kind::grub));
        if (starts_with(name, "grub.cfg-01-"))
            if (const auto* h = host_by_mac(name.substr(12))) return done(r.host_config(document_kind::grub, *h));
    }
    if (starts_with(path, "ipxe/")) {
        const auto name = path.substr(5);
        if (name == "default") return done(r.default_config(document_kind::ipxe));
        // iPXE clients chain to their own MAC's script; one pxed does not
        // know gets what pxelinux would give it: the default.
        if (const auto mac = wire::mac_address::parse(name)) {
            if (const auto* h = s.find_host(*mac)) return done(r.host_config(document_kind::ipxe, *h));
            return done(r.default_config(document_kind::ipxe));
        }
        return std::nullopt;
    }
    if (starts_with(path, "ks/") && ends_with(path, ".ks")) {
        const auto name = path.substr(3, path.size() - 6);
        if (starts_with(name, "profiles/")) {
            const auto* p = s.find_profile(std::string(name.substr(9)));
            if (!p || p->kickstart.empty()) return std::nullopt;
            return done(r.profile_kickstart(*p));
        }
        const auto* h = host_by_mac(name);
        if (!h) h = s.find_host_by_name(std::string(name));
        if (!h) return std::nullopt;
        const auto* p = s.find_profile(h->profile);
        if (!p || p->kickstart.empty()) return std::nullopt;
        return done(r.host_config(document_kind::kickstart, *h));
    }
    return std::nullopt;
}

std::vector<std::string> documents::all_paths() const {
    const auto& s = renderer_->site();
    std::vector<std::string> out{"pxelinux.cfg/default", grub_prefix(s) + "grub.cfg", "ipxe/default"};
    for (const auto& h : s.hosts) {
        const auto dashed = h.mac.to_dashed();
        out.push_back("pxelinux.cfg/01-" + dashed);
        out.push_back(grub_prefix(s) + "grub.cfg-01-" + dashed);
        out.push_back("ipxe/" + dashed);
        const auto* p = s.find_profile(h.profile);
        if (p && !p->kickstart.empty()) out.push_back("ks/" + dashed + ".ks");
    }
    for (const auto& [name, p] : s.profiles)
        if (!p.kickstart.empty()) out.push_back("ks/profiles/" + name + ".ks");
    return out;
}

std::vector<std::string> documents::list(std::string_view dir) const {
    std::string prefix(dir);
    if (!prefix.empty()) prefix += '/';
    std::set<std::string> names;
    for (const auto& p : all_paths()) {
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
