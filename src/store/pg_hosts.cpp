// The host lifecycle on PostgreSQL, shared by several pxed instances.
//
// Each row carries a version (rev). A write names the version the instance
// read (optimistic concurrency: UPDATE ... WHERE rev = the one read); a
// host another instance changed meanwhile is refused and comes back as it
// now is, and the lifecycle service adopts it and reports the change as
// not made. A reinstall made through one instance, the kickstart served by
// another and the install-done callback reaching a third therefore all act
// on one record, one generation and one token. Last-seen times are history
// and are written without a version (the greater one wins).
//
// Writes run on the caller's thread (the event loop): lifecycle changes
// are few (one per install step), and an API call or callback answers with
// the outcome. So that the loop never waits long on the database:
// - a statement has two seconds (pg::connection's deadline, on any
//   transport), a connection attempt two seconds;
// - once a statement went unanswered, no reconnect on the loop until the
//   watcher (reading every second on its own thread, five seconds each)
//   has read since, and none while it finds the database lost: a write
//   fails at once without touching the network;
// - after a failed attempt, none for a second.
// At worst the loop waits one statement's deadline, once per transaction
// under way, when the database goes silent.

#include "pg.hpp"

#include "pxed/store/backend.hpp"

#include <atomic>
#include <chrono>
#include <mutex>

namespace pxed::store {
namespace {


constexpr const char* hosts_schema = R"sql(
CREATE TABLE pxed_hosts (
    mac             text    PRIMARY KEY,
    hostname        text    NOT NULL DEFAULT '',
    profile         text    NOT NULL DEFAULT '',
    state           text    NOT NULL,
    generation      bigint  NOT NULL,
    token           text    NOT NULL,
    last_seen       bigint  NOT NULL DEFAULT 0,
    install_started bigint  NOT NULL DEFAULT 0,
    install_done    bigint  NOT NULL DEFAULT 0,
    changed_at      bigint  NOT NULL DEFAULT 0,
    changed_by      text    NOT NULL DEFAULT '',
    last_event      text    NOT NULL DEFAULT '',
    rev             bigint  NOT NULL DEFAULT 1,
    origin          text    NOT NULL DEFAULT '',
    written_by      text    NOT NULL DEFAULT '',
    txid            xid8    NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX pxed_hosts_by_txid ON pxed_hosts (txid);
)sql";

// Step v takes the schema from version v to v + 1 (pg::ensure_schema).
constexpr const char* hosts_steps[] = {hosts_schema};

constexpr const char* columns =
    "mac, hostname, profile, state, generation, token, last_seen, install_started, install_done, changed_at, "
    "changed_by, last_event, rev, origin";

// $1..$12 the record, $13 origin, $14 instance name, $15 the rev read (0:
// the instance never saw a row).
constexpr const char* guarded_upsert =
    "INSERT INTO pxed_hosts AS h (mac, hostname, profile, state, generation, token, last_seen, install_started, "
    "install_done, changed_at, changed_by, last_event, rev, origin, written_by) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $14) "
    "ON CONFLICT (mac) DO UPDATE SET hostname = EXCLUDED.hostname, profile = EXCLUDED.profile, "
    "state = EXCLUDED.state, generation = EXCLUDED.generation, token = EXCLUDED.token, "
    "last_seen = greatest(h.last_seen, EXCLUDED.last_seen), install_started = EXCLUDED.install_started, "
    "install_done = EXCLUDED.install_done, changed_at = EXCLUDED.changed_at, changed_by = EXCLUDED.changed_by, "
    "last_event = EXCLUDED.last_event, rev = h.rev + 1, origin = EXCLUDED.origin, "
    "written_by = EXCLUDED.written_by, txid = pg_current_xact_id() "
    "WHERE h.rev = $15::bigint "
    "RETURNING rev";

host_record record_of(const PGresult* r, int row) {
    host_record h;
    if (const auto mac = wire::mac_address::parse(pg::text(r, row, 0))) h.mac = *mac;
    h.hostname = pg::text(r, row, 1);
    h.profile = pg::text(r, row, 2);
    h.state = host_state_from(pg::text(r, row, 3)).value_or(host_state::failed);
    h.generation = static_cast<std::uint32_t>(pg::number(r, row, 4));
    h.token = pg::text(r, row, 5);
    h.last_seen = pg::number(r, row, 6);
    h.install_started = pg::number(r, row, 7);
    h.install_done = pg::number(r, row, 8);
    h.changed_at = pg::number(r, row, 9);
    h.changed_by = pg::text(r, row, 10);
    h.last_event = pg::text(r, row, 11);
    h.rev = static_cast<std::uint64_t>(pg::number(r, row, 12));
    return h;
}

class pg_host_store final : public host_backend {
public:
    explicit pg_host_store(const postgres_options& o)
        : options_(o),
          origin_(pg::random_origin()),
          main_(std::make_unique<pg::connection>(on_the_loop(o), "pxed", std::chrono::seconds(2))),
          watcher_(o, origin_, "pxed_hosts",
                   std::string("SELECT ") + columns + " FROM pxed_hosts WHERE txid >= $1::xid8 ORDER BY txid", 13) {
        pg::ensure_schema(*main_, "hosts", {std::begin(hosts_steps), std::end(hosts_steps)});
    }

