#include "pxed/app/access_guard.hpp"

#include <spdlog/spdlog.h>

#include <ctime>

namespace pxed::app {
namespace {
std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }
}  // namespace


bool access_guard::locked_out(const fs::client& who) const {
    return who.ipv4 && limit_.locked_out(*who.ipv4, now());
}

void access_guard::refused(const fs::client& who, const std::string& why, bool counted) {
    const auto proto = who.protocol.empty() ? std::string("access") : who.protocol;
    const auto t = now();
    // A UDP source address is anyone's to forge: TFTP refusals do not count
    // towards a lockout (or a forger could lock a host out of its own
    // install-done callback). They carry no token to guess anyway.
    bool quiet = false, locked = false;
    if (counted && who.ipv4 && !who.forgeable_source()) {
        quiet = limit_.locked_out(*who.ipv4, t);
        locked = limit_.failed(*who.ipv4, t);
    }
    // Lines, all clients together, are limited: a flood from many addresses
    // must not fill the disk. A lockout has a budget of its own, so that
    // refusals cannot crowd it out.
    if (t != window_) {
        if (dropped_ > 0) spdlog::warn("access: {} more refusals in the last second not logged one by one", dropped_);
        window_ = t;
        lines_ = 0;
        lockout_lines_ = 0;
        dropped_ = 0;
    }
    if (locked && ++lockout_lines_ <= lines_per_second)
        spdlog::warn("access: {} locked out after {} refused requests within {} s: its tokens and API keys are not "
                     "looked at, and its refusals not logged, until it has been quiet for {} s",
                     who.address_text(), limit_.limits().burst, limit_.limits().window, limit_.limits().window);
    if (quiet) return;  // counted; its lockout was logged when it began
    if (++lines_ > lines_per_second) {
        ++dropped_;
        return;
    }
    spdlog::warn("{}: refused: {}", proto, why);
}

}  // namespace pxed::app
