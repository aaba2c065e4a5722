#include "pxed/app/trace_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "pxed/store/trace.hpp"
#include "pxed/wire/token.hpp"

namespace pxed::app {
namespace {

store::trace_row to_row(const trace::event& e, bool known) {
    store::trace_row r;
    r.seq = e.seq;
    r.time_ms = e.time_ms;
    r.mac = e.mac;
    r.known = known;
    r.kind = trace::to_string(e.k);
    r.ok = e.ok;
    r.flags = e.flags;
    r.client = e.client;
    r.what = e.what;
    r.outcome = e.outcome;
    r.detail = e.detail;
    r.bytes = e.bytes;
    r.duration_ms = e.duration_ms;
    return r;
}

std::optional<trace::event> from_row(store::trace_row r) {
    const auto k = trace::kind_from(r.kind);
    if (!k) return std::nullopt;  // a kind a newer pxed wrote: skipped
    trace::event e;
    e.seq = r.seq;
    e.time_ms = r.time_ms;
    e.mac = r.mac;
    e.k = *k;
    e.ok = r.ok;
    e.flags = r.flags;
    e.client = r.client;
    e.what = std::move(r.what);
    e.outcome = std::move(r.outcome);
    e.detail = std::move(r.detail);
    e.bytes = r.bytes;
    e.duration_ms = r.duration_ms;
    return e;
}

// Whether redact_tokens() has anything to do: "token" in any case. Most
// events have no such word, and a DHCP flood is no reason to copy strings.
bool mentions_token(const std::string& text) {
    for (std::size_t i = 0; i + 5 <= text.size(); ++i) {
        if ((text[i] | 0x20) != 't') continue;
        if ((text[i + 1] | 0x20) == 'o' && (text[i + 2] | 0x20) == 'k' && (text[i + 3] | 0x20) == 'e' &&
            (text[i + 4] | 0x20) == 'n')
            return true;
    }
    return false;
}

}  // namespace

// The trace database's own thread: batches in, written in order; at most
// a bounded backlog waits (a stuck disk drops the oldest batches, with a
// warning, rather than growing without end).
class trace_service::writer {
public:
    writer(std::unique_ptr<store::trace_store> db, store::trace_bounds bounds)
        : db_(std::move(db)), bounds_(bounds), thread_([this] { run(); }) {}
    ~writer() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }

    void push(std::vector<store::trace_row> rows, std::uint64_t last_seq) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            queued_rows_ += rows.size();
            queue_.push_back({std::move(rows), last_seq});
            while (queued_rows_ > max_backlog_rows && queue_.size() > 1) {
                queued_rows_ -= queue_.front().rows.size();
                queue_.pop_front();
                ++dropped_;
            }
        }
        wake_.notify_one();
    }

    std::uint64_t failures() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return failures_ + dropped_;
    }

private:
    // A flood the disk cannot keep up with costs history on disk, not
    // memory: at most this many rows wait (about 15 MB).
    static constexpr std::size_t max_backlog_rows = 50000;

    void run() {
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, all written
            auto next = std::move(queue_.front());
            queue_.pop_front();
            queued_rows_ -= next.rows.size();
            lock.unlock();
            auto& rows = next.rows;
            std::string error;
            const bool ok = db_->save(rows, next.last_seq, bounds_, error);
            if (!ok)
                spdlog::warn("trace: cannot write {} event(s) to {}: {}; the trace in memory is complete, the one on "
                             "disk misses them",
                             rows.size(), db_->path(), error);
            lock.lock();
            if (!ok) ++failures_;
        }
    }

    std::unique_ptr<store::trace_store> db_;
    store::trace_bounds bounds_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    struct batch {
        std::vector<store::trace_row> rows;
        std::uint64_t last_seq;
    };
    std::deque<batch> queue_;
    std::size_t queued_rows_ = 0;
    bool stopping_ = false;
    std::uint64_t failures_ = 0;
    std::uint64_t dropped_ = 0;
    std::thread thread_;  // last: starts once the rest is built
};

trace_service::trace_service(const std::string& state_dir, trace::limits limits,
                             std::shared_ptr<const inventory::site> site)
    : book_(limits, [this](const wire::mac_address& mac) { return is_host(mac); }) {
    // The site first: restored events are bounded by their host's pool.
    view_ = index(std::move(site));
    auto db = std::make_unique<store::trace_store>(state_dir + "/" + store::trace_file_name);
    std::vector<trace::event> kept;
    for (auto& r : db->load())
        if (auto e = from_row(std::move(r))) kept.push_back(std::move(*e));
    book_.restore(std::move(kept), db->last_seq());
    store::trace_bounds b;
    b.per_host = limits.per_host;
    b.total = limits.total;
    b.strangers = limits.strangers * limits.per_stranger;
    writer_ = std::make_unique<writer>(std::move(db), b);
}

