#include "pxed/inventory/site.hpp"

namespace pxed::inventory {

bool subnet::in_dynamic_range(wire::ipv4_address a) const {
    for (const auto& r : ranges)
        if (r.contains(a)) return true;
    return false;
}

const host* site::find_host(const wire::mac_address& mac) const {
    const auto it = host_index.find(mac);
    return it == host_index.end() ? nullptr : &hosts[it->second];
}

const host* site::find_host_by_name(const std::string& hostname) const {
    for (const auto& h : hosts)
        if (!h.hostname.empty() && h.hostname == hostname) return &h;
    return nullptr;
}

const profile* site::find_profile(const std::string& name) const {
    const auto it = profiles.find(name);
    return it == profiles.end() ? nullptr : &it->second;
}

const tree* site::find_tree(const std::string& name) const {
    const auto it = trees.find(name);
    return it == trees.end() ? nullptr : &it->second;
}

const subnet* site::find_subnet(wire::ipv4_address a) const {
    for (const auto& s : subnets)
        if (s.network.contains(a)) return &s;
    return nullptr;
}

}  // namespace pxed::inventory

namespace pxed::inventory {

void lifecycle_overrides::apply_to(lifecycle_policy& p) const {
    if (new_hosts) p.new_hosts = *new_hosts;
    if (install_done) p.install_done = *install_done;
    if (install_timeout) p.install_timeout = *install_timeout;
    if (on_timeout) p.on_timeout = *on_timeout;
    if (when_installed) p.when_installed = *when_installed;
}

lifecycle_policy site::lifecycle_for(const host& h) const {
    auto p = lifecycle;
    if (const auto* pr = find_profile(h.profile)) pr->lifecycle.apply_to(p);
    h.lifecycle.apply_to(p);
    return p;
}

const char* to_string(cpu_arch a) { return a == cpu_arch::arm64 ? "arm64" : "x86_64"; }
const char* to_string(new_host_state v) { return v == new_host_state::pending ? "pending" : "installed"; }
const char* to_string(install_end v) { return v == install_end::callback ? "callback" : "kickstart"; }
const char* to_string(timeout_action v) { return v == timeout_action::local ? "local" : "install"; }
const char* to_string(installed_pxe v) { return v == installed_pxe::answer ? "answer" : "none"; }
const char* to_string(host_document_access v) {
    switch (v) {
    case host_document_access::address_or_token: return "address-or-token";
    case host_document_access::address_and_token: return "address-and-token";
    case host_document_access::open: return "open";
    }
    return "?";
}

}  // namespace pxed::inventory
