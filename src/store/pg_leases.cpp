// The lease backend on PostgreSQL, shared by several pxed instances.
//
// Allocation is guarded by the database: a change is one INSERT ... ON
// CONFLICT (ip) DO UPDATE ... WHERE <may_overwrite's rule>, so the row's
// lock serialises two instances writing the same address, and the second
// one's WHERE is evaluated against the first one's committed row (READ
// COMMITTED re-checks an updated row). A change the rule refuses comes
// back with the row that holds the address; the server adopts it and
// answers its client from that (a NAK instead of the ACK). Within a
// transaction the changes are written in address order, so two instances'
// batches lock rows in the same order and cannot deadlock each other.
//
// What other instances wrote reaches this one through a watcher thread:
// LISTEN pxed_leases for promptness, and a read of every row whose writing
// transaction is not older than the oldest one that was still running at
// the previous read (pg_snapshot_xmin), so that no commit is missed however
// the transactions interleave. A row may come twice; adopting it is
// idempotent.

#include "pg.hpp"

#include "pxed/metrics/registry.hpp"
#include "pxed/store/backend.hpp"

#include <algorithm>
#include <optional>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_set>

namespace pxed::store {
namespace {


constexpr const char* leases_schema = R"sql(
CREATE TABLE pxed_leases (
    ip          bigint  PRIMARY KEY,
    client_key  bytea   NOT NULL,
    mac         text,
    hostname    bytea   NOT NULL DEFAULT '',
    state       text    NOT NULL,
    starts      bigint  NOT NULL,
    ends        bigint  NOT NULL,
    subnet      text    NOT NULL DEFAULT '',
    origin      text    NOT NULL DEFAULT '',
    written_by  text    NOT NULL DEFAULT '',
    txid        xid8    NOT NULL DEFAULT pg_current_xact_id(),
    -- How the last change was guarded (the rule reads them from EXCLUDED).
    claim_reservation boolean NOT NULL DEFAULT false,
    claim_taken_from  bytea
);
CREATE INDEX pxed_leases_by_client ON pxed_leases (client_key);
CREATE INDEX pxed_leases_by_txid ON pxed_leases (txid);
)sql";

// Step v takes the schema from version v to v + 1 (pg::ensure_schema).
constexpr const char* leases_steps[] = {leases_schema};
constexpr int leases_schema_version = static_cast<int>(std::size(leases_steps));

constexpr const char* columns = "ip, client_key, mac, hostname, state, starts, ends, subnet, origin";

// A whole batch in one statement: arrays of the changes' fields ($1..$8,
// $11 reservation, $12 taken_from; bytes as hex, so that a client's raw
// hostname never meets a text encoding), $9 origin (this process), $10
// instance name, $13 now. The rule is may_overwrite's, row by row under
// each row's lock; RETURNING names the addresses written. An address may
// appear once per statement (ON CONFLICT updates a row once): a batch
// that has one twice is written in rounds.
constexpr const char* guarded_upsert =
    "INSERT INTO pxed_leases AS l (ip, client_key, mac, hostname, state, starts, ends, subnet, origin, written_by, "
    "claim_reservation, claim_taken_from) "
    "SELECT u.ip, decode(u.ck, 'hex'), u.mac, decode(u.hn, 'hex'), u.st, u.s, u.e, u.sn, $9, $10, u.res, "
    "decode(u.tf, 'hex') "
    "FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], "
    "$8::text[], $11::boolean[], $12::text[]) AS u(ip, ck, mac, hn, st, s, e, sn, res, tf) "
    "ON CONFLICT (ip) DO UPDATE SET client_key = EXCLUDED.client_key, mac = EXCLUDED.mac, "
    "hostname = EXCLUDED.hostname, state = EXCLUDED.state, starts = EXCLUDED.starts, ends = EXCLUDED.ends, "
    "subnet = EXCLUDED.subnet, origin = EXCLUDED.origin, written_by = EXCLUDED.written_by, "
    "claim_reservation = EXCLUDED.claim_reservation, claim_taken_from = EXCLUDED.claim_taken_from, "
    "txid = pg_current_xact_id() "
    "WHERE EXCLUDED.claim_reservation OR (l.client_key = coalesce(EXCLUDED.claim_taken_from, EXCLUDED.client_key) AND "
    "(EXCLUDED.state <> 'expired' OR l.ends <= EXCLUDED.ends OR EXCLUDED.claim_taken_from IS NOT NULL)) "
    "OR (EXCLUDED.state = 'bound' AND (l.state IN ('expired', 'released') OR (l.ends <> 0 AND l.ends <= $13::bigint))) "
    "RETURNING ip";

std::string hex_of(const std::string& bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

// A PostgreSQL array literal of the values (each double-quoted; hex, MACs,
// state words and CIDRs hold no quote or backslash), NULL for nullopt.
template <typename T, typename F>
std::string array_of(const std::vector<const lease*>& rows, F value) {
    std::string out = "{";
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (i) out += ',';
        const std::optional<T> v = value(*rows[i]);
        if (!v) {
            out += "NULL";
        } else if constexpr (std::is_same_v<T, std::string>) {
            out += '"' + *v + '"';
        } else {
            out += std::to_string(*v);
        }
    }
    return out + "}";
}

lease lease_of(const PGresult* r, int row) {
    lease l;
    l.ip = wire::ipv4_address(static_cast<std::uint32_t>(pg::number(r, row, 0)));
    l.client_key = pg::bytea(r, row, 1);
    if (!PQgetisnull(r, row, 2)) l.mac = wire::mac_address::parse(pg::text(r, row, 2));
    l.hostname = pg::bytea(r, row, 3);
    l.state = lease_state_from(pg::text(r, row, 4)).value_or(lease_state::declined);
    l.starts = pg::number(r, row, 5);
    l.ends = pg::number(r, row, 6);
    l.subnet = pg::text(r, row, 7);
    return l;
}

class pg_lease_store final : public lease_backend {
public:
    explicit pg_lease_store(const postgres_options& o)
        : options_(o),
          origin_(pg::random_origin()),
          main_(std::make_unique<pg::connection>(o)),
          watcher_(o, origin_, "pxed_leases",
                   std::string("SELECT ") + columns + " FROM pxed_leases WHERE txid >= $1::xid8 ORDER BY txid", 8) {
        pg::ensure_schema(*main_, "leases", {std::begin(leases_steps), std::end(leases_steps)});
    }

