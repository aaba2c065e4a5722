#include "pxed/net/transfer_board.hpp"

#include <algorithm>
#include <chrono>

namespace pxed::net {

void transfer_board::ticket::set_size(std::uint64_t size) {
    if (!entry_) return;
    std::lock_guard<std::mutex> lock(board_->mutex_);
    entry_->size = size;
}

void transfer_board::ticket::reset() {
    if (board_ && entry_) board_->remove(entry_->id);
    board_ = nullptr;
    entry_.reset();
}

transfer_board::ticket transfer_board::add(std::string_view protocol, std::uint32_t client, std::string_view path,
                                           std::uint64_t size, std::int64_t now_ms) {
    auto e = std::make_shared<entry>();
    e->protocol = std::string(protocol);
    e->client = client;
    e->path = std::string(path);
    e->size = size;
    e->started_ms = now_ms;
    std::lock_guard<std::mutex> lock(mutex_);
    e->id = next_id_++;
    live_.emplace(e->id, e);
    return ticket(this, std::move(e));
}

void transfer_board::remove(std::uint64_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    live_.erase(id);
}

std::vector<transfer_board::view> transfer_board::snapshot() const {
    std::vector<view> out;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        out.reserve(live_.size());
        for (const auto& [id, e] : live_)
            out.push_back({id, e->protocol, e->client, e->path, e->size, e->bytes.load(std::memory_order_relaxed),
                           e->started_ms});
    }
    std::sort(out.begin(), out.end(), [](const view& a, const view& b) { return a.id < b.id; });
    return out;
}

std::size_t transfer_board::size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return live_.size();
}

std::int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace pxed::net
