#include "pxed/doctor/doctor.hpp"

#include <set>
#include <tuple>

#include "checks.hpp"
#include "pxed/doctor/dhcp_probe.hpp"
#include "pxed/doctor/firewall.hpp"
#include "pxed/doctor/kickstart.hpp"
#include "pxed/doctor/selinux.hpp"
#include "pxed/doctor/trees.hpp"

namespace pxed::doctor {

namespace {

void append(std::vector<finding>& out, std::vector<finding> more) {
    for (auto& f : more) out.push_back(std::move(f));
}

void note(std::vector<std::string>& notes, const std::string& skipped) {
    if (!skipped.empty()) notes.push_back(skipped);
}

// Each profile's kickstart, and each host's where its variables make it
// differ: one finding per template line and message, not per host.
void lint_kickstarts(const inventory::site& site, const render::renderer& r, std::vector<finding>& out) {
    std::set<std::tuple<std::string, int, std::string>> seen;
    const auto lint = [&](const inventory::profile& p, const render::rendered& doc) {
        if (!doc.ok()) return;  // the loader reported it
        std::vector<std::string> names{p.kickstart};
        if (const auto* t = site.find_tree(p.tree)) names.insert(names.end(), {t->name, t->path});
        const auto el = el_major_of(doc.text, names);
        if (!el) return;
        const inventory::source_location at{r.templates().origin("kickstart/" + p.kickstart), 0, 0};
        for (auto& f : lint_kickstart(doc.text, *el, at))
            if (seen.emplace(f.where.file, f.where.line, f.message).second) out.push_back(std::move(f));
    };
    for (const auto& [name, p] : site.profiles)
        if (!p.kickstart.empty()) lint(p, r.profile_kickstart(p));
    // Hosts whose kickstarts differ only in their MAC, name and address
    // lint alike: one of each kind (100,000 hosts of one profile: one).
    for (const auto* h : r.distinct_hosts(true)) {
        const auto* p = site.find_profile(h->profile);
        if (p && !p->kickstart.empty()) lint(*p, r.host_config(render::document_kind::kickstart, *h));
    }
}

}  // namespace

std::vector<finding> examine(const inventory::site& site, const render::renderer& renderer, const machine& host,
                             const locator& where, const options& opts, std::vector<std::string>* notes) {
    std::vector<finding> out;
    std::vector<std::string> skipped;
    detail::context c{site, host, where, opts, out, skipped, {}};
    detail::check_addresses(c);
    // Boot loaders before permissions: they name the companions (ldlinux.c32,
    // the menu's modules, shim's GRUB) whose permissions are checked too.
    detail::check_boot_loaders(c);
    detail::check_permissions(c);
    append(out, check_trees(site));
    detail::check_kernels(c);
    lint_kickstarts(site, renderer, out);
    if (opts.offline) {
        skipped.push_back("firewall and SELinux not checked (--offline).");
        if (opts.probe_dhcp) skipped.push_back("DHCP probe not run (--offline).");
    } else {
        std::string why;
        append(out, check_firewall(site, host.runner(), where, &why));
        note(skipped, why);
        why.clear();
        append(out, check_selinux(site, host.runner(), where, &why));
        note(skipped, why);
        if (opts.probe_dhcp) {
            // dnsmasq pings an address for 3 s before it offers it.
            why.clear();
            append(out, probe_dhcp(site, where, std::chrono::seconds(4), &why));
            note(skipped, why);
        }
    }
    if (notes) *notes = std::move(skipped);
    return out;
}

}  // namespace pxed::doctor
