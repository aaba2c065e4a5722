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
/// were held back. Give each kind of message a limiter of its own: one
/// shared by junk and by a warning lets a flood of junk hide the warning.
class log_limiter {
public:
    using clock = std::chrono::steady_clock;

    /// `service` names the server in the "suppressed" line ("tftp").
    explicit log_limiter(const char* service) : service_(service) {}
    /// `budget` messages per ten seconds; the "suppressed" line is logged
    /// at `summary` and names `what` ("tftp: 12 more transfers timed out
    /// unanswered suppressed"), for kinds an operator must see counted.
    log_limiter(const char* service, unsigned budget, spdlog::level::level_enum summary, const char* what)
        : service_(service), what_(what), budget_(budget), summary_(summary) {}

    bool allow(clock::time_point now = clock::now()) {
        if (now - window_start_ >= std::chrono::seconds(10)) {
            if (suppressed_) spdlog::log(summary_, "{}: {} {} suppressed", service_, suppressed_, what_);
            window_start_ = now;
            count_ = 0;
            suppressed_ = 0;
        }
        if (++count_ <= budget_) return true;
        ++suppressed_;
        return false;
    }

    /// allow() for a message at `level`: a level that is off spends none of
    /// the budget (debug lines about junk must not use it up while debug is
    /// off).
    bool allow(spdlog::level::level_enum level, clock::time_point now = clock::now()) {
        return spdlog::should_log(level) && allow(now);
    }

private:
    const char* service_;
    const char* what_ = "similar messages";
    unsigned budget_ = 20;
    spdlog::level::level_enum summary_ = spdlog::level::debug;
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