    ~pg_lease_store() override {
        stop_watching();
        stop_writer();
    }

    std::vector<lease> load() const override {
        std::lock_guard lk(main_mutex_);
        // One snapshot for the rows and the point the watcher starts from.
        auto [r, xmin] = pg::snapshot_read(*main_, std::string("SELECT ") + columns + " FROM pxed_leases ORDER BY ip");
        std::vector<lease> out;
        const int n = PQntuples(r.get());
        out.reserve(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) out.push_back(lease_of(r.get(), i));
        watcher_.start_from(xmin);
        return out;
    }

    void commit(std::vector<lease> changes, commit_done done) override {
        {
            std::lock_guard lk(queue_mutex_);
            if (!writer_stop_) {
                queue_.push_back({std::move(changes), std::move(done)});
                if (!writer_.joinable()) writer_ = std::thread([this] { run_writer(); });
                queue_cv_.notify_one();
                return;
            }
        }
        commit_outcome result = write(changes);
        if (done) done(result);
    }

    void stop_writer() override {
        {
            std::lock_guard lk(queue_mutex_);
            writer_stop_ = true;
        }
        queue_cv_.notify_one();
        if (writer_.joinable()) writer_.join();
    }

    std::size_t forget_before(std::int64_t unix_seconds) override {
        std::lock_guard lk(main_mutex_);
        try {
            auto r = main_->query("DELETE FROM pxed_leases WHERE state IN ('expired', 'released') AND ends < $1",
                                  {pg::param::number(unix_seconds)});
            return static_cast<std::size_t>(std::strtoull(PQcmdTuples(r.get()), nullptr, 10));
        } catch (const std::exception&) {
            return 0;
        }
    }

    void set_metrics(metrics::registry& registry) override {
        commit_seconds_ =
            &registry
                 .histograms("pxed_lease_store_commit_duration_seconds",
                             "Time one lease store transaction took in the database, round trips included.",
                             {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10})
                 .only();
        commit_failures_ =
            &registry.counters("pxed_lease_store_commit_failures_total", "Lease store transactions that failed (ACKs withheld).")
                 .only();
        refusals_ = &registry
                         .counters("pxed_lease_store_refusals_total",
                                   "Lease changes the shared database refused: another instance held the address.")
                         .only();
    }

