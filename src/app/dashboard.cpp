// The live dashboard (docs/dashboard.md). The second translation unit that
// includes nlohmann/json (api.cpp is the other).

#include "pxed/app/dashboard.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "pxed/app/access_guard.hpp"
#include "pxed/app/api.hpp"
#include "pxed/app/lease_report.hpp"
#include "pxed/app/lifecycle_service.hpp"
#include "pxed/app/site_loader.hpp"
#include "pxed/app/trace_service.hpp"
#include "pxed/net/transfer_board.hpp"
#include "pxed/wire/text.hpp"
#include "pxed/wire/token.hpp"
#include "ui_assets.hpp"

namespace pxed::app {
namespace {

using json = nlohmann::json;
using wire::starts_with;

constexpr const char* cookie_name = "pxed_session";
constexpr std::size_t max_sessions = 64;
constexpr std::size_t max_unknown_shown = 200;
constexpr std::size_t max_transfers_shown = 200;
// Rows per answer of /ui/api/hosts (the page asks for the next page until
// it has them all), and rows a tick looks at again.
constexpr std::size_t max_page = 1000;
constexpr std::size_t slice_size = 1000;

// A decimal count ("" leaves `out` as it is).
bool parse_count(std::string_view text, std::size_t& out) {
    if (text.empty()) return true;
    if (text.size() > 9) return false;
    std::size_t v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<std::size_t>(c - '0');
    }
    out = v;
    return true;
}
// A tick whose changed rows come to more than this tells the streams to
// fetch everything again instead (a reload, a whole rack at once).
constexpr std::size_t max_push_bytes = 256 * 1024;

// Every answer under /ui/: the page runs only its own script and style,
// is framed by nobody, and sends no Referer (paths carry MACs).
void secure(net::http_api_reply& r) {
    r.fields.emplace_back("Content-Security-Policy",
                          "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                          "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    r.fields.emplace_back("X-Content-Type-Options", "nosniff");
    r.fields.emplace_back("Referrer-Policy", "no-referrer");
    r.fields.emplace_back("X-Frame-Options", "DENY");
}

net::http_api_reply reply(unsigned status, const json& body) {
    net::http_api_reply r;
    r.status = status;
    r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
    r.cache_control = "no-store";
    return r;
}

net::http_api_reply error(unsigned status, const std::string& message) {
    auto r = reply(status, json{{"error", message}});
    r.log = message;
    return r;
}

std::string_view address_of(std::string_view peer) {
    const auto colon = peer.rfind(':');
    return colon == std::string_view::npos ? peer : peer.substr(0, colon);
}

std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string hex_of(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = 1469598103934665603ull;
    for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    return h;
}

// "%3A" -> ":" and "+" -> " " in a query value (MACs in hosts=).
std::string percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else {
            out += s[i] == '+' ? ' ' : s[i];
        }
    }
    return out;
}

// The value of a cookie in a Cookie field ("a=1; pxed_session=x").
std::string_view cookie_value(std::string_view field, std::string_view name) {
    while (!field.empty()) {
        const auto semi = field.find(';');
        auto pair = field.substr(0, semi);
        while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
        if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=')
            return pair.substr(name.size() + 1);
        if (semi == std::string_view::npos) break;
        field.remove_prefix(semi + 1);
    }
    return {};
}

// A state change must come from a page of this server: a browser sends
// Origin with every POST; when it does, it must be this Host.
bool same_origin(const net::http_api_request& r) {
    if (r.origin.empty()) return true;  // not a browser (curl): the CSRF token still has to match
    return r.origin == "http://" + std::string(r.host) || r.origin == "https://" + std::string(r.host);
}

json time_or_null(std::int64_t t) { return t ? json(t) : json(nullptr); }

std::string sse(const std::string& event, const std::string& data) {
    std::string out;
    out.reserve(event.size() + data.size() + 16);
    out += "event: ";
    out += event;
    out += "\ndata: ";
    out += data;  // one line: JSON dumped without indentation has no newline
    out += "\n\n";
    return out;
}

const char* content_type_of(std::string_view name) {
    if (wire::ends_with(name, ".html")) return "text/html; charset=utf-8";
    if (wire::ends_with(name, ".js")) return "text/javascript; charset=utf-8";
    if (wire::ends_with(name, ".css")) return "text/css; charset=utf-8";
    if (wire::ends_with(name, ".svg")) return "image/svg+xml";
    if (wire::ends_with(name, ".png")) return "image/png";
    return "application/octet-stream";
}

const ui_assets::entry* asset(std::string_view name) {
    for (std::size_t i = 0; i < ui_assets::count; ++i)
        if (name == ui_assets::entries[i].name) return &ui_assets::entries[i];
    return nullptr;
}

