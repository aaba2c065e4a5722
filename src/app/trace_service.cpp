#include "pxed/app/trace_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "pxed/store/trace.hpp"
#include "pxed/wire/token.hpp"

namespace pxed::app {
namespace {

store::trace_row to_row(const trace::event& e, bool known) {
    store::trace_row r;
    // An event read back from a shared store is written under the number
    // its row has there (a package count growing after a restart).
    r.seq = e.origin_seq ? e.origin_seq : e.seq;
    r.instance = e.instance;
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
    if (!r.instance.empty()) {
        e.instance = std::move(r.instance);
        e.origin_seq = r.seq;
    }
    return e;
}

}  // namespace

// The trace database's own thread: batches in, written in order. A batch
// the database refuses (a full disk, a shared database restarting) is
// tried again every second, for up to ten minutes, with one warning when
// it starts and a line when the writes go through again; meanwhile at most
// a bounded backlog waits (the oldest batches go first, counted, rather
// than memory growing without end).
class trace_service::writer {
public:
    writer(std::unique_ptr<store::trace_backend> db, store::trace_bounds bounds)
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

    /// Batches refused, tried again or not, and dropped (backlog, given up).
    std::uint64_t failures() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return failures_ + dropped_;
    }

    store::trace_backend& db() { return *db_; }

private:
    // A flood the disk cannot keep up with costs history on disk, not
    // memory: at most this many rows wait (about 15 MB).
    static constexpr std::size_t max_backlog_rows = 50000;

    static constexpr auto retry_every = std::chrono::seconds(1);
    static constexpr auto give_up_after = std::chrono::minutes(10);

    void run() {
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, all written
            auto next = std::move(queue_.front());
            queue_.pop_front();
            queued_rows_ -= next.rows.size();
            const bool last_try = stopping_;
            lock.unlock();
            std::string error;
            const bool ok = db_->save(next.rows, next.last_seq, bounds_, error);
            const auto now = std::chrono::steady_clock::now();
            if (ok && failing_since_) {
                spdlog::info("trace: writing to {} again", db_->describe());
                failing_since_.reset();
            } else if (!ok && !failing_since_) {
                spdlog::warn("trace: cannot write to {}: {}; {} event(s) wait, tried again every second (the trace "
                             "in memory is complete)",
                             db_->describe(), error, next.rows.size());
                failing_since_ = now;
            }
            lock.lock();
            if (ok) continue;
            ++failures_;
            if (last_try) {
                // Stopping: one try, not one per batch waiting (each could
                // wait for a silent database's deadline).
                std::size_t lost = next.rows.size();
                for (const auto& b : queue_) lost += b.rows.size();
                dropped_ += 1 + queue_.size();
                queue_.clear();
                queued_rows_ = 0;
                spdlog::warn("trace: stopping without writing {} event(s) to {}: {}", lost, db_->describe(), error);
                return;
            }
            if (now - *failing_since_ >= give_up_after) {
                // The database has been refusing for long: this batch is
                // lost to it (the next ones are tried).
                spdlog::warn("trace: gave up writing {} event(s) to {}: {}", next.rows.size(), db_->describe(), error);
                ++dropped_;
                failing_since_ = now;
                continue;
            }
            queued_rows_ += next.rows.size();
            queue_.push_front(std::move(next));
            wake_.wait_for(lock, retry_every, [this] { return stopping_; });
        }
    }

    std::unique_ptr<store::trace_backend> db_;
    std::optional<std::chrono::steady_clock::time_point> failing_since_;
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
    : trace_service(std::make_unique<store::trace_store>(state_dir + "/" + store::trace_file_name), {}, limits,
                    std::move(site)) {}

