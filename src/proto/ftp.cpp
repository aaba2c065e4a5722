#include "pxed/proto/ftp.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <utility>

namespace pxed::ftp {
namespace {

// RFC 854: Telnet command bytes that may appear on an FTP control connection.
constexpr unsigned char telnet_iac = 255;
constexpr unsigned char telnet_will = 251;
constexpr unsigned char telnet_dont = 254;  // WILL 251, WONT 252, DO 253, DONT 254

struct verb_name {
    std::string_view name;
    verb id;
};

// The X-forms come from RFC 775 and are still sent by some Windows-era
// clients; RFC 1123 section 4.1.3.1 asks servers to accept them.
constexpr verb_name verb_table[] = {
    {"USER", verb::user}, {"PASS", verb::pass}, {"ACCT", verb::acct}, {"CWD", verb::cwd},
    {"XCWD", verb::cwd},  {"CDUP", verb::cdup}, {"XCUP", verb::cdup}, {"SMNT", verb::smnt},
    {"REIN", verb::rein}, {"QUIT", verb::quit}, {"PORT", verb::port}, {"PASV", verb::pasv},
    {"TYPE", verb::type}, {"STRU", verb::stru}, {"MODE", verb::mode}, {"RETR", verb::retr},
    {"STOR", verb::stor}, {"STOU", verb::stou}, {"APPE", verb::appe}, {"ALLO", verb::allo},
    {"REST", verb::rest}, {"RNFR", verb::rnfr}, {"RNTO", verb::rnto}, {"ABOR", verb::abor},
    {"DELE", verb::dele}, {"RMD", verb::rmd},   {"XRMD", verb::rmd},  {"MKD", verb::mkd},
    {"XMKD", verb::mkd},  {"PWD", verb::pwd},   {"XPWD", verb::pwd},  {"LIST", verb::list},
    {"NLST", verb::nlst}, {"SITE", verb::site}, {"SYST", verb::syst}, {"STAT", verb::stat},
    {"HELP", verb::help}, {"NOOP", verb::noop}, {"EPRT", verb::eprt}, {"EPSV", verb::epsv},
    {"FEAT", verb::feat}, {"OPTS", verb::opts}, {"SIZE", verb::size}, {"MDTM", verb::mdtm},
    {"MLST", verb::mlst}, {"MLSD", verb::mlsd}, {"AUTH", verb::auth}, {"PBSZ", verb::pbsz},
    {"PROT", verb::prot}, {"CCC", verb::ccc},   {"ADAT", verb::adat},
};

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

std::optional<unsigned> parse_small(std::string_view s, unsigned max) {
    if (s.empty() || s.size() > 5) return std::nullopt;
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v > max) return std::nullopt;
    return v;
}

std::optional<std::uint32_t> parse_dotted_quad(std::string_view s) {
    std::uint32_t out = 0;
    for (int i = 0; i < 4; ++i) {
        const auto dot = s.find('.');
        const auto part = i < 3 ? s.substr(0, dot) : s;
        if (i < 3 && dot == std::string_view::npos) return std::nullopt;
        const auto octet = parse_small(part, 255);
        if (!octet) return std::nullopt;
        out = out << 8 | *octet;
        if (i < 3) s.remove_prefix(dot + 1);
    }
    return out;
}

void append_clean(std::string& out, std::string_view text) {
    for (char c : text) out += (c == '\r' || c == '\n' || c == '\0') ? ' ' : c;
}

}  // namespace

command parse_command(std::string_view line) {
    command c;
    const auto space = line.find(' ');
    const std::string_view name = line.substr(0, space);
    c.name.reserve(std::min<std::size_t>(name.size(), 16));
    for (char ch : name.substr(0, 16)) c.name += upper(ch);
    if (space != std::string_view::npos) {
        c.has_argument = true;
        c.argument.assign(line.substr(space + 1));
    }
    if (name.size() <= 4) {
        for (const auto& v : verb_table) {
            if (v.name == c.name) {
                c.id = v.id;
                break;
            }
        }
    }
    return c;
}

std::string_view to_string(verb v) {
    for (const auto& e : verb_table) {
        // The first entry of each verb is its RFC 959 name, not an X-alias.
        if (e.id == v) return e.name;
    }
    return {};
}

void line_reader::feed(const char* data, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) {
        const auto b = static_cast<unsigned char>(data[i]);
        switch (telnet_) {
        case telnet::data:
            if (b == telnet_iac)
                telnet_ = telnet::iac;
            else
                put(static_cast<char>(b));
            break;
        case telnet::iac:
            if (b == telnet_iac) {
                telnet_ = telnet::data;
                put(static_cast<char>(b));
            } else if (b >= telnet_will && b <= telnet_dont) {
                telnet_ = telnet::option;
            } else {
                telnet_ = telnet::data;  // IP, DM, AYT, NOP...: nothing for us
            }
            break;
        case telnet::option: telnet_ = telnet::data; break;
        }
    }
}

