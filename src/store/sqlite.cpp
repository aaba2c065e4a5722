#include "sqlite.hpp"

namespace pxed::store::sqlite {

std::string column_text(sqlite3_stmt* st, int col) {
    const auto* p = sqlite3_column_text(st, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(st, col)))
             : std::string();
}

void bind_text(sqlite3_stmt* st, int col, const std::string& text) {
    sqlite3_bind_text(st, col, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

void exec(sqlite3* db, const char* sql, const std::string& what) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = what + ": " + (err ? err : sqlite3_errmsg(db));
        sqlite3_free(err);
        throw std::runtime_error(msg);
    }
}

sqlite3* open(const std::string& path, int flags, const std::string& what) {
    sqlite3* db = nullptr;
#ifdef SQLITE_OPEN_NOFOLLOW
    // The state directory belongs to the service user and the databases are
    // opened as root: a symlink planted in place of the database (or of its
    // -wal or -journal file, SQLite checks those too) is refused, never
    // followed to whatever it names. (SQLite 3.31 and later; app/privileges.cpp
    // refuses such links before anything is opened anyway.)
    flags |= SQLITE_OPEN_NOFOLLOW;
#endif
    const int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = "cannot open " + what + " " + path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        throw std::runtime_error(msg);
    }
    // Another process (`pxed leases`) may hold a read lock for a moment.
    sqlite3_busy_timeout(db, 2000);
    return db;
}

void prepare(sqlite3* db, bool power_loss, const char* schema, int version, const std::string& where) {
    exec(db, "PRAGMA journal_mode=WAL", where + ": cannot switch to WAL");
    exec(db, power_loss ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", where + ": cannot set synchronous");
    {
        statement st(db, "PRAGMA user_version");
        int found = 0;
        if (sqlite3_step(st.get()) == SQLITE_ROW) found = sqlite3_column_int(st.get(), 0);
        if (found > version)
            throw std::runtime_error(where + " was written by a newer pxed (schema " + std::to_string(found) +
                                     "); refusing to touch it");
    }
    exec(db, schema, where + ": cannot create the schema");
    exec(db, ("PRAGMA user_version=" + std::to_string(version)).c_str(), where);
}

}  // namespace pxed::store::sqlite