    std::string describe() const override {
        return "PostgreSQL (" + options_.conninfo + ") as instance " + options_.instance;
    }

    bool shared() const override { return true; }

    void watch(std::function<void(std::vector<lease>)> rows, std::function<void(bool, const std::string&)> up) override {
        up = [this, up = std::move(up)](bool is_up, const std::string& why) {
            watcher_lost_ = !is_up;
            if (up) up(is_up, why);
        };
        watcher_.start(
            [rows = std::move(rows)](const PGresult* r, const std::vector<int>& which) {
                std::vector<lease> out;
                out.reserve(which.size());
                for (int i : which) out.push_back(lease_of(r, i));
                rows(std::move(out));
            },
            std::move(up));
    }

    void stop_watching() override { watcher_.stop(); }

private:
    struct job {
        std::vector<lease> changes;
        commit_done done;
    };

    // One transaction for a batch: every change written or refused, or
    // nothing (ok false). Deadlocks and serialization failures are retried.
    commit_outcome write(std::vector<lease> changes) {
        commit_outcome out;
        if (changes.empty()) return out;
        std::stable_sort(changes.begin(), changes.end(),
                         [](const lease& a, const lease& b) { return a.ip.value() < b.ip.value(); });
        std::lock_guard lk(main_mutex_);
        const auto started = std::chrono::steady_clock::now();
        for (int attempt = 0;; ++attempt) {
            try {
                // While the watcher finds the database lost, a batch fails
                // at once: no connect timeout per batch.
                if (!main_->ok() && (watcher_lost_ || !main_->reset()))
                    throw pg::error("the database is unreachable", "");
                out = write_once(changes);
                break;
            } catch (const pg::error& e) {
                main_->rollback();
                // A lost connection gets one reconnect and one more try;
                // a deadlock or serialization failure a few.
                const bool lost = !main_->ok();
                const bool reconnect = lost && !e.unanswered && !watcher_lost_ && attempt == 0;
                if ((e.retryable() && attempt < 4) || (reconnect && main_->reset())) continue;
                out.ok = false;
                out.error = e.what();
                out.refused.clear();
                break;
            } catch (const std::exception& e) {
                main_->rollback();
                out.ok = false;
                out.error = e.what();
                out.refused.clear();
                break;
            }
        }
        if (commit_seconds_)
            commit_seconds_->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        if (!out.ok && commit_failures_) commit_failures_->inc();
        if (refusals_ && !out.refused.empty()) refusals_->inc(out.refused.size());
        return out;
    }

    commit_outcome write_once(const std::vector<lease>& changes) {
        commit_outcome out;
        const auto now = static_cast<std::int64_t>(std::time(nullptr));
        main_->exec("BEGIN");
        std::vector<const lease*> refused;
        // Rounds: each address at most once per statement, in batch order.
        std::vector<const lease*> pending;
        for (const auto& l : changes) pending.push_back(&l);
        while (!pending.empty()) {
            std::vector<const lease*> round, later;
            std::unordered_set<std::uint32_t> in_round;
            for (const auto* l : pending)
                (in_round.insert(l->ip.value()).second ? round : later).push_back(l);
            pending = std::move(later);
            using str = std::optional<std::string>;
            using num = std::optional<std::int64_t>;
            auto r = main_->query(
                guarded_upsert,
                {pg::param::text(array_of<std::int64_t>(round, [](const lease& l) { return num(l.ip.value()); })),
                 pg::param::text(array_of<std::string>(round, [](const lease& l) { return str(hex_of(l.client_key)); })),
                 pg::param::text(array_of<std::string>(
                     round, [](const lease& l) { return l.mac ? str(l.mac->to_string()) : str(); })),
                 pg::param::text(array_of<std::string>(round, [](const lease& l) { return str(hex_of(l.hostname)); })),
                 pg::param::text(array_of<std::string>(round, [](const lease& l) { return str(to_string(l.state)); })),
                 pg::param::text(array_of<std::int64_t>(round, [](const lease& l) { return num(l.starts); })),
                 pg::param::text(array_of<std::int64_t>(round, [](const lease& l) { return num(l.ends); })),
                 pg::param::text(array_of<std::string>(round, [](const lease& l) { return str(l.subnet); })),
                 pg::param::text(origin_), pg::param::text(options_.instance),
                 pg::param::text(array_of<std::string>(
                     round, [](const lease& l) { return str(l.reservation ? "true" : "false"); })),
                 pg::param::text(array_of<std::string>(
                     round, [](const lease& l) { return l.taken_from.empty() ? str() : str(hex_of(l.taken_from)); })),
                 pg::param::number(now)});
            std::unordered_set<std::uint32_t> written;
            for (int i = 0; i < PQntuples(r.get()); ++i)
                written.insert(static_cast<std::uint32_t>(pg::number(r.get(), i, 0)));
            for (const auto* l : round)
                if (!written.count(l->ip.value())) refused.push_back(l);
        }
        for (const auto* l : refused) {
            auto r = main_->query(std::string("SELECT ") + columns + " FROM pxed_leases WHERE ip = $1",
                                  {pg::param::number(l->ip.value())});
            if (PQntuples(r.get()) != 1) throw std::runtime_error("a refused lease's row vanished");
            out.refused.push_back({*l, lease_of(r.get(), 0)});
        }
        // Delivered at COMMIT: the other instances' watchers read at once.
        main_->query("SELECT pg_notify('pxed_leases', $1)", {pg::param::text(origin_)});
        main_->exec("COMMIT");
        return out;
    }

