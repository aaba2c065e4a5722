#include "pg.hpp"

#include <poll.h>

#include <cerrno>

#include <chrono>
#include <cstdlib>
#include <random>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace pxed::store::pg {
namespace {

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    return s;
}

// libpq's messages end in a newline and may span lines.
std::string message_of(PGconn* c) {
    std::string m = c ? PQerrorMessage(c) : "out of memory";
    m = trimmed(m);
    for (auto& ch : m)
        if (ch == '\n') ch = ' ';
    return m;
}

std::string state_of(const PGresult* r) {
    const char* s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    return s ? s : "";
}

}  // namespace

std::string read_password(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read the PostgreSQL password file " + path);
    std::string line;
    std::getline(in, line);
    return trimmed(line);
}

connection::connection(const postgres_options& o, const char* application, std::chrono::milliseconds answer_within)
    : options_(o), application_(application), answer_within_(answer_within) {
    what_ = "PostgreSQL (" + o.conninfo + ")";
    open();
}

void connection::open() {
    std::string password;
    if (!options_.password_file.empty()) password = read_password(options_.password_file);
    const std::string timeout = std::to_string(options_.connect_timeout);
    // TCP: a peer that stops acknowledging is given up after the
    // statement deadline, and an idle connection to a host that vanished
    // is noticed by keepalives.
    const std::string user_timeout = std::to_string(answer_within_.count());
    // The server gives up a statement past the deadline too, and with it
    // its locks: a connection closed at the deadline leaves no backend
    // holding rows the next try waits for.
    const std::string server_options = "-c statement_timeout=" + user_timeout +
                                       " -c idle_in_transaction_session_timeout=" +
                                       std::to_string(2 * answer_within_.count());
    std::vector<const char*> keys{"dbname",     "application_name", "connect_timeout",     "tcp_user_timeout",
                                  "keepalives", "keepalives_idle",  "keepalives_interval", "keepalives_count",
                                  "options"};
    std::vector<const char*> values{options_.conninfo.c_str(), application_.c_str(), timeout.c_str(),
                                    user_timeout.c_str(), "1", "10", "5", "3", server_options.c_str()};
    if (!password.empty()) {
        keys.push_back("password");
        values.push_back(password.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    // expand_dbname: the first "dbname" is the whole connection string;
    // the keys after it override what it says.
    conn_ = PQconnectdbParams(keys.data(), values.data(), 1);
    if (!ok()) {
        const auto why = message_of(conn_);
        PQfinish(conn_);
        conn_ = nullptr;
        throw error("cannot connect to " + what_ + ": " + why, "");
    }
    // Our own messages are enough; the server's notices (schema already
    // there) would go to stderr.
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
    // Sends never block either: a batch bigger than the socket's buffer
    // is flushed under the deadline.
    PQsetnonblocking(conn_, 1);
}

connection::~connection() { PQfinish(conn_); }

bool connection::reset() {
    if (!conn_) {
        try {
            open();
        } catch (const std::exception&) {
            return false;
        }
        return ok();
    }
    PQreset(conn_);
    if (ok()) {
        PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
        PQsetnonblocking(conn_, 1);
    }
    return ok();
}

void connection::abandon() {
    PQfinish(conn_);
    conn_ = nullptr;
}

result connection::finish() {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + answer_within_;
    const auto wait = [&](short events) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
        if (left <= 0) {
            abandon();
            throw error(what_ + ": no answer within " + std::to_string(answer_within_.count()) +
                            " ms; connection closed",
                        "", true);
        }
        pollfd p{PQsocket(conn_), events, 0};
        if (::poll(&p, 1, static_cast<int>(left)) < 0 && errno != EINTR) {
            abandon();
            throw error(what_ + ": poll failed", "");
        }
        if ((p.revents & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(conn_)) {
            const auto why = message_of(conn_);
            abandon();
            throw error(what_ + ": " + why, "");
        }
    };
    for (;;) {
        const int f = PQflush(conn_);
        if (f == 0) break;
        if (f < 0) {
            const auto why = message_of(conn_);
            abandon();
            throw error(what_ + ": " + why, "");
        }
        wait(POLLIN | POLLOUT);
    }
    result kept;
    for (;;) {
        while (PQisBusy(conn_)) wait(POLLIN);
        result r(PQgetResult(conn_));
        if (!r) break;
        // The last result, unless one before it failed: that one says why.
        const auto kst = kept ? PQresultStatus(kept.get()) : PGRES_COMMAND_OK;
        if (kst == PGRES_COMMAND_OK || kst == PGRES_TUPLES_OK) kept = std::move(r);
    }
    const auto st = kept ? PQresultStatus(kept.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        std::string why = kept ? trimmed(PQresultErrorMessage(kept.get())) : std::string();
        for (auto& ch : why)
            if (ch == '\n') ch = ' ';
        throw error(what_ + ": " + (why.empty() ? message_of(conn_) : why), state_of(kept.get()));
    }
    return kept;
}

void connection::rollback() noexcept {
    try {
        if (ok()) exec("ROLLBACK");
    } catch (...) {
    }
}

void connection::exec(const std::string& sql) {
    if (!conn_) throw error(what_ + ": not connected", "");
    if (!PQsendQuery(conn_, sql.c_str())) {
        const auto why = message_of(conn_);
        throw error(what_ + ": " + why, "");
    }
    finish();
}

result connection::query(const std::string& sql, const std::vector<param>& params) {
    if (!conn_) throw error(what_ + ": not connected", "");
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    values.reserve(params.size());
    for (const auto& p : params) {
        values.push_back(p.value ? p.value->data() : nullptr);
        lengths.push_back(p.value ? static_cast<int>(p.value->size()) : 0);
        formats.push_back(p.binary ? 1 : 0);
    }
    if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                           lengths.data(), formats.data(), 0)) {
        const auto why = message_of(conn_);
        throw error(what_ + ": " + why, "");
    }
    return finish();
}

