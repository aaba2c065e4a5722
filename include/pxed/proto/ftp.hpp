#pragma once
/// FTP control-connection codec (RFC 959, 2428, 3659): command lines in,
/// reply text out. No I/O, no logging, nothing throws on input from the
/// wire. Strings from the wire are kept raw; escape them
/// (pxed::wire::escape_for_log) before they reach a log.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pxed::ftp {

/// Every command pxed recognises, by the RFC that defines it. Recognised
/// does not mean served: the write commands are known so that they can be
/// refused by name (550) rather than as unknown (500).
enum class verb {
    // RFC 959 section 4.1.1, access control
    user, pass, acct, cwd, cdup, smnt, rein, quit,
    // RFC 959 section 4.1.2, transfer parameters
    port, pasv, type, stru, mode,
    // RFC 959 section 4.1.3, service commands
    retr, stor, stou, appe, allo, rest, rnfr, rnto, abor, dele, rmd, mkd, pwd, list, nlst, site, syst, stat,
    help, noop,
    eprt, epsv,         ///< RFC 2428 section 2, 3
    feat, opts,         ///< RFC 2389
    size, mdtm, mlst, mlsd,  ///< RFC 3659 sections 3, 4, 7
    auth, pbsz, prot, ccc, adat,  ///< RFC 2228 / 4217 (no TLS here)
    unknown,
};

/// One command line, split as RFC 959 section 5.3.1 describes: the verb
/// (case-insensitive, at most four letters; the X-prefixed RFC 775 aliases
/// XPWD, XCWD, XCUP, XMKD, XRMD map to their RFC 959 verbs) and everything
/// after the first space as the argument, raw. Path arguments may contain
/// spaces, so nothing is trimmed beyond the separator.
struct command {
    verb id = verb::unknown;
    std::string name;      ///< the verb as sent, upper-cased; for replies and logs
    std::string argument;  ///< raw; may be empty
    bool has_argument = false;
};

command parse_command(std::string_view line);

/// The verb's canonical name ("RETR"); "" for verb::unknown.
std::string_view to_string(verb v);

/// Splits the control stream into command lines. Telnet (RFC 854) commands
/// are stripped: IAC IAC is a literal 0xFF, IAC WILL/WONT/DO/DONT x is
/// dropped without negotiating (RFC 959 section 4.1 lets a server refuse
/// every option), and any other IAC pair (IP, DM, AYT, ...) is dropped, so
/// the "IAC IP IAC DM ABOR" that clients send to abort a transfer reads as
/// "ABOR". Lines end at CR LF; a bare LF is accepted too (netcat, some
/// scripts), and CR NUL is a CR (RFC 854).
class line_reader {
public:
    static constexpr std::size_t default_max_line = 4096;

    struct event {
        enum class kind { line, too_long } what = kind::line;
        std::string text;  ///< the line without its end; empty for too_long
    };

    explicit line_reader(std::size_t max_line = default_max_line) : max_line_(max_line) {}

    /// Takes any number of bytes; complete lines become events. A line
    /// longer than max_line bytes is dropped up to its end and becomes one
    /// too_long event, so memory stays bounded whatever the peer sends.
    void feed(const char* data, std::size_t size);
    void feed(std::string_view data) { feed(data.data(), data.size()); }

    /// The oldest unread event, if any.
    std::optional<event> next();
    std::size_t pending() const { return events_.size(); }

private:
    enum class telnet { data, iac, option };
    void put(char c);
    void end_line();

    std::size_t max_line_;
    telnet telnet_ = telnet::data;
    bool cr_ = false;        // the last data byte was a CR
    bool overflow_ = false;  // the current line is past max_line_
    std::string line_;
    std::deque<event> events_;
};

/// An FTP reply: a three-digit code (RFC 959 section 4.2) and one or more
/// lines of text.
struct reply {
    int code = 0;
    std::vector<std::string> lines;
};

/// The reply as it goes on the wire, CR LF terminated. More than one line
/// becomes the RFC 959 section 4.2 multi-line form ("211-first", the middle
/// lines indented by one space, "211 last"). CR, LF and NUL inside the text
/// become spaces, so nothing taken from a client can forge a reply line.
std::string encode(const reply& r);
std::string encode(int code, std::string_view text);

/// RFC 959 section 4.1.2 PASV reply text: "Entering Passive Mode (h1,h2,h3,h4,p1,p2)."
/// `address` is in host byte order.
std::string passive_text(std::uint32_t address, std::uint16_t port);
/// RFC 2428 section 3 EPSV reply text: "Entering Extended Passive Mode (|||port|)".
std::string extended_passive_text(std::uint16_t port);

/// A data-connection address a client offered for active mode.
struct host_port {
    std::uint32_t address = 0;  ///< host byte order
    std::uint16_t port = 0;
};

/// RFC 959 section 4.1.2 PORT argument "h1,h2,h3,h4,p1,p2": six decimal
/// numbers 0-255. nullopt when malformed.
std::optional<host_port> parse_port_argument(std::string_view arg);

/// RFC 2428 section 2 EPRT argument "|1|132.235.1.2|6275|": any printable
/// delimiter, network protocol 1 (IPv4) only. nullopt when malformed or not
/// IPv4.
std::optional<host_port> parse_eprt_argument(std::string_view arg);

/// A REST (RFC 3659 section 5) marker: decimal digits only, at most 2^63-1.
std::optional<std::int64_t> parse_restart_marker(std::string_view arg);

/// Quotes a pathname for a 257 reply (RFC 959 appendix II): the name in
/// double quotes, an embedded quote doubled.
std::string quote_pathname(std::string_view path);

}  // namespace pxed::ftp
