#include "pxed/store/leases.hpp"

#include "sqlite.hpp"

#include "pxed/metrics/registry.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace pxed::store {
namespace {

constexpr int schema_version = 1;

// One table, one row per address. `client_key` is a BLOB: a MAC's six
// octets or a raw client identifier.
constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS leases (
    ip          INTEGER PRIMARY KEY,
    client_key  BLOB    NOT NULL,
    mac         TEXT,
    hostname    TEXT    NOT NULL DEFAULT '',
    state       TEXT    NOT NULL,
    starts      INTEGER NOT NULL,
    ends        INTEGER NOT NULL,
    subnet      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS leases_by_client ON leases(client_key);
)sql";

using sqlite::column_text;
using sqlite::statement;

lease row_of(sqlite3_stmt* st) {
    lease l;
    l.ip = wire::ipv4_address(static_cast<std::uint32_t>(sqlite3_column_int64(st, 0)));
    const auto* key = static_cast<const char*>(sqlite3_column_blob(st, 1));
    l.client_key.assign(key ? key : "", static_cast<std::size_t>(sqlite3_column_bytes(st, 1)));
    if (sqlite3_column_type(st, 2) != SQLITE_NULL) l.mac = wire::mac_address::parse(column_text(st, 2));
    l.hostname = column_text(st, 3);
    // A row whose state this version does not know is kept out of
    // service rather than guessed at: treat it as quarantined.
    l.state = lease_state_from(column_text(st, 4)).value_or(lease_state::declined);
    l.starts = sqlite3_column_int64(st, 5);
    l.ends = sqlite3_column_int64(st, 6);
    l.subnet = column_text(st, 7);
    return l;
}

std::vector<lease> read_all(sqlite3* db) {
    statement st(db, "SELECT ip, client_key, mac, hostname, state, starts, ends, subnet FROM leases ORDER BY ip");
    std::vector<lease> out;
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) out.push_back(row_of(st.get()));
    if (rc != SQLITE_DONE) throw std::runtime_error(std::string("cannot read leases: ") + sqlite3_errmsg(db));
    return out;
}

sqlite3* open_db(const std::string& path, int flags) { return sqlite::open(path, flags, "lease database"); }

}  // namespace

const char* to_string(lease_state s) {
    switch (s) {
    case lease_state::bound: return "bound";
    case lease_state::released: return "released";
    case lease_state::expired: return "expired";
    case lease_state::declined: return "declined";
    }
    return "unknown";
}

std::optional<lease_state> lease_state_from(std::string_view name) {
    for (auto s : {lease_state::bound, lease_state::released, lease_state::expired, lease_state::declined})
        if (name == to_string(s)) return s;
    return std::nullopt;
}

bool may_overwrite(const lease& change, const lease* current, std::int64_t now) {
    if (!current || change.reservation) return true;
    const auto& owner = change.taken_from.empty() ? change.client_key : change.taken_from;
    if (current->client_key == owner &&
        (change.state != lease_state::expired || current->ends <= change.ends || !change.taken_from.empty()))
        return true;
    return change.state == lease_state::bound &&
           (current->state == lease_state::expired || current->state == lease_state::released ||
            (current->ends != 0 && current->ends <= now));
}

bool operator==(const lease& a, const lease& b) {
    return a.ip == b.ip && a.client_key == b.client_key && a.mac == b.mac && a.hostname == b.hostname &&
           a.state == b.state && a.starts == b.starts && a.ends == b.ends && a.subnet == b.subnet;
}