trace_service::trace_service(std::unique_ptr<store::trace_backend> db, std::string instance, trace::limits limits,
                             std::shared_ptr<const inventory::site> site)
    : instance_(db->shared() ? std::move(instance) : std::string()),
      book_(limits, [this](const wire::mac_address& mac) { return is_host(mac); }) {
    // The site first: restored events are bounded by their host's pool.
    view_ = index(std::move(site));
    std::vector<trace::event> kept;
    for (auto& r : db->load())
        if (auto e = from_row(std::move(r))) kept.push_back(std::move(*e));
    std::uint64_t last = db->last_seq();
    if (db->shared()) {
        // Every instance's rows, oldest first, each numbered by its own
        // instance: numbered again here, in order. This instance's new
        // numbers continue after its own last one and after these.
        for (std::size_t i = 0; i < kept.size(); ++i) kept[i].seq = i + 1;
        last = std::max<std::uint64_t>(last, kept.size());
    }
    book_.restore(std::move(kept), last);
    shared_ = db->shared();
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

void trace_service::watch(std::function<void(std::function<void()>)> post) {
    if (!shared_) return;
    writer_->db().watch(
        [this, post](std::vector<store::trace_row> rows) {
            // On the loop: the book is the loop's. stop_watching() comes
            // before this service goes.
            post([this, rows = std::move(rows)]() mutable { adopt(std::move(rows)); });
        },
        [](bool up, const std::string& why) {
            if (up)
                spdlog::info("trace: the shared trace database is reachable again; reading what other instances wrote");
            else
                spdlog::warn("trace: lost the shared trace database ({}); other instances' events wait for it", why);
        });
}

void trace_service::stop_watching() {
    if (shared_) writer_->db().stop_watching();
}

void trace_service::adopt(std::vector<store::trace_row> rows) {
    for (auto& r : rows) {
        auto e = from_row(std::move(r));
        if (!e || e->instance.empty()) continue;
        const bool binds = e->k == trace::kind::dhcp && (e->flags & trace::flag_bound) && e->client;
        const auto client = e->client;
        const auto mac = e->mac;
        const bool mine = e->instance == instance_;
        if (!book_.adopt(std::move(*e))) continue;  // had it: read twice, or grown
        if (observer_) observer_(mac);
        // Only an ACK new here moves an address: one read again must not
        // undo a later ACK of that address to another host.
        if (binds) bound_[client] = mac;
        ++adopted_;
        if (mine && !duplicate_warned_) {
            // A new row in our own name from another process: two
            // instances named alike overwrite each other's rows.
            duplicate_warned_ = true;
            spdlog::warn("trace: another pxed writes to the shared database as instance '{}', this one's name; give "
                         "each instance its own server.store.instance",
                         instance_);
        }
    }
}

void trace_service::host_event(trace::event e, std::int64_t now_ms) {
    if (!e.time_ms) e.time_ms = now_ms;
    e.instance = instance_;
    e.origin_seq = 0;
    // As in the log (logging.cpp): whatever follows a token= anywhere (a
    // path like ks/x.ks;token=..., a refusal's reason) is cut short, so no
    // request can write a whole token into a trace.
    for (auto* text : {&e.what, &e.outcome, &e.detail})
        if (wire::mentions_token(*text)) *text = wire::redact_tokens(*text);
    // pxed's own ACK ties the address to the MAC until another ACK moves it.
    if (e.k == trace::kind::dhcp && (e.flags & trace::flag_bound) && e.client) {
        // A stranger's ACKs can only move addresses of the pools it is
        // allowed in; the map stays as big as the pools.
        bound_[e.client] = e.mac;
    }
    const auto mac = e.mac;
    book_.record(std::move(e));
    if (observer_) observer_(mac);
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
    // An event folded again and again (packages, repeats) comes once per
    // change: written once, as it is now.
    std::unordered_map<std::uint64_t, std::size_t> at;
    for (const auto& e : events) {
        if (!is_host(e.mac) || e.instance != instance_) continue;
        auto row = to_row(e, true);
        const auto [it, fresh] = at.try_emplace(row.seq, rows.size());
        if (fresh)
            rows.push_back(std::move(row));
        else
            rows[it->second] = std::move(row);
    }
    // Strangers' events take numbers too: the store keeps the last one
    // given, so that numbers never repeat across a restart.
    pushed_seq_ = book_.last_seq();
    writer_->push(std::move(rows), pushed_seq_);
}

std::uint64_t trace_service::write_failures() const { return writer_->failures(); }

}  // namespace pxed::app
