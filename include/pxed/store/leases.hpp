#pragma once
/// The lease database: one SQLite file under the state directory, the only
/// thing pxed persists. One row per address, as ISC dhcpd keeps it: a lease
/// that expired or was released keeps its client, so that client gets the
/// same address back until somebody else needs it.
///
/// Durability: the file is in WAL mode with synchronous=NORMAL, and apply()
/// returns only after the transaction is committed to the WAL. A committed
/// lease survives the process being killed (kill -9) at any point after
/// apply() returned; the server sends a DHCPACK only after that. Surviving
/// power loss as well needs synchronous=FULL (`durability: full`), which
/// costs an fsync per batch.
///
/// Checkpoints: SQLite's automatic checkpoint would copy the WAL back into
/// the database inside a COMMIT, with two or three fsyncs, every 1,000
/// pages: whoever commits stalls for 2-60 ms. Here the committing connection
/// never checkpoints on its own (wal_autocheckpoint=0); a background thread
/// with a connection of its own does (PASSIVE: it never blocks a commit),
/// see wal_policy.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pxed/wire/ipv4.hpp"
#include "pxed/wire/mac.hpp"

namespace pxed::metrics {
class registry;
class histogram;
class counter;
}  // namespace pxed::metrics

namespace pxed::store {

enum class lease_state : std::uint8_t {
    bound = 1,     ///< ACKed and not yet expired (check `ends`)
    released = 2,  ///< the client sent DHCPRELEASE
    expired = 3,   ///< ran out; the address is free, the client remembered
    declined = 4,  ///< a client said the address is in use (DHCPDECLINE); quarantined until `ends`
};

/// "bound", "released", "expired", "declined".
const char* to_string(lease_state s);
std::optional<lease_state> lease_state_from(std::string_view name);

struct lease {
    wire::ipv4_address ip;
    /// Who holds it: the MAC for Ethernet clients; the client identifier
    /// (option 61) only for clients without a 6-octet hardware address.
    std::string client_key;
    std::optional<wire::mac_address> mac;
    std::string hostname;  ///< option 12 as sent, raw
    lease_state state = lease_state::bound;
    std::int64_t starts = 0;  ///< Unix seconds
    std::int64_t ends = 0;    ///< Unix seconds; 0 = never (reservations answered to BOOTP)
    std::string subnet;       ///< "10.0.0.0/24", for operators

    friend bool operator==(const lease& a, const lease& b);
};

enum class durability {
    process_crash,  ///< synchronous=NORMAL: survives kill -9, not power loss
    power_loss,     ///< synchronous=FULL: an fsync per committed batch
};

/// When the WAL is copied back into the database, and by whom.
struct wal_policy {
    /// The background checkpointer runs once this many WAL pages are not
    /// yet copied into the database, and every `checkpoint_interval` while
    /// any are.
    std::uint32_t checkpoint_pages = 1000;
    std::chrono::milliseconds checkpoint_interval{2000};
    /// The WAL starts over (is written from its beginning again) only when a
    /// commit finds all of it copied; under a steady stream of commits the
    /// background pass never quite gets there (commits land while it runs),
    /// so once the WAL holds this many pages the committing thread copies
    /// the rest itself (normally the few pages written since the last
    /// background pass) and the next commit starts the WAL over. This is
    /// also the bound on the WAL should the checkpointer fall behind.
    std::uint32_t restart_pages = 8000;
    /// false: no checkpointer thread (tests of the restart_pages bound).
    bool background = true;
};

/// What the checkpoints did so far (thread-safe snapshot).
struct wal_stats {
    std::uint32_t wal_pages = 0;               ///< pages in the WAL after the last commit
    std::uint64_t background_checkpoints = 0;  ///< passes of the checkpointer that copied something
    std::uint64_t writer_checkpoints = 0;      ///< checkpoints the committing thread ran (restart_pages)
    /// Of those, the ones that had more than checkpoint_pages to copy: the
    /// background checkpointer had fallen behind.
    std::uint64_t writer_checkpoints_behind = 0;
    std::uint32_t last_writer_backlog = 0;  ///< pages the last writer checkpoint had to copy
};

class lease_store {
public:
    /// Opens (creating if needed) the database at `path`. Throws
    /// std::runtime_error naming the file and SQLite's reason: a server
    /// that cannot remember its leases must not start.
    explicit lease_store(const std::string& path, durability d = durability::process_crash, wal_policy w = {});
    ~lease_store();
    lease_store(const lease_store&) = delete;
    lease_store& operator=(const lease_store&) = delete;

    /// Every row, ordered by address.
    std::vector<lease> load() const;

    /// Writes every lease (insert or replace by address) in one transaction.
    /// On failure nothing of the batch is written and `error` says why.
    bool apply(const std::vector<lease>& changes, std::string& error);

    /// Called once a commit() batch is committed (or failed: then `error`
    /// says why and nothing of it was written), on the caller's thread or
    /// the writer thread (see commit()).
    using commit_done = std::function<void(bool ok, const std::string& error)>;

    /// Commits `changes` as apply() does and then calls `done`, without
    /// the caller's thread ever waiting for the disk: at once on the
    /// caller's thread when the commit only writes to the page cache
    /// (synchronous=NORMAL, no checkpoint due), else on the store's writer
    /// thread (a checkpoint to make first, an fsync per commit with
    /// synchronous=FULL), where batches waiting together share one
    /// transaction. Either way in the order committed. Call it from one
    /// thread.
    void commit(std::vector<lease> changes, commit_done done);

    /// Commits whatever is queued and stops the writer thread (a later
    /// commit() applies at once, on the caller's thread).
    void stop_writer();

    wal_stats stats() const;

    /// Counts commits into `registry` from now on: their time in SQLite
    /// (pxed_lease_store_commit_duration_seconds) and failures. Call it
    /// before the first commit(); the registry outlives the store.
    void set_metrics(metrics::registry& registry);

    /// Deletes expired and released rows that ended before `unix_seconds`
    /// (clients long gone); returns how many.
    std::size_t forget_before(std::int64_t unix_seconds);

    const std::string& path() const { return path_; }

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    std::string path_;
};

/// Reads the leases of a database without writing to it (for `pxed leases`
/// while the daemon runs). Throws std::runtime_error when the file cannot be
/// opened or is not a pxed lease database.
std::vector<lease> read_leases(const std::string& path);

/// The file name of the lease database inside server.state_dir.
inline constexpr const char* lease_file_name = "leases.sqlite3";

}  // namespace pxed::store