// Passwords a kickstart or preseed may carry in its own text (not as a
// pxed secret): the value after these words on the line is masked.
void mask_password_lines(std::string& text) {
    static const char* const markers[] = {"rootpw ",      "--password=", "--password ", "--iscrypted ",
                                          "passwd/root-password ", "passwd/user-password ",
                                          "password_crypted ", "passwd/root-password-crypted ",
                                          "passwd/user-password-crypted "};
    std::size_t line_start = 0;
    while (line_start < text.size()) {
        auto line_end = text.find('\n', line_start);
        if (line_end == std::string::npos) line_end = text.size();
        std::string_view line(text.data() + line_start, line_end - line_start);
        for (const char* m : markers) {
            const auto at = line.find(m);
            if (at == std::string_view::npos) continue;
            // rootpw: everything after the options; the others: the next word.
            std::size_t from = at + std::char_traits<char>::length(m);
            const bool whole_rest = std::string_view(m) == "rootpw " || wire::starts_with(m, "passwd/");
            if (whole_rest) {
                // Keep options like --iscrypted / --plaintext / --lock visible.
                while (from < line.size() && line[from] == '-') {
                    const auto sp = line.find(' ', from);
                    if (sp == std::string_view::npos) break;
                    from = sp + 1;
                }
                // d-i ... password string VALUE: the value is the last word.
                if (wire::starts_with(m, "passwd/")) {
                    const auto last = line.rfind(' ');
                    if (last != std::string_view::npos && last + 1 > from) from = last + 1;
                }
            }
            std::size_t to = whole_rest ? line.size() : line.find(' ', from);
            if (to == std::string_view::npos) to = line.size();
            if (to > from) {
                text.replace(line_start + from, to - from, "********");
                line_end = text.find('\n', line_start);
                if (line_end == std::string::npos) line_end = text.size();
                line = std::string_view(text.data() + line_start, line_end - line_start);
            }
        }
        line_start = line_end + 1;
    }
    // user:password@ in URLs (url --url=http://u:p@host/..., repo lines).
    for (std::size_t at = text.find("://"); at != std::string::npos; at = text.find("://", at + 3)) {
        const auto start = at + 3;
        const auto end = text.find_first_of(" \t\n\"'/", start);
        const auto stop = end == std::string::npos ? text.size() : end;
        const auto amp = text.find('@', start);
        if (amp == std::string::npos || amp >= stop) continue;
        const auto colon = text.find(':', start);
        if (colon == std::string::npos || colon >= amp) continue;
        text.replace(colon + 1, amp - colon - 1, "********");
    }
}

}  // namespace

std::string dashboard::mask(std::string text, const std::vector<std::string>& secrets) {
    for (const auto& s : secrets) {
        if (s.size() < 4) continue;  // too short to tell from ordinary text; such a secret is weak anyway
        for (auto at = text.find(s); at != std::string::npos; at = text.find(s, at + 8)) text.replace(at, s.size(), "********");
    }
    mask_password_lines(text);
    return text;
}

dashboard::dashboard(dashboard_sources sources) : src_(std::move(sources)) {
    if (src_.trace)
        src_.trace->set_observer([this](const wire::mac_address& mac) {
            summaries_.erase(mac);
            if (streams_.empty()) return;
            dirty_.insert(mac);
        });
}

dashboard::~dashboard() {
    if (src_.trace) src_.trace->set_observer({});
    for (auto& s : streams_) s.out->close();
}

net::http_api_reply dashboard::handle(const net::http_api_request& request) {
    const auto loaded = src_.site ? src_.site() : nullptr;
    net::http_api_reply r;
    if (!loaded || !loaded->site) {
        r = error(503, "no site loaded");
    } else if (!loaded->site->server.dashboard.enabled) {
        r = error(404, "the dashboard is off (server.dashboard.enabled in site.yaml)");
    } else {
        const auto& nets = loaded->site->access.api_read_from;
        const bool allowed = request.peer_ipv4 && std::any_of(nets.begin(), nets.end(), [&](const auto& n) {
                                 return n.contains(wire::ipv4_address{*request.peer_ipv4});
                             });
        if (!allowed) {
            r = error(403, "the dashboard is not open to " + std::string(address_of(request.peer)) +
                               " (access.api.read_from)");
        } else if (!host_allowed(request.host, loaded->site->access.api_host_names, machine_name())) {
            r = error(421, misdirected(request.host));
        } else {
            try {
                r = route(request, std::string(request.path));
            } catch (const std::exception& e) {
                r = error(500, e.what());
            }
        }
    }
    secure(r);
    return r;
}

namespace {

using lease_index = std::unordered_map<wire::mac_address, const store::lease*>;

// The lease a MAC holds: the bound one wins over a remembered old one.
lease_index index_leases(const std::vector<store::lease>& leases) {
    lease_index by_mac;
    by_mac.reserve(leases.size());
    for (const auto& l : leases)
        if (l.mac) {
            auto& slot = by_mac[*l.mac];
            if (!slot || l.state == store::lease_state::bound) slot = &l;
        }
    return by_mac;
}

const store::lease* find_lease(const lease_index& index, const wire::mac_address& mac) {
    const auto it = index.find(mac);
    return it == index.end() ? nullptr : it->second;
}

std::optional<wire::mac_address> mac_of_key(const inventory::site& s, std::string_view key) {
    if (const auto mac = wire::mac_address::parse(key)) return mac;
    if (const auto* h = s.find_host_by_name(std::string(key))) return h->mac;
    return std::nullopt;
}

}  // namespace

const dashboard::trace_summary& dashboard::summary_of(const wire::mac_address& mac, std::int64_t now_ms) {
    const auto it = summaries_.find(mac);
    if (it != summaries_.end()) return it->second;
    trace_summary t;
    if (src_.trace) {
        const auto events = src_.trace->book().of(mac);
        if (!events.empty()) {
            const auto loaded = src_.site();
            trace::host_facts facts;
            facts.known = loaded->site->find_host(mac) != nullptr;
            const auto* r = src_.lifecycle ? src_.lifecycle->tracker().find(mac) : nullptr;
            facts.state = r ? store::to_string(r->state) : "";
            facts.proxy = loaded->site->server.dhcp.mode == inventory::dhcp_mode::proxy;
            t.stage = trace::to_string(trace::read(events, now_ms, facts).reached);
            const auto& e = events.back();
            t.has_event = true;
            t.time_ms = e.time_ms;
            t.kind = trace::to_string(e.k);
            t.ok = e.ok;
            t.text = e.what + (e.outcome.empty() ? "" : ": " + e.outcome);
            if (!e.detail.empty() && !e.ok) t.text += " (" + e.detail + ")";
        }
    }
    // Kept until the host's next event (the observer drops it).
    return summaries_.emplace(mac, std::move(t)).first->second;
}