trace_service::~trace_service() {
    try {
        flush();
    } catch (const std::exception& e) {
        spdlog::warn("trace: {}", e.what());
    }
    writer_.reset();
}

std::shared_ptr<const trace_service::site_view> trace_service::index(std::shared_ptr<const inventory::site> site) {
    auto v = std::make_shared<site_view>();
    v->site = std::move(site);
    if (v->site)
        for (const auto& h : v->site->hosts)
            if (h.ip) v->reserved[h.ip->value()] = h.mac;
    return v;
}

std::shared_ptr<const trace_service::site_view> trace_service::set_site(std::shared_ptr<const site_view> view,
                                                                        const std::vector<wire::mac_address>& moved) {
    auto old = std::move(view_);
    view_ = std::move(view);
    book_.reclassify(moved);
    return old;
}

bool trace_service::is_host(const wire::mac_address& mac) const {
    return view_ && view_->site && view_->site->find_host(mac) != nullptr;
}

std::optional<wire::mac_address> trace_service::mac_of(std::uint32_t address) const {
    if (const auto it = bound_.find(address); it != bound_.end()) return it->second;
    if (view_)
        if (const auto it = view_->reserved.find(address); it != view_->reserved.end()) return it->second;
    if (neighbours_) return neighbours_(address);
    return std::nullopt;
}

void trace_service::host_event(trace::event e, std::int64_t now_ms) {
    if (!e.time_ms) e.time_ms = now_ms;
    // As in the log (logging.cpp): whatever follows a token= anywhere (a
    // path like ks/x.ks;token=..., a refusal's reason) is cut short, so no
    // request can write a whole token into a trace.
    for (auto* text : {&e.what, &e.outcome, &e.detail})
        if (mentions_token(*text)) *text = wire::redact_tokens(*text);
    // pxed's own ACK ties the address to the MAC until another ACK moves it.
    if (e.k == trace::kind::dhcp && (e.flags & trace::flag_bound) && e.client) {
        // A stranger's ACKs can only move addresses of the pools it is
        // allowed in; the map stays as big as the pools.
        bound_[e.client] = e.mac;
    }
    book_.record(std::move(e));
    // A burst (a flood of DHCP) goes to the writer in slices, not as one
    // batch held until the next tick.
    if (book_.unsaved() >= flush_at) flush();
}

void trace_service::client_event(trace::event e, std::int64_t now_ms) {
    // The address first: a path naming another host's MAC is what this
    // client asked for, and goes in this client's trace, not that host's.
    std::optional<wire::mac_address> mac = e.client ? mac_of(e.client) : std::nullopt;
    if (!mac) {
        mac = trace::mac_in_path(e.what);
        // Anyone can name any MAC in a path, from any address (TFTP's
        // source is anyone's to forge): such events may not flood a real
        // host's trace. A host takes at most a burst of 30 of them, then
        // one a second; beyond that they are counted, not kept.
        if (mac && is_host(*mac) && !path_budget_allows(*mac, now_ms)) mac.reset();
        if (mac) e.detail += std::string(e.detail.empty() ? "" : "; ") + "by the MAC in its path: pxed knows no host at " +
                             wire::ipv4_address(e.client).to_string();
    }
    if (!mac) {
        ++unattributed_;
        return;
    }
    e.mac = *mac;
    host_event(std::move(e), now_ms);
}

bool trace_service::path_budget_allows(const wire::mac_address& mac, std::int64_t now_ms) {
    constexpr double burst = 30, per_second = 1;
    auto [it, fresh] = path_budget_.try_emplace(mac, budget{burst, now_ms});
    auto& b = it->second;
    if (!fresh) {
        b.tokens = std::min(burst, b.tokens + static_cast<double>(now_ms - b.last_ms) / 1000.0 * per_second);
        b.last_ms = now_ms;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
}

// Only inventory hosts' events go to disk. Machines outside the inventory
// are kept in memory (`pxed trace --unknown` lists them since the start):
// they are whatever the network sends, a flood included, and writing each
// of their DHCP requests cost more CPU than answering it.
void trace_service::flush() {
    auto events = book_.take_unsaved();
    if (events.empty() && book_.last_seq() == pushed_seq_) return;
    std::vector<store::trace_row> rows;
    rows.reserve(events.size());
    for (const auto& e : events)
        if (is_host(e.mac)) rows.push_back(to_row(e, true));
    // Strangers' events take numbers too: the store keeps the last one
    // given, so that numbers never repeat across a restart.
    pushed_seq_ = book_.last_seq();
    writer_->push(std::move(rows), pushed_seq_);
}

std::uint64_t trace_service::write_failures() const { return writer_->failures(); }

}  // namespace pxed::app
