// The only translation unit that includes nlohmann/json.

#include "pxed/app/api.hpp"

#include <nlohmann/json.hpp>

#include "pxed/wire/text.hpp"

namespace pxed::app {
namespace {

using json = nlohmann::json;

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The same base the renderer gives {{http_url}}, so the API's URLs are the
// ones the boot files name.
std::string http_base(const inventory::site& s) {
    std::string base = "http://" + s.server.address.to_string();
    if (s.server.http.port != 80) base += ":" + std::to_string(s.server.http.port);
    return base;
}

json host_object(const inventory::site& s, const inventory::host& h) {
    const auto base = http_base(s);
    const auto dashed = h.mac.to_dashed();
    const auto* p = s.find_profile(h.profile);
    const std::string grub_dir = s.boot.grub_dir.empty() ? std::string{} : s.boot.grub_dir + "/";

    json urls = json::object();
    urls["pxelinux"] = base + "/pxelinux.cfg/01-" + dashed;
    urls["grub"] = base + "/" + grub_dir + "grub.cfg-01-" + dashed;
    urls["ipxe"] = base + "/ipxe/" + dashed;
    urls["kickstart"] = p && !p->kickstart.empty() ? json(base + "/ks/" + dashed + ".ks") : json(nullptr);

    json o = json::object();
    o["mac"] = h.mac.to_string();
    o["hostname"] = h.hostname.empty() ? json(nullptr) : json(h.hostname);
    o["ip"] = h.ip ? json(h.ip->to_string()) : json(nullptr);
    o["profile"] = h.profile.empty() ? json(nullptr) : json(h.profile);
    o["netboot"] = h.netboot;
    o["urls"] = std::move(urls);
    if (!h.where.file.empty()) o["defined_at"] = h.where.file + ":" + std::to_string(h.where.line);
    return o;
}

net::http_api_reply reply(unsigned status, const json& body) {
    net::http_api_reply r;
    r.status = status;
    // Pretty: people read it with curl as often as programs do.
    r.body = body.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
    return r;
}

net::http_api_reply error(unsigned status, const std::string& message) {
    return reply(status, json{{"error", message}});
}

const inventory::host* find_host(const inventory::site& s, std::string_view key) {
    if (const auto mac = wire::mac_address::parse(key)) return s.find_host(*mac);
    return s.find_host_by_name(std::string(key));
}

}  // namespace

api::api(site_provider site, leases_provider leases) : site_(std::move(site)), leases_(std::move(leases)) {}

std::string api::host_json(const inventory::site& s, const inventory::host& h) { return host_object(s, h).dump(); }

net::http_api_reply api::handle(std::string_view path, std::string_view /*query*/) const {
    try {
        if (path == "api/v1") {
            return reply(200, json{{"endpoints", {"/api/v1/hosts", "/api/v1/hosts/<mac>", "/api/v1/leases"}}});
        }
        if (path == "api/v1/leases") {
            const std::string raw = leases_ ? leases_() : std::string("[]");
            // Parsed, not passed through: a broken lease store must not hand
            // clients broken JSON with a 200.
            auto parsed = json::parse(raw, nullptr, false);
            if (parsed.is_discarded()) return error(500, "the lease store returned invalid JSON");
            return reply(200, parsed);
        }
        const auto s = site_ ? site_() : nullptr;
        if (!s) return error(500, "no site loaded");
        if (path == "api/v1/hosts") {
            json all = json::array();
            for (const auto& h : s->hosts) all.push_back(host_object(*s, h));
            return reply(200, all);
        }
        if (starts_with(path, "api/v1/hosts/")) {
            const auto key = path.substr(13);
            if (key.find('/') != std::string_view::npos) return error(404, "no such endpoint");
            if (const auto* h = find_host(*s, key)) return reply(200, host_object(*s, *h));
            return error(404, "no host with MAC or hostname \"" + wire::escape_for_log(key) + "\" in the inventory");
        }
        return error(404, "no such endpoint");
    } catch (const std::exception& e) {
        return error(500, e.what());
    }
}

std::string explain_missing_document(const inventory::site& s, std::string_view path) {
    if (!starts_with(path, "ks/") || !ends_with(path, ".ks")) return {};
    const auto name = path.substr(3, path.size() - 6);
    if (starts_with(name, "profiles/")) {
        const auto profile = name.substr(9);
        return "no kickstart: no profile \"" + wire::escape_for_log(profile) + "\" with a kickstart template";
    }
    const auto mac = wire::mac_address::parse(name);
    const inventory::host* h = mac ? s.find_host(*mac) : s.find_host_by_name(std::string(name));
    if (!h) {
        if (mac) return "no kickstart: no host with MAC " + mac->to_string() + " in the inventory";
        return "no kickstart: no host named \"" + wire::escape_for_log(name) + "\" in the inventory";
    }
    const auto* p = s.find_profile(h->profile);
    if (!p) return "no kickstart: host " + h->mac.to_string() + " has no profile";
    return "no kickstart: host " + h->mac.to_string() + "'s profile \"" + p->name + "\" has no kickstart template";
}

}  // namespace pxed::app
