#pragma once
/// One FTP control connection as a pure state machine (RFC 959 with the
/// RFC 2389, 2428 and 3659 extensions): read-only, anonymous only, over one
/// fs::file_namespace. It never touches a socket or a clock: the server
/// feeds it command lines and the time, and carries out the returned steps.
///
/// Server loop, in full:
///
///     write(session.greeting());
///     for each line_reader event:
///         apply(ev.too_long ? session.on_line_too_long() : session.on_line(ev.text, now));
///     apply(step):
///         write(step.reply);                        // always first
///         if (step.close_data) drop the passive listener, data socket and transfer;
///         if (step.open_passive) bind a listener on the control connection's local
///             address -> apply(session.on_passive_ready(addr, port) or on_passive_failed());
///         if (step.transfer) accept (or connect to step.transfer->active_target), send,
///             close the data socket -> apply(session.on_transfer_done(outcome));
///         if (step.close) close the control connection once the reply is written;
///         while (session.has_queued()) apply(session.run_queued(now));
///
/// While a transfer runs, ABOR, STAT and QUIT are answered at once; any
/// other command waits (RFC 959 section 5.4 asks for replies in order) and
/// runs once the transfer's final reply is out.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pxed/fs/namespace.hpp"
#include "pxed/proto/ftp.hpp"

namespace pxed::ftp {

struct session_config {
    /// PORT and EPRT (active mode). Off, as is safest: the server would
    /// connect out to whatever the client names. When on, only the
    /// client's own address and ports >= 1024 are accepted (no FTP bounce,
    /// RFC 2577 section 3).
    bool allow_active = false;
    /// Commands a client may pipeline behind a running transfer; beyond
    /// that it gets 421 and is disconnected.
    std::size_t max_queued = 32;
};

/// What a data connection is to carry. Files go out with sendfile(2);
/// documents and listings from memory.
struct outgoing_data {
    enum class kind { file, memory };
    kind what = kind::memory;
    verb command = verb::retr;  ///< retr, list, nlst or mlsd
    std::string path;           ///< normalised namespace path, for logs ("" = the top)
    fs::unique_fd fd;           ///< kind::file
    std::shared_ptr<const std::string> body;  ///< kind::memory: document body or listing
    std::int64_t offset = 0;    ///< first byte to send (REST)
    std::int64_t size = 0;      ///< total size of the file or body
    /// Active mode: where to connect. Otherwise use the accepted passive connection.
    std::optional<host_port> active_target;
};

/// What the server does after one event, in this order.
struct step {
    std::string reply;  ///< control-connection bytes, zero or more encoded replies
    bool close_data = false;    ///< drop the passive listener, data connection and any running transfer
    bool open_passive = false;  ///< then answer with on_passive_ready() or on_passive_failed()
    std::optional<outgoing_data> transfer;  ///< then answer with on_transfer_done()
    bool close = false;  ///< close the control connection once `reply` is written
    /// For the operator's debug log (a refused path and why); already
    /// escaped. Empty when there is nothing to say.
    std::string note;
    /// A RETR that could not open its file: the path asked for (escaped)
    /// and whether it does not exist, for the boot trace.
    std::string failed_retrieve;
    bool not_found = false;
};

enum class transfer_outcome {
    completed,
    no_connection,    ///< the client never opened the data connection (or active connect failed)
    connection_lost,  ///< the data connection broke or timed out mid-transfer
    read_error,       ///< the file could not be read
    aborted,          ///< ended by the server (shutdown)
};

/// RFC 3659 section 7 facts that MLST/MLSD can show (OPTS MLST picks).
struct mlst_facts {
    bool type = true, size = true, modify = true, perm = true;
};

/// One `ls -l` line, as vsftpd writes them (UTC dates; "Mon dd HH:MM"
/// within six months of `now`, "Mon dd  YYYY" otherwise), without CR LF.
std::string format_list_line(const fs::dir_entry& e, std::int64_t now);
/// RFC 3659 section 7 facts, "type=file;size=12;modify=20240102030405;perm=r;"
/// (modify is left out when the time is unknown, 0).
std::string format_facts(const fs::dir_entry& e, const mlst_facts& facts);
/// RFC 3659 section 2.3 time-val, UTC: "YYYYMMDDHHMMSS".
std::string format_time_val(std::int64_t unix_seconds);

class session {
public:
    /// `files` is the namespace for the whole session (a reload applies to
    /// new sessions); `client_address` (host order) is the control
    /// connection's peer, for STAT and the active-mode check.
    session(std::shared_ptr<const fs::file_namespace> files, std::uint32_t client_address, session_config config = {});

    /// The 220 greeting to send on connect.
    std::string greeting() const;

    /// One command line, without its CR LF. `now` is Unix seconds, for
    /// listing dates.
    step on_line(std::string_view line, std::int64_t now);
    /// A line longer than the line_reader allows.
    step on_line_too_long();

    step on_passive_ready(std::uint32_t local_address, std::uint16_t port);
    step on_passive_failed();

    /// The transfer handed out last has ended (ignored after ABOR or QUIT
    /// ended it already).
    step on_transfer_done(transfer_outcome outcome);

    /// Whether queued commands can run now (no transfer or passive reply pending).
    bool has_queued() const;
    step run_queued(std::int64_t now);

    bool logged_in() const { return logged_in_; }
    bool transferring() const { return transferring_; }
    bool closed() const { return closed_; }
    /// "/" or "/pub/centos".
    std::string working_directory() const { return "/" + cwd_; }

private:
    enum class data_state { none, passive, active };

    step dispatch(const command& c, std::int64_t now);
    step while_transferring(const command& c);
    step login(const command& c);
    step change_directory(std::string_view arg);
    step set_type(std::string_view arg);
    step passive(const command& c);
    step active(const command& c);
    step retrieve(const command& c);
    step listing(const command& c, std::int64_t now);
    step size_of(const command& c);
    step modification_time(const command& c);
    step machine_list(const command& c);
    step status(const command& c, std::int64_t now);
    step options(const command& c);
    step features() const;

    /// The namespace path an argument names: absolute from the top or
    /// relative to the working directory, `.` and `..` resolved by name.
    /// `..` above the top is access_denied.
    fs::result<std::string> resolve(std::string_view arg) const;
    step start_transfer(outgoing_data data, std::string reply_text);
    /// The control connection's client, as the namespace sees it.
    fs::client client() const { return fs::client{client_address_, {}, "ftp"}; }

    std::shared_ptr<const fs::file_namespace> files_;
    std::uint32_t client_address_;
    session_config config_;

    bool user_ok_ = false;
    bool logged_in_ = false;
    bool closed_ = false;
    bool binary_ = true;  // TYPE I; TYPE A is accepted and served as binary (vsftpd's default)
    bool epsv_all_ = false;
    bool pasv_pending_ = false;
    bool pasv_extended_ = false;
    bool transferring_ = false;
    verb transfer_command_ = verb::retr;
    std::string transfer_path_;
    data_state data_ = data_state::none;
    host_port active_target_;
    std::int64_t restart_ = 0;
    mlst_facts facts_;
    std::string cwd_;  // normalised namespace path, "" = the top
    std::deque<std::optional<std::string>> queued_;  // nullopt: a line that was too long
};

}  // namespace pxed::ftp