namespace {

// A row is written by hand: nlohmann's tree and serialiser were most of a
// page's cost (100,000 rows took a second).
void put_string(std::string& out, std::string_view v) { wire::append_json_string(out, v); }

void put_key(std::string& out, const char* key) {
    if (out.back() != '{') out += ',';
    out += '"';
    out += key;
    out += "\":";
}

void put_text(std::string& out, const char* key, std::string_view v, bool null_if_empty = true) {
    put_key(out, key);
    if (v.empty() && null_if_empty)
        out += "null";
    else
        put_string(out, v);
}

void put_number(std::string& out, const char* key, std::int64_t v, bool null_if_zero) {
    put_key(out, key);
    out += v == 0 && null_if_zero ? std::string("null") : std::to_string(v);
}

}  // namespace

std::string dashboard::row_text(const inventory::site& s, const inventory::host& h, const store::lease* l,
                                std::int64_t now, std::int64_t now_ms) {
    (void)s;
    std::string o;
    o.reserve(320);
    o += '{';
    put_text(o, "mac", h.mac.to_string());
    put_text(o, "hostname", h.hostname);
    put_text(o, "profile", h.profile);
    const auto* r = src_.lifecycle ? src_.lifecycle->tracker().find(h.mac) : nullptr;
    put_text(o, "state", r ? store::to_string(r->state) : "");
    put_number(o, "generation", r ? r->generation : 0, !r);
    put_number(o, "last_seen", r ? r->last_seen : 0, true);
    put_key(o, "lease");
    if (l) {
        o += '{';
        put_text(o, "state", effective_state(*l, now));
        put_text(o, "ip", l->ip.to_string());
        put_number(o, "expires", l->ends, true);
        o += '}';
    } else {
        o += "null";
    }
    put_text(o, "ip", h.ip ? h.ip->to_string() : l ? l->ip.to_string() : std::string());
    const auto& t = summary_of(h.mac, now_ms);
    put_text(o, "stage", t.stage, false);
    put_key(o, "last_event");
    if (t.has_event || (r && !r->last_event.empty())) {
        o += '{';
        if (t.has_event) {
            put_number(o, "time_ms", t.time_ms, false);
            put_text(o, "kind", t.kind, false);
            put_key(o, "ok");
            o += t.ok ? "true" : "false";
            put_text(o, "text", t.text, false);
        } else {
            put_number(o, "time_ms", (r->last_seen ? r->last_seen : r->changed_at) * 1000, false);
            put_text(o, "kind", "lifecycle", false);
            put_key(o, "ok");
            o += "true";
            put_text(o, "text", r->last_event, false);
        }
        o += '}';
    } else {
        o += "null";
    }
    o += '}';
    return o;
}

std::string dashboard::hosts_text(std::int64_t now, std::int64_t now_ms, std::size_t from, std::size_t count) {
    const auto loaded = src_.site();
    const auto& s = *loaded->site;
    const auto leases = src_.leases ? src_.leases() : std::vector<store::lease>{};
    const auto index = index_leases(leases);
    // A page of rows at a time: 100,000 hosts in one answer would hold the
    // loop for a second. Built as text, row by row.
    const auto total = s.hosts.size();
    const auto first = std::min(from, total);
    const auto last = std::min(total, first + std::min(count, max_page));
    std::string out = "{\"now\":" + std::to_string(now) + ",\"total\":" + std::to_string(total) +
                      ",\"from\":" + std::to_string(first) +
                      ",\"next\":" + (last < total ? std::to_string(last) : std::string("null")) + ",\"hosts\":[";
    const auto v = ",\"v\":" + std::to_string(version_) + "}";
    for (auto i = first; i < last; ++i) {
        const auto& h = s.hosts[i];
        auto row = row_text(s, h, find_lease(index, h.mac), now, now_ms);
        row.pop_back();  // the closing brace: "v" goes in
        if (i != first) out += ',';
        out += row;
        out += v;
    }
    out += "]";
    if (first == 0) out += ",\"unknown\":" + unknown_text();
    out += "}";
    return out;
}