    ~pg_host_store() override { watcher_.stop(); }

    std::vector<host_record> load() const override {
        std::lock_guard lk(mutex_);
        if (!main_->ok() && !main_->reset()) throw std::runtime_error("cannot reach " + describe());
        auto [r, xmin] = pg::snapshot_read(*main_, std::string("SELECT ") + columns + " FROM pxed_hosts ORDER BY mac");
        std::vector<host_record> out;
        const int n = PQntuples(r.get());
        for (int i = 0; i < n; ++i)
            if (wire::mac_address::parse(pg::text(r.get(), i, 0))) out.push_back(record_of(r.get(), i));
        watcher_.start_from(xmin);
        return out;
    }

    bool write(std::vector<host_record>& records, std::string& error, std::vector<host_record>* refused) override {
        if (records.empty()) return true;
        std::lock_guard lk(mutex_);
        // A connection the server dropped (it restarted) is noticed by
        // the first query: one reconnect and one more try.
        if (try_write(records, error, refused)) return true;
        return dropped() && try_write(records, error, refused);
    }

    bool write_seen(const std::vector<host_record>& records, std::string& error) override {
        if (records.empty()) return true;
        std::lock_guard lk(mutex_);
        if (try_write_seen(records, error)) return true;
        return dropped() && try_write_seen(records, error);
    }

private:
    bool try_write(std::vector<host_record>& records, std::string& error, std::vector<host_record>* refused) {
        may_reconnect_ = false;
        if (!reachable(error)) return false;
        std::vector<host_record> lost;
        std::vector<std::uint64_t> revs(records.size(), 0);
        try {
            main_->exec("BEGIN");
            for (std::size_t i = 0; i < records.size(); ++i) {
                const auto& h = records[i];
                auto r = main_->query(
                    guarded_upsert,
                    {pg::param::text(h.mac.to_string()), pg::param::text(h.hostname), pg::param::text(h.profile),
                     pg::param::text(to_string(h.state)), pg::param::number(h.generation), pg::param::text(h.token),
                     pg::param::number(h.last_seen), pg::param::number(h.install_started),
                     pg::param::number(h.install_done), pg::param::number(h.changed_at),
                     pg::param::text(h.changed_by), pg::param::text(h.last_event), pg::param::text(origin_),
                     pg::param::text(options_.instance), pg::param::number(static_cast<std::int64_t>(h.rev))});
                if (PQntuples(r.get()) == 1) {
                    revs[i] = static_cast<std::uint64_t>(pg::number(r.get(), 0, 0));
                    continue;
                }
                auto now = main_->query(std::string("SELECT ") + columns + " FROM pxed_hosts WHERE mac = $1",
                                        {pg::param::text(h.mac.to_string())});
                if (PQntuples(now.get()) == 1) lost.push_back(record_of(now.get(), 0));
            }
            main_->query("SELECT pg_notify('pxed_hosts', $1)", {pg::param::text(origin_)});
            main_->exec("COMMIT");
        } catch (const std::exception& e) {
            failed(e, error);
            return false;
        }
        for (std::size_t i = 0; i < records.size(); ++i)
            if (revs[i]) records[i].rev = revs[i];
        if (refused) *refused = std::move(lost);
        return true;
    }

