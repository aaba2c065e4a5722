#pragma once
/// The live web dashboard (docs/dashboard.md), answered under /ui/ by the
/// HTTP server: the page (embedded from ui/), its JSON, a Server-Sent
/// Events stream of what changes, and sign-in with an API key for the
/// state changes (reinstall, mark installed), with a session cookie and a
/// CSRF token.
///
///   GET  /ui/                      the page; /ui/dashboard.js, /ui/dashboard.css
///   GET  /ui/api/hosts[?from=N&count=M]  inventory hosts as rows (1,000 a page), and the unknown MACs
///   GET  /ui/api/hosts/<mac>       one host: its row, trace, documents (secrets masked)
///   GET  /ui/api/site              config, reload result, services, subnets' pool usage
///   GET  /ui/api/transfers         TFTP/HTTP/FTP transfers running now
///   GET  /ui/api/stream            text/event-stream: hosts, transfers, site, reset
///   GET  /ui/api/session           signed in or not; the CSRF token
///   POST /ui/api/login             Authorization: Bearer <key> -> a session cookie
///   POST /ui/api/logout            X-CSRF-Token
///   POST /ui/api/action?do=reinstall|mark-installed&hosts=MAC,...&confirm=N   X-CSRF-Token
///
/// Reads follow the API's (access.api.read_from); everything is 404 when
/// server.dashboard.enabled is false. Runs on the event loop's thread.
/// JSON (nlohmann) stays inside dashboard.cpp.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "pxed/net/http_server.hpp"
#include "pxed/store/leases.hpp"
#include "pxed/wire/mac.hpp"

namespace pxed::net {
class transfer_board;
}
namespace pxed::inventory {
struct site;
struct host;
}

namespace pxed::app {

struct loaded_site;
class lifecycle_service;
class trace_service;
class access_guard;

/// What the daemon tells the dashboard about itself.
struct dashboard_status {
    std::string version;
    std::string config_path;
    std::int64_t started_at = 0;
    std::string instance;  ///< in a shared store; empty: none
    struct reload {
        std::int64_t at = 0;
        bool ok = true;
        std::string message;
        std::vector<std::string> details;
    };
    std::optional<reload> last_reload;
    struct service {
        std::string name;
        bool enabled = false;
        std::string listen;
        std::string detail;
    };
    std::vector<service> services;
};

struct dashboard_sources {
    std::function<std::shared_ptr<const loaded_site>()> site;
    lifecycle_service* lifecycle = nullptr;  ///< null: no states, no actions
    trace_service* trace = nullptr;          ///< null: no stages, no timelines
    access_guard* guard = nullptr;           ///< refusals counted towards lockouts
    std::function<std::vector<store::lease>()> leases;
    const net::transfer_board* transfers = nullptr;
    std::function<dashboard_status()> status;
};

class dashboard {
public:
    explicit dashboard(dashboard_sources sources);
    ~dashboard();
    dashboard(const dashboard&) = delete;
    dashboard& operator=(const dashboard&) = delete;

    /// A request whose path is "ui" or under "ui/".
    net::http_api_reply handle(const net::http_api_request& request);

    /// Every second on the loop: pushes to the live streams what changed
    /// (rows, unknown MACs, transfers, the site), pings, ends sessions.
    void tick(std::int64_t now_ms);

    /// A reload was applied: streams are told to fetch everything again.
    void site_changed();

    std::size_t streams() const { return streams_.size(); }
    std::size_t sessions() const { return sessions_.size(); }

    /// "********" in place of every secret of the host (its secrets, its
    /// install and kickstart tokens) and of kickstart password lines
    /// (rootpw, user --password, bootloader --password, URLs with a
    /// password): what the host page shows of a rendered document.
    static std::string mask(std::string text, const std::vector<std::string>& secrets);

private:
    struct session {
        std::string secret;
        std::string csrf;
        std::string key_name;
        std::string key_secret;  // the key it was opened with: a replaced key ends it
        std::int64_t created = 0;
        std::int64_t last_used = 0;
    };
    struct stream {
        std::shared_ptr<net::http_stream> out;
        std::string client;
    };
    struct trace_summary {
        std::string stage = "none";
        bool has_event = false;
        std::int64_t time_ms = 0;
        std::string kind;
        bool ok = true;
        std::string text;
    };

    net::http_api_reply route(const net::http_api_request& request, const std::string& path);
    net::http_api_reply open_stream(const net::http_api_request& request);
    net::http_api_reply login(const net::http_api_request& request);
    net::http_api_reply logout(const net::http_api_request& request);
    net::http_api_reply action(const net::http_api_request& request);
    net::http_api_reply session_answer(const net::http_api_request& request);
    /// The session the request's cookie names, if it is valid now.
    session* session_of(const net::http_api_request& request, std::int64_t now, std::uint64_t* id = nullptr);
    const trace_summary& summary_of(const wire::mac_address& mac, std::int64_t now_ms);
    /// One host's row as JSON text (without "v").
    std::string row_text(const inventory::site& s, const inventory::host& h, const store::lease* lease,
                         std::int64_t now, std::int64_t now_ms);
    std::string hosts_text(std::int64_t now, std::int64_t now_ms, std::size_t from, std::size_t count);
    std::string unknown_text() const;
    std::string site_text(const std::vector<store::lease>& leases) const;
    std::string transfers_text(std::int64_t now_ms, bool& any);
    net::http_api_reply host_page(const std::string& key, std::int64_t now_ms);
    void push_all(const std::string& bytes);
    /// Pushes the rows that changed: the traced ones, and with `slice`
    /// those of the next slice of the inventory that differ from what the
    /// streams were sent.
    void push_rows(std::int64_t now_ms, bool slice);

    dashboard_sources src_;
    std::map<std::uint64_t, session> sessions_;
    std::uint64_t next_session_ = 1;
    std::vector<stream> streams_;
    std::unordered_map<wire::mac_address, trace_summary> summaries_;  // cached per MAC, dropped when it changes
    std::unordered_set<wire::mac_address> dirty_;                     // rows to look at on the next tick
    std::unordered_map<wire::mac_address, std::uint64_t> sent_;       // each row as the streams last had it (a hash)
    bool unknown_dirty_ = false;
    std::uint64_t seen_seq_ = 0;  // the trace's last number at the last tick
    std::string unknown_sent_;
    std::string site_sent_;
    std::uint64_t version_ = 0;
    std::size_t cursor_ = 0;  // where the next slice starts
    std::int64_t last_full_ms_ = 0;
    std::int64_t last_ping_ms_ = 0;
    std::int64_t last_site_ms_ = 0;
    std::unordered_map<std::uint64_t, std::uint64_t> transfer_bytes_;  // bytes each transfer had at the last tick
    std::int64_t transfer_ms_ = 0;
    bool transfers_shown_ = false;
};

}  // namespace pxed::app