namespace {

// The write and may_overwrite's rule in one statement: ?9 reservation,
// ?10 taken_from (NULL: the change's own client), ?11 now.
constexpr const char* guarded_upsert =
    "INSERT INTO leases (ip, client_key, mac, hostname, state, starts, ends, subnet) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
    "ON CONFLICT(ip) DO UPDATE SET client_key = excluded.client_key, mac = excluded.mac, "
    "hostname = excluded.hostname, state = excluded.state, starts = excluded.starts, ends = excluded.ends, "
    "subnet = excluded.subnet "
    "WHERE ?9 OR (leases.client_key = coalesce(?10, excluded.client_key) AND "
    "(excluded.state <> 'expired' OR leases.ends <= excluded.ends OR ?10 IS NOT NULL)) "
    "OR (excluded.state = 'bound' AND (leases.state IN ('expired', 'released') OR "
    "(leases.ends <> 0 AND leases.ends <= ?11)))";

void bind_lease(sqlite3_stmt* st, const lease& l) {
    sqlite3_bind_int64(st, 1, l.ip.value());
    sqlite3_bind_blob(st, 2, l.client_key.data(), static_cast<int>(l.client_key.size()), SQLITE_TRANSIENT);
    if (l.mac)
        sqlite3_bind_text(st, 3, l.mac->to_string().c_str(), -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_text(st, 4, l.hostname.data(), static_cast<int>(l.hostname.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, to_string(l.state), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, l.starts);
    sqlite3_bind_int64(st, 7, l.ends);
    sqlite3_bind_text(st, 8, l.subnet.data(), static_cast<int>(l.subnet.size()), SQLITE_TRANSIENT);
}

}  // namespace

// Three threads may touch the file: whoever calls apply() (or the writer
// thread, for commit()), the checkpointer, and nobody else. Each has its own
// connection or holds `db_mutex` to use the writing one; what they share
// besides the file is atomics.
struct lease_store::impl {
    wal_policy policy;
    bool sync_commits = false;  // synchronous=FULL: every commit waits for the disk
    sqlite3* db = nullptr;  // the writing connection, under db_mutex
    std::unique_ptr<statement> upsert;
    mutable std::mutex db_mutex;
    // Set once before the first commit (set_metrics); written under db_mutex.
    metrics::histogram* commit_seconds = nullptr;
    metrics::counter* commit_failures = nullptr;

    // Set by the WAL hook after each commit on `db`; `backfilled` by
    // whoever checkpointed last (0 again when the WAL starts over).
    std::atomic<std::uint32_t> wal_pages{0};
    std::atomic<std::uint32_t> backfilled{0};
    std::atomic<std::uint64_t> background_checkpoints{0};
    std::atomic<std::uint64_t> writer_checkpoints{0};
    std::atomic<std::uint64_t> writer_checkpoints_behind{0};
    std::atomic<std::uint32_t> last_writer_backlog{0};
    // After a writer checkpoint that could not copy everything (a reader
    // such as `pxed leases` holds an old snapshot), the next try waits
    // until the WAL has grown this far.
    std::atomic<std::uint32_t> next_writer_try{0};

    // The checkpointer.
    sqlite3* ckpt_db = nullptr;
    std::mutex ckpt_mutex;
    std::condition_variable ckpt_cv;
    bool ckpt_wanted = false, ckpt_stop = false;  // under ckpt_mutex
    std::thread checkpointer;

    // The writer thread, started by the first commit() that cannot be
    // applied at once on the caller's thread.
    struct job {
        std::vector<lease> changes;
        commit_done done;
    };
    std::mutex queue_mutex;
    std::condition_variable queue_cv;
    std::deque<job> queue;       // under queue_mutex
    bool writer_busy = false;  // under queue_mutex: committing what it took from the queue
    bool writer_stop = false;  // under queue_mutex; then commit() applies at once
    std::thread writer;

    ~impl() {
        stop_writer();
        {
            std::lock_guard lk(ckpt_mutex);
            ckpt_stop = true;
        }
        ckpt_cv.notify_one();
        if (checkpointer.joinable()) checkpointer.join();
        sqlite3_close(ckpt_db);
        upsert.reset();
        sqlite3_close(db);
    }

    static int on_wal_commit(void* self, sqlite3*, const char*, int pages) {
        auto* i = static_cast<impl*>(self);
        const auto n = static_cast<std::uint32_t>(std::max(pages, 0));
        if (n < i->wal_pages.load()) i->backfilled = 0;  // the WAL started over
        i->wal_pages = n;
        return SQLITE_OK;
    }

    std::uint32_t backlog() const {
        const auto p = wal_pages.load(), b = backfilled.load();
        return p > b ? p - b : 0;
    }

    // After every commit on `db`, under db_mutex.
    void after_commit() {
        if (wal_pages.load() < policy.restart_pages) next_writer_try = 0;
        if (policy.background && backlog() >= policy.checkpoint_pages) {
            {
                std::lock_guard lk(ckpt_mutex);
                ckpt_wanted = true;
            }
            ckpt_cv.notify_one();
        }
    }

    // The WAL has reached restart_pages: the next commit has to copy it first.
    bool restart_due() const { return wal_pages.load() >= std::max(policy.restart_pages, next_writer_try.load()); }

    // Under db_mutex, before a commit. Nobody else writes meanwhile, so this
    // copies all there is (unless a reader pins an old snapshot) and the
    // commit that follows starts the WAL over. PASSIVE: SQLITE_BUSY at
    // once, not a wait, while the checkpointer is at it; the next commit
    // tries again.
    void restart_if_due() {
        if (!restart_due()) return;
        const auto pages = wal_pages.load();
        const auto behind = backlog();
        int log = 0, copied = 0;
        if (sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied) != SQLITE_OK) return;
        backfilled = static_cast<std::uint32_t>(std::max(copied, 0));
        ++writer_checkpoints;
        last_writer_backlog = behind;
        if (behind > policy.checkpoint_pages) ++writer_checkpoints_behind;
        next_writer_try = copied < log ? pages + std::max<std::uint32_t>(policy.restart_pages / 8, 1) : 0;
    }

    // One IMMEDIATE transaction: every change written or refused by the
    // rule, or none (an error).
    bool write_guarded(const std::vector<lease>& changes, std::string& error, std::vector<refusal>* refused) {
        if (changes.empty()) return true;
        auto* st = upsert->get();
        auto fail = [&](const std::string& what) {
            error = what + ": " + sqlite3_errmsg(db);
            sqlite3_reset(st);
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            return false;
        };
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
            error = std::string("cannot begin a transaction: ") + sqlite3_errmsg(db);
            return false;
        }
        const auto now = static_cast<std::int64_t>(std::time(nullptr));
        std::vector<lease> local_refusals;
        for (const auto& l : changes) {
            sqlite3_reset(st);
            bind_lease(st, l);
            sqlite3_bind_int(st, 9, l.reservation ? 1 : 0);
            if (l.taken_from.empty())
                sqlite3_bind_null(st, 10);
            else
                sqlite3_bind_blob(st, 10, l.taken_from.data(), static_cast<int>(l.taken_from.size()), SQLITE_TRANSIENT);
            sqlite3_bind_int64(st, 11, now);
            if (sqlite3_step(st) != SQLITE_DONE) return fail("cannot write a lease");
            if (sqlite3_changes(db) == 0) local_refusals.push_back(l);
        }
        sqlite3_reset(st);
        std::vector<refusal> out;
        for (auto& l : local_refusals) {
            auto holder = read_one(l.ip);
            if (!holder) return fail("a refused lease's row vanished");
            out.push_back({std::move(l), std::move(*holder)});
        }
        if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return fail("cannot commit leases");
        if (refused) *refused = std::move(out);
        return true;
    }

