#pragma once
// Shared by the servers in net/ (a private header: spdlog stays out of
// include/). What a stranger can make a server log at will, garbage
// datagrams, refused requests, accept failures, is rate limited, and
// transfer log lines show a rate the same way everywhere.

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace pxed::net {

/// At most 20 messages per ten seconds; then one debug line saying how many
/// were held back.
class log_limiter {
public:
    using clock = std::chrono::steady_clock;

    /// `service` names the server in the "suppressed" line ("tftp").
    explicit log_limiter(const char* service) : service_(service) {}

    bool allow(clock::time_point now = clock::now()) {
        if (now - window_start_ >= std::chrono::seconds(10)) {
            if (suppressed_) spdlog::debug("{}: {} similar messages suppressed", service_, suppressed_);
            window_start_ = now;
            count_ = 0;
            suppressed_ = 0;
        }
        if (++count_ <= 20) return true;
        ++suppressed_;
        return false;
    }

private:
    const char* service_;
    clock::time_point window_start_{};
    unsigned count_ = 0;
    unsigned suppressed_ = 0;
};

/// "12.3 MB/s", or "-" for a zero duration.
inline std::string format_rate(std::uint64_t bytes, std::chrono::steady_clock::duration d) {
    const double secs = std::chrono::duration<double>(d).count();
    if (secs <= 0) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MB/s", static_cast<double>(bytes) / secs / 1e6);
    return buf;
}

}  // namespace pxed::net
