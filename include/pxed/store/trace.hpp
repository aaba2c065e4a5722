#pragma once
/// The boot trace on disk (<state_dir>/trace.sqlite3): recent events per
/// host, so that a restart keeps the history an admin is asking about.
/// History, not state: written in batches a second or two behind, bounded
/// by pruning after each batch, and a batch lost to a crash costs only the
/// last moments of a trace. Rows of MACs outside the inventory ("strangers")
/// are pruned apart from the inventory's, so a flood of made-up MACs cannot
/// push real hosts' history off the disk either.

#include <cstddef>
#include <cstdint>
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

    friend bool operator==(const trace_row& a, const trace_row& b);
};

struct trace_bounds {
    std::size_t per_host = 1000;    ///< rows kept per inventory MAC
    std::size_t total = 100000;     ///< rows kept of inventory MACs
    std::size_t strangers = 40000;  ///< rows kept of other MACs
};

class trace_store {
public:
    /// Opens (creating if needed) the database at `path`. Throws
    /// std::runtime_error naming the file and SQLite's reason.
    explicit trace_store(const std::string& path);
    ~trace_store();
    trace_store(const trace_store&) = delete;
    trace_store& operator=(const trace_store&) = delete;

    /// Every row kept, oldest first.
    std::vector<trace_row> load() const;
    /// The highest sequence number given out, stored or not (events that
    /// are not written take numbers too): new ones continue after it.
    std::uint64_t last_seq() const;

    /// Writes the rows and `last_seq` in one transaction, then prunes to
    /// `bounds`. On failure nothing of the batch is written and `error`
    /// says why.
    bool save(const std::vector<trace_row>& rows, std::uint64_t last_seq, const trace_bounds& bounds,
              std::string& error);

    const std::string& path() const { return path_; }

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    std::string path_;
};

/// The file name of the trace database inside server.state_dir.
inline constexpr const char* trace_file_name = "trace.sqlite3";

}  // namespace pxed::store
