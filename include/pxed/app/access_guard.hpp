#pragma once
/// Who may have a host's own documents and the API's state changes, as the
/// daemon runs it (docs/security.md): the address pxed bound to each MAC,
/// and one limit on refused requests per client shared by the file
/// servers and the API. Runs on the event loop's thread.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "pxed/engine/failure_limit.hpp"
#include "pxed/fs/namespace.hpp"
#include "pxed/wire/mac.hpp"

namespace pxed::app {

class access_guard {
public:
    /// Whether an address is the one pxed leased to a MAC (or, in
    /// proxyDHCP mode, the neighbour table maps to it).
    using bound_lookup = std::function<bool(const wire::mac_address&, std::uint32_t)>;

    explicit access_guard(guard::failure_limit::settings limits = {}) : limit_(limits) {}

    void set_bound_lookup(bound_lookup f) { bound_ = std::move(f); }
    bool bound_to(const wire::mac_address& mac, std::uint32_t address) const {
        return bound_ && bound_(mac, address);
    }

    /// Whether `who` is locked out now: its tokens and keys are not even
    /// compared until it has been quiet for the limit's window.
    bool locked_out(const fs::client& who) const;

    /// One refused request: counted, and logged at warn. Once the client is
    /// locked out its refusals are counted but no longer logged one by one.
    /// TFTP's are not counted (a UDP source is forged at will). At most
    /// lines_per_second refusals are logged, all clients together, and one
    /// line then says how many were not.
    /// `counted` false: logged only (a boot config asked for by a stranger:
    /// an unknown MAC's would not count either).
    void refused(const fs::client& who, const std::string& why, bool counted = true);

    const guard::failure_limit& limit() const { return limit_; }

private:
    static constexpr unsigned lines_per_second = 20;  // refusal lines, all clients together
    bound_lookup bound_;
    guard::failure_limit limit_;
    std::int64_t window_ = 0;
    unsigned lines_ = 0, lockout_lines_ = 0, dropped_ = 0;
};

/// The DNS-rebinding guard of the API's reads and the dashboard
/// (docs/security.md): whether a request's Host field names this server.
/// A web page of another site can point its own name at pxed's address;
/// the browser then sends that name, and pxed refuses it. Allowed: no
/// Host (not a browser), an IPv4 or [IPv6] literal, `localhost` and names
/// under `.localhost`, this machine's host name (`machine`, and its first
/// label), and `names` (access.api.host_names); any case, with or without
/// a port or a final dot.
bool host_allowed(std::string_view host, const std::vector<std::string>& names, std::string_view machine);

/// The answer's reason when host_allowed() says no: the name (escaped),
/// and the setting that would allow it.
std::string misdirected(std::string_view host);

/// This machine's host name (gethostname(2)), read once.
const std::string& machine_name();

}  // namespace pxed::app
