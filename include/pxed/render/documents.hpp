#pragma once
/// The rendered part of the file namespace: which request path means which
/// document. TFTP, HTTP and FTP all see these through pxed::fs.
///
///   pxelinux.cfg/default              menu for unknown clients (BIOS, pxelinux)
///   pxelinux.cfg/01-<mac>             a known host's pxelinux config
///   <grub_dir>/grub.cfg               menu for unknown clients (UEFI, GRUB)
///   <grub_dir>/grub.cfg-01-<mac>      a known host's GRUB config
///   ipxe/<mac>, ipxe/default          iPXE scripts (unknown MACs get the default)
///   ks/<mac>.ks, ks/<hostname>.ks     a known host's kickstart
///   ks/profiles/<profile>.ks          a profile's kickstart, used by the menus
///   ks/nocloud/<mac>/[token=<t>/]<file>  cloud-init NoCloud seed of a host whose
///   ks/nocloud/profiles/<profile>/<file>  kickstart is cloud-config (*.yaml):
///                                     user-data (the kickstart), meta-data,
///                                     vendor-data (empty); the token is a path
///                                     segment, as cloud-init appends the names
///
/// A host's own documents (its boot configs and kickstart) go only to that
/// host, as site.yaml's access.host_documents says (docs/security.md), and
/// are never listed. Menus and profile kickstarts go to anyone and carry no
/// host's secret.
///
/// <mac> is lower-case `52-54-00-12-34-56` as pxelinux and GRUB ask for it;
/// `ipxe/` and `ks/` also take the colon form.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pxed/fs/namespace.hpp"
#include "pxed/render/renderer.hpp"

namespace pxed::render {

/// Where the documents learn each host's state, and tell it what a host
/// fetched. Implemented by the daemon around the lifecycle tracker; must be
/// safe to call from the servers' thread.
class host_status_source {
public:
    virtual ~host_status_source() = default;
    /// The status of a host of the inventory; nullopt: render as declared.
    virtual std::optional<host_status> status(const wire::mac_address& mac) const = 0;
    /// A host's own document of `kind` is being sent to a client.
    virtual void fetched(const wire::mac_address& mac, document_kind kind) const = 0;
    /// The last state change of a host, Unix seconds: its documents are
    /// no older than that (Last-Modified).
    virtual std::int64_t changed_at(const wire::mac_address& mac) const = 0;

    /// Whether `address` (host byte order) is the one pxed leased to `mac`
    /// (in proxyDHCP mode: the one the kernel's neighbour table maps to
    /// it). A reservation in site.yaml counts without asking.
    virtual bool bound_to(const wire::mac_address& mac, std::uint32_t address) const = 0;
    /// A client refused too often lately: its tokens are not even compared
    /// until it calms down (docs/security.md).
    virtual bool locked_out(const fs::client& who) const {
        (void)who;
        return false;
    }
    /// One refused request of `who`, logged; `counted` towards its lockout
    /// (a kickstart: a name or token being tried), or not (a boot config:
    /// an unknown MAC's would not count either, so neither may a known one).
    virtual void refused(const fs::client& who, const std::string& what, bool counted) const {
        (void)who;
        (void)what;
        (void)counted;
    }
};

/// A rendered document as a site would see it on disk.
struct rendered_file {
    std::string path;
    std::string text;
};

class documents final : public fs::document_source {
public:
    /// Without a status source (`pxed render`) hosts are rendered as
    /// pending, with the placeholder token `TOKEN` in install-done URLs.
    explicit documents(std::shared_ptr<const renderer> r, std::shared_ptr<const host_status_source> status = {});

    std::optional<fs::document> find(std::string_view path) const override;
    /// Menus and profile kickstarts only: a host's documents are not listed.
    std::vector<std::string> list(std::string_view dir) const override;
    void opened(std::string_view path) const override;
    fs::release check(std::string_view path, const fs::client& who) const override;
    bool hidden_from_listings(std::string_view path) const override;

    /// Every published path (hosts under their MAC; the hostname aliases of
    /// kickstarts are left out).
    std::vector<std::string> all_paths() const;
    /// The same paths one at a time, in the same order, without holding
    /// them all (100,000 hosts: 400,000 strings, 30 MiB, for `pxed check`).
    void for_each_path(const std::function<void(const std::string&)>& each) const;
    /// Every published document, rendered; failures become diagnostics.
    std::vector<rendered_file> render_all(std::vector<inventory::diagnostic>& diags) const;

    /// Rendered texts kept (documents_cache below), for tests.
    std::size_t cached_documents() const;

private:
    struct target;
    class rendered_cache;
    target classify(std::string_view path) const;

    std::shared_ptr<const renderer> renderer_;
    std::shared_ptr<const host_status_source> status_;
    // ks/<hostname>.ks: hosts by name, built once per site, so that a
    // miss (any ks/ name that is no host's) costs the same with 30 hosts
    // or 30,000 (by MAC, the site's own index serves).
    std::unordered_map<std::string_view, const inventory::host*> hosts_by_name_;
    // A document's text is a function of the site, its path and its host's
    // status: rendered once, kept until the site is replaced (a reload
    // builds new documents) or pushed out by newer ones.
    std::shared_ptr<rendered_cache> cache_;
};

}  // namespace pxed::render
