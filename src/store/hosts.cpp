#include "pxed/store/hosts.hpp"

#include "sqlite.hpp"

namespace pxed::store {
namespace {

constexpr int schema_version = 1;

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS hosts (
    mac             TEXT    PRIMARY KEY,
    hostname        TEXT    NOT NULL DEFAULT '',
    profile         TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL,
    generation      INTEGER NOT NULL,
    token           TEXT    NOT NULL,
    last_seen       INTEGER NOT NULL DEFAULT 0,
    install_started INTEGER NOT NULL DEFAULT 0,
    install_done    INTEGER NOT NULL DEFAULT 0,
    changed_at      INTEGER NOT NULL DEFAULT 0,
    changed_by      TEXT    NOT NULL DEFAULT '',
    last_event      TEXT    NOT NULL DEFAULT ''
);
)sql";

}  // namespace

const char* to_string(host_state s) {
    switch (s) {
    case host_state::pending: return "pending";
    case host_state::installing: return "installing";
    case host_state::installed: return "installed";
    case host_state::failed: return "failed";
    }
    return "unknown";
}

std::optional<host_state> host_state_from(std::string_view name) {
    for (auto s : {host_state::pending, host_state::installing, host_state::installed, host_state::failed})
        if (name == to_string(s)) return s;
    return std::nullopt;
}

bool operator==(const host_record& a, const host_record& b) {
    return a.mac == b.mac && a.hostname == b.hostname && a.profile == b.profile && a.state == b.state &&
           a.generation == b.generation && a.token == b.token && a.last_seen == b.last_seen &&
           a.install_started == b.install_started && a.install_done == b.install_done &&
           a.changed_at == b.changed_at && a.changed_by == b.changed_by && a.last_event == b.last_event;
}

struct host_store::impl {
    sqlite3* db = nullptr;
    std::unique_ptr<sqlite::statement> upsert;
    ~impl() {
        upsert.reset();
        sqlite3_close(db);
    }
};

host_store::host_store(const std::string& path, durability d) : impl_(std::make_unique<impl>()), path_(path) {
    impl_->db = sqlite::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "host database");
    sqlite::prepare(impl_->db, d == durability::power_loss, schema, schema_version, "host database " + path);
    impl_->upsert = std::make_unique<sqlite::statement>(
        impl_->db,
        "INSERT INTO hosts (mac, hostname, profile, state, generation, token, last_seen, install_started, "
        "install_done, changed_at, changed_by, last_event) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
        "ON CONFLICT (mac) DO UPDATE SET hostname = excluded.hostname, profile = excluded.profile, "
        "state = excluded.state, generation = excluded.generation, token = excluded.token, "
        // Last-seen is history: the later time is kept (as on PostgreSQL).
        "last_seen = max(last_seen, excluded.last_seen), install_started = excluded.install_started, "
        "install_done = excluded.install_done, changed_at = excluded.changed_at, changed_by = excluded.changed_by, "
        "last_event = excluded.last_event");
}

host_store::~host_store() = default;

std::vector<host_record> host_store::load() const {
    sqlite::statement st(impl_->db,
                         "SELECT mac, hostname, profile, state, generation, token, last_seen, install_started, "
                         "install_done, changed_at, changed_by, last_event FROM hosts ORDER BY mac");
    std::vector<host_record> out;
    int rc;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
        auto* s = st.get();
        const auto mac = wire::mac_address::parse(sqlite::column_text(s, 0));
        if (!mac) continue;  // not written by pxed
        host_record r;
        r.mac = *mac;
        r.hostname = sqlite::column_text(s, 1);
        r.profile = sqlite::column_text(s, 2);
        // A state this version does not know: the safe reading is that
        // the host must not be reinstalled behind anyone's back.
        r.state = host_state_from(sqlite::column_text(s, 3)).value_or(host_state::failed);
        r.generation = static_cast<std::uint32_t>(sqlite3_column_int64(s, 4));
        r.token = sqlite::column_text(s, 5);
        r.last_seen = sqlite3_column_int64(s, 6);
        r.install_started = sqlite3_column_int64(s, 7);
        r.install_done = sqlite3_column_int64(s, 8);
        r.changed_at = sqlite3_column_int64(s, 9);
        r.changed_by = sqlite::column_text(s, 10);
        r.last_event = sqlite::column_text(s, 11);
        out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) throw std::runtime_error(std::string("cannot read hosts: ") + sqlite3_errmsg(impl_->db));
    return out;
}

bool host_store::save(const std::vector<host_record>& records, std::string& error) {
    const auto bind = [](sqlite3_stmt* st, const host_record& r) {
        sqlite::bind_text(st, 1, r.mac.to_string());
        sqlite::bind_text(st, 2, r.hostname);
        sqlite::bind_text(st, 3, r.profile);
        sqlite3_bind_text(st, 4, to_string(r.state), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, r.generation);
        sqlite::bind_text(st, 6, r.token);
        sqlite3_bind_int64(st, 7, r.last_seen);
        sqlite3_bind_int64(st, 8, r.install_started);
        sqlite3_bind_int64(st, 9, r.install_done);
        sqlite3_bind_int64(st, 10, r.changed_at);
        sqlite::bind_text(st, 11, r.changed_by);
        sqlite::bind_text(st, 12, r.last_event);
    };
    return sqlite::write_all(impl_->db, impl_->upsert->get(), records, bind, "host", error);
}

}  // namespace pxed::store