    std::optional<lease> read_one(wire::ipv4_address ip) {
        statement q(db, "SELECT ip, client_key, mac, hostname, state, starts, ends, subnet FROM leases WHERE ip = ?1");
        sqlite3_bind_int64(q.get(), 1, ip.value());
        if (sqlite3_step(q.get()) != SQLITE_ROW) return std::nullopt;
        return row_of(q.get());
    }

    bool apply(const std::vector<lease>& changes, std::string& error, std::vector<refusal>* refused = nullptr) {
        std::lock_guard lk(db_mutex);
        const auto started = std::chrono::steady_clock::now();
        restart_if_due();
        const bool ok = write_guarded(changes, error, refused);
        after_commit();
        // One writer at a time (db_mutex), so the metrics' plain updates are safe.
        if (commit_seconds)
            commit_seconds->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        if (!ok && commit_failures) commit_failures->inc();
        return ok;
    }

    void run_checkpointer() {
        for (;;) {
            {
                std::unique_lock lk(ckpt_mutex);
                ckpt_cv.wait_for(lk, policy.checkpoint_interval, [&] { return ckpt_stop || ckpt_wanted; });
                if (ckpt_stop) return;
                ckpt_wanted = false;
            }
            if (backlog() == 0) continue;
            int log = 0, copied = 0;
            if (sqlite3_wal_checkpoint_v2(ckpt_db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied) == SQLITE_OK &&
                copied > 0) {
                // A commit may have started the WAL over meanwhile; then
                // these figures are of the old one and say nothing.
                if (static_cast<std::uint32_t>(log) <= wal_pages.load()) backfilled = static_cast<std::uint32_t>(copied);
                ++background_checkpoints;
            }
        }
    }

    void run_writer() {
        for (;;) {
            std::deque<job> jobs;
            {
                std::unique_lock lk(queue_mutex);
                writer_busy = false;
                queue_cv.wait(lk, [&] { return writer_stop || !queue.empty(); });
                if (queue.empty()) return;
                jobs.swap(queue);
                writer_busy = true;
            }
            // Whatever queued up while the last batch was committed goes
            // in one transaction: one set of WAL-index locks, one commit.
            std::vector<lease> all;
            if (jobs.size() == 1) {
                all = std::move(jobs.front().changes);
            } else {
                for (auto& j : jobs) all.insert(all.end(), j.changes.begin(), j.changes.end());
            }
            commit_outcome result;
            result.ok = apply(all, result.error, &result.refused);
            for (auto& j : jobs) {
                if (!j.done) continue;
                try {
                    // Each job hears of every refusal of the shared
                    // transaction; its owner matches them to its replies.
                    j.done(result);
                } catch (...) {
                    // Nothing to tell anyone on this thread; the callback's
                    // owner logs its own failures.
                }
            }
        }
    }

    void stop_writer() {
        {
            std::lock_guard lk(queue_mutex);
            writer_stop = true;
        }
        queue_cv.notify_one();
        if (writer.joinable()) writer.join();
    }
};

