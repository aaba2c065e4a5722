#include "pxed/app/daemon_metrics.hpp"

#include <array>
#include <memory>

#include "pxed/metrics/registry.hpp"

namespace pxed::app {

daemon_metrics::daemon_metrics(metrics::registry& r, std::string_view version, std::int64_t started_unix)
    : registry_(r),
      reloads_ok_(r.counters("pxed_config_reloads_total",
                             "Configuration reloads (SIGHUP, pxed reload), by result; a failed one leaves the "
                             "configuration loaded before serving.",
                             {"result"})
                      .with({"ok"})),
      reloads_failed_(r.counters("pxed_config_reloads_total", "", {"result"}).with({"failed"})),
      last_reload_ok_(r.gauges("pxed_config_last_reload_successful",
                               "1 when the last reload (or the start) loaded its configuration, 0 when it was "
                               "rejected.")
                          .only()),
      loaded_at_(r.gauges("pxed_config_loaded_timestamp_seconds",
                          "When the configuration serving now was loaded (Unix time); its age is time() minus this.")
                     .only()) {
    const std::string v(version);
    r.computed("pxed_build_info", "pxed's version; always 1.", metrics::kind::gauge, {"version"},
               [v](const metrics::sample_sink& emit) { emit({v}, 1); });
    r.gauges("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.")
        .only()
        .set(static_cast<double>(started_unix));
    last_reload_ok_.set(1);
}

void daemon_metrics::config_loaded(const std::string& fingerprint, std::int64_t unix_time) {
    loaded_at_.set(static_cast<double>(unix_time));
    hash_ = fingerprint.empty() ? "unavailable" : fingerprint;
    registry_.computed("pxed_config_info",
                       "The configuration serving now: a hash of site.yaml as loaded, its secrets masked; always 1.",
                       metrics::kind::gauge, {"hash"}, [h = hash_](const metrics::sample_sink& emit) { emit({h}, 1); });
}

void daemon_metrics::reloaded(bool ok) {
    (ok ? reloads_ok_ : reloads_failed_).inc();
    last_reload_ok_.set(ok ? 1 : 0);
}

void daemon_metrics::count_hosts(host_counter f) {
    registry_.computed("pxed_hosts", "Hosts of the inventory by lifecycle state.", metrics::kind::gauge, {"state"},
                       [f = std::move(f)](const metrics::sample_sink& emit) {
                           const auto n = f();
                           for (auto s : {store::host_state::pending, store::host_state::installing,
                                          store::host_state::installed, store::host_state::failed})
                               emit({store::to_string(s)}, static_cast<double>(n[static_cast<std::size_t>(s)]));
                       });
}

void daemon_metrics::count_trace(std::function<trace_figures()> f) {
    auto shared = std::make_shared<std::function<trace_figures()>>(std::move(f));
    registry_.computed("pxed_trace_events", "Boot trace events kept in memory.", metrics::kind::gauge, {},
                       [shared](const metrics::sample_sink& emit) { emit({}, static_cast<double>((*shared)().events)); });
    registry_.computed("pxed_trace_macs", "MACs with boot trace events kept (inventory hosts and others).",
                       metrics::kind::gauge, {},
                       [shared](const metrics::sample_sink& emit) { emit({}, static_cast<double>((*shared)().macs)); });
    registry_.computed("pxed_trace_unattributed_total",
                       "TFTP, HTTP and FTP events from an address no MAC was found for (not kept).",
                       metrics::kind::counter, {}, [shared](const metrics::sample_sink& emit) {
                           emit({}, static_cast<double>((*shared)().unattributed));
                       });
    registry_.computed("pxed_trace_unknown_macs_seen_total",
                       "MACs outside the inventory that sent DHCP or fetched files (pxed trace --unknown).",
                       metrics::kind::counter, {}, [shared](const metrics::sample_sink& emit) {
                           emit({}, static_cast<double>((*shared)().strangers_seen));
                       });
    registry_.computed("pxed_trace_write_failures_total",
                       "Batches of boot trace events the trace database refused or could not keep up with.",
                       metrics::kind::counter, {}, [shared](const metrics::sample_sink& emit) {
                           emit({}, static_cast<double>((*shared)().write_failures));
                       });
}

}  // namespace pxed::app
