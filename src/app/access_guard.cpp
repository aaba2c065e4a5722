#include "pxed/app/access_guard.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "pxed/wire/ipv4.hpp"
#include "pxed/wire/text.hpp"

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

namespace {

std::string lowered(std::string_view text) {
    std::string out(text);
    for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!out.empty() && out.back() == '.') out.pop_back();
    return out;
}

}  // namespace

bool host_allowed(std::string_view host, const std::vector<std::string>& names, std::string_view machine) {
    if (host.empty()) return true;
    if (host.front() == '[') return host.find(']') != std::string_view::npos;  // an IPv6 literal
    if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
        const auto port = host.substr(colon + 1);
        if (port.empty() || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return false;
        host = host.substr(0, colon);
    }
    const auto name = lowered(host);
    if (name.empty()) return false;
    if (wire::ipv4_address::parse(name)) return true;
    constexpr std::string_view local = "localhost", under_local = ".localhost";
    if (name == local || (name.size() > under_local.size() &&
                          std::string_view(name).substr(name.size() - under_local.size()) == under_local))
        return true;
    if (!machine.empty()) {
        const auto own = lowered(machine);
        if (name == own || name == own.substr(0, own.find('.'))) return true;
    }
    return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return lowered(n) == name; });
}

std::string misdirected(std::string_view host) {
    return "'" + wire::escape_for_log(host, 128) +
           "' is not a name of this server: a page of another site may have pointed that name here (DNS "
           "rebinding); if it is this server's, add it to access.api.host_names";
}

const std::string& machine_name() {
    static const std::string name = [] {
        char buf[256] = {};
        if (::gethostname(buf, sizeof buf - 1) != 0) return std::string();
        return std::string(buf);
    }();
    return name;
}

}  // namespace pxed::app
