#include "pxed/engine/failure_limit.hpp"

namespace pxed::guard {

bool failure_limit::failed(std::uint32_t client, unix_time now) {
    auto it = clients_.find(client);
    if (it == clients_.end()) {
        make_room(now);
        it = clients_.emplace(client, entry{now, now, 0, 0, 0}).first;
    }
    auto& e = it->second;
    e.last = now;
    if (e.locked_until > now) {
        // Still guessing: the lockout runs on from this refusal.
        e.locked_until = now + settings_.window;
        ++e.suppressed;
        return false;
    }
    if (now - e.window_start >= settings_.window) {
        e.window_start = now;
        e.count = 0;
        e.suppressed = 0;
    }
    if (++e.count < settings_.burst) return false;
    e.locked_until = now + settings_.window;
    return true;
}

bool failure_limit::locked_out(std::uint32_t client, unix_time now) const {
    const auto it = clients_.find(client);
    return it != clients_.end() && it->second.locked_until > now;
}

unsigned failure_limit::suppressed(std::uint32_t client) const {
    const auto it = clients_.find(client);
    return it == clients_.end() ? 0 : it->second.suppressed;
}

// Forgets clients whose window and lockout are over (a sweep at most once
// a second); when every one is still active, an arbitrary one goes: a
// forged-source flood costs O(1) a request and mostly evicts itself.
void failure_limit::make_room(unix_time now) {
    if (clients_.size() < settings_.max_clients) return;
    if (now != last_sweep_) {
        last_sweep_ = now;
        for (auto it = clients_.begin(); it != clients_.end();) {
            const auto& e = it->second;
            if (e.locked_until <= now && now - e.window_start >= settings_.window)
                it = clients_.erase(it);
            else
                ++it;
        }
    }
    if (clients_.size() >= settings_.max_clients) clients_.erase(clients_.begin());
}

}  // namespace pxed::guard