std::string dashboard::unknown_text() const {
    json out = json::array();
    if (!src_.trace) return out.dump();
    for (const auto& st : src_.trace->book().strangers()) {
        if (out.size() >= max_unknown_shown) break;
        out.push_back(json{{"mac", st.mac.to_string()},
                           {"client", st.client ? json(wire::ipv4_address(st.client).to_string()) : json(nullptr)},
                           {"first_seen_ms", st.first_ms},
                           {"last_seen_ms", st.last_ms},
                           {"events", st.events},
                           {"detail", st.detail}});
    }
    return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string dashboard::site_text(const std::vector<store::lease>& leases) const {
    const auto loaded = src_.site();
    const auto& s = *loaded->site;
    const auto st = src_.status ? src_.status() : dashboard_status{};
    const auto now = unix_now();
    json config{{"path", st.config_path.empty() ? s.source_file : st.config_path},
                {"loaded_at", s.loaded_at},
                {"hash", s.fingerprint},
                {"hosts", s.hosts.size()},
                {"profiles", s.profiles.size()},
                {"trees", s.trees.size()}};
    if (st.last_reload) {
        const auto& r = *st.last_reload;
        config["last_reload"] = json{{"at", r.at}, {"ok", r.ok}, {"message", r.message}, {"details", r.details}};
    } else {
        config["last_reload"] = nullptr;
    }
    json services = json::array();
    for (const auto& sv : st.services)
        services.push_back(json{{"name", sv.name}, {"enabled", sv.enabled}, {"listen", sv.listen}, {"detail", sv.detail}});
    json subnets = json::array();
    for (const auto& sn : s.subnets) {
        std::uint64_t size = 0;
        std::string pool;
        for (const auto& r : sn.ranges) {
            size += r.size();
            pool += (pool.empty() ? "" : ", ") + r.first.to_string() + "-" + r.last.to_string();
        }
        std::uint64_t used = 0, reserved = 0;
        for (const auto& l : leases)
            if (sn.in_dynamic_range(l.ip) && effective_state(l, now) == "bound") ++used;
        for (const auto& h : s.hosts)
            if (h.ip && sn.network.contains(*h.ip)) ++reserved;
        subnets.push_back(json{{"network", sn.network.to_string()},
                               {"pool", pool},
                               {"size", size},
                               {"used", used},
                               {"reserved", reserved},
                               {"relay_only", sn.relay_only}});
    }
    json o{{"version", st.version},
           {"instance", st.instance.empty() ? json(nullptr) : json(st.instance)},
           {"started_at", st.started_at},
           {"config", std::move(config)},
           {"services", std::move(services)},
           {"subnets", std::move(subnets)},
           {"trace", src_.trace != nullptr},
           {"lifecycle", src_.lifecycle != nullptr},
           {"keys_configured", !s.access.api_keys.empty()}};
    return o.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string dashboard::transfers_text(std::int64_t now_ms, bool& any) {
    json list = json::array();
    std::unordered_map<std::uint64_t, std::uint64_t> bytes;
    std::size_t total = 0;
    if (src_.transfers) {
        const auto all = src_.transfers->snapshot();
        total = all.size();
        const double secs = transfer_ms_ ? std::max(0.001, static_cast<double>(now_ms - transfer_ms_) / 1000.0) : 0;
        for (const auto& t : all) {
            bytes[t.id] = t.bytes;
            if (list.size() >= max_transfers_shown) continue;
            double rate = 0;
            const auto before = transfer_bytes_.find(t.id);
            if (before != transfer_bytes_.end() && secs > 0 && t.bytes >= before->second)
                rate = static_cast<double>(t.bytes - before->second) / secs;
            else if (now_ms > t.started_ms)
                rate = static_cast<double>(t.bytes) * 1000.0 / static_cast<double>(now_ms - t.started_ms);
            list.push_back(json{{"protocol", t.protocol},
                                {"client", wire::ipv4_address(t.client).to_string()},
                                {"path", t.path},
                                {"bytes", t.bytes},
                                {"size", t.size ? json(t.size) : json(nullptr)},
                                {"rate", static_cast<std::uint64_t>(rate)},
                                {"started_ms", t.started_ms}});
        }
    }
    transfer_bytes_ = std::move(bytes);
    transfer_ms_ = now_ms;
    any = total > 0;
    return json{{"now_ms", now_ms}, {"total", total}, {"transfers", std::move(list)}}.dump(
        -1, ' ', false, json::error_handler_t::replace);
}

net::http_api_reply dashboard::host_page(const std::string& key, std::int64_t now_ms) {
    const auto loaded = src_.site();
    const auto& s = *loaded->site;
    auto mac = mac_of_key(s, key);
    if (!mac && src_.trace)
        if (const auto ip = wire::ipv4_address::parse(key)) mac = src_.trace->mac_of(ip->value());
    if (!mac) return error(404, "\"" + wire::escape_for_log(key, 64) + "\" is no MAC and no hostname of the inventory");
    const auto* h = s.find_host(*mac);
    const bool traced = src_.trace && !src_.trace->book().of(*mac).empty();
    if (!h && !traced) return error(404, "no host " + mac->to_string() + " in the inventory, and pxed has not seen it");
    const auto now = unix_now();
    const auto leases = src_.leases ? src_.leases() : std::vector<store::lease>{};
    const auto index = index_leases(leases);
    const auto* l = find_lease(index, *mac);

    json o = json::object();
    o["in_inventory"] = h != nullptr;
    if (h) {
        o["host"] = json::parse(row_text(s, *h, l, now, now_ms));
        o["host"]["v"] = version_;
    } else {
        o["host"] = json{{"mac", mac->to_string()}, {"hostname", nullptr}, {"profile", nullptr}, {"state", nullptr},
                         {"stage", summary_of(*mac, now_ms).stage}, {"v", version_}};
    }
    o["lease"] = l ? json{{"ip", l->ip.to_string()},
                          {"state", effective_state(*l, now)},
                          {"starts", time_or_null(l->starts)},
                          {"expires", time_or_null(l->ends)},
                          {"hostname", l->hostname},
                          {"subnet", l->subnet}}
                   : json(nullptr);
    const auto* r = src_.lifecycle ? src_.lifecycle->tracker().find(*mac) : nullptr;
    if (r) {
        o["lifecycle"] = json{{"state", store::to_string(r->state)},
                              {"generation", r->generation},
                              {"install_started", time_or_null(r->install_started)},
                              {"install_done", time_or_null(r->install_done)},
                              {"changed_at", time_or_null(r->changed_at)},
                              {"changed_by", r->changed_by},
                              {"last_event", r->last_event}};
    } else {
        o["lifecycle"] = nullptr;
    }

    // The boot trace, as `pxed trace` reads it.
    json tr = json::object();
    if (src_.trace) {
        const auto events = src_.trace->book().of(*mac);
        trace::host_facts facts;
        facts.known = h != nullptr;
        facts.state = r ? store::to_string(r->state) : "";
        facts.proxy = s.server.dhcp.mode == inventory::dhcp_mode::proxy;
        const auto reading = trace::read(events, now_ms, facts);
        tr["stage"] = trace::to_string(reading.reached);
        tr["attempt_from"] = reading.attempt_from;
        tr["hints"] = reading.hints;
        json list = json::array();
        // The latest 500: an install fetches hundreds of files.
        const std::size_t from = events.size() > 500 ? events.size() - 500 : 0;
        for (std::size_t i = from; i < events.size(); ++i) {
            const auto& e = events[i];
            json ev{{"seq", e.seq},         {"time_ms", e.time_ms}, {"kind", trace::to_string(e.k)},
                    {"ok", e.ok},           {"what", e.what},       {"outcome", e.outcome},
                    {"detail", e.detail},   {"line", trace::format_line(e, true)}};
            if (!e.instance.empty()) ev["instance"] = e.instance;
            list.push_back(std::move(ev));
        }
        tr["events"] = std::move(list);
        tr["shown_from"] = from;
    } else {
        tr = json{{"stage", "none"}, {"hints", json::array({"the boot trace is off (server.trace.enabled)"})},
                  {"events", json::array()}};
    }
    o["trace"] = std::move(tr);

    // What the host gets now: its documents rendered for its current
    // state, every secret of it masked.
    json docs = json::array();
    if (h && loaded->renderer) {
        std::optional<render::host_status> status;
        if (src_.lifecycle) status = src_.lifecycle->status_source()->status(h->mac);
        std::vector<std::string> secrets;
        if (status) {
            secrets.push_back(status->token);
            secrets.push_back(status->access_token);
        }
        for (const auto& [name, v] : h->secret_values) secrets.push_back(v.value);
        if (const auto* p = s.find_profile(h->profile))
            for (const auto& [name, v] : p->secret_values) secrets.push_back(v.value);
        const std::string grub_dir = s.boot.grub_dir.empty() ? std::string{} : s.boot.grub_dir + "/";
        const std::string dashed = h->mac.to_dashed();
        struct kind_row {
            render::document_kind kind;
            const char* name;
            std::string path;
        };
        std::vector<kind_row> kinds{{render::document_kind::pxelinux, "pxelinux", "pxelinux.cfg/01-" + dashed},
                                    {render::document_kind::grub, "grub", grub_dir + "grub.cfg-01-" + dashed},
                                    {render::document_kind::ipxe, "ipxe", "ipxe/" + dashed}};
        const auto* p = s.find_profile(h->profile);
        if (p && !p->kickstart.empty()) kinds.push_back({render::document_kind::kickstart, "kickstart", "ks/" + dashed + ".ks"});
        for (const auto& k : kinds) {
            const auto out = loaded->renderer->host_config(k.kind, *h, status ? &*status : nullptr);
            json d{{"kind", k.name}, {"path", k.path}};
            if (out.ok())
                d["body"] = mask(out.text, secrets);
            else
                d["error"] = mask(out.error, secrets);
            docs.push_back(std::move(d));
        }
    }
    o["documents"] = std::move(docs);
    return reply(200, o);
}

net::http_api_reply dashboard::route(const net::http_api_request& request, const std::string& path) {
    const bool post = request.method == "POST";
    // The page and its two files.
    if (path == "ui" || path == "ui/index.html" || path == "ui/dashboard.js" || path == "ui/dashboard.css") {
        if (post) return error(405, "use GET");
        const std::string name = path == "ui" ? "index.html" : path.substr(3);
        const auto* a = asset(name);
        if (!a) return error(404, "the page is not built into this pxed");
        net::http_api_reply r;
        r.body.assign(a->data, a->size);
        r.content_type = content_type_of(name);
        r.etag = "\"" + hex_of(fnv1a(r.body)) + "\"";
        r.cache_control = "no-cache";  // revalidated (ETag): a new pxed's page is seen at once
        return r;
    }
    if (path == "ui/api/login") return post ? login(request) : error(405, "use POST");
    if (path == "ui/api/logout") return post ? logout(request) : error(405, "use POST");
    if (path == "ui/api/action") return post ? action(request) : error(405, "use POST");
    if (post) return error(405, "use GET");
    if (path == "ui/api/session") return session_answer(request);
    if (path == "ui/api/stream") return open_stream(request);

    const auto now = unix_now();
    const auto now_ms = net::unix_ms_now();
    if (path == "ui/api/hosts") {
        auto r = reply(200, json::object());
        std::size_t from = 0, count = max_page;
        if (!parse_count(wire::query_value(request.query, "from"), from) ||
            !parse_count(wire::query_value(request.query, "count"), count))
            return error(400, "from= and count= take numbers");
        r.body = hosts_text(now, now_ms, from, count);
        return r;
    }
    if (starts_with(path, "ui/api/hosts/")) return host_page(percent_decode(path.substr(13)), now_ms);
    if (path == "ui/api/site") {
        auto r = reply(200, json::object());
        r.body = site_text(src_.leases ? src_.leases() : std::vector<store::lease>{});
        return r;
    }
    if (path == "ui/api/transfers") {
        auto r = reply(200, json::object());
        bool any = false;
        // Rates need two looks: this one is measured since the stream's last tick.
        r.body = transfers_text(now_ms, any);
        return r;
    }
    return error(404, "no such page");
}

// ---- sessions -------------------------------------------------------------

dashboard::session* dashboard::session_of(const net::http_api_request& request, std::int64_t now, std::uint64_t* id_out) {
    const auto value = cookie_value(request.cookie, cookie_name);
    const auto dot = value.find('.');
    if (value.empty() || dot == std::string_view::npos || dot == 0 || dot > 19) return nullptr;
    std::uint64_t id = 0;
    for (char c : value.substr(0, dot)) {
        if (c < '0' || c > '9') return nullptr;
        id = id * 10 + static_cast<std::uint64_t>(c - '0');
    }
    const auto it = sessions_.find(id);
    if (it == sessions_.end()) return nullptr;
    auto& sn = it->second;
    if (!wire::constant_time_equal(value.substr(dot + 1), sn.secret)) return nullptr;
    const auto loaded = src_.site();
    const auto& d = loaded->site->server.dashboard;
    // Ended by time, or its key is gone from the keys file (a reload).
    // The same name with another key counts as gone: a key replaced
    // because it leaked must end the sessions it opened.
    const bool key_still_there =
        std::any_of(loaded->site->access.api_keys.begin(), loaded->site->access.api_keys.end(), [&](const auto& k) {
            return k.name == sn.key_name && wire::constant_time_equal(k.secret, sn.key_secret);
        });
    if (now - sn.last_used > d.session_idle.count() || now - sn.created > d.session_max_age.count() || !key_still_there) {
        spdlog::info("dashboard: session of API key '{}' ended ({})", sn.key_name,
                     key_still_there ? "expired" : "its key is no longer in access.api.keys_file");
        sessions_.erase(it);
        return nullptr;
    }
    sn.last_used = now;
    if (id_out) *id_out = id;
    return &sn;
}

net::http_api_reply dashboard::session_answer(const net::http_api_request& request) {
    const auto loaded = src_.site();
    const auto now = unix_now();
    json o{{"keys_configured", !loaded->site->access.api_keys.empty()}, {"signed_in", false}};
    if (auto* sn = session_of(request, now)) {
        o["signed_in"] = true;
        o["key"] = sn->key_name;
        o["csrf"] = sn->csrf;
        o["expires"] = std::min(sn->last_used + loaded->site->server.dashboard.session_idle.count(),
                                sn->created + loaded->site->server.dashboard.session_max_age.count());
    }
    return reply(200, o);
}

net::http_api_reply dashboard::login(const net::http_api_request& request) {
    const auto loaded = src_.site();
    const auto& s = *loaded->site;
    const auto peer = std::string(address_of(request.peer));
    const fs::client who{request.peer_ipv4, {}, "dashboard"};
    if (src_.guard && src_.guard->locked_out(who))
        return error(429, "too many refused requests from " + peer + " lately; try again in a minute");
    if (!same_origin(request)) return error(403, "a sign-in from another site's page is refused (Origin)");
    if (s.access.api_keys.empty())
        return error(403, "signing in is disabled: no API key is configured (access.api.keys_file)");
    if (request.authorization.empty()) return error(401, "sign in with an API key: Authorization: Bearer <key>");
    const auto name = api::key_name(s.access, request.authorization);
    if (name.empty()) {
        if (src_.guard) src_.guard->refused(who, "dashboard sign-in from " + peer + ": not a key of access.api.keys_file");
        return error(401, "that is not one of the API keys of access.api.keys_file");
    }
    const auto now = unix_now();
    while (sessions_.size() >= max_sessions) {
        // The least recently used goes.
        auto oldest = sessions_.begin();
        for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
            if (it->second.last_used < oldest->second.last_used) oldest = it;
        sessions_.erase(oldest);
    }
    const auto id = next_session_++;
    session sn;
    sn.secret = wire::random_token(32);
    sn.csrf = wire::random_token(32);
    sn.key_name = name;
    for (const auto& k : s.access.api_keys)
        if (k.name == name) sn.key_secret = k.secret;
    sn.created = sn.last_used = now;
    const auto& d = s.server.dashboard;
    auto r = reply(200, json{{"signed_in", true},
                             {"key", name},
                             {"csrf", sn.csrf},
                             {"expires", now + std::min(d.session_idle.count(), d.session_max_age.count())},
                             {"keys_configured", true}});
    r.fields.emplace_back("Set-Cookie", std::string(cookie_name) + "=" + std::to_string(id) + "." + sn.secret +
                                            "; Path=/ui/; HttpOnly; SameSite=Strict; Max-Age=" +
                                            std::to_string(d.session_max_age.count()));
    sessions_.emplace(id, std::move(sn));
    spdlog::info("dashboard: API key '{}' signed in from {}", name, peer);
    return r;
}

net::http_api_reply dashboard::logout(const net::http_api_request& request) {
    std::uint64_t id = 0;
    auto* sn = session_of(request, unix_now(), &id);
    auto r = reply(200, json{{"signed_in", false}});
    if (sn && wire::constant_time_equal(request.csrf_token, sn->csrf)) {
        spdlog::info("dashboard: API key '{}' signed out from {}", sn->key_name, address_of(request.peer));
        sessions_.erase(id);
    } else if (sn) {
        return error(403, "the request has no valid CSRF token (X-CSRF-Token)");
    }
    r.fields.emplace_back("Set-Cookie", std::string(cookie_name) + "=; Path=/ui/; HttpOnly; SameSite=Strict; Max-Age=0");
    return r;
}

net::http_api_reply dashboard::action(const net::http_api_request& request) {
    const auto loaded = src_.site();
    const auto& s = *loaded->site;
    const auto peer = std::string(address_of(request.peer));
    const fs::client who{request.peer_ipv4, {}, "dashboard"};
    const auto now = unix_now();
    if (src_.guard && src_.guard->locked_out(who))
        return error(429, "too many refused requests from " + peer + " lately; try again in a minute");
    auto refused = [&](unsigned status, const std::string& why) {
        if (src_.guard) src_.guard->refused(who, "dashboard action from " + peer + ": " + why);
        return error(status, why);
    };
    auto* sn = session_of(request, now);
    if (!sn) return error(401, "sign in with an API key first (or the session has ended)");
    if (!same_origin(request)) return refused(403, "an action from another site's page is refused (Origin)");
    if (request.csrf_token.empty() || !wire::constant_time_equal(request.csrf_token, sn->csrf))
        return refused(403, "the request has no valid CSRF token (X-CSRF-Token)");
    if (!src_.lifecycle) return error(404, "the host lifecycle is not running here");
    const auto what = wire::query_value(request.query, "do");
    if (what != "reinstall" && what != "mark-installed") return error(400, "do= takes reinstall or mark-installed");
    // hosts=MAC,MAC,... : every one in the inventory, or nothing changes.
    std::vector<const inventory::host*> targets;
    std::vector<std::string> unknown;
    const auto list = percent_decode(wire::query_value(request.query, "hosts"));
    std::size_t at = 0;
    while (at <= list.size()) {
        auto comma = list.find(',', at);
        if (comma == std::string::npos) comma = list.size();
        const auto item = std::string_view(list).substr(at, comma - at);
        at = comma + 1;
        if (item.empty()) continue;
        const auto mac = wire::mac_address::parse(item);
        const auto* h = mac ? s.find_host(*mac) : nullptr;
        if (!h)
            unknown.push_back(wire::escape_for_log(item, 40));
        else if (std::find(targets.begin(), targets.end(), h) == targets.end())
            targets.push_back(h);
    }
    if (!unknown.empty()) {
        std::string names;
        for (const auto& u : unknown) names += (names.empty() ? "" : ", ") + u;
        return error(404, "not in the inventory: " + names + "; nothing changed");
    }
    if (targets.empty()) return error(400, "hosts= names no host (MACs, comma-separated)");
    // A bulk action states how many hosts it means: a page that lost
    // track of its selection changes nothing.
    const auto confirm = wire::query_value(request.query, "confirm");
    if (targets.size() > 1 && confirm != std::to_string(targets.size()))
        return error(400, "an action on " + std::to_string(targets.size()) + " hosts needs confirm=" +
                              std::to_string(targets.size()));
    const std::string by = "API key '" + sn->key_name + "' from " + peer + " (dashboard)";
    json results = json::array();
    bool ok = true;
    std::size_t changed = 0;
    for (const auto* h : targets) {
        const auto a = what == "reinstall" ? src_.lifecycle->reinstall(h->mac, by, now)
                                           : src_.lifecycle->mark_installed(h->mac, by, now);
        ok = ok && a.ok();
        if (a.result == lifecycle::verdict::done) ++changed;
        json one{{"mac", h->mac.to_string()}, {"ok", a.ok()}, {"message", a.message}};
        if (const auto* rec = src_.lifecycle->tracker().find(h->mac)) {
            one["state"] = store::to_string(rec->state);
            one["generation"] = rec->generation;
        }
        results.push_back(std::move(one));
        summaries_.erase(h->mac);
        if (!streams_.empty()) dirty_.insert(h->mac);
    }
    spdlog::info("dashboard: API key '{}' from {}: {} {} host(s): {} changed{}", sn->key_name, peer, what,
                 targets.size(), changed,
                 ok ? "" : ", some refused (see the lifecycle lines)");
    return reply(200, json{{"ok", ok}, {"results", std::move(results)}});
}

// ---- the live stream ----------------------------------------------------------

net::http_api_reply dashboard::open_stream(const net::http_api_request& request) {
    const auto loaded = src_.site();
    const auto& d = loaded->site->server.dashboard;
    streams_.erase(std::remove_if(streams_.begin(), streams_.end(), [](const stream& s) { return !s.out->open(); }),
                   streams_.end());
    const auto client = std::string(address_of(request.peer));
    const auto mine = static_cast<std::size_t>(
        std::count_if(streams_.begin(), streams_.end(), [&](const stream& s) { return s.client == client; }));
    if (streams_.size() >= d.max_streams)
        return error(503, "too many live dashboards open (server.dashboard.max_streams); try again later");
    if (mine >= d.max_streams_per_client)
        return error(503, "too many live dashboards open from " + client + " (server.dashboard.max_streams_per_client)");
    net::http_api_reply r;
    r.content_type = "text/event-stream; charset=utf-8";
    r.cache_control = "no-store";
    // The browser reconnects after 3 s when the stream ends.
    r.body = "retry: 3000\n: pxed dashboard stream\n\n";
    r.fields.emplace_back("X-Accel-Buffering", "no");
    r.stream = [this, client](std::shared_ptr<net::http_stream> out) {
        streams_.erase(std::remove_if(streams_.begin(), streams_.end(), [](const stream& s) { return !s.out->open(); }),
                       streams_.end());
        // The first stream: rows are learnt as they are looked at (the
        // page fetches the snapshot itself); changes from here on are
        // pushed.
        if (streams_.empty()) {
            sent_.clear();
            dirty_.clear();
            unknown_sent_ = unknown_text();
            unknown_dirty_ = false;
        }
        streams_.push_back({std::move(out), client});
    };
    return r;
}

void dashboard::push_all(const std::string& bytes) {
    for (auto& s : streams_) s.out->push(bytes);
    streams_.erase(std::remove_if(streams_.begin(), streams_.end(), [](const stream& s) { return !s.out->open(); }),
                   streams_.end());
}

void dashboard::site_changed() {
    summaries_.clear();
    sent_.clear();
    dirty_.clear();
    last_site_ms_ = 0;  // the site panel on the next tick
    if (streams_.empty()) return;
    // Hosts came or went: the pages fetch everything again, and changes
    // count from what they will get.
    push_all(sse("reset", "{}"));
    unknown_sent_ = unknown_text();
}

void dashboard::push_rows(std::int64_t now_ms, bool slice) {
    const auto loaded = src_.site();
    const auto& s = *loaded->site;
    if (dirty_.empty() && !slice) return;
    const auto now = now_ms / 1000;
    const auto leases = src_.leases ? src_.leases() : std::vector<store::lease>{};
    const auto index = index_leases(leases);
    std::string rows;
    std::size_t n = 0;
    bool overflow = false;
    // `changed`: a traced host, pushed even when the streams never had its
    // row; the slice only pushes rows that differ from what was sent.
    auto look = [&](const inventory::host& h, bool changed) {
        auto text = row_text(s, h, find_lease(index, h.mac), now, now_ms);
        // What was sent is kept as a hash: 100,000 rows' texts would be 30 MB.
        const auto hash = fnv1a(text);
        const auto it = sent_.find(h.mac);
        if (it == sent_.end()) {
            sent_.emplace(h.mac, hash);
            if (!changed) return;  // a first look: the page's snapshot has it
        } else {
            if (it->second == hash) return;
            it->second = hash;
        }
        if (rows.size() > max_push_bytes) {
            overflow = true;
            return;
        }
        text.pop_back();
        rows += (n++ ? "," : "") + text + ",\"v\":" + std::to_string(++version_) + "}";
    };
    for (const auto& mac : dirty_)
        if (const auto* h = s.find_host(mac)) look(*h, true);
    dirty_.clear();
    if (slice && !s.hosts.empty()) {
        // A slice of every row, round and round: leases that ended,
        // last-seen times, a change nothing traced. Bounded work per tick
        // however big the inventory.
        for (std::size_t i = 0; i < slice_size && i < s.hosts.size(); ++i) {
            if (cursor_ >= s.hosts.size()) cursor_ = 0;
            look(s.hosts[cursor_++], false);
        }
    }
    if (overflow) {
        // A whole rack changed at once: the pages fetch everything again.
        push_all(sse("reset", "{}"));
        return;
    }
    std::string unknown;
    if (unknown_dirty_) {
        unknown = unknown_text();
        if (unknown == unknown_sent_)
            unknown.clear();
        else
            unknown_sent_ = unknown;
        unknown_dirty_ = false;
    }
    if (n == 0 && unknown.empty()) return;
    std::string data = "{\"hosts\":[" + rows + "]";
    if (!unknown.empty()) data += ",\"unknown\":" + unknown;
    data += "}";
    push_all(sse("hosts", data));
}

void dashboard::tick(std::int64_t now_ms) {
    // Sessions past their time go, streams or not.
    const auto now = now_ms / 1000;
    if (!sessions_.empty()) {
        const auto loaded = src_.site();
        const auto& d = loaded->site->server.dashboard;
        for (auto it = sessions_.begin(); it != sessions_.end();)
            if (now - it->second.last_used > d.session_idle.count() || now - it->second.created > d.session_max_age.count())
                it = sessions_.erase(it);
            else
                ++it;
    }
    streams_.erase(std::remove_if(streams_.begin(), streams_.end(), [](const stream& s) { return !s.out->open(); }),
                   streams_.end());
    if (streams_.empty()) {
        dirty_.clear();
        sent_.clear();
        transfers_shown_ = false;
        return;
    }
    // The traced rows each second; a slice of all rows every 5 s.
    const bool slice = now_ms - last_full_ms_ >= 5000;
    if (slice) last_full_ms_ = now_ms;
    if (src_.trace) {
        // Strangers: is the list different? Only when something new was
        // recorded (cheap to ask, costly to build).
        const auto seq = src_.trace->book().last_seq();
        if (seq != seen_seq_) unknown_dirty_ = true, seen_seq_ = seq;
    }
    push_rows(now_ms, slice);
    bool any = false;
    const auto transfers = transfers_text(now_ms, any);
    if (any || transfers_shown_) push_all(sse("transfers", transfers));
    transfers_shown_ = any;
    if (now_ms - last_site_ms_ >= 5000) {
        last_site_ms_ = now_ms;
        auto site = site_text(src_.leases ? src_.leases() : std::vector<store::lease>{});
        if (site != site_sent_) {
            if (!site_sent_.empty()) push_all(sse("site", site));
            site_sent_ = std::move(site);
        }
    }
    if (now_ms - last_ping_ms_ >= 15000) {
        last_ping_ms_ = now_ms;
        push_all(": ping\n\n");
    }
}

}  // namespace pxed::app
