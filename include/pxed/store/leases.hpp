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

    // How the change is guarded (never stored; see lease_backend): a shared
    // database holds rows other pxed instances wrote too, so a change is
    // written only if the row is still what this instance took it for.
    /// The address is the client's reservation: its claim always wins.
    bool reservation = false;
    /// Set when the change takes the address from this client, not for
    /// it (a DECLINE past the quarantine limit, a quarantine that ended):
    /// `client_key` is then empty and the row must still be this client's.
    std::string taken_from;

    friend bool operator==(const lease& a, const lease& b);
};

/// Whether a change may overwrite the row `current` holds for its address
/// at `now` (Unix seconds): the rule every backend applies in the same
/// transaction as the write (in SQL, under the row's lock), so that two
/// instances sharing one database never lease one address to two clients.
///  - no row yet, or the change is a reservation's: written;
///  - the row is the same client's (or `taken_from`'s): written, except an
///    expiry the client has since renewed past (ends later than the change's);
///  - a new binding (state bound) of an address that is free at `now`:
///    expired, released, or a lease or quarantine that ended: written.
/// Anything else was taken meanwhile by another instance: refused.
bool may_overwrite(const lease& change, const lease* current, std::int64_t now);

/// A change a backend refused, and the row that made it refuse: the
/// instance adopts `holder` and answers its client from that.
struct refusal {
    lease change;
    lease holder;
};

/// What a commit did: ok (every change written or refused by the rule, in
/// one transaction), or not (nothing written; `error` says why).
struct commit_outcome {
    bool ok = true;
    std::string error;
    std::vector<refusal> refused;
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

/// Where leases persist: the one seam between the DHCP server and a
/// database. Engines never see it; the server commits the responder's
/// changes through it and adopts what it refuses or what other instances
/// wrote (shared()).
class lease_backend {
public:
    virtual ~lease_backend() = default;

    /// Every row, ordered by address.
    virtual std::vector<lease> load() const = 0;

    /// Called once a commit() batch is committed (or failed: nothing of it
    /// was written), on the caller's thread or a store thread.
    using commit_done = std::function<void(const commit_outcome&)>;

    /// Commits `changes` (each guarded by may_overwrite) in one transaction
    /// and then calls `done`, without the caller's thread waiting on the
    /// disk or the network. Completions come in the order committed. Call
    /// it from one thread.
    virtual void commit(std::vector<lease> changes, commit_done done) = 0;

    /// Commits whatever is queued and stops the writer thread (a later
    /// commit() applies at once, on the caller's thread).
    virtual void stop_writer() = 0;

    /// Deletes expired and released rows that ended before `unix_seconds`
    /// (clients long gone); returns how many.
    virtual std::size_t forget_before(std::int64_t unix_seconds) = 0;

    /// Counts commits into `registry` from now on. Call it before the
    /// first commit(); the registry outlives the store.
    virtual void set_metrics(metrics::registry& registry) = 0;

    /// For logs: the file, or the database and this instance's name.
    virtual std::string describe() const = 0;

    /// Other pxed instances write the same rows (PostgreSQL).
    virtual bool shared() const { return false; }

    /// Shared backends: calls `rows` on a store thread with the rows other
    /// instances wrote since the last call (some more than once), within
    /// about `interval` of their commit, and `up` when the database is
    /// reached again or lost (false). The callbacks must outlive the store
    /// or stop_watching() be called first.
    virtual void watch(std::function<void(std::vector<lease>)> rows, std::function<void(bool up, const std::string& why)> up) {
        (void)rows;
        (void)up;
    }
    virtual void stop_watching() {}
};

/// The embedded backend: one SQLite file under the state directory.
class lease_store final : public lease_backend {
public:
    /// Opens (creating if needed) the database at `path`. Throws
    /// std::runtime_error naming the file and SQLite's reason: a server
    /// that cannot remember its leases must not start.
    explicit lease_store(const std::string& path, durability d = durability::process_crash, wal_policy w = {});
    ~lease_store();
    lease_store(const lease_store&) = delete;
    lease_store& operator=(const lease_store&) = delete;

    /// Every row, ordered by address.
    std::vector<lease> load() const override;

    /// Writes every lease (by address, each guarded by may_overwrite) in
    /// one transaction. On failure nothing of the batch is written and
    /// `error` says why; changes the rule refused go to `refused`.
    bool apply(const std::vector<lease>& changes, std::string& error, std::vector<refusal>* refused = nullptr);

    /// Commits `changes` as apply() does and then calls `done`, without
    /// the caller's thread ever waiting for the disk: at once on the
    /// caller's thread when the commit only writes to the page cache
    /// (synchronous=NORMAL, no checkpoint due), else on the store's writer
    /// thread (a checkpoint to make first, an fsync per commit with
    /// synchronous=FULL), where batches waiting together share one
    /// transaction. Either way in the order committed. Call it from one
    /// thread.
    void commit(std::vector<lease> changes, commit_done done) override;

    void stop_writer() override;

    wal_stats stats() const;

    /// Counts commits into `registry` from now on: their time in SQLite
    /// (pxed_lease_store_commit_duration_seconds) and failures.
    void set_metrics(metrics::registry& registry) override;

    std::size_t forget_before(std::int64_t unix_seconds) override;

    std::string describe() const override { return path_; }

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