lease_store::lease_store(const std::string& path, durability d, wal_policy w)
    : impl_(std::make_unique<impl>()), path_(path) {
    impl_->policy = w;
    impl_->sync_commits = d == durability::power_loss;
    impl_->db = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    auto* db = impl_->db;
    sqlite::prepare(db, d == durability::power_loss, schema, schema_version, "lease database " + path);
    // No checkpoint inside a COMMIT: the hook replaces SQLite's automatic
    // one (which is itself a WAL hook) and only counts pages.
    sqlite::exec(db, "PRAGMA wal_autocheckpoint=0", "lease database " + path);
    sqlite3_wal_hook(db, &impl::on_wal_commit, impl_.get());
    // A WAL that grew past the bound (a reader pinned it) is cut back to it
    // when it next starts over.
    sqlite::exec(db, ("PRAGMA journal_size_limit=" + std::to_string(std::int64_t{w.restart_pages} * 4096)).c_str(),
                 "lease database " + path);
    impl_->upsert = std::make_unique<statement>(db, guarded_upsert);
    if (w.background) {
        impl_->ckpt_db = open_db(path, SQLITE_OPEN_READWRITE);
        // Its checkpoints sync as the writer's commits would (FULL or NORMAL).
        sqlite::exec(impl_->ckpt_db, d == durability::power_loss ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                     "lease database " + path);
        impl_->checkpointer = std::thread([i = impl_.get()] { i->run_checkpointer(); });
    }
}

lease_store::~lease_store() = default;

std::vector<lease> lease_store::load() const {
    std::lock_guard lk(impl_->db_mutex);
    return read_all(impl_->db);
}

bool lease_store::apply(const std::vector<lease>& changes, std::string& error, std::vector<refusal>* refused) {
    return impl_->apply(changes, error, refused);
}

void lease_store::set_metrics(metrics::registry& registry) {
    std::lock_guard lk(impl_->db_mutex);
    // 100 us (page cache) to 10 s (an fsync behind a slow disk).
    impl_->commit_seconds =
        &registry
             .histograms("pxed_lease_store_commit_duration_seconds",
                         "Time one lease store transaction took in SQLite, checkpoint and fsync included.",
                         {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10})
             .only();
    impl_->commit_failures =
        &registry.counters("pxed_lease_store_commit_failures_total", "Lease store transactions that failed (ACKs withheld).")
             .only();
}

void lease_store::commit(std::vector<lease> changes, commit_done done) {
    {
        // With synchronous=NORMAL a commit that copies no WAL only writes
        // to the page cache: done at once, here, with no hand-over between
        // threads. One that has to copy the WAL first (restart_pages), and
        // every one after it until the writer thread is through, goes to
        // the writer thread, in order; with synchronous=FULL (an fsync per
        // commit) all do.
        auto& i = *impl_;
        std::lock_guard lk(i.queue_mutex);
        if (!i.writer_stop && (i.sync_commits || i.writer_busy || !i.queue.empty() || i.restart_due())) {
            i.queue.push_back({std::move(changes), std::move(done)});
            if (!i.writer.joinable()) i.writer = std::thread([p = &i] { p->run_writer(); });
            i.queue_cv.notify_one();
            return;
        }
    }
    commit_outcome result;
    result.ok = impl_->apply(changes, result.error, &result.refused);
    if (done) done(result);
}

void lease_store::stop_writer() { impl_->stop_writer(); }

wal_stats lease_store::stats() const {
    wal_stats s;
    s.wal_pages = impl_->wal_pages;
    s.background_checkpoints = impl_->background_checkpoints;
    s.writer_checkpoints = impl_->writer_checkpoints;
    s.writer_checkpoints_behind = impl_->writer_checkpoints_behind;
    s.last_writer_backlog = impl_->last_writer_backlog;
    return s;
}

std::size_t lease_store::forget_before(std::int64_t unix_seconds) {
    std::lock_guard lk(impl_->db_mutex);
    statement st(impl_->db, "DELETE FROM leases WHERE state IN ('expired', 'released') AND ends < ?1");
    sqlite3_bind_int64(st.get(), 1, unix_seconds);
    if (sqlite3_step(st.get()) != SQLITE_DONE) return 0;
    return static_cast<std::size_t>(sqlite3_changes(impl_->db));
}

std::vector<lease> read_leases(const std::string& path) {
    sqlite3* db = open_db(path, SQLITE_OPEN_READONLY);
    sqlite::closer c{db};
    try {
        return read_all(db);
    } catch (const std::exception& e) {
        throw std::runtime_error(path + " is not a pxed lease database (" + e.what() + ")");
    }
}

}  // namespace pxed::store
