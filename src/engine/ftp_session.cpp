#include "pxed/engine/ftp_session.hpp"

#include <time.h>

#include <array>
#include <cstdio>
#include <utility>
#include <vector>

#include "pxed/wire/text.hpp"

namespace pxed::ftp {
namespace {

// Reply texts follow vsftpd's where one exists: scripts and clients in the
// wild have been written against them for twenty years.
step say(int code, std::string_view text) {
    step s;
    s.reply = encode(code, text);
    return s;
}

step say(reply r) {
    step s;
    s.reply = encode(r);
    return s;
}

step refused(int code, std::string_view text, std::string note) {
    step s = say(code, text);
    s.note = std::move(note);
    return s;
}

step syntax_error() { return say(501, "Syntax error in parameters or arguments."); }

using wire::iequals;

std::string display(std::string_view path) { return "/" + std::string(path); }

std::string last_component(std::string_view path) {
    const auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// The reply for a namespace error, and what the operator's log gets.
step fs_refusal(const fs::error& e, std::string_view verb_name, std::string_view generic) {
    std::string note = std::string(verb_name) + " refused: " + e.message;
    switch (e.code) {
    case fs::errc::access_denied: return refused(550, "Permission denied.", std::move(note));
    case fs::errc::invalid_path: return refused(553, "File name not allowed.", std::move(note));
    case fs::errc::io_error: return refused(451, "Local error in processing.", std::move(note));
    case fs::errc::not_found:
    case fs::errc::is_directory:
    case fs::errc::not_a_directory: break;
    }
    return refused(550, generic, std::move(note));
}

struct broken_down {
    int year, month, day, hour, minute, second;
};

broken_down utc(std::int64_t t) {
    const time_t tt = static_cast<time_t>(t);
    struct tm tm {};
    if (!gmtime_r(&tt, &tm)) return {1970, 0, 1, 0, 0, 0};
    return {tm.tm_year + 1900, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec};
}

constexpr std::array<const char*, 12> month_names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// gmtime_r's tm_mon, which utc() passes on, is 0..11.
const char* month_name(int month) { return month_names[static_cast<std::size_t>(month)]; }

// Option letters that clients put in front of a LIST/NLST path ("-la",
// "-a"): ls flags, which vsftpd ignores too. A name starting with '-'
// cannot be listed this way, as with vsftpd.
std::string_view strip_list_options(std::string_view arg) {
    while (!arg.empty() && arg.front() == '-') {
        const auto space = arg.find(' ');
        if (space == std::string_view::npos) return {};
        arg.remove_prefix(space + 1);
        while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
    }
    return arg;
}

// "MDTM 20240101000000 file" sets a time (a draft extension some clients
// use): a write, refused like the others.
bool is_set_time(std::string_view arg) {
    if (arg.size() < 16 || arg[14] != ' ') return false;
    for (std::size_t i = 0; i < 14; ++i)
        if (arg[i] < '0' || arg[i] > '9') return false;
    return true;
}

fs::dir_entry entry_from(const fs::node_info& info, std::string name) {
    fs::dir_entry e;
    e.name = std::move(name);
    e.is_directory = info.kind == fs::node_kind::directory;
    e.size = info.size;
    e.mtime = info.mtime;
    return e;
}

}  // namespace

std::string format_time_val(std::int64_t unix_seconds) {
    const auto t = utc(unix_seconds);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d", t.year, t.month + 1, t.day, t.hour, t.minute,
                  t.second);
    return buf;
}

std::string format_list_line(const fs::dir_entry& e, std::int64_t now) {
    const auto t = utc(e.mtime);
    // ls(1)'s rule: the time of day for the last six months, else the year.
    constexpr std::int64_t six_months = 182LL * 24 * 3600;
    const bool recent = e.mtime <= now + 3600 && now - e.mtime < six_months;
    char when[32];
    if (recent)
        std::snprintf(when, sizeof when, "%s %02d %02d:%02d", month_name(t.month), t.day, t.hour, t.minute);
    else
        std::snprintf(when, sizeof when, "%s %02d  %04d", month_name(t.month), t.day, t.year);
    // Read-only to everyone: that is what the namespace offers.
    char head[96];
    std::snprintf(head, sizeof head, "%s    1 ftp      ftp      %12lld %s ",
                  e.is_directory ? "dr-xr-xr-x" : "-r--r--r--", static_cast<long long>(e.size), when);
    return head + e.name;
}

std::string format_facts(const fs::dir_entry& e, const mlst_facts& facts) {
    std::string out;
    if (facts.type) out += e.is_directory ? "type=dir;" : "type=file;";
    if (facts.size && !e.is_directory) out += "size=" + std::to_string(e.size) + ";";
    if (facts.modify && e.mtime > 0) out += "modify=" + format_time_val(e.mtime) + ";";
    // RFC 3659 section 7.5.5: e = enter (CWD), l = list, r = retrieve.
    if (facts.perm) out += e.is_directory ? "perm=el;" : "perm=r;";
    return out;
}

session::session(std::shared_ptr<const fs::file_namespace> files, std::uint32_t client_address,
                 session_config config)
    : files_(std::move(files)), client_address_(client_address), config_(config) {
    if (!files_) files_ = std::make_shared<const fs::file_namespace>(std::vector<fs::mount>{}, nullptr);
}

std::string session::greeting() const { return encode(220, "pxed FTP server (read-only, anonymous)"); }

step session::on_line(std::string_view line, std::int64_t now) {
    if (closed_) return {};
    const bool busy = transferring_ || pasv_pending_ || !queued_.empty();
    if (busy) {
        if (transferring_) {
            const command c = parse_command(line);
            if (c.id == verb::abor || c.id == verb::stat || c.id == verb::quit) return while_transferring(c);
        }
        if (queued_.size() >= config_.max_queued) {
            closed_ = true;
            step s = say(421, "Too many commands while a transfer runs; closing.");
            s.close = true;
            s.close_data = true;
            return s;
        }
        queued_.emplace_back(std::string(line));
        return {};
    }
    return dispatch(parse_command(line), now);
}

step session::on_line_too_long() {
    if (closed_) return {};
    if (transferring_ || pasv_pending_ || !queued_.empty()) {
        if (queued_.size() >= config_.max_queued) {
            closed_ = true;
            step s = say(421, "Too many commands while a transfer runs; closing.");
            s.close = true;
            s.close_data = true;
            return s;
        }
        queued_.emplace_back(std::nullopt);
        return {};
    }
    return say(500, "Command line too long.");
}

bool session::has_queued() const { return !closed_ && !transferring_ && !pasv_pending_ && !queued_.empty(); }

step session::run_queued(std::int64_t now) {
    if (!has_queued()) return {};
    auto line = std::move(queued_.front());
    queued_.pop_front();
    if (!line) return say(500, "Command line too long.");
    return dispatch(parse_command(*line), now);
}

step session::while_transferring(const command& c) {
    switch (c.id) {
    case verb::abor: {
        // RFC 959 section 4.1.3: 426 for the transfer, then 226 for the ABOR.
        transferring_ = false;
        step s;
        s.reply = encode(426, "Transfer aborted.") + encode(226, "ABOR successful.");
        s.close_data = true;
        return s;
    }
    case verb::stat:
        return say(reply{211, {"Status:", "Sending " + display(transfer_path_) + " (" +
                                               std::string(to_string(transfer_command_)) + ")",
                            "End of status"}});
    default: {  // QUIT
        transferring_ = false;
        closed_ = true;
        step s = say(221, "Goodbye.");
        s.close_data = true;
        s.close = true;
        return s;
    }
    }
}

step session::dispatch(const command& c, std::int64_t now) {
    switch (c.id) {
    case verb::user:
    case verb::pass: return login(c);
    case verb::quit: {
        closed_ = true;
        step s = say(221, "Goodbye.");
        s.close_data = true;
        s.close = true;
        return s;
    }
    case verb::feat: return features();
    case verb::opts: return options(c);
    case verb::syst: return say(215, "UNIX Type: L8");
    case verb::noop: return say(200, "NOOP ok.");
    case verb::help:
        return say(reply{214,
                         {"The following commands are recognized.",
                          "ABOR CDUP CWD  EPRT EPSV FEAT HELP LIST MDTM MLSD MLST MODE NLST NOOP",
                          "OPTS PASS PASV PORT PWD  QUIT REST RETR SIZE STAT STRU SYST TYPE USER",
                          "Help OK."}});
    case verb::auth:
    case verb::pbsz:
    case verb::prot:
    case verb::ccc:
    case verb::adat: return say(502, "TLS is not offered by this server.");
    case verb::unknown:
        if (c.name.empty()) return say(500, "Empty command.");
        return say(500, "Unknown command.");
    default: break;
    }
    if (!logged_in_) return say(530, "Please login with USER and PASS.");

    switch (c.id) {
    case verb::pwd: return say(257, quote_pathname(working_directory()) + " is the current directory");
    case verb::cwd:
        if (!c.has_argument || c.argument.empty()) return syntax_error();
        return change_directory(c.argument);
    case verb::cdup:
        // At the top CDUP stays there, as it would in a chroot.
        return change_directory(cwd_.empty() ? "/" : "..");
    case verb::type: return set_type(c.argument);
    case verb::mode:
        if (iequals(c.argument, "S")) return say(200, "Mode set to S.");
        return say(504, "Bad MODE command.");
    case verb::stru:
        if (iequals(c.argument, "F")) return say(200, "Structure set to F.");
        return say(504, "Bad STRU command.");
    case verb::pasv:
    case verb::epsv: return passive(c);
    case verb::port:
    case verb::eprt: return active(c);
    case verb::rest: {
        const auto marker = parse_restart_marker(c.argument);
        if (!marker) return say(501, "REST requires a value greater than or equal to 0.");
        restart_ = *marker;
        return say(350, "Restart position accepted (" + std::to_string(restart_) + ").");
    }
    case verb::retr: return retrieve(c);
    case verb::list:
    case verb::nlst:
    case verb::mlsd: return listing(c, now);
    case verb::mlst: return machine_list(c);
    case verb::size: return size_of(c);
    case verb::mdtm: return modification_time(c);
    case verb::stat: return status(c, now);
    case verb::abor: {
        // No transfer: a passive listener waiting for its connection goes.
        step s = say(225, "No transfer to ABOR.");
        if (data_ != data_state::none) s.close_data = true;
        data_ = data_state::none;
        return s;
    }
    case verb::allo: return say(202, "ALLO command ignored.");
    case verb::stor:
    case verb::stou:
    case verb::appe:
    case verb::dele:
    case verb::rmd:
    case verb::mkd:
    case verb::rnfr:
    case verb::rnto:
        return refused(550, "Permission denied.",
                       std::string(to_string(c.id)) + " refused: the server is read-only");
    case verb::site: return say(502, "SITE commands are not offered by this server.");
    case verb::acct:
    case verb::smnt:
    case verb::rein: return say(502, "Command not implemented.");
    default: break;
    }
    return say(500, "Unknown command.");
}

step session::login(const command& c) {
    if (c.id == verb::user) {
        if (logged_in_) return say(530, "Can't change from guest user.");
        if (iequals(c.argument, "anonymous") || iequals(c.argument, "ftp")) {
            user_ok_ = true;
            return say(331, "Please specify the password.");
        }
        user_ok_ = false;
        return say(530, "This FTP server is anonymous only.");
    }
    if (logged_in_) return say(230, "Already logged in.");
    if (!user_ok_) return say(503, "Login with USER first.");
    // Anonymous FTP (RFC 1635): any password, traditionally an email address.
    logged_in_ = true;
    return say(230, "Login successful.");
}

fs::result<std::string> session::resolve(std::string_view arg) const {
    std::vector<std::string_view> parts;
    std::string_view base = cwd_;
    const bool absolute = !arg.empty() && (arg.front() == '/' || arg.front() == '\\');
    if (!absolute) {
        while (!base.empty()) {
            const auto slash = base.find('/');
            parts.push_back(base.substr(0, slash));
            if (slash == std::string_view::npos) break;
            base.remove_prefix(slash + 1);
        }
    }
    std::size_t pos = 0;
    while (pos <= arg.size()) {
        // `\` separates too, as it does for the namespace (fs::normalize).
        auto end = arg.find_first_of("/\\", pos);
        if (end == std::string_view::npos) end = arg.size();
        const auto part = arg.substr(pos, end - pos);
        pos = end + 1;
        if (part.empty() || part == ".") continue;
        if (part == "..") {
            // Names are resolved by name, not through the disk: the FTP
            // view is the namespace, and its top is as far up as it goes.
            if (parts.empty())
                return fs::error{fs::errc::access_denied,
                                 "\"" + wire::escape_for_log(arg) + "\": \"..\" climbs above the top"};
            parts.pop_back();
            continue;
        }
        parts.push_back(part);
    }
    std::string out;
    for (const auto& p : parts) {
        if (!out.empty()) out += '/';
        out.append(p.data(), p.size());
    }
    return out;
}

step session::change_directory(std::string_view arg) {
    const auto path = resolve(arg);
    if (!path) return fs_refusal(path.error(), "CWD", "Failed to change directory.");
    const auto info = files_->stat(*path, client());
    if (!info) return fs_refusal(info.error(), "CWD", "Failed to change directory.");
    if (info->kind != fs::node_kind::directory)
        return refused(550, "Failed to change directory.", "CWD refused: \"" + wire::escape_for_log(*path) + "\" is not a directory");
    cwd_ = info->path;
    return say(250, "Directory successfully changed.");
}

step session::set_type(std::string_view arg) {
    // RFC 959 section 3.1.1: A [N] (ASCII, non-print), I (image), L 8.
    // TYPE A is accepted but, as with vsftpd's default
    // (ascii_download_enable=NO), files are sent unchanged: install trees
    // are binary, and translating line ends would corrupt RPMs fetched by
    // clients that forgot TYPE I.
    if (iequals(arg, "I") || iequals(arg, "L 8") || iequals(arg, "L8")) {
        binary_ = true;
        return say(200, "Switching to Binary mode.");
    }
    if (iequals(arg, "A") || iequals(arg, "A N")) {
        binary_ = false;
        return say(200, "Switching to ASCII mode.");
    }
    if (arg.empty()) return syntax_error();
    return say(504, "Unrecognised TYPE command.");
}

step session::passive(const command& c) {
    const bool extended = c.id == verb::epsv;
    if (extended && c.has_argument && !c.argument.empty()) {
        // RFC 2428 section 4: EPSV ALL forbids every other data-port
        // command for the rest of the session; EPSV <proto> asks for one.
        if (iequals(c.argument, "ALL")) {
            epsv_all_ = true;
            return say(200, "EPSV ALL ok.");
        }
        if (c.argument == "2") return say(522, "Network protocol not supported, use (1)");
        if (c.argument != "1") return syntax_error();
    }
    if (!extended && epsv_all_) return say(500, "PASV not allowed after EPSV ALL.");
    step s;
    s.close_data = true;  // a new PASV replaces any earlier listener
    s.open_passive = true;
    data_ = data_state::none;
    pasv_pending_ = true;
    pasv_extended_ = extended;
    return s;
}

step session::on_passive_ready(std::uint32_t local_address, std::uint16_t port) {
    if (!pasv_pending_) return {};
    pasv_pending_ = false;
    data_ = data_state::passive;
    if (pasv_extended_) return say(229, extended_passive_text(port));
    return say(227, passive_text(local_address, port));
}

step session::on_passive_failed() {
    if (!pasv_pending_) return {};
    pasv_pending_ = false;
    data_ = data_state::none;
    return say(425, "Cannot open a passive data port; try again later.");
}

step session::active(const command& c) {
    if (!config_.allow_active) return say(502, "Active mode (PORT/EPRT) is off; use PASV or EPSV.");
    if (epsv_all_) return say(500, "PORT not allowed after EPSV ALL.");
    if (c.id == verb::eprt && c.argument.size() > 2 && c.argument[1] == '2')
        return say(522, "Network protocol not supported, use (1)");
    const auto target = c.id == verb::port ? parse_port_argument(c.argument) : parse_eprt_argument(c.argument);
    if (!target) return say(501, "Illegal " + std::string(to_string(c.id)) + " command.");
    // RFC 2577 section 3: only the client itself, only unprivileged ports,
    // or pxed could be made to connect anywhere on the client's behalf.
    if (target->address != client_address_ || target->port < 1024) {
        return refused(500, "Illegal " + std::string(to_string(c.id)) + " command.",
                       std::string(to_string(c.id)) + " refused: the address is not the client's own, or the port is below 1024");
    }
    step s = say(200, std::string(to_string(c.id)) + " command successful. Consider using PASV.");
    s.close_data = true;
    data_ = data_state::active;
    active_target_ = *target;
    return s;
}

step session::start_transfer(outgoing_data data, std::string reply_text) {
    if (data_ == data_state::active) data.active_target = active_target_;
    data_ = data_state::none;  // one transfer per PASV/PORT
    transferring_ = true;
    transfer_command_ = data.command;
    transfer_path_ = data.path;
    step s = say(150, reply_text);
    s.transfer = std::move(data);
    return s;
}

step session::retrieve(const command& c) {
    const std::int64_t restart = std::exchange(restart_, 0);
    if (!c.has_argument || c.argument.empty()) return syntax_error();
    if (data_ == data_state::none) return say(425, "Use PORT or PASV first.");
    const auto path = resolve(c.argument);
    if (!path) return fs_refusal(path.error(), "RETR", "Failed to open file.");
    auto opened = files_->open(*path, client());
    if (!opened) {
        auto s = fs_refusal(opened.error(), "RETR", "Failed to open file.");
        s.failed_retrieve = wire::escape_for_log(*path);
        s.not_found = opened.error().code == fs::errc::not_found;
        return s;
    }
    outgoing_data d;
    d.command = verb::retr;
    d.path = opened->path;
    if (auto* f = opened->file()) {
        d.what = outgoing_data::kind::file;
        d.size = f->size;
        d.fd = std::move(f->fd);
    } else {
        d.what = outgoing_data::kind::memory;
        d.body = opened->doc()->body;
        if (!d.body) d.body = std::make_shared<const std::string>();
        d.size = static_cast<std::int64_t>(d.body->size());
    }
    // RFC 3659 section 5.5: a marker beyond the end cannot be honoured.
    if (restart > d.size) return say(554, "Invalid REST parameter: beyond the end of the file.");
    d.offset = restart;
    // "BINARY" in TYPE A too: the bytes go out unchanged (see set_type),
    // and vsftpd says the same then.
    std::string text = "Opening BINARY mode data connection for " + display(d.path) + " (" +
                       std::to_string(d.size) + " bytes).";
    return start_transfer(std::move(d), std::move(text));
}

step session::listing(const command& c, std::int64_t now) {
    restart_ = 0;
    if (data_ == data_state::none) return say(425, "Use PORT or PASV first.");
    const std::string_view verb_name = to_string(c.id);
    const std::string_view arg = c.id == verb::mlsd ? std::string_view(c.argument) : strip_list_options(c.argument);
    const auto path = resolve(arg);
    if (!path) return fs_refusal(path.error(), verb_name, "Failed to open directory.");
    const auto info = files_->stat(*path, client());
    if (!info) return fs_refusal(info.error(), verb_name, "Failed to open directory.");

    std::vector<fs::dir_entry> entries;
    if (info->kind == fs::node_kind::directory) {
        auto listed = files_->list(*path);
        if (!listed) return fs_refusal(listed.error(), verb_name, "Failed to open directory.");
        entries = std::move(*listed);
    } else {
        // RFC 3659 section 7.2.1: MLSD is for directories only.
        if (c.id == verb::mlsd) return say(501, "Not a directory.");
        // LIST and NLST of a file show that file (as ls does), under the name asked for.
        entries.push_back(entry_from(*info, c.id == verb::nlst ? std::string(arg) : last_component(info->path)));
    }

    auto body = std::make_shared<std::string>();
    for (const auto& e : entries) {
        switch (c.id) {
        case verb::nlst: *body += e.name; break;
        case verb::mlsd: *body += format_facts(e, facts_) + " " + e.name; break;
        default: *body += format_list_line(e, now); break;
        }
        *body += "\r\n";
    }
    outgoing_data d;
    d.what = outgoing_data::kind::memory;
    d.command = c.id;
    d.path = info->path;
    d.size = static_cast<std::int64_t>(body->size());
    d.body = std::move(body);
    return start_transfer(std::move(d), "Here comes the directory listing.");
}

step session::machine_list(const command& c) {
    const auto path = resolve(c.argument);
    if (!path) return fs_refusal(path.error(), "MLST", "No such file or directory.");
    const auto info = files_->stat(*path, client());
    if (!info) return fs_refusal(info.error(), "MLST", "No such file or directory.");
    // RFC 3659 section 7.2: one fact line, prefixed by a space, then the pathname.
    const auto entry = entry_from(*info, display(info->path));
    return say(reply{250, {"Listing " + display(info->path), format_facts(entry, facts_) + " " + entry.name, "End"}});
}

step session::size_of(const command& c) {
    if (!c.has_argument || c.argument.empty()) return syntax_error();
    const auto path = resolve(c.argument);
    if (!path) return fs_refusal(path.error(), "SIZE", "Could not get file size.");
    const auto info = files_->stat(*path, client());
    if (!info) return fs_refusal(info.error(), "SIZE", "Could not get file size.");
    if (info->kind == fs::node_kind::directory) return say(550, "Could not get file size.");
    // RFC 3659 section 4: the octets RETR would send, which in either TYPE
    // is the file's size here (no ASCII translation).
    return say(213, std::to_string(info->size));
}

step session::modification_time(const command& c) {
    if (!c.has_argument || c.argument.empty()) return syntax_error();
    if (is_set_time(c.argument))
        return refused(550, "Permission denied.", "MDTM refused: setting a time is a write");
    const auto path = resolve(c.argument);
    if (!path) return fs_refusal(path.error(), "MDTM", "Could not get file modification time.");
    const auto info = files_->stat(*path, client());
    if (!info) return fs_refusal(info.error(), "MDTM", "Could not get file modification time.");
    if (info->kind == fs::node_kind::directory) return say(550, "Could not get file modification time.");
    return say(213, format_time_val(info->mtime));
}

step session::status(const command& c, std::int64_t now) {
    if (!c.has_argument || c.argument.empty()) {
        const std::string client = std::to_string(client_address_ >> 24) + "." +
                                   std::to_string((client_address_ >> 16) & 0xff) + "." +
                                   std::to_string((client_address_ >> 8) & 0xff) + "." +
                                   std::to_string(client_address_ & 0xff);
        return say(reply{211,
                         {"FTP server status:", "Connected to " + client, "Logged in as ftp",
                          std::string("TYPE: ") + (binary_ ? "BINARY" : "ASCII"),
                          data_ == data_state::none ? "No data connection" : "Data connection ready",
                          "End of status"}});
    }
    // RFC 959 section 4.1.3: STAT with a path is a LIST over the control connection.
    const auto path = resolve(strip_list_options(c.argument));
    if (!path) return fs_refusal(path.error(), "STAT", "No such file or directory.");
    const auto info = files_->stat(*path, client());
    if (!info) return fs_refusal(info.error(), "STAT", "No such file or directory.");
    std::vector<fs::dir_entry> entries;
    if (info->kind == fs::node_kind::directory) {
        auto listed = files_->list(*path);
        if (!listed) return fs_refusal(listed.error(), "STAT", "No such file or directory.");
        entries = std::move(*listed);
    } else {
        entries.push_back(entry_from(*info, last_component(info->path)));
    }
    reply r{213, {"Status follows:"}};
    for (const auto& e : entries) r.lines.push_back(format_list_line(e, now));
    r.lines.emplace_back("End of status");
    return say(r);
}

step session::options(const command& c) {
    const auto space = c.argument.find(' ');
    const std::string_view name = std::string_view(c.argument).substr(0, space);
    const std::string_view value =
        space == std::string::npos ? std::string_view() : std::string_view(c.argument).substr(space + 1);
    if (iequals(name, "UTF8")) {
        // RFC 2640: names are UTF-8 already; nothing to switch.
        return say(200, "Always in UTF8 mode.");
    }
    if (iequals(name, "MLST")) {
        // RFC 3659 section 7.9: the facts listed, in any case, each ending in ';'.
        mlst_facts chosen{false, false, false, false};
        std::string_view rest = value;
        while (!rest.empty()) {
            const auto semi = rest.find(';');
            const auto fact = rest.substr(0, semi);
            if (iequals(fact, "type")) chosen.type = true;
            else if (iequals(fact, "size")) chosen.size = true;
            else if (iequals(fact, "modify")) chosen.modify = true;
            else if (iequals(fact, "perm")) chosen.perm = true;
            if (semi == std::string_view::npos) break;
            rest.remove_prefix(semi + 1);
        }
        facts_ = chosen;
        std::string text = "MLST OPTS ";
        if (chosen.type) text += "type;";
        if (chosen.size) text += "size;";
        if (chosen.modify) text += "modify;";
        if (chosen.perm) text += "perm;";
        if (text.back() == ' ') text.pop_back();
        return say(200, text);
    }
    return say(501, "Option not understood.");
}

step session::features() const {
    // RFC 2389: one feature per line, each indented by a space (encode() does that).
    reply r{211, {"Features:"}};
    if (config_.allow_active) r.lines.emplace_back("EPRT");
    r.lines.emplace_back("EPSV");
    r.lines.emplace_back("MDTM");
    r.lines.push_back(std::string("MLST type") + (facts_.type ? "*" : "") + ";size" + (facts_.size ? "*" : "") +
                      ";modify" + (facts_.modify ? "*" : "") + ";perm" + (facts_.perm ? "*" : "") + ";");
    r.lines.emplace_back("PASV");
    r.lines.emplace_back("REST STREAM");
    r.lines.emplace_back("SIZE");
    r.lines.emplace_back("TVFS");
    r.lines.emplace_back("UTF8");
    r.lines.emplace_back("End");
    return say(r);
}

step session::on_transfer_done(transfer_outcome outcome) {
    if (!transferring_) return {};
    transferring_ = false;
    switch (outcome) {
    case transfer_outcome::completed:
        return say(226, transfer_command_ == verb::retr ? "Transfer complete." : "Directory send OK.");
    case transfer_outcome::no_connection: return say(425, "Failed to establish connection.");
    case transfer_outcome::connection_lost: return say(426, "Failure writing network stream.");
    case transfer_outcome::read_error: return say(451, "Failure reading local file.");
    case transfer_outcome::aborted: return say(426, "Transfer aborted.");
    }
    return {};
}

}  // namespace pxed::ftp
