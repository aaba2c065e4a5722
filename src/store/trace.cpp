#include "pxed/store/trace.hpp"

#include <set>

#include "sqlite.hpp"

namespace pxed::store {
namespace {

constexpr int schema_version = 1;

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS events (
    seq         INTEGER PRIMARY KEY,
    time_ms     INTEGER NOT NULL,
    mac         TEXT    NOT NULL,
    known       INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    ok          INTEGER NOT NULL,
    flags       INTEGER NOT NULL DEFAULT 0,
    client      INTEGER NOT NULL DEFAULT 0,
    what        TEXT    NOT NULL DEFAULT '',
    outcome     TEXT    NOT NULL DEFAULT '',
    detail      TEXT    NOT NULL DEFAULT '',
    bytes       INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS events_by_mac ON events (mac, seq);
CREATE INDEX IF NOT EXISTS events_by_pool ON events (known, seq);
CREATE TABLE IF NOT EXISTS numbers (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
);
)sql";

}  // namespace

bool operator==(const trace_row& a, const trace_row& b) {
    return a.seq == b.seq && a.time_ms == b.time_ms && a.mac == b.mac && a.known == b.known && a.kind == b.kind &&
           a.ok == b.ok && a.flags == b.flags && a.client == b.client && a.what == b.what && a.outcome == b.outcome &&
           a.detail == b.detail && a.bytes == b.bytes && a.duration_ms == b.duration_ms;
}

struct trace_store::impl {
    sqlite3* db = nullptr;
    std::unique_ptr<sqlite::statement> insert, prune_host, prune_pool, set_last;
    ~impl() {
        set_last.reset();
        insert.reset();
        prune_host.reset();
        prune_pool.reset();
        sqlite3_close(db);
    }
};

trace_store::trace_store(const std::string& path) : impl_(std::make_unique<impl>()), path_(path) {
    impl_->db = sqlite::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "trace database");
    // History: synchronous=NORMAL (survives kill -9, not power loss).
    sqlite::prepare(impl_->db, false, schema, schema_version, "trace database " + path);
    impl_->insert = std::make_unique<sqlite::statement>(
        impl_->db,
        "INSERT OR REPLACE INTO events (seq, time_ms, mac, known, kind, ok, flags, client, what, outcome, detail, bytes, "
        "duration_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
    impl_->set_last = std::make_unique<sqlite::statement>(
        impl_->db, "INSERT OR REPLACE INTO numbers (name, value) VALUES ('last_seq', "
                   "max(?1, coalesce((SELECT value FROM numbers WHERE name = 'last_seq'), 0)))");
    impl_->prune_host = std::make_unique<sqlite::statement>(
        impl_->db,
        "DELETE FROM events WHERE mac = ?1 AND seq <= "
        "(SELECT seq FROM events WHERE mac = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)");
    impl_->prune_pool = std::make_unique<sqlite::statement>(
        impl_->db,
        "DELETE FROM events WHERE known = ?1 AND seq <= "
        "(SELECT seq FROM events WHERE known = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)");
}

trace_store::~trace_store() = default;

std::vector<trace_row> trace_store::load() const {
    sqlite::statement st(impl_->db,
                         "SELECT seq, time_ms, mac, known, kind, ok, flags, client, what, outcome, detail, bytes, "
                         "duration_ms FROM events ORDER BY seq");
    std::vector<trace_row> out;
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
        auto* s = st.get();
        const auto mac = wire::mac_address::parse(sqlite::column_text(s, 2));
        if (!mac) continue;  // not written by pxed: skipped, not fatal
        trace_row r;
        r.seq = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
        r.time_ms = sqlite3_column_int64(s, 1);
        r.mac = *mac;
        r.known = sqlite3_column_int(s, 3) != 0;
        r.kind = sqlite::column_text(s, 4);
        r.ok = sqlite3_column_int(s, 5) != 0;
        r.flags = static_cast<std::uint8_t>(sqlite3_column_int(s, 6));
        r.client = static_cast<std::uint32_t>(sqlite3_column_int64(s, 7));
        r.what = sqlite::column_text(s, 8);
        r.outcome = sqlite::column_text(s, 9);
        r.detail = sqlite::column_text(s, 10);
        r.bytes = static_cast<std::uint64_t>(sqlite3_column_int64(s, 11));
        r.duration_ms = static_cast<std::uint32_t>(sqlite3_column_int64(s, 12));
        out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE)
        throw std::runtime_error("cannot read the trace database " + path_ + ": " + sqlite3_errmsg(impl_->db));
    return out;
}

