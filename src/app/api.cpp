// The only translation unit that includes nlohmann/json.

#include "pxed/app/api.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iomanip>
#include <map>
#include <sstream>

#include "pxed/app/access_guard.hpp"
#include "pxed/app/lifecycle_service.hpp"
#include "pxed/app/trace_service.hpp"
#include "pxed/metrics/registry.hpp"
#include "pxed/wire/text.hpp"
#include "pxed/wire/token.hpp"

namespace pxed::app {
namespace {

using json = nlohmann::json;

using wire::ends_with;
using wire::starts_with;

// The same base the renderer gives {{http_url}}, so the API's URLs are the
// ones the boot files name.
std::string http_base(const inventory::site& s) {
    std::string base = "http://" + s.server.address.to_string();
    if (s.server.http.port != 80) base += ":" + std::to_string(s.server.http.port);
    return base;
}

json time_or_null(std::int64_t t) { return t ? json(t) : json(nullptr); }

// A host's lifecycle record as the API shows it; the token never.
void add_record(json& o, const store::host_record& r) {
    o["state"] = store::to_string(r.state);
    o["generation"] = r.generation;
    o["last_seen"] = time_or_null(r.last_seen);
    o["install_started"] = time_or_null(r.install_started);
    o["install_done"] = time_or_null(r.install_done);
    o["changed_at"] = time_or_null(r.changed_at);
    o["changed_by"] = r.changed_by;
    o["last_event"] = r.last_event;
}

const store::host_record* record_of(const lifecycle_service* lifecycle, const wire::mac_address& mac) {
    return lifecycle ? lifecycle->tracker().find(mac) : nullptr;
}

// The leases by MAC, from the lease provider's JSON.
std::map<std::string, json> leases_by_mac(const api::leases_provider& provider) {
    std::map<std::string, json> out;
    auto parsed = json::parse(provider ? provider() : std::string("[]"), nullptr, false);
    if (!parsed.is_array()) return out;
    for (auto& l : parsed)
        if (l.is_object() && l.contains("mac") && l["mac"].is_string()) {
            const auto mac = l["mac"].get<std::string>();
            // The bound lease wins over a remembered old one.
            if (!out.count(mac) || l.value("state", "") == "bound") out[mac] = l;
        }
    return out;
}

// A host as the API and `pxed hosts` show it: `o` (its inventory entry)
// with its lifecycle record and its DHCP lease.
json with_state(json o, const wire::mac_address& mac, const store::host_record* r,
                const std::map<std::string, json>& leases) {
    if (r) add_record(o, *r);
    const auto l = leases.find(mac.to_string());
    o["lease"] = l == leases.end() ? json(nullptr) : l->second;
    return o;
}

// Template variables, shown only with access.api.show_variables. Secrets
// are not variables: they are never shown.
json value_json(const inventory::value& v) {
    if (const auto* s = std::get_if<std::string>(&v.data)) return *s;
    if (const auto* l = std::get_if<inventory::value::list>(&v.data)) {
        json a = json::array();
        for (const auto& x : *l) a.push_back(value_json(x));
        return a;
    }
    json o = json::object();
    for (const auto& [k, x] : std::get<inventory::value::object>(v.data)) o[k] = value_json(x);
    return o;
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
    if (s.access.api_show_variables) {
        json vars = json::object();
        if (p)
            for (const auto& [k, v] : p->vars) vars[k] = value_json(v);
        for (const auto& [k, v] : h.vars) vars[k] = value_json(v);
        o["vars"] = std::move(vars);
    }
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
    auto r = reply(status, json{{"error", message}});
    r.log = message;
    return r;
}

unsigned status_of(lifecycle::verdict v) {
    switch (v) {
    case lifecycle::verdict::done:
    case lifecycle::verdict::unchanged: return 200;
    case lifecycle::verdict::unknown_host: return 404;
    case lifecycle::verdict::bad_token: return 403;
    case lifecycle::verdict::not_installing: return 409;
    case lifecycle::verdict::failed: break;
    }
    return 500;
}

// "10.0.0.5" of "10.0.0.5:43210".
std::string_view address_of(std::string_view peer) {
    const auto colon = peer.rfind(':');
    return colon == std::string_view::npos ? peer : peer.substr(0, colon);
}

const inventory::host* find_host(const inventory::site& s, std::string_view key) {
    if (const auto mac = wire::mac_address::parse(key)) return s.find_host(*mac);
    return s.find_host_by_name(std::string(key));
}

// ---- the boot trace (docs/troubleshooting.md) ------------------------------

// An event number: digits only, at most 19 of them.
bool parse_seq(std::string_view text, std::uint64_t& out) {
    if (text.empty() || text.size() > 19) return false;
    std::uint64_t v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    out = v;
    return true;
}

std::string iso_time(std::int64_t ms) {
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
    return buf;
}

json event_json(const trace::event& e) {
    json o{{"seq", e.seq},       {"time", iso_time(e.time_ms)}, {"time_ms", e.time_ms}, {"kind", trace::to_string(e.k)},
           {"ok", e.ok},         {"what", e.what},              {"outcome", e.outcome}, {"detail", e.detail}};
    if (e.bytes || e.duration_ms) {
        o["bytes"] = e.bytes;
        o["duration_ms"] = e.duration_ms;
    }
    o["client"] = e.client ? json(wire::ipv4_address(e.client).to_string()) : json(nullptr);
    o["flags"] = e.flags;
    // Several instances sharing a store: which one recorded it.
    if (!e.instance.empty()) o["instance"] = e.instance;
    return o;
}

trace::event event_of(const json& o) {
    trace::event e;
    e.seq = o.value("seq", std::uint64_t{0});
    e.time_ms = o.value("time_ms", std::int64_t{0});
    e.k = trace::kind_from(o.value("kind", std::string())).value_or(trace::kind::dhcp);
    e.ok = o.value("ok", true);
    e.flags = o.value("flags", std::uint8_t{0});
    e.what = o.value("what", std::string());
    e.outcome = o.value("outcome", std::string());
    e.detail = o.value("detail", std::string());
    e.bytes = o.value("bytes", std::uint64_t{0});
    e.duration_ms = o.value("duration_ms", std::uint32_t{0});
    e.instance = o.value("instance", std::string());
    if (o.contains("client") && o["client"].is_string())
        if (const auto a = wire::ipv4_address::parse(o["client"].get<std::string>())) e.client = a->value();
    return e;
}

// A MAC (any spelling), a hostname of the inventory, or an address: the
// one pxed's DHCP bound or reserved to a MAC, or the neighbour table's.
std::optional<wire::mac_address> trace_key(const inventory::site& s, const trace_service& t, std::string_view key) {
    if (const auto mac = wire::mac_address::parse(key)) return mac;
    if (const auto* h = s.find_host_by_name(std::string(key))) return h->mac;
    if (const auto ip = wire::ipv4_address::parse(key)) return t.mac_of(ip->value());
    return std::nullopt;
}

json trace_object(const inventory::site& s, const trace_service& t, const lifecycle_service* lifecycle,
                  const wire::mac_address& mac, std::uint64_t after) {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const auto* h = s.find_host(mac);
    const auto* r = record_of(lifecycle, mac);
    trace::host_facts facts;
    facts.known = h != nullptr;
    facts.state = r ? store::to_string(r->state) : "";
    facts.proxy = s.server.dhcp.mode == inventory::dhcp_mode::proxy;
    const auto all = t.book().of(mac);
    const auto reading = trace::read(all, now, facts);
    json o{{"ok", true}, {"mac", mac.to_string()}, {"in_inventory", h != nullptr}};
    o["hostname"] = h && !h->hostname.empty() ? json(h->hostname) : json(nullptr);
    o["profile"] = h && !h->profile.empty() ? json(h->profile) : json(nullptr);
    o["state"] = r ? json(facts.state) : json(nullptr);
    o["stage"] = trace::to_string(reading.reached);
    o["attempt_from"] = reading.attempt_from;
    o["hints"] = reading.hints;
    o["last_seq"] = all.empty() ? t.book().last_seq() : all.back().seq;
    json events = json::array();
    for (const auto& e : all)
        // A fold of packages keeps its number as it grows: who asks from
        // it gets it again.
        if (e.seq > after || (after && e.seq == after && (e.flags & trace::flag_packages)))
            events.push_back(event_json(e));
    o["events"] = std::move(events);
    return o;
}

json strangers_json(const trace_service& t) {
    json out = json::array();
    for (const auto& st : t.book().strangers())
        out.push_back(json{{"mac", st.mac.to_string()},
                           {"first_seen", iso_time(st.first_ms)},
                           {"last_seen", iso_time(st.last_ms)},
                           {"last_ms", st.last_ms},
                           {"events", st.events},
                           {"detail", st.detail},
                           {"client", st.client ? json(wire::ipv4_address(st.client).to_string()) : json(nullptr)}});
    return out;
}

}  // namespace

api::api(site_provider site, leases_provider leases, lifecycle_service* lifecycle, access_guard* guard)
    : site_(std::move(site)), leases_(std::move(leases)), lifecycle_(lifecycle), guard_(guard) {}

std::string api::key_name(const inventory::access_settings& a, std::string_view authorization) {
    constexpr std::string_view bearer = "Bearer ";
    if (authorization.size() <= bearer.size() || authorization.substr(0, bearer.size()) != bearer) return {};
    const auto key = authorization.substr(bearer.size());
    std::string found;
    // No early exit: the time does not tell which key came close.
    for (const auto& k : a.api_keys)
        if (wire::constant_time_equal(key, k.secret) && found.empty()) found = k.name;
    return found;
}

std::string api::host_json(const inventory::site& s, const inventory::host& h) { return host_object(s, h).dump(); }

net::http_api_reply api::handle(std::string_view path, std::string_view query) const {
    return handle(net::http_api_request{"GET", path, query, "127.0.0.1:0", {}, 0x7f000001u});
}

net::http_api_reply api::handle(const net::http_api_request& request) const {
    const auto path = request.path;
    const bool post = request.method == "POST";
    try {
        // Reads only from access.api.read_from; POSTs prove themselves (a
        // token or a key) and are checked where they are handled.
        if (!post) {
            const auto s = site_ ? site_() : nullptr;
            // Either branch of a ?: with a temporary would copy the list per request.
            static const std::vector<wire::ipv4_network> no_nets;
            static const std::vector<std::string> no_names;
            const auto& nets = s ? s->access.api_read_from : no_nets;
            const bool allowed = request.peer_ipv4 && std::any_of(nets.begin(), nets.end(), [&](const auto& n) {
                                     return n.contains(wire::ipv4_address{*request.peer_ipv4});
                                 });
            if (!allowed)
                return error(403, "the API is not open to " + std::string(address_of(request.peer)) +
                                      " (access.api.read_from)");
            if (!host_allowed(request.host, s ? s->access.api_host_names : no_names, machine_name()))
                return error(421, misdirected(request.host));
        }
        if (path == "metrics") {
            if (post) return error(405, "use GET");
            if (!metrics_) return error(404, "metrics are off (server.metrics.enabled)");
            net::http_api_reply r;
            r.body = metrics_();
            r.content_type = std::string(metrics::registry::content_type);
            return r;
        }
        if (path == "api/v1") {
            if (post) return error(405, "use GET");
            return reply(200, json{{"endpoints",
                                    {"/api/v1/hosts", "/api/v1/hosts/<mac>", "/api/v1/hosts/<mac>/events",
                                     "/api/v1/unknown", "/api/v1/leases",
                                     "POST /api/v1/hosts/<mac>/install-done?token=<token>"}}});
        }
        if (path == "api/v1/leases") {
            if (post) return error(405, "use GET");
            const std::string raw = leases_ ? leases_() : std::string("[]");
            // Parsed, not passed through: a broken lease store must not hand
            // clients broken JSON with a 200.
            auto parsed = json::parse(raw, nullptr, false);
            if (parsed.is_discarded()) return error(500, "the lease store returned invalid JSON");
            return reply(200, parsed);
        }
        const auto s = site_ ? site_() : nullptr;
        if (!s) return error(500, "no site loaded");
        if (path == "api/v1/unknown") {
            if (post) return error(405, "use GET");
            if (!trace_) return error(404, "the boot trace is off (server.trace.enabled)");
            return reply(200, strangers_json(*trace_));
        }
        if (path == "api/v1/hosts") {
            if (post) return error(405, "use GET");
            const auto leases = leases_by_mac(leases_);
            json all = json::array();
            for (const auto& h : s->hosts)
                all.push_back(with_state(host_object(*s, h), h.mac, record_of(lifecycle_, h.mac), leases));
            return reply(200, all);
        }
        if (starts_with(path, "api/v1/hosts/")) {
            auto key = path.substr(13);
            std::string_view action;
            if (const auto slash = key.find('/'); slash != std::string_view::npos) {
                action = key.substr(slash + 1);
                key = key.substr(0, slash);
            }
            if (action == "events") {
                if (post) return error(405, "use GET");
                if (!trace_) return error(404, "the boot trace is off (server.trace.enabled)");
                const auto mac = trace_key(*s, *trace_, key);
                if (!mac)
                    return error(404, "\"" + wire::escape_for_log(key) +
                                          "\" is no MAC, no hostname of the inventory, and no address pxed knows");
                std::uint64_t after = 0;
                const auto a = wire::query_value(request.query, "after");
                if (!a.empty() && !parse_seq(a, after)) return error(400, "after= takes an event number");
                return reply(200, trace_object(*s, *trace_, lifecycle_, *mac, after));
            }
            if (!action.empty() && action != "install-done" && action != "reinstall" && action != "mark-installed")
                return error(404, "no such endpoint");
            if (post != !action.empty()) return error(405, post ? "use GET" : "use POST");
            if (!action.empty()) return host_action(*s, key, action, request);
            const auto* h = find_host(*s, key);
            if (!h)
                return error(404, "no host with MAC or hostname \"" + wire::escape_for_log(key) + "\" in the inventory");
            return reply(200,
                         with_state(host_object(*s, *h), h->mac, record_of(lifecycle_, h->mac), leases_by_mac(leases_)));
        }
        return error(404, "no such endpoint");
    } catch (const std::exception& e) {
        return error(500, e.what());
    }
}

net::http_api_reply api::host_action(const inventory::site& s, std::string_view host_key, std::string_view action,
                                     const net::http_api_request& request) const {
    const auto peer = std::string(address_of(request.peer));
    const fs::client who{request.peer_ipv4, {}, "api"};
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    auto refused = [&](unsigned status, const std::string& why) {
        if (guard_) guard_->refused(who, "POST " + std::string(request.path) + " from " + peer + ": " + why);
        return error(status, why);
    };
    if (guard_ && guard_->locked_out(who))
        return error(429, "too many refused requests from " + peer + " lately; try again in a minute");
    if (!lifecycle_) return error(404, "the host lifecycle is not running here");
    // The proof first, then the host: a caller without one learns nothing,
    // not even which hosts exist.
    std::string key_owner;
    if (action != "install-done") {
        // State changes by an operator need an API key: none configured,
        // none are possible over HTTP (docs/security.md).
        if (s.access.api_keys.empty())
            return error(403, "state changes over HTTP are disabled: no API key is configured (access.api.keys_file); "
                              "use `pxed " + std::string(action) + "` on the pxed host");
        if (request.authorization.empty()) return error(401, "this needs an API key: Authorization: Bearer <key>");
        key_owner = key_name(s.access, request.authorization);
        if (key_owner.empty()) return refused(401, "the API key is not one of access.api.keys_file's");
    }
    // The callback's refusals all read the same, word for word: no token,
    // a wrong one, an unknown host. None tells which hosts exist or which
    // MAC a hostname has; the log says which it was.
    const auto no_install = [&](const std::string& why) {
        if (guard_) guard_->refused(who, "POST " + std::string(request.path) + " from " + peer + ": " + why);
        return error(403, "no install under way here with this token");
    };
    const auto* hp = find_host(s, host_key);
    if (!hp) {
        if (action == "install-done")
            return no_install("no host with MAC or hostname \"" + wire::escape_for_log(host_key) + "\"");
        return error(404, "no host with MAC or hostname \"" + wire::escape_for_log(host_key) + "\" in the inventory");
    }
    const auto& h = *hp;
    lifecycle::answer a;
    if (action == "install-done") {
        const auto token = wire::query_value(request.query, "token");
        if (token.empty()) return no_install("no token=");
        a = lifecycle_->install_done(h.mac, token, "callback from " + peer, now);
        if (a.result == lifecycle::verdict::bad_token) return no_install(a.message);
    } else {
        const std::string by = "API key '" + key_owner + "' from " + peer;
        a = action == "reinstall" ? lifecycle_->reinstall(h.mac, by, now) : lifecycle_->mark_installed(h.mac, by, now);
        if (a.result == lifecycle::verdict::done || a.result == lifecycle::verdict::unchanged)
            spdlog::info("api: {} {} {}: {}", by, action, h.mac.to_string(), a.message);
    }
    const auto status = status_of(a.result);
    if (status != 200) return error(status, a.message);
    json o = json::object();
    o["mac"] = h.mac.to_string();
    if (const auto* r = record_of(lifecycle_, h.mac)) add_record(o, *r);
    o["message"] = a.message;
    return reply(200, o);
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

namespace pxed::app {
namespace {

std::vector<std::string> words(std::string_view line) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
        const auto b = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
        if (i > b) out.emplace_back(line.substr(b, i - b));
    }
    return out;
}

std::string answer_line(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

std::string refusal_line(const std::string& message) { return answer_line(json{{"ok", false}, {"message", message}}); }

}  // namespace

std::string api::control(std::string_view request, const std::string& who) const {
    auto answer = control_answer(request, who);
    // Changes log themselves (lifecycle: ...); a refusal is logged here.
    const auto j = json::parse(answer, nullptr, false);
    if (j.is_object() && !j.value("ok", false))
        spdlog::warn("control: refused \"{}\" from {}: {}", wire::escape_for_log(request, 200), who,
                     j.value("message", std::string("see the answer")));
    return answer;
}

std::string api::control_answer(std::string_view request, const std::string& who) const {
    const auto w = words(request);
    if (w.empty()) return refusal_line("empty request");
    const auto s = site_ ? site_() : nullptr;
    if (!s) return refusal_line("no site loaded");
    if (!lifecycle_) return refusal_line("the host lifecycle is not running");
    const auto& cmd = w[0];
    const auto now = static_cast<std::int64_t>(std::time(nullptr));

    if (cmd == "hosts") {
        const auto leases = leases_by_mac(leases_);
        json all = json::array();
        for (const auto& r : lifecycle_->tracker().all()) {
            const auto* h = s->find_host(r.mac);
            json o = h ? host_object(*s, *h) : json{{"mac", r.mac.to_string()},
                                                    {"hostname", r.hostname.empty() ? json(nullptr) : json(r.hostname)},
                                                    {"profile", r.profile.empty() ? json(nullptr) : json(r.profile)}};
            o["in_inventory"] = h != nullptr;
            all.push_back(with_state(std::move(o), r.mac, &r, leases));
        }
        return answer_line(json{{"ok", true}, {"hosts", all}});
    }
    if (cmd == "trace") {
        // "trace --unknown", "trace HOST", "trace HOST AFTER"
        if (!trace_) return refusal_line("the boot trace is off (server.trace.enabled in site.yaml)");
        if (w.size() == 2 && w[1] == "--unknown") return answer_line(json{{"ok", true}, {"unknown", strangers_json(*trace_)}});
        std::uint64_t after = 0;
        if (w.size() < 2 || w.size() > 3 || (w.size() == 3 && !parse_seq(w[2], after)))
            return refusal_line("trace takes a host (MAC, hostname or address) and optionally an event number");
        const auto mac = trace_key(*s, *trace_, w[1]);
        if (!mac)
            return refusal_line("'" + wire::escape_for_log(w[1], 64) +
                                "' is no MAC, no hostname in site.yaml, and no address pxed has seen");
        return answer_line(trace_object(*s, *trace_, lifecycle_, *mac, after));
    }
    if (cmd != "reinstall" && cmd != "mark-installed")
        return refusal_line("unknown command '" + wire::escape_for_log(cmd, 40) +
                            "' (hosts, reinstall, mark-installed, trace)");

    // Which hosts: every one named must be in the inventory, or nothing changes.
    std::vector<const inventory::host*> targets;
    std::vector<std::string> unknown;
    bool all = false;
    auto add = [&](const inventory::host* h) {
        if (std::find(targets.begin(), targets.end(), h) == targets.end()) targets.push_back(h);
    };
    for (std::size_t i = 1; i < w.size(); ++i) {
        if (w[i] == "--all") {
            all = true;
        } else if (w[i] == "--profile") {
            if (++i == w.size()) return refusal_line("--profile needs a profile name");
            if (!s->find_profile(w[i])) return refusal_line("no profile '" + wire::escape_for_log(w[i], 64) + "' in site.yaml");
            std::size_t n = 0;
            for (const auto& h : s->hosts)
                if (h.profile == w[i]) add(&h), ++n;
            if (n == 0) return refusal_line("no host uses profile '" + wire::escape_for_log(w[i], 64) + "'");
        } else if (const auto* h = find_host(*s, w[i])) {
            add(h);
        } else {
            unknown.push_back(wire::escape_for_log(w[i], 64));
        }
    }
    if (all)
        for (const auto& h : s->hosts) add(&h);
    if (!unknown.empty()) {
        std::string list;
        for (const auto& u : unknown) list += (list.empty() ? "" : ", ") + u;
        return refusal_line("not in the inventory: " + list + "; nothing changed");
    }
    if (targets.empty()) return refusal_line("name at least one host (MAC or hostname), --profile NAME or --all");

    json results = json::array();
    bool ok = true;
    const auto by = "pxed " + cmd + " (" + who + ")";
    for (const auto* h : targets) {
        const auto a = cmd == "reinstall" ? lifecycle_->reinstall(h->mac, by, now)
                                          : lifecycle_->mark_installed(h->mac, by, now);
        ok = ok && a.ok();
        json r = {{"mac", h->mac.to_string()}, {"ok", a.ok()}, {"message", a.message}};
        if (const auto* rec = lifecycle_->tracker().find(h->mac)) {
            r["state"] = store::to_string(rec->state);
            r["generation"] = rec->generation;
        }
        results.push_back(std::move(r));
    }
    return answer_line(json{{"ok", ok}, {"results", results}});
}

namespace {

std::string when(const json& t, std::int64_t now) {
    if (!t.is_number_integer()) return "-";
    const auto d = now - t.get<std::int64_t>();
    if (d < 0) return "just now";
    if (d < 120) return std::to_string(d) + "s ago";
    if (d < 7200) return std::to_string(d / 60) + "m ago";
    if (d < 172800) return std::to_string(d / 3600) + "h ago";
    return std::to_string(d / 86400) + "d ago";
}

std::string text_of(const json& o, const char* key) {
    if (!o.contains(key) || o[key].is_null()) return "-";
    if (o[key].is_string()) return o[key].get<std::string>();
    return o[key].dump();
}

}  // namespace

std::string hosts_table(const std::string& answer, std::int64_t now) {
    const auto j = json::parse(answer, nullptr, false);
    if (!j.is_object() || !j.value("ok", false) || !j.contains("hosts")) return {};
    std::ostringstream out;
    auto row = [&](const std::string& mac, const std::string& name, const std::string& state, const std::string& gen,
                   const std::string& profile, const std::string& ip, const std::string& lease, const std::string& seen,
                   const std::string& event) {
        out << std::left << std::setw(18) << mac << ' ' << std::setw(14) << name << ' ' << std::setw(10) << state << ' '
            << std::setw(4) << gen << ' ' << std::setw(12) << profile << ' ' << std::setw(15) << ip << ' '
            << std::setw(8) << lease << ' ' << std::setw(9) << seen << ' ' << event << '\n';
    };
    row("MAC", "HOSTNAME", "STATE", "GEN", "PROFILE", "IP", "LEASE", "SEEN", "LAST EVENT");
    for (const auto& h : j["hosts"]) {
        std::string ip = text_of(h, "ip"), lease = "-";
        if (h.contains("lease") && h["lease"].is_object()) {
            lease = text_of(h["lease"], "state");
            if (ip == "-") ip = text_of(h["lease"], "ip");
        }
        auto event = text_of(h, "last_event");
        if (!h.value("in_inventory", true)) event = "(not in site.yaml) " + event;
        row(text_of(h, "mac"), text_of(h, "hostname"), text_of(h, "state"), text_of(h, "generation"),
            text_of(h, "profile"), ip, lease, when(h.contains("last_seen") ? h["last_seen"] : json(), now), event);
    }
    return out.str();
}

std::string control_reply(bool ok, const std::string& message, const std::vector<std::string>& details) {
    json results = json::array();
    for (const auto& d : details) results.push_back(json{{"message", d}});
    return answer_line(json{{"ok", ok}, {"message", message}, {"results", results}});
}

std::string control_summary(const std::string& answer, bool& ok) {
    const auto j = json::parse(answer, nullptr, false);
    if (!j.is_object()) {
        ok = false;
        return "the daemon sent an answer that is not JSON\n";
    }
    ok = j.value("ok", false);
    std::string out;
    if (j.contains("message") && j["message"].is_string()) out += j["message"].get<std::string>() + "\n";
    if (j.contains("results"))
        for (const auto& r : j["results"]) out += text_of(r, "message") + "\n";
    return out;
}

// ---- `pxed trace` ---------------------------------------------------------------

bool trace_text(const std::string& answer, const trace_print& how, trace_follow& state, std::string& text) {
    const auto j = json::parse(answer, nullptr, false);
    if (!j.is_object() || !j.value("ok", false) || !j.contains("events")) return false;
    std::ostringstream out;
    const auto stage = j.value("stage", std::string("none"));
    std::vector<std::string> hints;
    if (j.contains("hints"))
        for (const auto& h : j["hints"])
            if (h.is_string()) hints.push_back(h.get<std::string>());
    if (how.header) {
        out << (j["hostname"].is_string() ? j["hostname"].get<std::string>() + " " : std::string()) << j.value("mac", "")
            << (j.value("in_inventory", false)
                    ? " (profile " + text_of(j, "profile") + ", state " + text_of(j, "state") + ")"
                    : std::string(" (not in site.yaml)"))
            << "\n";
        out << "stage:";
        for (const char* st : {"dhcp", "boot loader", "config", "kernel", "installer", "kickstart", "done"})
            out << (st == stage ? " [" + std::string(st) + "]" : " " + std::string(st)) << (std::string(st) == "done" ? "" : " >");
        if (stage == "none") out << "  (nothing yet)";
        out << "\n";
    }
    if (how.header || hints != state.hints)
        for (const auto& h : hints) out << "hint: " << h << "\n";
    state.hints = hints;
    const auto attempt = j.value("attempt_from", std::uint64_t{0});
    bool separated = !how.header;
    if (how.header && j["events"].empty()) out << "(no events)\n";
    if (how.header && !j["events"].empty()) out << "\n";
    for (const auto& o : j["events"]) {
        const auto e = event_of(o);
        if (how.header && !separated && e.seq >= attempt && e.seq != j["events"].front().value("seq", std::uint64_t{0})) {
            out << "---- latest boot attempt ----\n";
            separated = true;
        }
        if (e.seq >= attempt) separated = true;
        auto line = trace::format_line(e, how.utc);
        // --follow asks from the last event it has, which comes again when
        // it is a fold of packages that may have grown.
        if (!how.header && e.seq == state.last_seq && line == state.last_line) continue;
        out << line << "\n";
        if (e.seq >= state.last_seq) {
            state.last_seq = e.seq;
            state.last_line = std::move(line);
        }
    }
    if (!how.header && stage != state.stage && !state.stage.empty()) out << "stage: " << stage << "\n";
    state.stage = stage;
    text = out.str();
    return true;
}

std::string unknown_text(const std::string& answer, std::int64_t now) {
    const auto j = json::parse(answer, nullptr, false);
    if (!j.is_object() || !j.value("ok", false) || !j.contains("unknown")) return {};
    std::ostringstream out;
    if (j["unknown"].empty()) return "no MAC outside site.yaml has tried to boot\n";
    out << std::left << std::setw(18) << "MAC" << ' ' << std::setw(15) << "ADDRESS" << ' ' << std::setw(9) << "LAST SEEN"
        << ' ' << std::setw(6) << "EVENTS" << ' ' << "REQUEST\n";
    for (const auto& u : j["unknown"]) {
        const auto last = u.value("last_ms", std::int64_t{0}) / 1000;
        out << std::left << std::setw(18) << text_of(u, "mac") << ' ' << std::setw(15) << text_of(u, "client") << ' '
            << std::setw(9) << when(json(last), now) << ' ' << std::setw(6) << text_of(u, "events") << ' '
            << text_of(u, "detail") << '\n';
    }
    out << "\nTo adopt them, add to hosts: in site.yaml (then `systemctl reload pxed`):\n";
    for (const auto& u : j["unknown"])
        out << "  - {mac: \"" << text_of(u, "mac") << "\", hostname: CHANGEME, profile: CHANGEME}\n";
    return out.str();
}

}  // namespace pxed::app
