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
///
/// <mac> is lower-case `52-54-00-12-34-56` as pxelinux and GRUB ask for it;
/// `ipxe/` and `ks/` also take the colon form.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pxed/fs/namespace.hpp"
#include "pxed/render/renderer.hpp"

namespace pxed::render {

/// A rendered document as a site would see it on disk.
struct rendered_file {
    std::string path;
    std::string text;
};

class documents final : public fs::document_source {
public:
    explicit documents(std::shared_ptr<const renderer> r);

    std::optional<fs::document> find(std::string_view path) const override;
    std::vector<std::string> list(std::string_view dir) const override;

    /// Every published path (hosts under their MAC; the hostname aliases of
    /// kickstarts are left out).
    std::vector<std::string> all_paths() const;
    /// Every published document, rendered; failures become diagnostics.
    std::vector<rendered_file> render_all(std::vector<inventory::diagnostic>& diags) const;

private:
    std::shared_ptr<const renderer> renderer_;
};

}  // namespace pxed::render
