#pragma once
/// The host database: where each inventory host is in its life (pending,
/// installing, installed, failed), its install generation and the token of
/// that generation, and when what happened. site.yaml declares what a host
/// should run; this records what happened, and survives restarts and
/// kill -9 the way the lease database does (SQLite, WAL; save() returns
/// only once the batch is committed). A host removed from site.yaml keeps
/// its row, so its history is not lost.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pxed/store/leases.hpp"
#include "pxed/wire/mac.hpp"

namespace pxed::store {

enum class host_state : std::uint8_t {
    pending = 1,     ///< installs at its next network boot
    installing = 2,  ///< its installer fetched its boot config or kickstart
    installed = 3,   ///< done: boots from its disk
    failed = 4,      ///< the install did not finish in time
};

/// "pending", "installing", "installed", "failed".
const char* to_string(host_state s);
std::optional<host_state> host_state_from(std::string_view name);

struct host_record {
    wire::mac_address mac;
    std::string hostname;  ///< as site.yaml last named it
    std::string profile;   ///< as site.yaml last named it
    host_state state = host_state::pending;
    /// Counts installs: a reinstall starts the next one. Tokens belong to
    /// one generation.
    std::uint32_t generation = 1;
    /// The install token of this generation (random hex): the install-done
    /// callback must carry it. Never logged whole.
    std::string token;
    std::int64_t last_seen = 0;        ///< Unix seconds; 0 = never
    std::int64_t install_started = 0;  ///< of this generation; 0 = not yet
    std::int64_t install_done = 0;     ///< of this generation; 0 = not yet
    std::int64_t changed_at = 0;       ///< the last state change
    std::string changed_by;            ///< who or what made it ("cli uid 0", "callback from 10.0.0.5", ...)
    std::string last_event;            ///< the last thing the host did ("fetched its kickstart over http")
    /// Shared stores: the row's version this record was read at (0: not
    /// stored yet). A write is refused when the row moved on meanwhile
    /// (another instance changed the host). Not compared by ==.
    std::uint64_t rev = 0;

    friend bool operator==(const host_record& a, const host_record& b);
};

/// Where host records persist (the lifecycle service's seam).
class host_backend {
public:
    virtual ~host_backend() = default;

    /// Every row, ordered by MAC.
    virtual std::vector<host_record> load() const = 0;

    /// Writes the records in one transaction. Shared backends guard each
    /// by its `rev`: one whose row another instance changed meanwhile is
    /// not written and comes back in `refused` as the row now is; the
    /// others get their new `rev`. On failure nothing is written and
    /// `error` says why.
    virtual bool write(std::vector<host_record>& records, std::string& error, std::vector<host_record>* refused) = 0;

    /// Last-seen times only (history, never refused).
    virtual bool write_seen(const std::vector<host_record>& records, std::string& error) = 0;

    /// For logs: the file, or the database.
    virtual std::string describe() const = 0;

    virtual bool shared() const { return false; }
    /// Shared backends: rows other instances wrote, on a store thread.
    virtual void watch(std::function<void(std::vector<host_record>)> rows,
                       std::function<void(bool up, const std::string& why)> up) {
        (void)rows;
        (void)up;
    }
    virtual void stop_watching() {}
};

class host_store final : public host_backend {
public:
    /// Opens (creating if needed) the database at `path`. Throws
    /// std::runtime_error naming the file and SQLite's reason.
    explicit host_store(const std::string& path, durability d = durability::process_crash);
    ~host_store();
    host_store(const host_store&) = delete;
    host_store& operator=(const host_store&) = delete;

    /// Every row, ordered by MAC.
    std::vector<host_record> load() const override;

    /// Writes every record (insert or replace by MAC) in one transaction.
    /// On failure nothing of the batch is written and `error` says why.
    bool save(const std::vector<host_record>& records, std::string& error);

    bool write(std::vector<host_record>& records, std::string& error, std::vector<host_record>*) override {
        return save(records, error);
    }
    bool write_seen(const std::vector<host_record>& records, std::string& error) override { return save(records, error); }
    std::string describe() const override { return path_; }

    const std::string& path() const { return path_; }

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    std::string path_;
};

/// The file name of the host database inside server.state_dir.
inline constexpr const char* host_file_name = "hosts.sqlite3";

}  // namespace pxed::store
