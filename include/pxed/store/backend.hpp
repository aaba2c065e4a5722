#pragma once
/// Which database holds pxed's state (server.store, docs/multi-instance.md):
/// SQLite files under the state directory (the default: nothing to set
/// up, one instance), or one PostgreSQL database several pxed instances
/// share. Only the store's factories know which; the servers talk to the
/// backend interfaces (lease_backend).

#include <memory>
#include <string>

#include "pxed/store/hosts.hpp"
#include "pxed/store/leases.hpp"
#include "pxed/store/trace.hpp"

namespace pxed::store {

struct postgres_options {
    /// A libpq connection string ("host=db1 dbname=pxed user=pxed"), with
    /// no password in it.
    std::string conninfo;
    /// Read at connect time; empty: none (trust, peer or ~/.pgpass).
    std::string password_file;
    /// This instance's name in the shared rows (who wrote what).
    std::string instance;
    /// Seconds to wait for a connection before calling the database down.
    int connect_timeout = 5;
};

enum class backend_kind { sqlite, postgresql };

struct store_options {
    backend_kind kind = backend_kind::sqlite;
    std::string state_dir;  ///< SQLite's files
    durability sqlite_durability = durability::process_crash;
    postgres_options postgres;
};

/// Opens the lease database `o` names. Throws std::runtime_error with the
/// reason when it cannot be opened or holds a newer schema.
std::unique_ptr<lease_backend> open_lease_backend(const store_options& o);

/// Opens the host database `o` names (throws as open_lease_backend does).
std::unique_ptr<host_backend> open_host_backend(const store_options& o);

/// Opens the boot trace's database `o` names (throws as
/// open_lease_backend does): <state_dir>/trace.sqlite3, or the shared one.
std::unique_ptr<trace_backend> open_trace_backend(const store_options& o);

/// `pxed check`: connects to a PostgreSQL store and reads its schema
/// versions without creating anything. Empty when all is well, else what
/// is wrong, for an operator.
std::string check_postgres(const postgres_options& o);

/// Whether this build links libpq (the RPM's static binary does not).
bool postgres_supported();

}  // namespace pxed::store