std::uint64_t trace_store::last_seq() const {
    sqlite::statement st(impl_->db,
                         "SELECT max(coalesce((SELECT value FROM numbers WHERE name = 'last_seq'), 0), "
                         "coalesce((SELECT max(seq) FROM events), 0))");
    std::uint64_t n = 0;
    if (sqlite3_step(st.get()) == SQLITE_ROW) n = static_cast<std::uint64_t>(sqlite3_column_int64(st.get(), 0));
    return n;
}

bool trace_store::save(const std::vector<trace_row>& rows, std::uint64_t last_seq, const trace_bounds& bounds,
                       std::string& error) {
    auto* db = impl_->db;
    // The number first, on its own: a batch of no rows (strangers' events
    // only) still moves it.
    auto* sl = impl_->set_last->get();
    sqlite3_reset(sl);
    sqlite3_bind_int64(sl, 1, static_cast<sqlite3_int64>(last_seq));
    if (sqlite3_step(sl) != SQLITE_DONE) {
        error = std::string("cannot write the last event number: ") + sqlite3_errmsg(db);
        sqlite3_reset(sl);
        return false;
    }
    sqlite3_reset(sl);
    if (rows.empty()) return true;
    const auto bind_row = [](sqlite3_stmt* st, const trace_row& r) {
        sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(r.seq));
        sqlite3_bind_int64(st, 2, r.time_ms);
        sqlite::bind_text(st, 3, r.mac.to_string());
        sqlite3_bind_int(st, 4, r.known ? 1 : 0);
        sqlite::bind_text(st, 5, r.kind);
        sqlite3_bind_int(st, 6, r.ok ? 1 : 0);
        sqlite3_bind_int(st, 7, r.flags);
        sqlite3_bind_int64(st, 8, r.client);
        sqlite::bind_text(st, 9, r.what);
        sqlite::bind_text(st, 10, r.outcome);
        sqlite::bind_text(st, 11, r.detail);
        sqlite3_bind_int64(st, 12, static_cast<sqlite3_int64>(r.bytes));
        sqlite3_bind_int64(st, 13, r.duration_ms);
    };
    if (!sqlite::write_all(db, impl_->insert->get(), rows, bind_row, "trace event", error)) return false;
    // Pruning is housekeeping: a failure leaves a few rows more until the
    // next batch, and is not the batch's failure.
    std::set<wire::mac_address> hosts;
    for (const auto& r : rows)
        if (r.known) hosts.insert(r.mac);
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    auto* ph = impl_->prune_host->get();
    for (const auto& mac : hosts) {
        sqlite3_reset(ph);
        sqlite::bind_text(ph, 1, mac.to_string());
        sqlite3_bind_int64(ph, 2, static_cast<sqlite3_int64>(bounds.per_host));
        sqlite3_step(ph);
    }
    sqlite3_reset(ph);
    auto* pp = impl_->prune_pool->get();
    for (const auto& [known, cap] : {std::pair<int, std::size_t>{1, bounds.total}, {0, bounds.strangers}}) {
        sqlite3_reset(pp);
        sqlite3_bind_int(pp, 1, known);
        sqlite3_bind_int64(pp, 2, static_cast<sqlite3_int64>(cap));
        sqlite3_step(pp);
    }
    sqlite3_reset(pp);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    return true;
}

}  // namespace pxed::store
