#pragma once
/// Everything pxed builds from one site.yaml, loaded and checked together, so
/// a reload either swaps all of it or none of it.

#include <memory>
#include <string>
#include <vector>

#include "pxed/fs/namespace.hpp"
#include "pxed/inventory/load.hpp"
#include "pxed/render/documents.hpp"
#include "pxed/render/renderer.hpp"
#include "pxed/render/templates.hpp"

namespace pxed::app {

struct loaded_site {
    std::shared_ptr<const inventory::site> site;
    std::shared_ptr<const render::template_set> templates;
    std::shared_ptr<const render::renderer> renderer;
    std::shared_ptr<const render::documents> documents;
    std::shared_ptr<const fs::file_namespace> files;
};

struct site_load_result {
    std::shared_ptr<const loaded_site> loaded;  ///< null when there are errors
    std::vector<inventory::diagnostic> diagnostics;
};

/// Loads the YAML, the templates, renders every document once (so a template
/// error is a load error, not a failed boot later) and builds the file
/// namespace: the TFTP root at the top and each tree at its URL path.
/// `status` (the daemon's host lifecycle) makes each host's documents
/// follow its state; without it they are rendered as declared.
site_load_result load_site(const std::string& config_path, const inventory::load_options& options = {},
                           std::shared_ptr<const render::host_status_source> status = {});

/// The same site with its documents following `status` (a host lifecycle
/// that could only start once the site named its state directory).
std::shared_ptr<const loaded_site> with_status(const loaded_site& loaded,
                                               std::shared_ptr<const render::host_status_source> status);

/// What a reload changes, in one line for `pxed reload` and the log: hosts,
/// profiles and trees added or removed (by name), hosts whose hostname,
/// address, profile or netboot changed, the number of subnets. Empty when
/// none of these did (templates, variables and settings are not compared).
std::string describe_changes(const inventory::site& before, const inventory::site& after);

/// The mounts a site's file namespace is built from.
std::vector<fs::mount> mounts_for(const inventory::site& site);

}  // namespace pxed::app
