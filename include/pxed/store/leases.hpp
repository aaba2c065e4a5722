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

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pxed/wire/ipv4.hpp"
#include "pxed/wire/mac.hpp"

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

class lease_store {
public:
    /// Opens (creating if needed) the database at `path`. Throws
    /// std::runtime_error naming the file and SQLite's reason: a server
    /// that cannot remember its leases must not start.
    explicit lease_store(const std::string& path, durability d = durability::process_crash);
    ~lease_store();
    lease_store(const lease_store&) = delete;
    lease_store& operator=(const lease_store&) = delete;

    /// Every row, ordered by address.
    std::vector<lease> load() const;

    /// Writes every lease (insert or replace by address) in one transaction.
    /// On failure nothing of the batch is written and `error` says why.
    bool apply(const std::vector<lease>& changes, std::string& error);

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
