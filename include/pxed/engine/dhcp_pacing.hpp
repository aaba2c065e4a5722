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
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
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
        return committed(t, ok, [](Reply&) {});
    }

    /// The same, with `adjust(reply)` called on each held reply before it
    /// becomes sendable (a refused lease turns its ACK into a NAK).
    template <typename Adjust>
    std::vector<Reply> committed(ticket t, bool ok, Adjust&& adjust) {
        std::vector<Reply> dropped;
        if (t >= open_) return dropped;  // never sealed: nothing can be done yet
        while (!held_.empty() && held_.front().first <= t) {
            if (ok) {
                adjust(held_.front().second);
                ready_.push_back(std::move(held_.front().second));
            } else {
                dropped.push_back(std::move(held_.front().second));
            }
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

/// Per-destination flow control (docs/dhcp.md, "Bursts"). Pacing alone
/// cannot help a receiver that is not reading: a relay agent or a client
/// whose reader is not scheduled for 20 ms loses whatever arrives past its
/// socket buffer, however evenly it was sent. So every destination (relay
/// agent, broadcast domain, unicast client) gets a window of replies in
/// flight, sized under half of a default receive buffer, and a reply
/// beyond it waits at the server until the destination proves it has read:
///
/// - Replies to one destination are numbered; a socket buffer is FIFO, so a
///   REQUEST answering the OFFER numbered n (same chaddr and xid) proves
///   that its reader took every reply up to n out of its buffer. Replies
///   up to n leave the window (as a TCP ACK is cumulative).
/// - ACKs and NAKs are never answered: only a later OFFER's REQUEST
///   proves them read. So an ACK leaves room in the window for one OFFER
///   after it, and when the oldest waiting reply does not fit and no OFFER
///   is in flight, the oldest waiting OFFER goes first. Without this a
///   window of ACKs alone waited for linger: 250 ms of nothing towards a
///   relay, several times a second under a flood (bench/README.md).
/// - A reply nothing proves leaves the window after `linger`: replies can
///   be lost, and a client may not answer. It may still sit in a stalled
///   reader's buffer, so it counts against `buffer_bytes` (what a default
///   receive buffer holds, with a margin) until a proof covers it or
///   `forget` has passed. A reader that stops reading without closing its
///   socket gets at most that much, and what waits for it expires.
/// - A DISCOVER whose destination already has a window's worth waiting is
///   shed before it is decided (admits()), as a server reading one
///   request at a time drops it at its own socket: the client retries.
///   Not while nothing waiting or in flight is an OFFER: only a new one
///   can prove the window read. REQUESTs are never shed: they finish
///   exchanges and carry the proofs.
/// - A reply that waited longer than `max_wait` is dropped: its client
///   has retransmitted or given up.
///
/// Each destination has its own window and the send turns go round them,
/// so a destination that does not read holds back only its own replies.
/// Only relay agents are windowed (push() with `windowed`): a relay's one
/// socket holds the replies of every client behind it. A client's unicast
/// replies answer its own requests one for one: one that asks faster than
/// it reads hurts only itself. A broadcast lands in every client's buffer
/// on the segment, and a proof from one client says nothing of the
/// others; holding broadcasts back would only delay a rack booting at once
/// (300 DISCOVERs in a millisecond must all get their OFFER). Pure logic:
/// the caller passes the time.
struct flow_limits {
    /// Estimated receive-buffer bytes in flight per destination. The
    /// kernel charges a datagram's truesize, not its length: a DHCP reply
    /// of up to about 500 octets costs 1,280 bytes of a socket buffer, one
    /// up to 1,500 2,304 (measured, Linux 6.x: 166 and 92 datagrams fill a
    /// default 212,992-byte buffer). cost() overestimates both.
    std::size_t window_bytes = 96 * 1024;
    std::size_t per_reply_overhead = 1024;
    std::chrono::milliseconds linger{250};
    /// A reply that left the window by linger may still sit in a stalled
    /// reader's buffer: it counts against `buffer_bytes` until a proof
    /// covers it or for `forget` after it lingered. A reader that stops
    /// reading without closing its socket (perfdhcp at the end of its run)
    /// so gets at most `buffer_bytes` in that time, and waiting replies
    /// expire (max_wait) before it could get more.
    std::size_t buffer_bytes = 160 * 1024;
    std::chrono::milliseconds forget{1000};
    std::chrono::milliseconds max_wait{1000};
    /// Replies waiting per destination, and in all.
    std::size_t waiting_max = 512;
    std::size_t total_waiting_max = 8192;
};

/// The largest reply the server sends (an Ethernet MTU's worth).
inline constexpr std::size_t max_reply_bytes = 1500;

/// Where a reply goes: address, port and (0 when routed) interface.
struct flow_key {
    std::uint32_t address = 0;
    std::uint16_t port = 0;
    int ifindex = 0;
    friend bool operator==(const flow_key& a, const flow_key& b) {
        return a.address == b.address && a.port == b.port && a.ifindex == b.ifindex;
    }
};

/// What ties a REQUEST to the OFFER it answers (RFC 2131 4.4.1: the client
/// keeps the xid of its DISCOVER).
struct exchange_tag {
    std::array<std::uint8_t, 16> chaddr{};
    std::uint32_t xid = 0;
    friend bool operator==(const exchange_tag& a, const exchange_tag& b) {
        return a.xid == b.xid && a.chaddr == b.chaddr;
    }
};

template <class Reply>
class reply_flows {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;

    explicit reply_flows(flow_limits l = {}) : limits_(l) {}

    const flow_limits& limits() const { return limits_; }

    std::size_t cost(std::size_t bytes) const { return bytes + limits_.per_reply_overhead; }

    /// May a new exchange (a DISCOVER) towards `k` be decided? No while a
    /// window's worth of replies already waits for that destination. Only
    /// its own: replies piling up elsewhere (total_waiting_max) are
    /// dropped at push() instead, so that nobody can shed others' DISCOVERs.
    bool admits(const flow_key& k) const {
        const auto it = flows_.find(k);
        if (it == flows_.end() || !it->second.windowed) return true;
        const auto& f = it->second;
        // A window's worth waits: shed. Except when nothing waiting or in
        // flight can ever be answered (ACKs, NAKs): then only a new OFFER
        // can carry the proof that frees the window, instead of linger.
        return f.waiting_cost < limits_.window_bytes || (f.waiting_offers == 0 && f.offers_in_flight == 0);
    }

    /// A request arrived: if it answers an OFFER still in flight (same
    /// chaddr and xid), its destination has read up to that OFFER.
    /// Returns whether it proved anything.
    bool on_request(const exchange_tag& t, time_point now) {
        const auto o = offers_.find(t);
        if (o == offers_.end()) return false;
        const auto [k, seq] = o->second;
        offers_.erase(o);
        const auto f = flows_.find(k);
        if (f == flows_.end()) return false;
        f->second.proven = std::max(f->second.proven, seq);
        retire(f->second, now);
        return true;
    }

    /// A decided reply for `k` of `bytes` octets; `offer`: the exchange a
    /// REQUEST will answer; `windowed`: false for a destination no window
    /// applies to (anything but a relay agent), whose replies are only
    /// paced. False: dropped, the queues are full.
    bool push(const flow_key& k, Reply r, std::size_t bytes, std::optional<exchange_tag> offer, time_point now,
              bool windowed = true) {
        auto& f = flows_.try_emplace(k).first->second;
        f.key = k;
        f.windowed = windowed;
        if (f.waiting.size() >= limits_.waiting_max || total_waiting_ >= limits_.total_waiting_max) return false;
        const auto c = cost(bytes);
        f.waiting.push_back({std::move(r), c, offer, now});
        f.waiting_cost += c;
        if (offer) ++f.waiting_offers;
        ++total_waiting_;
        return true;
    }

    /// Up to `budget` replies whose destinations' windows have room, one
    /// destination after another, each oldest first; they count as in
    /// flight from now. Replies that waited past max_wait go to `expired`.
    std::vector<Reply> take(std::size_t budget, time_point now, std::vector<Reply>* expired = nullptr) {
        std::vector<Reply> out;
        std::vector<flow*> open;
        for (auto it = flows_.begin(); it != flows_.end();) {
            auto& f = it->second;
            retire(f, now);
            while (!f.waiting.empty() && f.waiting.front().since + limits_.max_wait <= now) {
                if (expired) expired->push_back(std::move(f.waiting.front().reply));
                pop_waiting(f);
            }
            if (f.waiting.empty() && f.in_flight.empty() && f.lingered.empty()) {
                it = flows_.erase(it);
                continue;
            }
            if (!f.waiting.empty()) open.push_back(&f);
            ++it;
        }
        // Round robin, one reply per destination per pass, so that a turn's
        // budget is shared.
        bool progress = true;
        while (progress && out.size() < budget) {
            progress = false;
            for (auto* f : open) {
                if (out.size() >= budget) break;
                const auto w = next_to_send(*f);
                if (w == f->waiting.end()) continue;
                const auto seq = f->next_seq++;
                f->in_flight.push_back({seq, now, w->cost, w->offer});
                f->in_flight_cost += w->cost;
                if (w->offer) {
                    offers_[*w->offer] = {key_of(*f), seq};
                    ++f->offers_in_flight;
                }
                out.push_back(std::move(w->reply));
                pop_waiting(*f, w);
                progress = true;
            }
        }
        return out;
    }

    /// Whether take() would return something now.
    bool sendable(time_point now) {
        for (auto& [k, f] : flows_) {
            if (f.waiting.empty()) continue;
            retire(f, now);
            if (next_to_send(f) != f.waiting.end() || f.waiting.front().since + limits_.max_wait <= now) return true;
        }
        return false;
    }

    /// When a waiting reply's destination gets room by linger alone, or the
    /// reply expires; nullopt when nothing waits.
    std::optional<time_point> next_event() const {
        std::optional<time_point> next;
        for (const auto& [k, f] : flows_) {
            if (f.waiting.empty()) continue;
            auto t = f.waiting.front().since + limits_.max_wait;
            if (!f.in_flight.empty()) t = std::min(t, f.in_flight.front().when + limits_.linger);
            if (!f.lingered.empty()) t = std::min(t, f.lingered.front().when + limits_.forget);
            if (!next || t < *next) next = t;
        }
        return next;
    }

    /// Receive-buffer bytes counted in flight towards `k` (after retiring
    /// what is proven or lingered).
    std::size_t in_flight(const flow_key& k, time_point now) {
        const auto it = flows_.find(k);
        if (it == flows_.end()) return 0;
        retire(it->second, now);
        return it->second.in_flight_cost;
    }
    std::size_t waiting(const flow_key& k) const {
        const auto it = flows_.find(k);
        return it == flows_.end() ? 0 : it->second.waiting.size();
    }
    std::size_t waiting() const { return total_waiting_; }
    std::size_t destinations() const { return flows_.size(); }
    std::size_t offers_in_flight() const { return offers_.size(); }

    void clear() {
        flows_.clear();
        offers_.clear();
        total_waiting_ = 0;
    }

private:
    struct key_hash {
        std::size_t operator()(const flow_key& k) const {
            return std::hash<std::uint64_t>{}((std::uint64_t{k.address} << 32) ^ (std::uint64_t{k.port} << 16) ^
                                              static_cast<std::uint64_t>(static_cast<std::uint32_t>(k.ifindex)));
        }
    };
    struct tag_hash {
        std::size_t operator()(const exchange_tag& t) const {
            std::uint64_t h = 1469598103934665603ull ^ t.xid;  // FNV-1a
            for (const auto b : t.chaddr) h = (h ^ b) * 1099511628211ull;
            return static_cast<std::size_t>(h);
        }
    };
    struct sent {
        std::uint64_t seq;
        time_point when;
        std::size_t cost;
        std::optional<exchange_tag> offer;
    };
    struct waiting_reply {
        Reply reply;
        std::size_t cost;
        std::optional<exchange_tag> offer;
        time_point since;
    };
    struct flow {
        flow_key key;
        std::uint64_t next_seq = 1;
        std::uint64_t proven = 0;  // every reply numbered up to this was read
        std::deque<sent> in_flight;
        std::size_t in_flight_cost = 0;
        std::deque<sent> lingered;  // `when`: when it lingered (sent + linger)
        std::size_t lingered_cost = 0;
        std::deque<waiting_reply> waiting;
        std::size_t waiting_cost = 0;
        std::size_t waiting_offers = 0;    // waiting replies a REQUEST will answer
        std::size_t offers_in_flight = 0;  // in flight and still able to prove
        bool windowed = true;
    };
    struct offer_ref {
        flow_key key;
        std::uint64_t seq;
    };

    static const flow_key& key_of(const flow& f) { return f.key; }

    // A reply alone always fits: a window smaller than one reply must not
    // stop a destination for good. A reply nobody answers (an ACK, a NAK)
    // leaves room for one OFFER at the end of the window: a window full of
    // ACKs alone could only be freed by linger, as nothing after them
    // would prove they were read.
    bool room(const flow& f, const waiting_reply& w) const {
        if (!f.windowed) return true;
        const auto reserve = w.offer ? 0 : cost(max_reply_bytes);
        if (f.in_flight_cost + f.lingered_cost + w.cost + reserve > limits_.buffer_bytes && !f.lingered.empty())
            return false;
        return f.in_flight.empty() || f.in_flight_cost + w.cost + reserve <= limits_.window_bytes;
    }

    // The reply to send next towards `f`, or end(): the oldest, if it fits.
    // If it does not and no OFFER is in flight to prove the window read,
    // the oldest waiting OFFER goes ahead of it (replies to different
    // exchanges; the order that counts is the one they are numbered in,
    // on the wire).
    using waiting_iterator = typename std::deque<waiting_reply>::iterator;
    waiting_iterator next_to_send(flow& f) const {
        if (f.waiting.empty()) return f.waiting.end();
        if (room(f, f.waiting.front())) return f.waiting.begin();
        if (f.offers_in_flight != 0 || f.waiting_offers == 0) return f.waiting.end();
        const auto o = std::find_if(f.waiting.begin(), f.waiting.end(),
                                    [](const waiting_reply& w) { return w.offer.has_value(); });
        return o != f.waiting.end() && room(f, *o) ? o : f.waiting.end();
    }

    void retire(flow& f, time_point now) {
        while (!f.in_flight.empty() &&
               (f.in_flight.front().seq <= f.proven || f.in_flight.front().when + limits_.linger <= now)) {
            const auto& s = f.in_flight.front();
            if (s.offer) {
                // Unanswered by now: a late REQUEST proves nothing new.
                const auto o = offers_.find(*s.offer);
                if (o != offers_.end() && o->second.seq == s.seq && o->second.key == f.key) offers_.erase(o);
            }
            if (s.offer) --f.offers_in_flight;
            if (f.windowed && s.seq > f.proven) {  // only a window needs the estimate
                f.lingered.push_back({s.seq, s.when + limits_.linger, s.cost, std::nullopt});
                f.lingered_cost += s.cost;
            }
            f.in_flight_cost -= s.cost;
            f.in_flight.pop_front();
        }
        // Lingered replies leave the buffer estimate when proven read, or
        // once forgotten. Numbered in order, lingered in order.
        while (!f.lingered.empty() &&
               (f.lingered.front().seq <= f.proven || f.lingered.front().when + limits_.forget <= now)) {
            f.lingered_cost -= f.lingered.front().cost;
            f.lingered.pop_front();
        }
    }

    void pop_waiting(flow& f) { pop_waiting(f, f.waiting.begin()); }
    void pop_waiting(flow& f, waiting_iterator w) {
        f.waiting_cost -= w->cost;
        if (w->offer) --f.waiting_offers;
        f.waiting.erase(w);
        --total_waiting_;
    }

    flow_limits limits_;
    std::unordered_map<flow_key, flow, key_hash> flows_;
    std::unordered_map<exchange_tag, offer_ref, tag_hash> offers_;
    std::size_t total_waiting_ = 0;
};

}  // namespace pxed::dhcp
