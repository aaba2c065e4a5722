#pragma once
/// Renders boot loader configs, iPXE scripts and kickstarts from the site model.

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pxed/inventory/diagnostic.hpp"
#include "pxed/inventory/site.hpp"
#include "pxed/render/templates.hpp"

namespace pxed::render {

struct rendered {
    std::string text;
    std::string error;  ///< empty on success; starts with `file:line: ` when `where` is known
    /// The template (or site.yaml line, for a profile's `append`) at fault;
    /// file empty when no one line is.
    inventory::source_location where;
    std::string what;  ///< the error without its location
    bool ok() const { return error.empty(); }
};

/// What can be rendered for one client.
enum class document_kind { pxelinux, grub, ipxe, kickstart };

/// Where a host is in its life, as far as its documents care
/// (docs/lifecycle.md). Without one a host is rendered as site.yaml
/// declares it: `pxed render` and `pxed check` show the install variant.
struct host_status {
    /// Boot the installer (pending, installing, or failed with on_timeout:
    /// install); false: boot the local disk.
    bool install = true;
    std::string state;            ///< "pending", "installing", ... for templates
    std::uint32_t generation = 0;
    /// The install token of this generation; empty: no install-done URL.
    std::string token;
    /// The token that releases the host's kickstart (docs/security.md),
    /// rendered into {{kickstart_url}}; empty: none (the host boots its
    /// disk, or the install is no longer under way).
    std::string access_token;
};

class compiled_cache;

class renderer {
public:
    renderer(std::shared_ptr<const inventory::site> site, std::shared_ptr<const template_set> templates);

    /// The menu (or local boot, per menu.unknown_hosts) for clients without a host entry.
    rendered default_config(document_kind kind) const;
    /// A known host's config; kickstart needs a profile with a kickstart
    /// template. `status` picks the install or the local-boot variant and
    /// fills in {{install_done_url}}.
    rendered host_config(document_kind kind, const inventory::host& h, const host_status* status = nullptr) const;

    /// The URL a host's installer calls when it is done (the install-done
    /// callback), with the token of its install generation.
    std::string install_done_url(const inventory::host& h, const std::string& token) const;
    /// cloud-init NoCloud meta-data (template nocloud/meta-data) for a host
    /// of profile `p`, or for the profile alone (h == nullptr), to go beside
    /// its kickstart served as user-data (Ubuntu autoinstall).
    rendered nocloud_meta_data(const inventory::host* h, const inventory::profile& p, const host_status* status = nullptr) const;
    /// The kickstart of a profile as used by the default menu (no host variables).
    rendered profile_kickstart(const inventory::profile& p) const;

    /// The URL iPXE clients are told to chain to (boot.ipxe with {{mac}} etc.
    /// filled in); empty when chaining is off.
    std::string ipxe_chain_url(const wire::mac_address& mac) const;
    /// The URL a UEFI HTTP Boot client is told to load: `url` (boot.uefi-http,
    /// a profile's or a host's uefi-http) with {{mac}}, {{boot_file}} (the boot
    /// file of the client's architecture) and the server's names filled in;
    /// empty when it is empty or "off", or does not render (`pxed check` says why).
    std::string uefi_http_url(const std::string& url, const wire::mac_address& mac, const std::string& boot_file) const;

    /// Renders every document once and reports what fails: missing templates,
    /// missing partials, template syntax errors, names a document does not
    /// define (docs/templates.md, "Strict variables"): at the template's
    /// file and line, naming the profile or host that needs it.
    std::vector<inventory::diagnostic> check() const;

    /// The hosts whose documents are made from the same inputs apart from
    /// their MAC, hostname and address text (profile, netboot, which names
    /// are defined and which sections they take: the shape of vars and
    /// secrets, the subnet), first of each kind in site order. A template
    /// fails for every host of a kind or for none, so check() renders one
    /// host per kind, not each host (docs/site-yaml.md, "Large inventories").
    /// `with_values`: also tell hosts apart by the values of their vars and
    /// secrets (for checks that read the rendered text, not just whether
    /// it renders).
    std::vector<const inventory::host*> distinct_hosts(bool with_values = false) const;
    /// The kind distinct_hosts() sorts a host into, as a key: two hosts of
    /// one key render the same documents but for their MAC, hostname and
    /// address.
    std::string host_kind(const inventory::host& h, bool with_values = false) const;

    /// How many template texts are compiled and kept (each is checked and
    /// compiled once per site, then rendered from for every document).
    std::size_t compiled_templates() const;

    const inventory::site& site() const { return *site_; }
    const template_set& templates() const { return *templates_; }

private:
    std::shared_ptr<const inventory::site> site_;
    std::shared_ptr<const template_set> templates_;
    /// Names some document of this site defines: a section may test one
    /// that the document at hand lacks, but not a name defined nowhere.
    std::set<std::string> known_names_;
    std::shared_ptr<compiled_cache> compiled_;
};

}  // namespace pxed::render
