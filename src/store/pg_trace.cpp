// The boot trace on PostgreSQL, shared by several pxed instances.
//
// Every instance writes its own rows, numbered by its own sequence
// (instance, seq is unique: a package count that grew is the same row
// written again), and reads the others' as they commit (pg::watcher), so
// that `pxed trace HOST` on any instance tells the whole boot: the OFFER
// from one, the kickstart from another, the callback to a third. Like the
// SQLite trace, this is history: written by the trace's own thread a
// second or so behind, bounded by pruning (per host, and in all), and a
// batch the database refused waits for it on that thread, never on the
// event loop.

#include <map>
#include <set>

#include "pg.hpp"

namespace pxed::store {
namespace {


constexpr const char* schema = R"sql(
CREATE TABLE pxed_trace (
    id          bigserial PRIMARY KEY,
    instance    text    NOT NULL,
    seq         bigint  NOT NULL,
    time_ms     bigint  NOT NULL,
    mac         text    NOT NULL,
    known       boolean NOT NULL,
    kind        text    NOT NULL,
    ok          boolean NOT NULL,
    flags       integer NOT NULL DEFAULT 0,
    client      bigint  NOT NULL DEFAULT 0,
    what        text    NOT NULL DEFAULT '',
    outcome     text    NOT NULL DEFAULT '',
    detail      text    NOT NULL DEFAULT '',
    bytes       bigint  NOT NULL DEFAULT 0,
    duration_ms bigint  NOT NULL DEFAULT 0,
    origin      text    NOT NULL DEFAULT '',
    txid        xid8    NOT NULL DEFAULT pg_current_xact_id(),
    UNIQUE (instance, seq)
);
CREATE INDEX pxed_trace_by_mac ON pxed_trace (mac, id);
CREATE INDEX pxed_trace_by_txid ON pxed_trace (txid);
CREATE TABLE pxed_trace_numbers (
    instance text   PRIMARY KEY,
    last_seq bigint NOT NULL
);
)sql";

// Step v takes the schema from version v to v + 1 (pg::ensure_schema).
constexpr const char* trace_steps[] = {schema};

constexpr const char* columns =
    "instance, seq, time_ms, mac, known, kind, ok, flags, client, what, outcome, detail, bytes, duration_ms, origin";
constexpr int origin_column = 14;

// $1 instance, $2 origin, then one array per column.
constexpr const char* insert_rows =
    "INSERT INTO pxed_trace AS t (instance, seq, time_ms, mac, known, kind, ok, flags, client, what, outcome, detail, "
    "bytes, duration_ms, origin) "
    "SELECT $1, s, tm, m, kn, k, o, f, c, w, oc, d, b, dur, $2 FROM unnest($3::bigint[], $4::bigint[], $5::text[], "
    "$6::boolean[], $7::text[], $8::boolean[], $9::integer[], $10::bigint[], $11::text[], $12::text[], $13::text[], "
    "$14::bigint[], $15::bigint[]) AS u(s, tm, m, kn, k, o, f, c, w, oc, d, b, dur) "
    "ON CONFLICT (instance, seq) DO UPDATE SET time_ms = EXCLUDED.time_ms, mac = EXCLUDED.mac, known = EXCLUDED.known, "
    "kind = EXCLUDED.kind, ok = EXCLUDED.ok, flags = EXCLUDED.flags, client = EXCLUDED.client, what = EXCLUDED.what, "
    "outcome = EXCLUDED.outcome, detail = EXCLUDED.detail, bytes = EXCLUDED.bytes, duration_ms = EXCLUDED.duration_ms, "
    "origin = EXCLUDED.origin, txid = pg_current_xact_id()";

constexpr const char* set_last =
    "INSERT INTO pxed_trace_numbers AS n (instance, last_seq) VALUES ($1, $2) "
    "ON CONFLICT (instance) DO UPDATE SET last_seq = greatest(n.last_seq, EXCLUDED.last_seq)";

// The newest `per_host` rows of each MAC in $1 stay (every instance's).
constexpr const char* prune_hosts =
    "DELETE FROM pxed_trace t USING (SELECT m, (SELECT id FROM pxed_trace WHERE mac = m ORDER BY id DESC "
    "OFFSET $2 LIMIT 1) AS cut FROM unnest($1::text[]) AS m) c WHERE t.mac = c.m AND t.id <= c.cut";

constexpr const char* prune_all =
    "DELETE FROM pxed_trace WHERE id <= (SELECT id FROM pxed_trace ORDER BY id DESC OFFSET $1 LIMIT 1)";

trace_row row_of(const PGresult* r, int i) {
    trace_row t;
    t.instance = pg::text(r, i, 0);
    t.seq = static_cast<std::uint64_t>(pg::number(r, i, 1));
    t.time_ms = pg::number(r, i, 2);
    if (const auto mac = wire::mac_address::parse(pg::text(r, i, 3))) t.mac = *mac;
    t.known = pg::text(r, i, 4) == "t";
    t.kind = pg::text(r, i, 5);
    t.ok = pg::text(r, i, 6) == "t";
    t.flags = static_cast<std::uint8_t>(pg::number(r, i, 7));
    t.client = static_cast<std::uint32_t>(pg::number(r, i, 8));
    t.what = pg::text(r, i, 9);
    t.outcome = pg::text(r, i, 10);
    t.detail = pg::text(r, i, 11);
    t.bytes = static_cast<std::uint64_t>(pg::number(r, i, 12));
    t.duration_ms = static_cast<std::uint32_t>(pg::number(r, i, 13));
    return t;
}

template <typename F>
std::string array_of(const std::vector<const trace_row*>& rows, F value) {
    std::vector<std::optional<std::string>> v;
    v.reserve(rows.size());
    for (const auto* r : rows) v.emplace_back(value(*r));
    return pg::text_array(v);
}

class pg_trace_store final : public trace_backend {
public:
    explicit pg_trace_store(const postgres_options& o)
        : options_(o),
          origin_(pg::random_origin()),
          main_(std::make_unique<pg::connection>(o, "pxed-trace")),
          watcher_(o, origin_, "pxed_trace",
                   std::string("SELECT ") + columns + " FROM pxed_trace WHERE txid >= $1::xid8 ORDER BY id",
                   origin_column) {
        pg::ensure_schema(*main_, "trace", {std::begin(trace_steps), std::end(trace_steps)});
    }

