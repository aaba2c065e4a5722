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

/// Lines the calling thread logs below warning, to server.log's file or to
/// stderr, are held from now on and written together by
/// write_held_log_lines(), or once 32 KiB or 100 ms of them are waiting.
/// A warning or error goes out at once, after what was held; lines from
/// other threads are not held, and stay in order with those that are. The
/// event loop holds its lines and writes them before it sleeps: a write(2)
/// per access line was 6% of its CPU in a storm of kickstart requests.
/// `false` writes what is held and stops holding.
void hold_log_lines_on_this_thread(bool on = true);

/// Whether any lines are held (a relaxed atomic load: cheap enough for
/// every turn of the loop).
bool log_lines_held();

/// Writes the held lines now. apply_logging() and init_logging() do it
/// before they replace the logger.
void write_held_log_lines();

}  // namespace pxed::app
