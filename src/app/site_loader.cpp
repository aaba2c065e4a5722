#include "pxed/app/site_loader.hpp"

#include <filesystem>

namespace pxed::app {

std::vector<fs::mount> mounts_for(const inventory::site& site) {
    std::vector<fs::mount> mounts;
    if (!site.server.tftp.root.empty()) mounts.push_back({"", site.server.tftp.root});
    for (const auto& [name, tree] : site.trees) mounts.push_back({tree.url.substr(1), tree.path});
    return mounts;
}

std::shared_ptr<const loaded_site> with_status(const loaded_site& loaded,
                                               std::shared_ptr<const render::host_status_source> status) {
    auto out = std::make_shared<loaded_site>(loaded);
    out->documents = std::make_shared<const render::documents>(loaded.renderer, std::move(status));
    out->files = std::make_shared<const fs::file_namespace>(mounts_for(*loaded.site), out->documents);
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
    for (const auto& path : documents->all_paths())
        if (files->real_file_exists(path))
            out.diagnostics.push_back({inventory::severity::warning, {inv.model->source_file, 0, 0},
                                       "'" + path + "' exists in the TFTP root but pxed serves its rendered version instead"});

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
