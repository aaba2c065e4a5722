#pragma once
/// The read-only JSON API the HTTP server answers under /api/v1:
///
///   GET /api/v1                 the endpoints
///   GET /api/v1/hosts           every host of the inventory
///   GET /api/v1/hosts/<mac>     one host (any MAC spelling, or its hostname)
///   GET /api/v1/leases          the DHCP leases, as the lease store lists them
///
/// JSON (nlohmann) stays inside api.cpp.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "pxed/inventory/site.hpp"
#include "pxed/net/http_server.hpp"

namespace pxed::app {

class api {
public:
    /// The site as currently loaded: a reload shows up in the next answer.
    using site_provider = std::function<std::shared_ptr<const inventory::site>()>;
    /// The leases as a JSON array (the DHCP lease store fills it in); unset
    /// answers "[]".
    using leases_provider = std::function<std::string()>;

    explicit api(site_provider site, leases_provider leases = {});

    /// `path` normalised without the leading slash ("api/v1/hosts"). Errors
    /// are JSON objects {"error": "..."} with 400, 404 or 500.
    net::http_api_reply handle(std::string_view path, std::string_view query) const;

    /// One host as the API shows it, for tests and `pxed render`-like tools.
    static std::string host_json(const inventory::site& s, const inventory::host& h);

private:
    site_provider site_;
    leases_provider leases_;
};

/// Why a rendered document that a host asked for is missing, for the HTTP
/// log and the 404 body ("no host with MAC 52:54:00:aa:bb:cc in the
/// inventory"); empty for paths that are not per-host documents, or whose
/// misses are routine (pxelinux and GRUB probing config names).
std::string explain_missing_document(const inventory::site& s, std::string_view path);

}  // namespace pxed::app
