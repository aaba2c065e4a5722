#pragma once
/// The daemon's own metrics (docs/metrics.md): build info, process start,
/// the loaded configuration (its hash and when it was loaded), reloads,
/// and hosts by lifecycle state. The servers count their own.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "pxed/store/hosts.hpp"

namespace pxed::metrics {
class registry;
class counter;
class gauge;
}  // namespace pxed::metrics

namespace pxed::app {

class daemon_metrics {
public:
    /// Hosts in the inventory by state (indexed by host_state's value),
    /// asked for when scraped.
    using host_counter = std::function<std::array<std::size_t, 5>()>;

    daemon_metrics(metrics::registry& r, std::string_view version, std::int64_t started_unix);

    /// A configuration went live at `unix_time`: `fingerprint` is its
    /// site::fingerprint (secrets masked), pxed_config_info's label;
    /// "unavailable" when empty.
    void config_loaded(const std::string& fingerprint, std::int64_t unix_time);
    /// A reload's verdict (SIGHUP or `pxed reload`).
    void reloaded(bool ok);
    void count_hosts(host_counter f);

    /// The boot trace's figures, asked for when scraped.
    struct trace_figures {
        std::size_t events = 0;          ///< kept in memory
        std::size_t macs = 0;            ///< with events kept
        std::uint64_t unattributed = 0;  ///< events no MAC was found for, since start
        std::uint64_t write_failures = 0;///< batches the trace database refused or dropped
        std::uint64_t strangers_seen = 0;///< MACs outside the inventory that appeared, since start
    };
    void count_trace(std::function<trace_figures()> f);

private:
    metrics::registry& registry_;
    metrics::counter& reloads_ok_;
    metrics::counter& reloads_failed_;
    metrics::gauge& last_reload_ok_;
    metrics::gauge& loaded_at_;
    std::string hash_;
};

}  // namespace pxed::app
