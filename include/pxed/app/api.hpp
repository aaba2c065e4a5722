#pragma once
/// The JSON API the HTTP server answers under /api/v1, and the control
/// socket's commands (`pxed hosts`, `pxed reinstall`, `pxed mark-installed`):
///
///   GET  /api/v1                          the endpoints
///   GET  /api/v1/hosts                    every host: inventory, lifecycle state, lease
///   GET  /api/v1/hosts/<mac>              one host (any MAC spelling, or its hostname)
///   GET  /api/v1/leases                   the DHCP leases, as the lease store lists them
///   POST /api/v1/hosts/<mac>/install-done?token=T   the installer's install-done callback
///   POST /api/v1/hosts/<mac>/reinstall    a new install generation   (API key)
///   POST /api/v1/hosts/<mac>/mark-installed                            (API key)
///   GET  /api/v1/hosts/<key>/events[?after=N]  a host's boot trace (key: MAC, hostname or address)
///   GET  /api/v1/unknown                  MACs outside the inventory that tried to boot
///   GET  /metrics                         Prometheus metrics (docs/metrics.md), when set_metrics() was called
///
/// Access (site.yaml's access.api, docs/security.md): GETs only from the
/// networks of access.api.read_from; state changes only with an API key
/// ("Authorization: Bearer <key>"), none at all when no key is configured;
/// the install-done callback from anywhere, its token being its proof.
/// Wrong keys and tokens count towards the client's lockout (429).
///
/// JSON (nlohmann) stays inside api.cpp.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pxed/inventory/site.hpp"
#include "pxed/net/http_server.hpp"

namespace pxed::app {
class lifecycle_service;
class access_guard;
class trace_service;
}

namespace pxed::app {

class api {
public:
    /// The site as currently loaded: a reload shows up in the next answer.
    using site_provider = std::function<std::shared_ptr<const inventory::site>()>;
    /// The leases as a JSON array (the DHCP lease store fills it in); unset
    /// answers "[]".
    using leases_provider = std::function<std::string()>;

    /// Without `lifecycle` the hosts have no state and the callback is 404;
    /// without `guard` refusals are not counted towards lockouts.
    explicit api(site_provider site, leases_provider leases = {}, lifecycle_service* lifecycle = nullptr,
                 access_guard* guard = nullptr);

    /// The Prometheus text GET /metrics answers (metrics::registry::expose),
    /// under the same access rule as the API's reads; unset: 404.
    using metrics_provider = std::function<std::string()>;
    void set_metrics(metrics_provider m) { metrics_ = std::move(m); }

    /// The boot trace the events endpoints and `trace` read (not owned);
    /// unset: they answer that the trace is off.
    void set_trace(const trace_service* t) { trace_ = t; }

    /// `path` normalised without the leading slash ("api/v1/hosts"). Errors
    /// are JSON objects {"error": "..."} with a 4xx or 500 status.
    net::http_api_reply handle(const net::http_api_request& request) const;
    /// A GET from 127.0.0.1, for tests.
    net::http_api_reply handle(std::string_view path, std::string_view query) const;

    /// One control socket request ("hosts", "reinstall web1 db1",
    /// "reinstall --profile centos7", "reinstall --all", "mark-installed
    /// web1"), answered as one JSON object {"ok", "message", "results",
    /// "hosts"} and a newline. Several hosts are all known or nothing
    /// changes.
    std::string control(std::string_view request, const std::string& who) const;

    /// One host as the API shows it, for tests and `pxed render`-like tools.
    static std::string host_json(const inventory::site& s, const inventory::host& h);

    /// The name of the key `authorization` ("Bearer <key>") carries, or
    /// empty; every key is compared, each in constant time.
    static std::string key_name(const inventory::access_settings& a, std::string_view authorization);

private:
    std::string control_answer(std::string_view request, const std::string& who) const;
    net::http_api_reply host_action(const inventory::site& s, std::string_view host_key, std::string_view action,
                                    const net::http_api_request& request) const;

    site_provider site_;
    leases_provider leases_;
    lifecycle_service* lifecycle_;
    access_guard* guard_;
    metrics_provider metrics_;
    const trace_service* trace_ = nullptr;
};

/// What `pxed hosts` prints for a control socket answer: a table, one host
/// a line (or the error); `now` for the relative times.
std::string hosts_table(const std::string& answer, std::int64_t now);

/// How `pxed trace` prints: the first answer with its header (host, stage,
/// hints), later ones (--follow) only with what is new.
struct trace_print {
    bool header = true;
    bool utc = false;
};
/// What --follow carries from one answer to the next.
struct trace_follow {
    std::uint64_t last_seq = 0;
    std::string last_line;  ///< as printed: a folded event is printed again only when it grew
    std::string stage;
    std::vector<std::string> hints;
};
/// A control socket `trace` answer as text in `out` (empty when --follow
/// has nothing new); false when the answer is a refusal.
bool trace_text(const std::string& answer, const trace_print& how, trace_follow& state, std::string& out);
/// A `trace --unknown` answer as a table, with hosts: lines to paste.
std::string unknown_text(const std::string& answer, std::int64_t now);

/// A control socket answer from the daemon itself (`pxed reload`): ok,
/// a message and one result line per detail (diagnostics, warnings).
std::string control_reply(bool ok, const std::string& message, const std::vector<std::string>& details);

/// The "message" and per-host results of a control socket answer, one a
/// line, and whether it was ok.
std::string control_summary(const std::string& answer, bool& ok);

/// Why a rendered document that a host asked for is missing, for the HTTP
/// log and the 404 body ("no host with MAC 52:54:00:aa:bb:cc in the
/// inventory"); empty for paths that are not per-host documents, or whose
/// misses are routine (pxelinux and GRUB probing config names).
std::string explain_missing_document(const inventory::site& s, std::string_view path);

}  // namespace pxed::app