    void run_writer() {
        for (;;) {
            std::deque<job> jobs;
            {
                std::unique_lock lk(queue_mutex_);
                queue_cv_.wait(lk, [&] { return writer_stop_ || !queue_.empty(); });
                if (queue_.empty()) return;
                jobs.swap(queue_);
            }
            // What queued up during the last round trip goes in one
            // transaction.
            std::vector<lease> all;
            for (auto& j : jobs) all.insert(all.end(), j.changes.begin(), j.changes.end());
            const auto result = write(std::move(all));
            for (auto& j : jobs) {
                if (!j.done) continue;
                try {
                    j.done(result);
                } catch (...) {
                }
            }
        }
    }

    postgres_options options_;
    std::string origin_;  // this process, in the rows it writes

    mutable std::mutex main_mutex_;  // main_: load, forget_before and the writer
    std::unique_ptr<pg::connection> main_;
    std::atomic<bool> watcher_lost_{false};
    mutable pg::watcher watcher_;

    metrics::histogram* commit_seconds_ = nullptr;
    metrics::counter* commit_failures_ = nullptr;
    metrics::counter* refusals_ = nullptr;

    std::mutex queue_mutex_;
    std::condition_variable queue_cv_;
    std::deque<job> queue_;
    bool writer_stop_ = false;
    std::thread writer_;
};

}  // namespace

std::unique_ptr<lease_backend> pg::open_lease_store(const postgres_options& o) { return std::make_unique<pg_lease_store>(o); }

std::string pg::check(const postgres_options& o) {
    try {
        pg::connection c(o, "pxed-check");
        const int v = pg::schema_version(c, "leases");
        if (v > leases_schema_version)
            return "the leases schema is version " + std::to_string(v) + ", written by a newer pxed (this one knows " +
                   std::to_string(leases_schema_version) + ")";
        if (const int h = pg::schema_version(c, "hosts"); h > pg::hosts_schema_version())
            return "the hosts schema is version " + std::to_string(h) + ", written by a newer pxed (this one knows " +
                   std::to_string(pg::hosts_schema_version()) + ")";
        if (const int t = pg::schema_version(c, "trace"); t > pg::trace_schema_version())
            return "the trace schema is version " + std::to_string(t) + ", written by a newer pxed (this one knows " +
                   std::to_string(pg::trace_schema_version()) + ")";
        if (v == 0) {
            // Not an error: the daemon creates it. But it must be allowed to.
            auto r = c.query("SELECT coalesce(has_schema_privilege(current_schema(), 'CREATE'), false)::text");
            if (pg::text(r.get(), 0, 0) != "true")
                return "the schema is not there yet and this user may not create tables in it (no CREATE on "
                       "the schema; grant it, or create the schema by starting pxed once as its owner)";
        }
        return {};
    } catch (const std::exception& e) {
        return e.what();
    }
}

}  // namespace pxed::store
