#pragma once
/// Refused requests counted per client address (docs/security.md): a
/// client that keeps guessing tokens, API keys or other hosts' documents is
/// locked out for a while, so that guessing gets nowhere and a flood of
/// forged requests costs one lookup each. Pure: the caller passes the time.
///
/// A lockout only ever stops what needs a proof the client could be
/// guessing (a token, a key): a host's own requests, released by its
/// address, are never slowed by it. Memory is bounded: at most
/// `max_clients` addresses are tracked.

#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace pxed::guard {

using unix_time = std::int64_t;

class failure_limit {
public:
    struct settings {
        unsigned burst = 10;         ///< refusals allowed within `window` before the lockout
        unix_time window = 60;       ///< seconds; also how long a lockout lasts after the last refusal
        std::size_t max_clients = 4096;
    };

    failure_limit() : failure_limit(settings{}) {}
    explicit failure_limit(settings s) : settings_(s) {}

    /// One refusal of `client` at `now`. True when this one locked the
    /// client out (log it once, not every refusal after it).
    bool failed(std::uint32_t client, unix_time now);

    /// Whether `client` is locked out at `now`.
    bool locked_out(std::uint32_t client, unix_time now) const;

    /// Refusals of a locked-out client since its lockout began (for the
    /// line logged when it ends); 0 when it is not tracked.
    unsigned suppressed(std::uint32_t client) const;

    std::size_t tracked() const { return clients_.size(); }
    const settings& limits() const { return settings_; }

private:
    struct entry {
        unix_time window_start = 0;
        unix_time last = 0;
        unix_time locked_until = 0;
        unsigned count = 0;       ///< refusals in the current window
        unsigned suppressed = 0;  ///< refusals while locked out
    };
    void make_room(unix_time now);

    settings settings_;
    std::unordered_map<std::uint32_t, entry> clients_;
    unix_time last_sweep_ = -1;
};

}  // namespace pxed::guard
