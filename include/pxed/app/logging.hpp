#pragma once
/// Process-wide logging (spdlog): text for people, JSON lines for collectors.
/// Text lines on a terminal, in server.log.file or on a redirected stderr
/// carry a timestamp; on the journal (stderr is $JOURNAL_STREAM) each line
/// starts with its sd-daemon(3) priority ("<4>" for a warning) instead, so
/// `journalctl -p warning` selects them, and journald stamps the time.

#include <string_view>

#include "pxed/inventory/site.hpp"

namespace pxed::app {

/// Whether `fd` is the stream `journal_stream` names: $JOURNAL_STREAM's
/// "device:inode" (decimal) against fstat(2) of `fd`. False for a malformed
/// value, or a descriptor redirected elsewhere since the variable was set.
bool is_journal_stream(std::string_view journal_stream, int fd);

/// Whether stderr is the journal: $JOURNAL_STREAM set and matching fd 2.
bool stderr_is_journal();

/// The journal prefix for a log level name: "<2>" critical, "<3>" error,
/// "<4>" warning, "<6>" info, "<7>" debug and trace.
std::string_view journal_prefix(std::string_view level);

/// Before the config is read: text to stderr at info.
void init_logging();

/// Applies server.log; throws std::runtime_error if the log file cannot be
/// opened, is a symlink (never followed) or not a regular file with one link.
void apply_logging(const inventory::log_settings& settings);

}  // namespace pxed::app