std::string bytea(const PGresult* r, int row, int col) {
    if (PQgetisnull(r, row, col)) return {};
    std::size_t n = 0;
    unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r, row, col)), &n);
    if (!raw) throw std::runtime_error("cannot decode a bytea column");
    std::string out(reinterpret_cast<const char*>(raw), n);
    PQfreemem(raw);
    return out;
}

std::int64_t number(const PGresult* r, int row, int col) {
    if (PQgetisnull(r, row, col)) return 0;
    return std::strtoll(PQgetvalue(r, row, col), nullptr, 10);
}

std::string text(const PGresult* r, int row, int col) {
    if (PQgetisnull(r, row, col)) return {};
    return std::string(PQgetvalue(r, row, col), static_cast<std::size_t>(PQgetlength(r, row, col)));
}

int schema_version(connection& c, const std::string& component) {
    auto exists = c.query("SELECT to_regclass('pxed_schema') IS NOT NULL");
    if (text(exists.get(), 0, 0) != "t") return 0;
    auto r = c.query("SELECT version FROM pxed_schema WHERE component = $1", {param::text(component)});
    return PQntuples(r.get()) == 0 ? 0 : static_cast<int>(number(r.get(), 0, 0));
}

int ensure_schema(connection& c, const std::string& component, const std::vector<std::string>& steps) {
    const int version = static_cast<int>(steps.size());
    // Waiting for another instance's migration, or running one over a big
    // table, takes longer than a statement's deadline.
    struct long_deadline {
        connection& c;
        std::chrono::milliseconds before;
        explicit long_deadline(connection& conn) : c(conn), before(conn.answer_within(std::chrono::minutes(30))) {}
        ~long_deadline() { c.answer_within(before); }
    } patient(c);
    c.exec("BEGIN");
    try {
        c.exec("SET LOCAL statement_timeout = 0");
        // One instance at a time creates or migrates; the others wait and
        // then find it done. The key is arbitrary but fixed ("pxed").
        c.exec("SELECT pg_advisory_xact_lock(7370853)");
        c.exec("CREATE TABLE IF NOT EXISTS pxed_schema (component text PRIMARY KEY, version integer NOT NULL)");
        const int have = schema_version(c, component);
        if (have > version) {
            throw std::runtime_error("the PostgreSQL store's " + component + " schema is version " + std::to_string(have) +
                                     ", written by a newer pxed; this one knows version " + std::to_string(version));
        }
        // Every step from the version found, in this one transaction:
        // instances see the old schema or the new one, never half of it.
        for (int v = have; v < version; ++v) c.exec(steps[static_cast<std::size_t>(v)]);
        if (have < version)
            c.query("INSERT INTO pxed_schema (component, version) VALUES ($1, $2) "
                    "ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version",
                    {param::text(component), param::number(version)});
        c.exec("COMMIT");
        return have;
    } catch (...) {
        c.rollback();
        throw;
    }
}

std::string text_array(const std::vector<std::optional<std::string>>& values) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) out += ',';
        if (!values[i]) {
            out += "NULL";
            continue;
        }
        out += '"';
        for (const char ch : *values[i]) {
            if (ch == '"' || ch == '\\') out += '\\';
            out += ch;
        }
        out += '"';
    }
    return out + "}";
}

