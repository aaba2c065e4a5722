#include "pxed/doctor/doctor.hpp"

#include "checks.hpp"

namespace pxed::doctor {

std::vector<finding> examine(const inventory::site& site, const render::renderer& renderer, const machine& host,
                             const locator& where, const options& opts, std::vector<std::string>* notes) {
    (void)renderer;
    std::vector<finding> out;
    std::vector<std::string> skipped;
    detail::context c{site, host, where, opts, out, skipped, {}};
    detail::check_addresses(c);
    // Boot loaders before permissions: they name the companions (ldlinux.c32,
    // the menu's modules, shim's GRUB) whose permissions are checked too.
    detail::check_boot_loaders(c);
    detail::check_permissions(c);
    if (notes) *notes = std::move(skipped);
    return out;
}

}  // namespace pxed::doctor