    bool try_write_seen(const std::vector<host_record>& records, std::string& error) {
        may_reconnect_ = false;
        if (!reachable(error)) return false;
        try {
            main_->exec("BEGIN");
            for (const auto& h : records)
                main_->query("UPDATE pxed_hosts SET last_seen = greatest(last_seen, $2) WHERE mac = $1",
                             {pg::param::text(h.mac.to_string()), pg::param::number(h.last_seen)});
            main_->exec("COMMIT");
            return true;
        } catch (const std::exception& e) {
            failed(e, error);
            return false;
        }
    }

public:
    std::string describe() const override {
        return "PostgreSQL (" + options_.conninfo + ") as instance " + options_.instance;
    }
    bool shared() const override { return true; }

    void watch(std::function<void(std::vector<host_record>)> rows,
               std::function<void(bool, const std::string&)> up) override {
        up = [this, up = std::move(up)](bool is_up, const std::string& why) {
            watcher_lost_ = !is_up;
            if (up) up(is_up, why);
        };
        watcher_.start(
            [rows = std::move(rows)](const PGresult* r, const std::vector<int>& which) {
                std::vector<host_record> out;
                for (int i : which)
                    if (wire::mac_address::parse(pg::text(r, i, 0))) out.push_back(record_of(r, i));
                if (!out.empty()) rows(std::move(out));
            },
            std::move(up));
    }
    void stop_watching() override { watcher_.stop(); }

private:
    using clock = std::chrono::steady_clock;

    // Connected, or connected again; not retried within a second of a
    // failed attempt (the caller is the event loop).
    static postgres_options on_the_loop(postgres_options o) {
        o.connect_timeout = 2;  // libpq's least
        return o;
    }

    bool reachable(std::string& error) {
        if (main_->ok()) return true;
        // The connection is closed. No reconnect on the loop while the
        // watcher finds the database lost, nor after a statement went
        // unanswered until a read of the watcher's that began after it
        // has gone through (a connect to a silent server waits too).
        if (awaiting_read_ && (!watcher_.running() || watcher_.reads() >= unanswered_at_ + 2)) awaiting_read_ = false;
        if (watcher_lost_ || awaiting_read_) {
            error = "the database is unreachable (changes wait until it is back)";
            return false;
        }
        if (clock::now() < retry_after_) {
            error = "the database is unreachable (trying again every second)";
            return false;
        }
        if (main_->reset()) return true;
        note_failure();
        error = "the database is unreachable: " + std::string(PQerrorMessage(main_->get()));
        while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) error.pop_back();
        return false;
    }
    void note_failure() { retry_after_ = clock::now() + std::chrono::seconds(1); }

    // A statement failed: whether the server closed the connection under
    // it (a restart: worth one reconnect at once), or did not answer (the
    // connection is closed and a reconnect would wait as long).
    void failed(const std::exception& e, std::string& error) {
        main_->rollback();
        error = e.what();
        const auto* pe = dynamic_cast<const pg::error*>(&e);
        may_reconnect_ = pe && !pe->unanswered && !main_->ok();
        if (pe && pe->unanswered && watcher_.running()) {
            awaiting_read_ = true;
            unanswered_at_ = watcher_.reads();
        }
        note_failure();
    }
    bool dropped() {
        const bool again = may_reconnect_;
        may_reconnect_ = false;
        return again && main_->reset();
    }

    postgres_options options_;
    std::string origin_;
    mutable std::mutex mutex_;
    std::unique_ptr<pg::connection> main_;
    mutable pg::watcher watcher_;
    clock::time_point retry_after_{};
    std::atomic<bool> watcher_lost_{false};
    bool may_reconnect_ = false;
    bool awaiting_read_ = false;
    std::uint64_t unanswered_at_ = 0;
};

}  // namespace

int pg::hosts_schema_version() { return static_cast<int>(std::size(hosts_steps)); }

std::unique_ptr<host_backend> pg::open_host_store(const postgres_options& o) { return std::make_unique<pg_host_store>(o); }

}  // namespace pxed::store
