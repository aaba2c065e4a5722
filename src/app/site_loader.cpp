#include "pxed/app/site_loader.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

namespace pxed::app {

std::vector<fs::mount> mounts_for(const inventory::site& site) {
    std::vector<fs::mount> mounts;
    if (!site.server.tftp.root.empty()) mounts.push_back({"", site.server.tftp.root});
    for (const auto& [name, tree] : site.trees) mounts.push_back({tree.url.substr(1), tree.path});
    // Secure Boot's signed pair, from where the packages keep them (a file
    // mount wins over the TFTP root's own file of that name: load warns).
    if (const auto& sb = site.boot.secure_boot; sb.on()) {
        mounts.push_back({site.boot.uefi_x64, sb.shim, true});
        mounts.push_back({site.boot.secure_boot_grub(), sb.grub, true});
    }
    return mounts;
}

std::shared_ptr<const loaded_site> with_status(const loaded_site& loaded,
                                               std::shared_ptr<const render::host_status_source> status) {
    auto out = std::make_shared<loaded_site>(loaded);
    out->documents = std::make_shared<const render::documents>(loaded.renderer, std::move(status));
    out->files = std::make_shared<const fs::file_namespace>(mounts_for(*loaded.site), out->documents);
    return out;
}

namespace {

// "hosts +web3 +web4 -db1": at most a handful of names, then a count.
void list_names(std::string& out, const char* what, const std::vector<std::string>& added,
                const std::vector<std::string>& removed, std::size_t changed = 0) {
    if (added.empty() && removed.empty() && changed == 0) return;
    if (!out.empty()) out += "; ";
    out += what;
    std::size_t shown = 0;
    const auto name = [&](char sign, const std::string& n) {
        if (++shown <= 5) out += std::string(" ") + sign + n;
    };
    for (const auto& n : added) name('+', n);
    for (const auto& n : removed) name('-', n);
    if (shown > 5) out += " (" + std::to_string(shown - 5) + " more)";
    if (changed) out += (shown ? ", " : " ") + std::to_string(changed) + " changed";
}

template <typename Map>
void compare_keys(const Map& before, const Map& after, std::vector<std::string>& added,
                  std::vector<std::string>& removed) {
    for (const auto& [k, v] : after)
        if (!before.count(k)) added.push_back(k);
    for (const auto& [k, v] : before)
        if (!after.count(k)) removed.push_back(k);
}

}  // namespace

std::string describe_changes(const inventory::site& before, const inventory::site& after) {
    std::string out;
    const auto label = [](const inventory::host& h) { return h.hostname.empty() ? h.mac.to_string() : h.hostname; };
    std::map<wire::mac_address, const inventory::host*> old_hosts, new_hosts;
    for (const auto& h : before.hosts) old_hosts[h.mac] = &h;
    for (const auto& h : after.hosts) new_hosts[h.mac] = &h;
    std::vector<std::string> added, removed;
    std::size_t changed = 0;
    for (const auto& [mac, h] : new_hosts) {
        const auto it = old_hosts.find(mac);
        if (it == old_hosts.end()) {
            added.push_back(label(*h));
            continue;
        }
        const auto& o = *it->second;
        if (o.hostname != h->hostname || o.ip != h->ip || o.profile != h->profile || o.netboot != h->netboot) ++changed;
    }
    for (const auto& [mac, h] : old_hosts)
        if (!new_hosts.count(mac)) removed.push_back(label(*h));
    list_names(out, "hosts", added, removed, changed);
    added.clear();
    removed.clear();
    compare_keys(before.profiles, after.profiles, added, removed);
    list_names(out, "profiles", added, removed);
    added.clear();
    removed.clear();
    compare_keys(before.trees, after.trees, added, removed);
    list_names(out, "trees", added, removed);
    if (before.subnets.size() != after.subnets.size()) {
        if (!out.empty()) out += "; ";
        out += "subnets " + std::to_string(before.subnets.size()) + " -> " + std::to_string(after.subnets.size());
    }
    return out;
}

site_load_result load_site(const std::string& config_path, const inventory::load_options& options,
                           std::shared_ptr<const render::host_status_source> status) {
    site_load_result out;
    auto inv = inventory::load_file(config_path, options);
    out.diagnostics = std::move(inv.diagnostics);
    if (!inv.model) return out;

    auto templates = render::template_set::load(inv.model->server.templates, out.diagnostics);
    auto renderer = std::make_shared<const render::renderer>(inv.model, templates);
    for (auto& d : renderer->check()) out.diagnostics.push_back(std::move(d));
    if (inventory::has_errors(out.diagnostics)) return out;

    auto documents = std::make_shared<const render::documents>(renderer, std::move(status));
    auto files = std::make_shared<const fs::file_namespace>(mounts_for(*inv.model), documents);
    // A file left in the TFTP root by a previous setup (a hand-written
    // pxelinux.cfg/default, say) is hidden by pxed's rendered one: say so.
    // Each directory's real names are listed once (100,000 hosts have
    // 500,000 document paths in a few directories): a name not there is no
    // real file. A directory inside another mount is looked at path by path.
    const auto mounts = mounts_for(*inv.model);
    std::map<std::string, std::optional<std::set<std::string>>, std::less<>> real_names;
    const auto may_exist = [&](const std::string& path) {
        const auto slash = path.rfind('/');
        const std::string_view dir(path.data(), slash == std::string::npos ? 0 : slash);
        auto it = real_names.find(dir);
        if (it == real_names.end()) {
            std::optional<std::set<std::string>> names;
            const bool inside_other = std::any_of(mounts.begin(), mounts.end(), [&](const fs::mount& m) {
                const std::string_view p(m.prefix);
                return !p.empty() && !m.file &&
                       (p == dir || (dir.size() > p.size() && dir.substr(0, p.size()) == p && dir[p.size()] == '/'));
            });
            if (!inside_other) {
                names.emplace();
                std::error_code ec;
                const auto real = std::filesystem::path(inv.model->server.tftp.root) / std::string(dir);
                for (std::filesystem::directory_iterator d(real, ec), end; !ec && d != end; d.increment(ec))
                    names->insert(d->path().filename().string());
                for (const auto& m : mounts)  // a file mount is a real file of its directory
                    if (m.file) names->insert(m.prefix.substr(m.prefix.rfind('/') + 1));
            } else if (!dir.empty() && !files->real_directory_exists(dir)) {
                names.emplace();
            }
            it = real_names.emplace(std::string(dir), std::move(names)).first;
        }
        return !it->second || it->second->count(path.substr(slash == std::string::npos ? 0 : slash + 1)) > 0;
    };
    documents->for_each_path([&](const std::string& path) {
        if (may_exist(path) && files->real_file_exists(path))
            out.diagnostics.push_back({inventory::severity::warning, {inv.model->source_file, 0, 0},
                                       "'" + path + "' exists in the TFTP root but pxed serves its rendered version instead"});
    });

    // ks/ in the TFTP root belongs to pxed (docs/security.md): a kickstart
    // left there by a classic setup is no longer served, and it may hold a
    // root password anyone could read while it was.
    if (inv.model->access.host_documents != inventory::host_document_access::open) {
        std::error_code ec;
        const auto ks = std::filesystem::path(inv.model->server.tftp.root) / "ks";
        for (std::filesystem::directory_iterator it(ks, ec), end; !ec && it != end; it.increment(ec))
            if (it->path().filename() != "profiles")
                out.diagnostics.push_back(
                    {inventory::severity::warning, {inv.model->source_file, 0, 0},
                     "'ks/" + it->path().filename().string() +
                         "' in the TFTP root is never served: ks/ is pxed's (hosts' and profiles' kickstarts); a "
                         "hand-written kickstart there may hold secrets: move it out of the served roots"});
    }

    auto loaded = std::make_shared<loaded_site>();
    loaded->site = inv.model;
    loaded->templates = std::move(templates);
    loaded->renderer = std::move(renderer);
    loaded->documents = std::move(documents);
    loaded->files = std::move(files);
    out.loaded = std::move(loaded);
    return out;
}

}  // namespace pxed::app