void line_reader::put(char c) {
    if (cr_) {
        cr_ = false;
        if (c == '\n') {
            end_line();
            return;
        }
        // RFC 854: CR NUL is a bare CR; CR followed by anything else is kept as is.
        if (!overflow_) line_ += '\r';
        if (c == '\0') return;
    }
    if (c == '\r') {
        cr_ = true;
        return;
    }
    if (c == '\n') {
        end_line();
        return;
    }
    if (overflow_) return;
    if (line_.size() >= max_line_) {
        overflow_ = true;
        line_.clear();
        line_.shrink_to_fit();
        return;
    }
    line_ += c;
}

void line_reader::end_line() {
    event e;
    if (overflow_ || line_.size() > max_line_) {
        e.what = event::kind::too_long;
    } else {
        e.text = std::move(line_);
    }
    events_.push_back(std::move(e));
    line_.clear();
    overflow_ = false;
}

std::optional<line_reader::event> line_reader::next() {
    if (events_.empty()) return std::nullopt;
    auto e = std::move(events_.front());
    events_.pop_front();
    return e;
}

std::string encode(const reply& r) {
    const auto code = std::to_string(r.code);
    std::string out;
    if (r.lines.size() <= 1) {
        out = code + " ";
        if (!r.lines.empty()) append_clean(out, r.lines.front());
        out += "\r\n";
        return out;
    }
    for (std::size_t i = 0; i < r.lines.size(); ++i) {
        if (i == 0) {
            out += code + "-";
        } else if (i + 1 == r.lines.size()) {
            out += code + " ";
        } else {
            // A middle line must not look like the last one ("211 ..."):
            // RFC 959 section 4.2 suggests indenting it.
            out += ' ';
        }
        append_clean(out, r.lines[i]);
        out += "\r\n";
    }
    return out;
}

std::string encode(int code, std::string_view text) { return encode(reply{code, {std::string(text)}}); }

std::string passive_text(std::uint32_t address, std::uint16_t port) {
    std::string s = "Entering Passive Mode (";
    for (int shift = 24; shift >= 0; shift -= 8) s += std::to_string((address >> shift) & 0xff) + ",";
    s += std::to_string(port >> 8) + "," + std::to_string(port & 0xff) + ").";
    return s;
}

std::string extended_passive_text(std::uint16_t port) {
    return "Entering Extended Passive Mode (|||" + std::to_string(port) + "|)";
}

std::optional<host_port> parse_port_argument(std::string_view arg) {
    std::array<unsigned, 6> n{};
    for (std::size_t i = 0; i < n.size(); ++i) {
        const auto comma = arg.find(',');
        const bool last = i + 1 == n.size();
        if (last != (comma == std::string_view::npos)) return std::nullopt;
        const auto v = parse_small(arg.substr(0, comma), 255);
        if (!v) return std::nullopt;
        n[i] = *v;
        if (!last) arg.remove_prefix(comma + 1);
    }
    host_port hp;
    hp.address = n[0] << 24 | n[1] << 16 | n[2] << 8 | n[3];
    hp.port = static_cast<std::uint16_t>(n[4] << 8 | n[5]);
    return hp;
}

std::optional<host_port> parse_eprt_argument(std::string_view arg) {
    // <d><net-prt><d><net-addr><d><tcp-port><d>, the delimiter being any
    // printable ASCII character (RFC 2428 section 2), usually '|'.
    if (arg.size() < 7) return std::nullopt;
    const char d = arg.front();
    if (d < 33 || d > 126 || (d >= '0' && d <= '9') || d == '.') return std::nullopt;
    if (arg.back() != d) return std::nullopt;
    std::array<std::string_view, 3> field;
    std::string_view rest = arg.substr(1, arg.size() - 2);
    for (std::size_t i = 0; i < field.size(); ++i) {
        const auto at = rest.find(d);
        const bool last = i + 1 == field.size();
        if (last != (at == std::string_view::npos)) return std::nullopt;
        field[i] = rest.substr(0, at);
        if (!last) rest.remove_prefix(at + 1);
    }
    if (field[0] != "1") return std::nullopt;
    const auto addr = parse_dotted_quad(field[1]);
    const auto port = parse_small(field[2], 65535);
    if (!addr || !port) return std::nullopt;
    return host_port{*addr, static_cast<std::uint16_t>(*port)};
}

std::optional<std::int64_t> parse_restart_marker(std::string_view arg) {
    if (arg.empty() || arg.size() > 19) return std::nullopt;
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), v);
    if (ec != std::errc() || end != arg.data() + arg.size() || v < 0) return std::nullopt;
    // from_chars accepts no sign for unsigned forms, but does accept '-' for
    // signed ones: checked by v < 0 above.
    return v;
}

std::string quote_pathname(std::string_view path) {
    std::string out = "\"";
    for (char c : path) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
    return out;
}

}  // namespace pxed::ftp
