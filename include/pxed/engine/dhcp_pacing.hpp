#pragma once
/// How the DHCP server paces its replies under a flood (docs/dhcp.md,
/// "Bursts"): the loop reads a slice of requests, commits their lease
/// changes in one transaction, and sends at most a budget of replies per
/// turn, so that a client or relay agent with a default socket buffer
/// (net.core.rmem_default, 208 KiB: about 150 replies) never gets more
/// back to back than it can hold.
///
/// reply_queue holds the replies between the decision and the socket. A
/// reply that carries a lease change (an ACK) is held under the ticket of
/// the commit its change went into and becomes sendable only when that
/// commit is reported done; a failed commit drops its replies. Replies
/// that change nothing (OFFERs, NAKs) are sendable at once. Commits finish
/// in the order they were started (store::lease_store::commit), so a
/// ticket done means every earlier one is too. Pure logic: no sockets, no
/// clock; the server turns the crank.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

namespace pxed::dhcp {

struct pacing {
    /// Requests read (and committed together) per turn of the loop.
    std::size_t read_slice = 64;
    /// Replies sent back to back per turn of the loop.
    std::size_t send_budget = 64;
};

template <class Reply>
class reply_queue {
public:
    using ticket = std::uint64_t;

    explicit reply_queue(pacing p = {}) : pacing_(p) {
        if (pacing_.read_slice == 0) pacing_.read_slice = 1;
        if (pacing_.send_budget == 0) pacing_.send_budget = 1;
    }

    const pacing& limits() const { return pacing_; }

    /// A decided reply. `needs_commit`: it may leave only once the commit
    /// of the changes gathered since the last seal() is done.
    void push(Reply r, bool needs_commit) {
        if (needs_commit) {
            held_.push_back({open_, std::move(r)});
            ++held_in_open_;
        } else {
            ready_.push_back(std::move(r));
        }
    }

    /// The changes gathered so far go to the store as one commit: returns
    /// the ticket to report done with committed(). Replies pushed from now
    /// on belong to the next one.
    ticket seal() {
        held_in_open_ = 0;
        return open_++;
    }

    /// The commit `t` (and so every earlier one) is done. ok: its held
    /// replies become sendable. Not ok: nothing of it was written, and its
    /// replies are returned, never to be sent.
    std::vector<Reply> committed(ticket t, bool ok) {
        std::vector<Reply> dropped;
        if (t >= open_) return dropped;  // never sealed: nothing can be done yet
        while (!held_.empty() && held_.front().first <= t) {
            if (ok)
                ready_.push_back(std::move(held_.front().second));
            else
                dropped.push_back(std::move(held_.front().second));
            held_.pop_front();
        }
        return dropped;
    }

    /// The replies to send this turn: at most send_budget, oldest first.
    std::vector<Reply> take() {
        std::vector<Reply> out;
        const auto n = std::min(ready_.size(), pacing_.send_budget);
        out.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            out.push_back(std::move(ready_.front()));
            ready_.pop_front();
        }
        return out;
    }

    /// How many requests the loop may read this turn: a slice, or none
    /// while a turn's worth of replies is already waiting to be sent (the
    /// requests wait in the server's own, larger socket buffer instead of
    /// their replies piling up here).
    std::size_t reads_allowed() const { return ready_.size() >= pacing_.send_budget ? 0 : pacing_.read_slice; }

    bool has_sendable() const { return !ready_.empty(); }
    std::size_t sendable() const { return ready_.size(); }
    /// Replies waiting for a commit (sealed or not).
    std::size_t held() const { return held_.size(); }
    /// Held replies pushed since the last seal().
    std::size_t held_unsealed() const { return held_in_open_; }

    /// Everything dropped (the server stops).
    void clear() {
        ready_.clear();
        held_.clear();
        held_in_open_ = 0;
    }

private:
    pacing pacing_;
    std::deque<Reply> ready_;
    std::deque<std::pair<ticket, Reply>> held_;
    ticket open_ = 1;  // the commit being gathered
    std::size_t held_in_open_ = 0;
};

}  // namespace pxed::dhcp