    ~pg_trace_store() override { watcher_.stop(); }

    std::vector<trace_row> load() const override {
        std::lock_guard lk(mutex_);
        auto [r, xmin] =
            pg::snapshot_read(*main_, std::string("SELECT ") + columns + " FROM pxed_trace ORDER BY time_ms, id");
        std::vector<trace_row> out;
        const int n = PQntuples(r.get());
        out.reserve(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i)
            if (wire::mac_address::parse(pg::text(r.get(), i, 3))) out.push_back(row_of(r.get(), i));
        watcher_.start_from(xmin);
        return out;
    }

    std::uint64_t last_seq() const override {
        std::lock_guard lk(mutex_);
        auto r = main_->query(
            "SELECT greatest(coalesce((SELECT last_seq FROM pxed_trace_numbers WHERE instance = $1), 0), "
            "coalesce((SELECT max(seq) FROM pxed_trace WHERE instance = $1), 0))",
            {pg::param::text(options_.instance)});
        return static_cast<std::uint64_t>(pg::number(r.get(), 0, 0));
    }

    bool save(const std::vector<trace_row>& rows, std::uint64_t last_seq, const trace_bounds& bounds,
              std::string& error) override {
        std::lock_guard lk(mutex_);
        // A connection the server dropped (it restarted) is noticed by the
        // first query: one reconnect and one more try.
        if (try_save(rows, last_seq, bounds, error)) return true;
        return !main_->ok() && main_->reset() && try_save(rows, last_seq, bounds, error);
    }

    std::string describe() const override {
        return "PostgreSQL (" + options_.conninfo + ") as instance " + options_.instance;
    }
    bool shared() const override { return true; }

