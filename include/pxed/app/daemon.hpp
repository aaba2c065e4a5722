#pragma once
/// The long-running pxed process: one event loop, signals, reload.

#include <string>

namespace pxed::app {

/// Runs in the foreground until SIGINT or SIGTERM. SIGHUP re-reads the
/// config; a config with errors is reported and the old one stays in force.
/// Returns the process exit code.
int run_daemon(const std::string& config_path);

}  // namespace pxed::app