std::string valid_text(const std::string& s) {
    static const char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size());
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    for (std::size_t i = 0; i < n;) {
        const unsigned c = p[i];
        // The length of the sequence starting here, 0 when it is not one.
        std::size_t len = 0;
        if (c >= 0x01 && c < 0x80)
            len = 1;
        else if (c >= 0xc2 && c <= 0xdf)
            len = 2;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4;
        bool ok = len != 0 && i + len <= n;
        for (std::size_t k = 1; ok && k < len; ++k) ok = (p[i + k] & 0xc0) == 0x80;
        if (ok && len == 3) {
            const unsigned c1 = p[i + 1];
            ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);  // overlong, surrogates
        } else if (ok && len == 4) {
            const unsigned c1 = p[i + 1];
            ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);  // overlong, beyond U+10FFFF
        }
        if (!ok) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
            ++i;
            continue;
        }
        out.append(s, i, len);
        i += len;
    }
    return out;
}

std::string random_origin() {
    std::random_device rd;
    static const char hex[] = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < 16; ++i) s += hex[rd() % 16];
    return s;
}

std::pair<result, std::string> snapshot_read(connection& c, const std::string& sql, const std::vector<param>& params) {
    c.exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
    try {
        auto x = c.query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text");
        auto r = c.query(sql, params);
        c.exec("COMMIT");
        return {std::move(r), text(x.get(), 0, 0)};
    } catch (...) {
        c.rollback();
        throw;
    }
}

watcher::watcher(postgres_options o, std::string origin, std::string channel, std::string since_sql, int origin_column)
    : options_(std::move(o)),
      origin_(std::move(origin)),
      channel_(std::move(channel)),
      since_sql_(std::move(since_sql)),
      origin_column_(origin_column) {}

watcher::~watcher() { stop(); }

void watcher::start_from(const std::string& xmin) {
    std::lock_guard lk(mutex_);
    if (!xmin.empty()) from_ = xmin;
}

void watcher::start(rows_fn rows, up_fn up) {
    std::lock_guard lk(mutex_);
    if (thread_.joinable()) return;
    on_rows_ = std::move(rows);
    on_up_ = std::move(up);
    stop_ = false;
    thread_ = std::thread([this] { run(); });
}

void watcher::stop() {
    {
        std::lock_guard lk(mutex_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    running_ = false;
}

void watcher::run() {
    running_ = true;
    std::unique_ptr<connection> c;
    bool reported_down = false;
    std::string from;
    {
        std::lock_guard lk(mutex_);
        from = from_;
    }
    auto stopped = [&] {
        std::lock_guard lk(mutex_);
        return stop_;
    };
    while (!stopped()) {
        try {
            if (!c || !c->ok()) {
                c.reset();
                // Five seconds without an answer and the database is
                // called lost (what the instances' writes then go by).
                c = std::make_unique<connection>(options_, "pxed-watch", std::chrono::seconds(5));
                c->exec("LISTEN " + channel_);
            }
            from = read_since(*c, from);
            ++reads_;
            // Back: said once what was missed is handed over, so that an
            // instance knows the rows before it decides by them again.
            if (reported_down && on_up_) on_up_(true, "");
            reported_down = false;
            // A notification from another instance, or a second; ours
            // only say that we wrote.
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
            bool other = false;
            while (!other && !stopped() && std::chrono::steady_clock::now() < deadline) {
                pollfd p{PQsocket(c->get()), POLLIN, 0};
                if (::poll(&p, 1, 100) < 0) break;
                if (!PQconsumeInput(c->get())) throw error("the watcher's connection was lost", "");
                while (PGnotify* n = PQnotifies(c->get())) {
                    if (origin_ != n->extra) other = true;
                    PQfreemem(n);
                }
            }
        } catch (const std::exception& e) {
            if (!reported_down && on_up_) on_up_(false, e.what());
            reported_down = true;
            c.reset();
            std::unique_lock lk(mutex_);
            cv_.wait_for(lk, std::chrono::seconds(1), [&] { return stop_; });
        }
    }
}

std::string watcher::read_since(connection& c, const std::string& from) {
    auto [r, xmin] = snapshot_read(c, since_sql_, {param::text(from)});
    std::vector<int> rows;
    const int n = PQntuples(r.get());
    for (int i = 0; i < n; ++i)
        if (text(r.get(), i, origin_column_) != origin_) rows.push_back(i);
    if (!rows.empty() && on_rows_) on_rows_(r.get(), rows);
    return xmin;
}

}  // namespace pxed::store::pg
