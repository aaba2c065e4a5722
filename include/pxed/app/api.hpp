#pragma once
/// The JSON API the HTTP server answers under /api/v1, and the control
/// socket's commands (`pxed hosts`, `pxed reinstall`, `pxed mark-installed`):
///
///   GET  /api/v1                          the endpoints
///   GET  /api/v1/hosts                    every host: inventory, lifecycle state, lease
///   GET  /api/v1/hosts/<mac>              one host (any MAC spelling, or its hostname)
///   GET  /api/v1/leases                   the DHCP leases, as the lease store lists them
///   POST /api/v1/hosts/<mac>/install-done?token=T   the installer's install-done callback
///   POST /api/v1/hosts/<mac>/reinstall, .../mark-installed: refused (403)
///        until API keys exist: state changes over HTTP are never open
///
/// JSON (nlohmann) stays inside api.cpp.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "pxed/inventory/site.hpp"
#include "pxed/net/http_server.hpp"

namespace pxed::app {
class lifecycle_service;
}

namespace pxed::app {

class api {
public:
    /// The site as currently loaded: a reload shows up in the next answer.
    using site_provider = std::function<std::shared_ptr<const inventory::site>()>;
    /// The leases as a JSON array (the DHCP lease store fills it in); unset
    /// answers "[]".
    using leases_provider = std::function<std::string()>;

    /// Without `lifecycle` the hosts have no state and the callback is 404.
    explicit api(site_provider site, leases_provider leases = {}, lifecycle_service* lifecycle = nullptr);

    /// `path` normalised without the leading slash ("api/v1/hosts"). Errors
    /// are JSON objects {"error": "..."} with a 4xx or 500 status.
    net::http_api_reply handle(const net::http_api_request& request) const;
    /// A GET, for tests.
    net::http_api_reply handle(std::string_view path, std::string_view query) const;

    /// One control socket request ("hosts", "reinstall web1 db1",
    /// "reinstall --profile centos7", "reinstall --all", "mark-installed
    /// web1"), answered as one JSON object {"ok", "message", "results",
    /// "hosts"} and a newline. Several hosts are all known or nothing
    /// changes.
    std::string control(std::string_view request, const std::string& who) const;

    /// One host as the API shows it, for tests and `pxed render`-like tools.
    static std::string host_json(const inventory::site& s, const inventory::host& h);

private:
    std::string control_answer(std::string_view request, const std::string& who) const;
    net::http_api_reply host_action(const inventory::site& s, const inventory::host& h, std::string_view action,
                                    const net::http_api_request& request) const;

    site_provider site_;
    leases_provider leases_;
    lifecycle_service* lifecycle_;
};

/// What `pxed hosts` prints for a control socket answer: a table, one host
/// a line (or the error); `now` for the relative times.
std::string hosts_table(const std::string& answer, std::int64_t now);

/// The "message" and per-host results of a control socket answer, one a
/// line, and whether it was ok.
std::string control_summary(const std::string& answer, bool& ok);

/// Why a rendered document that a host asked for is missing, for the HTTP
/// log and the 404 body ("no host with MAC 52:54:00:aa:bb:cc in the
/// inventory"); empty for paths that are not per-host documents, or whose
/// misses are routine (pxelinux and GRUB probing config names).
std::string explain_missing_document(const inventory::site& s, std::string_view path);

}  // namespace pxed::app
