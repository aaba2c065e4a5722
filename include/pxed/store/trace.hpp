#pragma once
/// The boot trace on disk (<state_dir>/trace.sqlite3): recent events per
/// host, so that a restart keeps the history an admin is asking about.
/// History, not state: written in batches a second or two behind, bounded
/// by pruning after each batch, and a batch lost to a crash costs only the
/// last moments of a trace. Rows of MACs outside the inventory ("strangers")
/// are pruned apart from the inventory's, so a flood of made-up MACs cannot
/// push real hosts' history off the disk either.
///
/// Two backends behind trace_backend: this SQLite file (one instance), or
/// the shared PostgreSQL store (server.store, docs/multi-instance.md),
/// where every instance writes its own rows and reads the others', so a
/// host's trace tells its whole boot whichever instance served each step.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pxed/wire/mac.hpp"

namespace pxed::store {

struct trace_row {
    std::uint64_t seq = 0;
    std::int64_t time_ms = 0;
    wire::mac_address mac;
    bool known = true;  ///< an inventory host when recorded
    std::string kind;   ///< "dhcp", "tftp", ...
    bool ok = true;
    std::uint8_t flags = 0;
    std::uint32_t client = 0;
    std::string what;
    std::string outcome;
    std::string detail;
    std::uint64_t bytes = 0;
    std::uint32_t duration_ms = 0;
    /// The instance that recorded it (a shared store; SQLite: empty).
    /// `seq` is that instance's number.
    std::string instance;

    friend bool operator==(const trace_row& a, const trace_row& b);
};

struct trace_bounds {
    std::size_t per_host = 1000;    ///< rows kept per inventory MAC
    std::size_t total = 100000;     ///< rows kept of inventory MACs
    std::size_t strangers = 40000;  ///< rows kept of other MACs
};

/// Where the trace is kept. save() runs on the trace's writer thread,
/// load() and last_seq() at start.
class trace_backend {
public:
    virtual ~trace_backend() = default;

    /// Every row kept, oldest first (a shared store: every instance's).
    virtual std::vector<trace_row> load() const = 0;
    /// The highest sequence number this instance gave out, stored or not
    /// (events that are not written take numbers too): new ones continue
    /// after it.
    virtual std::uint64_t last_seq() const = 0;

    /// Writes the rows (a row whose number is already there replaces it)
    /// and `last_seq` in one transaction, then prunes to `bounds`. On
    /// failure nothing of the batch is written and `error` says why.
    virtual bool save(const std::vector<trace_row>& rows, std::uint64_t last_seq, const trace_bounds& bounds,
                      std::string& error) = 0;

    /// For messages: the file, or the database and instance.
    virtual std::string describe() const = 0;
    /// Whether other instances write to it too.
    virtual bool shared() const { return false; }
    /// A shared store: other instances' rows as they are written (a row
    /// may come more than once; a row written again, a package count
    /// grown, comes again), on a thread of the store's. `up` says when the
    /// database is lost and found again.
    virtual void watch(std::function<void(std::vector<trace_row>)> rows,
                       std::function<void(bool up, const std::string& why)> up) {
        (void)rows;
        (void)up;
    }
    virtual void stop_watching() {}
};

class trace_store final : public trace_backend {
public:
    /// Opens (creating if needed) the database at `path`. Throws
    /// std::runtime_error naming the file and SQLite's reason.
    explicit trace_store(const std::string& path);
    ~trace_store();
    trace_store(const trace_store&) = delete;
    trace_store& operator=(const trace_store&) = delete;

    std::vector<trace_row> load() const override;
    std::uint64_t last_seq() const override;
    bool save(const std::vector<trace_row>& rows, std::uint64_t last_seq, const trace_bounds& bounds,
              std::string& error) override;
    std::string describe() const override { return path_; }

    const std::string& path() const { return path_; }

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    std::string path_;
};

/// The file name of the trace database inside server.state_dir.
inline constexpr const char* trace_file_name = "trace.sqlite3";

}  // namespace pxed::store
