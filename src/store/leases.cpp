#include "pxed/store/leases.hpp"

#include "sqlite.hpp"

#include <stdexcept>
#include <string_view>

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

std::vector<lease> read_all(sqlite3* db) {
    statement st(db, "SELECT ip, client_key, mac, hostname, state, starts, ends, subnet FROM leases ORDER BY ip");
    std::vector<lease> out;
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
        lease l;
        l.ip = wire::ipv4_address(static_cast<std::uint32_t>(sqlite3_column_int64(st.get(), 0)));
        const auto* key = static_cast<const char*>(sqlite3_column_blob(st.get(), 1));
        l.client_key.assign(key ? key : "", static_cast<std::size_t>(sqlite3_column_bytes(st.get(), 1)));
        if (sqlite3_column_type(st.get(), 2) != SQLITE_NULL) l.mac = wire::mac_address::parse(column_text(st.get(), 2));
        l.hostname = column_text(st.get(), 3);
        // A row whose state this version does not know is kept out of
        // service rather than guessed at: treat it as quarantined.
        l.state = lease_state_from(column_text(st.get(), 4)).value_or(lease_state::declined);
        l.starts = sqlite3_column_int64(st.get(), 5);
        l.ends = sqlite3_column_int64(st.get(), 6);
        l.subnet = column_text(st.get(), 7);
        out.push_back(std::move(l));
    }
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

bool operator==(const lease& a, const lease& b) {
    return a.ip == b.ip && a.client_key == b.client_key && a.mac == b.mac && a.hostname == b.hostname &&
           a.state == b.state && a.starts == b.starts && a.ends == b.ends && a.subnet == b.subnet;
}

struct lease_store::impl {
    sqlite3* db = nullptr;
    std::unique_ptr<statement> upsert;
    ~impl() {
        upsert.reset();
        sqlite3_close(db);
    }
};

lease_store::lease_store(const std::string& path, durability d) : impl_(std::make_unique<impl>()), path_(path) {
    impl_->db = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    auto* db = impl_->db;
    sqlite::prepare(db, d == durability::power_loss, schema, schema_version, "lease database " + path);
    impl_->upsert = std::make_unique<statement>(
        db,
        "INSERT OR REPLACE INTO leases (ip, client_key, mac, hostname, state, starts, ends, subnet) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
}

lease_store::~lease_store() = default;

std::vector<lease> lease_store::load() const { return read_all(impl_->db); }

bool lease_store::apply(const std::vector<lease>& changes, std::string& error) {
    const auto bind = [](sqlite3_stmt* st, const lease& l) {
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
    };
    return sqlite::write_all(impl_->db, impl_->upsert->get(), changes, bind, "lease", error);
}

std::size_t lease_store::forget_before(std::int64_t unix_seconds) {
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