    void watch(std::function<void(std::vector<trace_row>)> rows,
               std::function<void(bool, const std::string&)> up) override {
        watcher_.start(
            [rows = std::move(rows)](const PGresult* r, const std::vector<int>& which) {
                std::vector<trace_row> out;
                out.reserve(which.size());
                for (int i : which)
                    if (wire::mac_address::parse(pg::text(r, i, 3))) out.push_back(row_of(r, i));
                if (!out.empty()) rows(std::move(out));
            },
            std::move(up));
    }
    void stop_watching() override { watcher_.stop(); }

private:
    bool try_save(const std::vector<trace_row>& rows, std::uint64_t last_seq, const trace_bounds& bounds,
                  std::string& error) {
        if (!main_->ok()) {
            error = "the database is unreachable";
            return false;
        }
        // One row per number: a package event grown twice in one batch is
        // written as it ended (ON CONFLICT may touch a row once).
        std::map<std::uint64_t, const trace_row*> by_seq;
        for (const auto& r : rows) by_seq[r.seq] = &r;
        std::vector<const trace_row*> batch;
        batch.reserve(by_seq.size());
        for (const auto& [seq, r] : by_seq) batch.push_back(r);
        try {
            main_->exec("BEGIN");
            main_->query(set_last, {pg::param::text(options_.instance),
                                    pg::param::number(static_cast<std::int64_t>(last_seq))});
            if (!batch.empty()) {
                using str = std::optional<std::string>;
                const auto num = [](auto v) { return str(std::to_string(v)); };
                const auto boolean = [](bool b) { return str(b ? "t" : "f"); };
                main_->query(
                    insert_rows,
                    {pg::param::text(options_.instance), pg::param::text(origin_),
                     pg::param::text(array_of(batch, [&](const trace_row& r) { return num(r.seq); })),
                     pg::param::text(array_of(batch, [&](const trace_row& r) { return num(r.time_ms); })),
                     pg::param::text(array_of(batch, [](const trace_row& r) { return str(r.mac.to_string()); })),
                     pg::param::text(array_of(batch, [&](const trace_row& r) { return boolean(r.known); })),
                     pg::param::text(array_of(batch, [](const trace_row& r) { return str(pg::valid_text(r.kind)); })),
                     pg::param::text(array_of(batch, [&](const trace_row& r) { return boolean(r.ok); })),
                     pg::param::text(array_of(batch, [&](const trace_row& r) { return num(r.flags); })),
                     pg::param::text(array_of(batch, [&](const trace_row& r) { return num(r.client); })),
                     pg::param::text(array_of(batch, [](const trace_row& r) { return str(pg::valid_text(r.what)); })),
                     pg::param::text(
                         array_of(batch, [](const trace_row& r) { return str(pg::valid_text(r.outcome)); })),
                     pg::param::text(
                         array_of(batch, [](const trace_row& r) { return str(pg::valid_text(r.detail)); })),
                     pg::param::text(array_of(batch, [&](const trace_row& r) { return num(r.bytes); })),
                     pg::param::text(array_of(batch, [&](const trace_row& r) { return num(r.duration_ms); }))});
                main_->query("SELECT pg_notify('pxed_trace', $1)", {pg::param::text(origin_)});
            }
            main_->exec("COMMIT");
        } catch (const std::exception& e) {
            main_->rollback();
            error = e.what();
            return false;
        }
        prune(batch, bounds);
        return true;
    }

    // Housekeeping: a failure leaves a few rows more until the next batch,
    // and is not the batch's failure.
    void prune(const std::vector<const trace_row*>& batch, const trace_bounds& bounds) {
        std::set<std::string> hosts;
        for (const auto* r : batch)
            if (r->known) hosts.insert(r->mac.to_string());
        try {
            if (!hosts.empty()) {
                std::vector<std::optional<std::string>> macs(hosts.begin(), hosts.end());
                main_->query(prune_hosts, {pg::param::text(pg::text_array(macs)),
                                           pg::param::number(static_cast<std::int64_t>(bounds.per_host))});
            }
            // The bound in all costs a walk of the index: every 16th batch
            // (a batch is a second or more apart).
            if (saves_++ % 16 == 0)
                main_->query(prune_all, {pg::param::number(static_cast<std::int64_t>(bounds.total))});
        } catch (const std::exception&) {
        }
    }


    postgres_options options_;
    std::string origin_;
    mutable std::mutex mutex_;
    std::unique_ptr<pg::connection> main_;
    mutable pg::watcher watcher_;
    std::uint64_t saves_ = 0;
};

}  // namespace

int pg::trace_schema_version() { return static_cast<int>(std::size(trace_steps)); }

std::unique_ptr<trace_backend> pg::open_trace_store(const postgres_options& o) { return std::make_unique<pg_trace_store>(o); }

}  // namespace pxed::store
