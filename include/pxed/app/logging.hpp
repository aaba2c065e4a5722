#pragma once
/// Process-wide logging (spdlog): text for people, JSON lines for collectors.

#include "pxed/inventory/site.hpp"

namespace pxed::app {

/// Before the config is read: text to stderr at info.
void init_logging();

/// Applies server.log; throws std::runtime_error if the log file cannot be
/// opened, is a symlink (never followed) or not a regular file with one link.
void apply_logging(const inventory::log_settings& settings);

}  // namespace pxed::app
