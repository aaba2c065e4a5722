#pragma once
// libpq helpers shared by the PostgreSQL backends (internal to store/).

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pxed/store/backend.hpp"

namespace pxed::store::pg {

/// A result that clears itself.
struct result_deleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using result = std::unique_ptr<PGresult, result_deleter>;

/// One query parameter: text, binary (bytea), or NULL.
struct param {
    std::optional<std::string> value;
    bool binary = false;

    static param text(std::string v) { return {std::move(v), false}; }
    static param bytes(std::string v) { return {std::move(v), true}; }
    static param number(std::int64_t v) { return {std::to_string(v), false}; }
    static param boolean(bool v) { return {v ? "t" : "f", false}; }
    static param null() { return {std::nullopt, false}; }
};

/// Thrown for a query that failed; `sqlstate` is PostgreSQL's code
/// ("40P01" deadlock, "40001" serialization failure, "" connection lost).
struct error : std::runtime_error {
    std::string sqlstate;
    /// The server did not answer within the deadline (the connection
    /// was closed: connecting again at once would wait as long).
    bool unanswered = false;
    error(const std::string& what, std::string state, bool no_answer = false)
        : std::runtime_error(what), sqlstate(std::move(state)), unanswered(no_answer) {}
    bool retryable() const { return sqlstate == "40P01" || sqlstate == "40001"; }
};

/// A connection. Never logs the password: connect errors name the
/// conninfo's host and database as libpq reports them.
///
/// Every statement has a deadline of its own (`answer_within`, besides
/// libpq's connect_timeout): a server that stopped answering (a host gone
/// from the network, a stopped process, a full disk) costs at most that
/// long, on any transport, Unix sockets included. A statement past its
/// deadline closes the connection (its outcome is unknown to us; the next
/// use connects again) and throws.
class connection {
public:
    /// Connects (throws pg::error naming what went wrong).
    explicit connection(const postgres_options& o, const char* application = "pxed",
                        std::chrono::milliseconds answer_within = std::chrono::seconds(10));
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    PGconn* get() const { return conn_; }
    bool ok() const { return conn_ && PQstatus(conn_) == CONNECTION_OK; }
    /// Tries to connect again (after the server restarted, or after a
    /// statement went unanswered); true when it did.
    bool reset();

    /// The deadline of the statements that follow (a migration's are
    /// allowed minutes); returns the one it replaces.
    std::chrono::milliseconds answer_within(std::chrono::milliseconds d) { return std::exchange(answer_within_, d); }

    /// Ends a failed transaction, if the connection is still there to end
    /// it on (errors ignored: the caller is already reporting one).
    void rollback() noexcept;

    /// Runs SQL without parameters; throws pg::error.
    void exec(const std::string& sql);
    /// Runs a parameterised statement; throws pg::error. Results in text.
    result query(const std::string& sql, const std::vector<param>& params = {});

private:
    void open();
    // Waits for the statement just sent and returns its result (the first
    // failed one of several); throws past the deadline or when the
    // connection breaks.
    result finish();
    void abandon();

    postgres_options options_;
    std::string application_;
    std::chrono::milliseconds answer_within_;
    PGconn* conn_ = nullptr;
    std::string what_;  // "PostgreSQL host=... dbname=..." for messages
};

/// The password file's content without its trailing newline (throws when
/// it cannot be read).
std::string read_password(const std::string& path);

/// A bytea column (text result format) as raw bytes.
std::string bytea(const PGresult* r, int row, int col);
std::int64_t number(const PGresult* r, int row, int col);
std::string text(const PGresult* r, int row, int col);

/// Creates, migrates or checks the schema of `component` under an advisory
/// lock (several instances starting at once): `steps[0]` creates version
/// 1, `steps[v]` takes version v to v + 1; the steps from the version the
/// database holds run in one transaction. Throws when the database holds
/// a newer version than steps.size(). Returns the version found (0: none).
int ensure_schema(connection& c, const std::string& component, const std::vector<std::string>& steps);

/// The schema version the database holds for `component` (0: none).
int schema_version(connection& c, const std::string& component);

/// Runs `sql` in a REPEATABLE READ transaction and returns its rows with
/// the snapshot's xmin as text: where a watcher starts, or goes on from.
std::pair<result, std::string> snapshot_read(connection& c, const std::string& sql,
                                             const std::vector<param>& params = {});

/// What other instances commit to one table, delivered on a thread of its
/// own: LISTEN `channel` for promptness, and every second, or after a
/// notification from another instance, `since_sql` with $1 = the xmin of
/// the previous read (rows of transactions not older than the oldest one
/// still running then, so no commit is missed; some come twice). The rows
/// whose `origin_column` is this process's origin are left out. Reconnects
/// every second while the database is away, calling `up` once each way.
class watcher {
public:
    using rows_fn = std::function<void(const PGresult*, const std::vector<int>& rows)>;
    using up_fn = std::function<void(bool up, const std::string& why)>;

    watcher(postgres_options o, std::string origin, std::string channel, std::string since_sql, int origin_column);
    ~watcher();
    watcher(const watcher&) = delete;
    watcher& operator=(const watcher&) = delete;

    /// Where to start (the xmin of the snapshot the caller loaded from);
    /// before start().
    void start_from(const std::string& xmin);
    void start(rows_fn rows, up_fn up);
    void stop();
    /// Whether the watcher's thread runs.
    bool running() const { return running_; }
    /// Reads that went through since start: a read that began after a
    /// moment has ended once this has moved by two past it.
    std::uint64_t reads() const { return reads_; }

private:
    void run();
    std::string read_since(connection& c, const std::string& from);

    postgres_options options_;
    std::string origin_, channel_, since_sql_;
    int origin_column_;
    rows_fn on_rows_;
    up_fn on_up_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::string from_ = "0";
    bool stop_ = false;
    std::atomic<bool> running_{false};
    std::atomic<std::uint64_t> reads_{0};
    std::thread thread_;
};

/// A PostgreSQL array literal ("{\"a\",NULL}") of text values, each
/// quoted and escaped, for unnest($1::text[]).
std::string text_array(const std::vector<std::optional<std::string>>& values);

/// `s` as PostgreSQL text takes it: a NUL or a byte that is not UTF-8
/// (what a hostile client put in a path) becomes "\xNN".
std::string valid_text(const std::string& s);

/// A random name for this process in the rows it writes.
std::string random_origin();

/// The PostgreSQL lease backend (pg_leases.cpp); throws std::runtime_error.
std::unique_ptr<lease_backend> open_lease_store(const postgres_options& o);
/// The PostgreSQL boot trace (pg_trace.cpp); throws std::runtime_error.
std::unique_ptr<trace_backend> open_trace_store(const postgres_options& o);
/// The schema versions this pxed writes.
int trace_schema_version();
int hosts_schema_version();

/// check_postgres's work: empty when the database is usable.
std::string check(const postgres_options& o);

/// The PostgreSQL host backend (pg_hosts.cpp); throws std::runtime_error.
std::unique_ptr<host_backend> open_host_store(const postgres_options& o);

}  // namespace pxed::store::pg
