#pragma once
// SQLite helpers shared by the lease and host stores (internal to store/).

#include <sqlite3.h>

#include <stdexcept>
#include <string>

namespace pxed::store::sqlite {

class statement {
public:
    statement(sqlite3* db, const char* sql) {
        if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
            throw std::runtime_error(std::string("cannot prepare statement: ") + sqlite3_errmsg(db));
    }
    ~statement() { sqlite3_finalize(stmt_); }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    sqlite3_stmt* get() const { return stmt_; }

private:
    sqlite3_stmt* stmt_ = nullptr;
};

std::string column_text(sqlite3_stmt* st, int col);
void bind_text(sqlite3_stmt* st, int col, const std::string& text);

/// Runs SQL without results; throws naming `what` on failure.
void exec(sqlite3* db, const char* sql, const std::string& what);

/// Opens a database (throws naming `what` and the path on failure), with a
/// busy timeout for readers beside the daemon.
sqlite3* open(const std::string& path, int flags, const std::string& what);

/// WAL, the synchronous level, and the schema at `version` (refusing a
/// database a newer pxed wrote).
void prepare(sqlite3* db, bool power_loss, const char* schema, int version, const std::string& where);

/// Runs `st` once per row in one IMMEDIATE transaction, `bind(st, row)`
/// binding each row's values: all rows or none. On failure `error` says
/// why, naming `noun` ("lease", "host").
template <typename Rows, typename Bind>
bool write_all(sqlite3* db, sqlite3_stmt* st, const Rows& rows, Bind bind, const std::string& noun,
               std::string& error) {
    if (rows.empty()) return true;
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
    for (const auto& row : rows) {
        sqlite3_reset(st);
        bind(st, row);
        if (sqlite3_step(st) != SQLITE_DONE) return fail("cannot write a " + noun);
    }
    sqlite3_reset(st);
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return fail("cannot commit " + noun + "s");
    return true;
}

/// Closes the database when it goes out of scope.
struct closer {
    sqlite3* db;
    ~closer() { sqlite3_close(db); }
};

}  // namespace pxed::store::sqlite
