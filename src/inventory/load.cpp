// site.yaml -> site model. Every problem becomes a diagnostic naming file,
// line and column; parsing goes on after an error so that one run of
// `pxed check` reports everything at once.

#include "pxed/inventory/load.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <sys/stat.h>

namespace pxed::inventory {
namespace stdfs = std::filesystem;
namespace {

// ---------------------------------------------------------------- helpers

std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

std::string suggestion(const std::string& word, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t best_d = 3;  // further than two edits away is not a typo
    for (const auto& c : candidates) {
        const auto d = edit_distance(word, c);
        if (d < best_d) best_d = d, best = c;
    }
    return best.empty() ? std::string{} : " (did you mean '" + best + "'?)";
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
    return s;
}

bool valid_hostname(const std::string& h) {
    if (h.empty() || h.size() > 253) return false;
    std::size_t label = 0;
    for (std::size_t i = 0; i < h.size(); ++i) {
        const char c = h[i];
        if (c == '.') {
            if (label == 0 || h[i - 1] == '-') return false;
            label = 0;
            continue;
        }
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && label > 0)) return false;
        if (++label > 63) return false;
    }
    return label > 0 && h.back() != '-';
}

// A URL path for an install tree: "/pub/centos/7/x86_64" (no trailing slash).
std::optional<std::string> normalize_url_path(std::string url) {
    if (url.empty() || url[0] != '/') return std::nullopt;
    std::string out;
    std::stringstream ss(url);
    std::string part;
    while (std::getline(ss, part, '/')) {
        if (part.empty() || part == ".") continue;
        if (part == "..") return std::nullopt;
        for (const char c : part)
            if (static_cast<unsigned char>(c) < 0x21 || c == '%' || c == '?' || c == '#' || c == '\\')
                return std::nullopt;
        out += '/' + part;
    }
    if (out.empty()) return std::nullopt;
    return out;
}

// ---------------------------------------------------------------- context

struct context {
    std::string file;
    std::string base_dir;
    load_options options;
    std::vector<diagnostic> diags;
    bool inline_secrets = false;  // a secret written in site.yaml itself

    source_location at(const YAML::Node& n) const {
        if (!n.IsDefined()) return {file, 0, 0};
        const auto m = n.Mark();
        if (m.is_null()) return {file, 0, 0};
        return {file, m.line + 1, m.column + 1};
    }
    void error(const source_location& where, std::string msg) {
        diags.push_back({severity::error, where, std::move(msg)});
    }
    void error(const YAML::Node& n, std::string msg) { error(at(n), std::move(msg)); }
    void warning(const source_location& where, std::string msg) {
        diags.push_back({severity::warning, where, std::move(msg)});
    }
    void warning(const YAML::Node& n, std::string msg) { warning(at(n), std::move(msg)); }

    std::string resolve_path(const std::string& p) const {
        stdfs::path path(p);
        if (path.is_relative()) path = stdfs::path(base_dir) / path;
        return path.lexically_normal().string();
    }
};

// Reads one YAML mapping, remembering which keys were asked for so that
// finish() can report the rest as unknown (a typo such as `lease-time`
// would otherwise be silently ignored and the default used).
class map_reader {
public:
    map_reader(context& c, const YAML::Node& node, std::string what)
        : c_(c),
          // Copy-construct only: YAML::Node's operator= writes into the
          // document, and a missing key's node cannot be copied into at all.
          node_(node.IsDefined() && node.IsMap() ? node : YAML::Node(YAML::NodeType::Map)),
          what_(std::move(what)) {
        if (!node.IsDefined() || node.IsNull()) {
            valid_ = false;
            return;
        }
        if (!node.IsMap()) {
            c_.error(node, what_ + " must be a mapping of key: value");
            valid_ = false;
            return;
        }
        std::set<std::string> seen;
        for (const auto& kv : node_) {
            const auto key = kv.first.Scalar();
            if (!seen.insert(key).second)
                c_.error(kv.first, "duplicate key '" + key + "' in " + what_ + " (the later one would silently win)");
        }
    }

    bool present() const { return valid_; }
    const YAML::Node& node() const { return node_; }
    const std::string& what() const { return what_; }

    YAML::Node get(const std::string& key) {
        known_.push_back(key);
        if (!valid_) return missing();
        for (const auto& kv : node_)
            if (kv.first.Scalar() == key) return kv.second;
        return missing();
    }

    // A node for which IsDefined() is false. (A default-constructed
    // YAML::Node is a defined null, indistinguishable from `key: ~`.)
    static YAML::Node missing() {
        static const YAML::Node empty(YAML::NodeType::Map);
        return empty["\x01missing"];
    }

    void finish() {
        if (!valid_) return;
        for (const auto& kv : node_) {
            const auto key = kv.first.Scalar();
            if (std::find(known_.begin(), known_.end(), key) == known_.end())
                c_.error(kv.first, "unknown key '" + key + "' in " + what_ + suggestion(key, known_) +
                                       "; known keys: " + join(known_));
        }
    }

private:
    context& c_;
    YAML::Node node_;
    std::string what_;
    std::vector<std::string> known_;
    bool valid_ = true;
};

// ---------------------------------------------------------------- scalars

bool scalar(context& c, const YAML::Node& n, const std::string& key, std::string& out) {
    if (!n.IsDefined() || n.IsNull()) return false;
    if (!n.IsScalar()) {
        c.error(n, "'" + key + "' must be a single value, not a list or mapping");
        return false;
    }
    out = n.Scalar();
    return true;
}

void read_string(context& c, map_reader& m, const std::string& key, std::string& out) {
    scalar(c, m.get(key), key, out);
}

void read_bool(context& c, map_reader& m, const std::string& key, bool& out) {
    const auto n = m.get(key);
    std::string s;
    if (!scalar(c, n, key, s)) return;
    std::string l = s;
    std::transform(l.begin(), l.end(), l.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (l == "true" || l == "yes" || l == "on") out = true;
    else if (l == "false" || l == "no" || l == "off") out = false;
    else c.error(n, "'" + key + "' must be true or false, not '" + s + "'");
}

template <typename Int>
bool parse_int(const std::string& s, Int& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
}

// An unsigned number up to `max`; `range` says what is allowed, for the error.
template <typename Uint>
void read_bounded(context& c, map_reader& m, const std::string& key, unsigned max, const std::string& range, Uint& out) {
    const auto n = m.get(key);
    std::string s;
    if (!scalar(c, n, key, s)) return;
    unsigned v = 0;
    if (!parse_int(s, v) || v > max)
        c.error(n, "'" + key + "' must be " + range + ", not '" + s + "'");
    else
        out = static_cast<Uint>(v);
}

void read_port(context& c, map_reader& m, const std::string& key, std::uint16_t& out) {
    read_bounded(c, m, key, 65535, "a port number 0-65535 (0 = any free port)", out);
}

bool read_ip(context& c, map_reader& m, const std::string& key, wire::ipv4_address& out) {
    const auto n = m.get(key);
    std::string s;
    if (!scalar(c, n, key, s)) return false;
    const auto a = wire::ipv4_address::parse(s);
    if (!a) {
        c.error(n, "'" + key + "': '" + s + "' is not an IPv4 address (expected a.b.c.d)");
        return false;
    }
    out = *a;
    return true;
}

// A list of scalars; a single scalar is accepted as a list of one.
std::vector<std::pair<std::string, YAML::Node>> scalar_list(context& c, const YAML::Node& n, const std::string& key) {
    std::vector<std::pair<std::string, YAML::Node>> out;
    if (!n.IsDefined() || n.IsNull()) return out;
    if (n.IsScalar()) {
        out.emplace_back(n.Scalar(), n);
    } else if (n.IsSequence()) {
        for (const auto& item : n) {
            if (!item.IsScalar())
                c.error(item, "each entry of '" + key + "' must be a single value");
            else
                out.emplace_back(item.Scalar(), item);
        }
    } else {
        c.error(n, "'" + key + "' must be a list");
    }
    return out;
}

std::vector<wire::ipv4_address> read_ip_list(context& c, map_reader& m, const std::string& key) {
    std::vector<wire::ipv4_address> out;
    for (const auto& [s, node] : scalar_list(c, m.get(key), key)) {
        if (const auto a = wire::ipv4_address::parse(s))
            out.push_back(*a);
        else
            c.error(node, "'" + key + "': '" + s + "' is not an IPv4 address");
    }
    return out;
}

void read_duration(context& c, map_reader& m, const std::string& key, seconds& out) {
    const auto n = m.get(key);
    std::string s;
    if (!scalar(c, n, key, s)) return;
    if (const auto d = parse_duration(s))
        out = *d;
    else
        c.error(n, "'" + key + "': '" + s + "' is not a duration (examples: 30s, 5m, 12h, 1d, 3600)");
}

// One of a few words; anything else is an error that lists them.
template <typename Enum>
bool read_choice(context& c, map_reader& m, const std::string& key,
                 const std::vector<std::pair<const char*, Enum>>& choices, std::optional<Enum>& out) {
    const auto n = m.get(key);
    std::string word;
    if (!scalar(c, n, key, word)) return false;
    std::vector<std::string> names;
    for (const auto& [name, v] : choices) {
        if (word == name) {
            out = v;
            return true;
        }
        names.push_back(name);
    }
    c.error(n, "'" + key + "' must be " + join(names, " or ") + ", not '" + word + "'" + suggestion(word, names));
    return false;
}

// `lifecycle:` at the top level, in a profile or in a host: every field
// optional, so that each level overrides only what it names.
lifecycle_overrides read_lifecycle(context& c, const YAML::Node& node, const std::string& what) {
    lifecycle_overrides o;
    map_reader m(c, node, what);
    if (!m.present()) return o;
    read_choice<new_host_state>(c, m, "new_hosts",
                                {{"pending", new_host_state::pending}, {"installed", new_host_state::installed}},
                                o.new_hosts);
    read_choice<install_end>(c, m, "install_done",
                             {{"callback", install_end::callback}, {"kickstart", install_end::kickstart}},
                             o.install_done);
    const auto tn = m.get("install_timeout");
    std::string ts;
    if (scalar(c, tn, "install_timeout", ts)) {
        const auto d = parse_duration(ts);
        if (!d)
            c.error(tn, "'install_timeout': '" + ts + "' is not a duration (examples: 90m, 4h, 1d)");
        else if (d->count() < 60)
            c.error(tn, "'install_timeout' must be at least 1m: an install takes minutes");
        else
            o.install_timeout = *d;
    }
    read_choice<timeout_action>(c, m, "on_timeout",
                                {{"local", timeout_action::local}, {"install", timeout_action::install}}, o.on_timeout);
    read_choice<installed_pxe>(c, m, "installed_pxe", {{"answer", installed_pxe::answer}, {"none", installed_pxe::none}},
                               o.when_installed);
    m.finish();
    return o;
}

value to_value(const YAML::Node& n) {
    value v;
    if (n.IsSequence()) {
        value::list l;
        for (const auto& item : n) l.push_back(to_value(item));
        v.data = std::move(l);
    } else if (n.IsMap()) {
        value::object o;
        for (const auto& kv : n) o.emplace_back(kv.first.Scalar(), to_value(kv.second));
        v.data = std::move(o);
    } else if (n.IsScalar()) {
        v.data = n.Scalar();
    } else {
        v.data = std::string{};
    }
    return v;
}

// A profile's vars go into its menu kickstart too, which any client may
// fetch: a password hash there is every host's (docs/security.md).
void warn_secret_looking_vars(context& c, map_reader& m, const variables& vars) {
    for (const auto& [k, v] : vars) {
        std::string lower;
        for (const char ch : k) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        for (const char* word : {"password", "passwd", "rootpw", "secret", "token", "private", "hash", "crypt", "luks"}) {
            if (lower.find(word) == std::string::npos) continue;
            c.warning(m.get("vars"), m.what() + " vars: '" + k +
                                         "' looks like a secret, and vars go into the menu's kickstart that any "
                                         "client may fetch; move it to 'secrets:' (rendered only for the host itself)");
            break;
        }
    }
}

variables read_vars(context& c, map_reader& m) {
    variables vars;
    map_reader vm(c, m.get("vars"), m.what() + " vars");
    if (!vm.present()) return vars;
    for (const auto& kv : vm.node()) vars[kv.first.Scalar()] = to_value(kv.second);
    return vars;  // any key is allowed in vars: no finish()
}

// A file that holds secrets: read now (at load, while pxed may still be
// root), and a warning when every user of the machine can read it too.
std::optional<std::string> read_secret_file(context& c, const YAML::Node& at, const std::string& path,
                                            const std::string& what) {
    struct ::stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        c.error(at, what + ": cannot read " + path + ": " + std::strerror(errno));
        return std::nullopt;
    }
    if (!S_ISREG(st.st_mode)) {
        c.error(at, what + ": " + path + " is not a regular file");
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        c.error(at, what + ": cannot read " + path + ": " + std::strerror(errno));
        return std::nullopt;
    }
    if (st.st_mode & S_IROTH)
        c.warning(at, what + ": " + path + " is readable by every user of this machine; chmod o-r it (0640, owned by "
                      "root and the group pxed runs as)");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool world_readable(const std::string& path) {
    struct ::stat st {};
    return ::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH) != 0;
}

// `secrets:` of a profile or a host: name -> a value in site.yaml, or
// {file: path} read now. One trailing newline of a file is dropped (an
// editor's); the value is otherwise used as it is.
secrets read_secrets(context& c, map_reader& m) {
    secrets out;
    map_reader sm(c, m.get("secrets"), m.what() + " secrets");
    if (!sm.present()) return out;
    for (const auto& kv : sm.node()) {
        const auto name = kv.first.Scalar();
        const std::string what = m.what() + " secret '" + name + "'";
        bool name_ok = !name.empty();
        for (const char ch : name)
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
                name_ok = false;
        if (!name_ok) {
            c.error(kv.first, what + ": a secret's name is letters, digits and '_' (it is {{secrets." + name + "}})");
            continue;
        }
        secret sec;
        sec.where = c.at(kv.second);
        if (kv.second.IsScalar()) {
            sec.value = kv.second.Scalar();
            c.inline_secrets = true;
        } else {
            map_reader fm(c, kv.second, what);
            std::string file;
            if (!fm.present() || !scalar(c, fm.get("file"), "file", file) || file.empty()) {
                c.error(kv.second, what + " must be a value or {file: /path/to/file}");
                continue;
            }
            fm.finish();
            sec.file = c.resolve_path(file);
            if (c.options.read_secrets) {
                auto v = read_secret_file(c, kv.second, sec.file, what);
                if (!v) continue;
                if (!v->empty() && v->back() == '\n') v->pop_back();
                if (!v->empty() && v->back() == '\r') v->pop_back();
                sec.value = std::move(*v);
            }
        }
        if (!c.options.read_secrets) sec.value = "<secret " + name + ">";
        out.emplace(name, std::move(sec));
    }
    return out;
}

// API keys: one "name key" a line; a line starting with '#' is a comment.
// No diagnostic ever quotes a field: a name and a key written the wrong way
// round would print the key.
void read_api_keys(context& c, const YAML::Node& at, access_settings& a) {
    if (!c.options.read_secrets) return;
    auto text = read_secret_file(c, at, a.api_keys_file, "access.api.keys_file");
    if (!text) return;
    std::istringstream in(*text);
    std::string line;
    int n = 0;
    std::set<std::string> names, keys;
    while (std::getline(in, line)) {
        ++n;
        std::istringstream words(line);
        std::string name, key, extra;
        if (!(words >> name) || name[0] == '#') continue;
        const std::string where = a.api_keys_file + " line " + std::to_string(n);
        if (!(words >> key) || (words >> extra)) {
            c.error(at, where + ": expected 'name key' and nothing else (make one with `pxed api-key NAME`)");
            continue;
        }
        if (key.size() < 32) {
            c.error(at, where + ": the key is too short to be unguessable (at least 32 characters; `pxed api-key` "
                        "makes 64)");
            continue;
        }
        if (!names.insert(name).second) {
            c.error(at, where + ": a name used by an earlier line: the log could not tell them apart");
            continue;
        }
        if (!keys.insert(key).second) {
            c.error(at, where + ": a key used by an earlier line: the log would name the wrong one");
            continue;
        }
        a.api_keys.push_back({name, key});
    }
}

// A list of addresses and networks ("10.0.0.1", "10.0.0.0/24").
std::vector<wire::ipv4_network> read_networks(context& c, const YAML::Node& node, const std::string& what) {
    std::vector<wire::ipv4_network> out;
    const auto key = what.substr(what.rfind('.') + 1);
    for (const auto& [text, n] : scalar_list(c, node, key)) {
        const auto net = wire::ipv4_network::parse(text);
        const auto addr = net ? std::nullopt : wire::ipv4_address::parse(text);
        if (net && !net->has_host_bits())
            out.push_back(*net);
        else if (addr)
            out.push_back(wire::ipv4_network{*addr, 32});
        else
            c.error(n, what + ": '" + text + "' is not an address or a network (10.0.0.0/24)");
    }
    return out;
}

void read_access(context& c, const YAML::Node& node, site& s) {
    auto& a = s.access;
    a.api_read_from = {wire::ipv4_network{wire::ipv4_address{0x7f000000u}, 8}};
    map_reader m(c, node, "access");
    if (!m.present()) return;
    a.where = c.at(node);
    std::optional<host_document_access> hd;
    read_choice<host_document_access>(c, m, "host_documents",
                                      {{"address-or-token", host_document_access::address_or_token},
                                       {"address-and-token", host_document_access::address_and_token},
                                       {"open", host_document_access::open}},
                                      hd);
    if (hd) a.host_documents = *hd;
    map_reader api(c, m.get("api"), "access.api");
    if (api.present()) {
        const auto rf = api.get("read_from");
        if (rf.IsDefined()) a.api_read_from = read_networks(c, rf, "access.api.read_from");
        read_bool(c, api, "show_variables", a.api_show_variables);
        const auto kf = api.get("keys_file");
        std::string file;
        if (scalar(c, kf, "keys_file", file) && !file.empty()) {
            a.api_keys_file = c.resolve_path(file);
            read_api_keys(c, kf, a);
        }
        api.finish();
    }
    m.finish();
}

// ---------------------------------------------------------------- sections

void read_server(context& c, const YAML::Node& node, site& s) {
    map_reader m(c, node, "server");
    if (!m.present()) {
        c.error(c.at(node), "the 'server' section is missing; it needs at least 'address'");
        return;
    }
    auto& srv = s.server;
    if (!read_ip(c, m, "address", srv.address) && !m.get("address").IsDefined())
        c.error(m.node(), "server.address is required: the address clients are told to fetch boot files from");
    srv.listen = wire::ipv4_address{};
    read_ip(c, m, "listen", srv.listen);
    for (auto& [name, _] : scalar_list(c, m.get("interfaces"), "interfaces")) srv.dhcp.interfaces.push_back(name);
    srv.state_dir = "/var/lib/pxed";
    read_string(c, m, "state_dir", srv.state_dir);
    srv.state_dir = c.resolve_path(srv.state_dir);
    read_string(c, m, "user", srv.user);
    read_string(c, m, "templates", srv.templates);
    if (!srv.templates.empty()) {
        srv.templates = c.resolve_path(srv.templates);
        if (c.options.check_files && !stdfs::is_directory(srv.templates))
            c.error(m.get("templates"), "template directory '" + srv.templates + "' does not exist");
    }

    {
        map_reader l(c, m.get("log"), "server.log");
        const auto level = l.get("level");
        if (scalar(c, level, "level", srv.log.level)) {
            static const std::vector<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
            if (std::find(levels.begin(), levels.end(), srv.log.level) == levels.end())
                c.error(level, "log level '" + srv.log.level + "' is not one of " + join(levels));
        }
        const auto format = l.get("format");
        if (scalar(c, format, "format", srv.log.format) && srv.log.format != "text" && srv.log.format != "json")
            c.error(format, "log format must be 'text' or 'json', not '" + srv.log.format + "'");
        read_string(c, l, "file", srv.log.file);
        if (!srv.log.file.empty()) srv.log.file = c.resolve_path(srv.log.file);
        l.finish();
    }
    {
        map_reader d(c, m.get("dhcp"), "server.dhcp");
        read_bool(c, d, "enabled", srv.dhcp.enabled);
        read_port(c, d, "port", srv.dhcp.port);
        read_port(c, d, "proxy_port", srv.dhcp.proxy_port);
        if (const auto ra = d.get("relay_agents"); ra.IsDefined())
            srv.dhcp.relay_agents = read_networks(c, ra, "server.dhcp.relay_agents");
        read_bounded(c, d, "new_clients_per_second", 100000, "1 to 100000", srv.dhcp.new_clients_per_second);
        read_bounded(c, d, "new_clients_burst", 100000, "1 to 100000", srv.dhcp.new_clients_burst);
        if (srv.dhcp.new_clients_per_second == 0)
            c.error(d.get("new_clients_per_second"), "new_clients_per_second must be at least 1");
        if (srv.dhcp.new_clients_burst == 0) c.error(d.get("new_clients_burst"), "new_clients_burst must be at least 1");
        read_bounded(c, d, "quarantine_max_percent", 100, "0 (never quarantine) to 100", srv.dhcp.quarantine_max_percent);
        const auto mode = d.get("mode");
        std::string ms;
        if (scalar(c, mode, "mode", ms)) {
            if (ms == "server") srv.dhcp.mode = dhcp_mode::server;
            else if (ms == "proxy") srv.dhcp.mode = dhcp_mode::proxy;
            else c.error(mode, "dhcp mode must be 'server' (pxed hands out addresses) or 'proxy' (another DHCP server does; pxed only adds boot information), not '" + ms + "'");
        }
        d.finish();
    }
    {
        map_reader t(c, m.get("tftp"), "server.tftp");
        read_bool(c, t, "enabled", srv.tftp.enabled);
        read_port(c, t, "port", srv.tftp.port);
        read_bool(c, t, "look_ahead", srv.tftp.look_ahead);
        read_bounded(c, t, "busy_poll_us", 1000, "0 (never poll) to 1000 microseconds", srv.tftp.busy_poll_us);
        read_bounded(c, t, "max_transfers", 65536, "1 to 65536", srv.tftp.max_transfers);
        if (srv.tftp.max_transfers == 0) c.error(t.get("max_transfers"), "max_transfers must be at least 1");
        read_bounded(c, t, "max_transfers_per_client", 65536, "1 to 65536", srv.tftp.max_transfers_per_client);
        if (srv.tftp.max_transfers_per_client == 0)
            c.error(t.get("max_transfers_per_client"), "max_transfers_per_client must be at least 1");
        const auto root = t.get("root");
        if (scalar(c, root, "root", srv.tftp.root)) {
            srv.tftp.root = c.resolve_path(srv.tftp.root);
            if (c.options.check_files && !stdfs::is_directory(srv.tftp.root))
                c.error(root, "TFTP root '" + srv.tftp.root + "' is not a directory");
        } else if (srv.tftp.enabled) {
            c.error(t.present() ? t.node() : m.node(), "server.tftp.root is required: the directory holding pxelinux.0, kernels and initrds");
        }
        t.finish();
    }
    {
        map_reader h(c, m.get("http"), "server.http");
        read_bool(c, h, "enabled", srv.http.enabled);
        read_port(c, h, "port", srv.http.port);
        read_bounded(c, h, "max_connections", 1000000, "1 to 1000000", srv.http.max_connections);
        read_bounded(c, h, "max_connections_per_client", 1000000, "1 to 1000000", srv.http.max_connections_per_client);
        read_duration(c, h, "header_timeout", srv.http.header_timeout);
        read_bounded(c, h, "min_rate", 1u << 30, "bytes per second, 0 (no minimum) to 1073741824", srv.http.min_rate);
        read_duration(c, h, "min_rate_window", srv.http.min_rate_window);
        if (srv.http.max_connections == 0) c.error(h.get("max_connections"), "max_connections must be at least 1");
        if (srv.http.max_connections_per_client == 0)
            c.error(h.get("max_connections_per_client"), "max_connections_per_client must be at least 1");
        if (srv.http.header_timeout.count() < 1) c.error(h.get("header_timeout"), "header_timeout must be at least 1s");
        if (srv.http.min_rate_window.count() < 1) c.error(h.get("min_rate_window"), "min_rate_window must be at least 1s");
        h.finish();
    }
    {
        map_reader f(c, m.get("ftp"), "server.ftp");
        read_bool(c, f, "enabled", srv.ftp.enabled);
        read_port(c, f, "port", srv.ftp.port);
        read_bool(c, f, "active_mode", srv.ftp.active_mode);
        read_bounded(c, f, "max_sessions", 1000000, "1 to 1000000", srv.ftp.max_sessions);
        read_bounded(c, f, "max_sessions_per_client", 1000000, "1 to 1000000", srv.ftp.max_sessions_per_client);
        read_duration(c, f, "passive_timeout", srv.ftp.passive_timeout);
        read_duration(c, f, "idle_timeout", srv.ftp.idle_timeout);
        if (srv.ftp.max_sessions == 0) c.error(f.get("max_sessions"), "max_sessions must be at least 1");
        if (srv.ftp.max_sessions_per_client == 0)
            c.error(f.get("max_sessions_per_client"), "max_sessions_per_client must be at least 1");
        if (srv.ftp.passive_timeout.count() < 1) c.error(f.get("passive_timeout"), "passive_timeout must be at least 1s");
        if (srv.ftp.idle_timeout.count() < 1) c.error(f.get("idle_timeout"), "idle_timeout must be at least 1s");
        const auto pasv = f.get("passive_ports");
        std::string ps;
        if (scalar(c, pasv, "passive_ports", ps)) {
            const auto dash = ps.find('-');
            unsigned lo = 0, hi = 0;
            if (dash == std::string::npos || !parse_int(ps.substr(0, dash), lo) || !parse_int(ps.substr(dash + 1), hi) ||
                lo < 1024 || hi > 65535 || lo > hi)
                c.error(pasv, "passive_ports must be a range like 30000-30100 within 1024-65535, not '" + ps + "'");
            else
                srv.ftp.passive_first = static_cast<std::uint16_t>(lo), srv.ftp.passive_last = static_cast<std::uint16_t>(hi);
        }
        f.finish();
    }
    if (srv.http.enabled && srv.ftp.enabled && srv.http.port == srv.ftp.port && srv.http.port != 0)
        c.error(m.node(), "http and ftp cannot share TCP port " + std::to_string(srv.http.port));
    if (srv.dhcp.enabled && srv.tftp.enabled && srv.dhcp.port == srv.tftp.port && srv.tftp.port != 0)
        c.error(m.node(), "dhcp and tftp cannot share UDP port " + std::to_string(srv.tftp.port));
    m.finish();
}

void read_subnets(context& c, const YAML::Node& node, site& s) {
    if (!node.IsDefined() || node.IsNull()) return;
    if (!node.IsSequence()) {
        c.error(node, "'subnets' must be a list");
        return;
    }
    struct seen_range {
        wire::ipv4_range range;
        source_location where;
    };
    std::vector<seen_range> all_ranges;
    for (const auto& item : node) {
        map_reader m(c, item, "subnet");
        if (!m.present()) continue;
        subnet sn;
        sn.where = c.at(item);
        const auto net = m.get("network");
        std::string ns;
        bool net_ok = false;
        if (!scalar(c, net, "network", ns)) {
            c.error(item, "subnet needs 'network' (for example 192.168.1.0/24)");
        } else if (const auto parsed = wire::ipv4_network::parse(ns); !parsed) {
            c.error(net, "'" + ns + "' is not a network in CIDR form (for example 192.168.1.0/24)");
        } else if (parsed->has_host_bits()) {
            c.error(net, "'" + ns + "' has host bits set; did you mean " +
                             wire::ipv4_network{parsed->network(), parsed->prefix()}.to_string() + "?");
        } else if (parsed->prefix() > 30) {
            c.error(net, "'" + ns + "' is too small to hold clients (a /30 or larger is needed)");
        } else {
            sn.network = *parsed;
            net_ok = true;
            for (const auto& other : s.subnets)
                if (other.network.overlaps(sn.network))
                    c.error(net, "subnet " + ns + " overlaps subnet " + other.network.to_string() + " (line " +
                                     std::to_string(other.where.line) + ")");
        }

        for (const auto& [text, rnode] : scalar_list(c, m.get("ranges"), "ranges")) {
            const auto r = wire::ipv4_range::parse(text);
            if (!r) {
                c.error(rnode, "'" + text + "' is not an address range (expected first-last, e.g. 192.168.1.230-192.168.1.240)");
                continue;
            }
            if (r->last < r->first) {
                c.error(rnode, "range " + text + " ends before it starts");
                continue;
            }
            if (net_ok) {
                if (!sn.network.contains(r->first) || !sn.network.contains(r->last)) {
                    c.error(rnode, "range " + text + " is not inside subnet " + sn.network.to_string());
                    continue;
                }
                if (r->contains(sn.network.network()) || r->contains(sn.network.broadcast())) {
                    c.error(rnode, "range " + text + " includes the network or broadcast address of " +
                                       sn.network.to_string());
                    continue;
                }
            }
            for (const auto& other : all_ranges)
                if (other.range.overlaps(*r))
                    c.error(rnode, "range " + text + " overlaps range " + other.range.to_string() + " (line " +
                                       std::to_string(other.where.line) + ")");
            all_ranges.push_back({*r, c.at(rnode)});
            sn.ranges.push_back(*r);
        }
        sn.routers = read_ip_list(c, m, "routers");
        if (net_ok)
            for (const auto& r : sn.routers)
                if (!sn.network.contains(r))
                    c.warning(m.get("routers"), "router " + r.to_string() + " is outside subnet " + sn.network.to_string());
        sn.dns = read_ip_list(c, m, "dns");
        read_string(c, m, "domain", sn.domain);
        read_duration(c, m, "lease_time", sn.lease_time);
        read_duration(c, m, "max_lease_time", sn.max_lease_time);
        if (sn.lease_time.count() <= 0) c.error(m.get("lease_time"), "lease_time must be positive");
        if (sn.max_lease_time < sn.lease_time)
            c.error(m.get("max_lease_time").IsDefined() ? m.get("max_lease_time") : YAML::Node(item),
                    "max_lease_time is shorter than lease_time");
        wire::ipv4_address ns_addr;
        if (read_ip(c, m, "next_server", ns_addr)) sn.next_server = ns_addr;
        read_bool(c, m, "authoritative", sn.authoritative);
        read_bool(c, m, "relay_only", sn.relay_only);
        m.finish();
        s.subnets.push_back(std::move(sn));
    }
}

void read_boot(context& c, const YAML::Node& node, site& s) {
    map_reader m(c, node, "boot");
    auto& b = s.boot;
    // iPXE chaining is on by default when pxed serves HTTP: without it, iPXE
    // (QEMU's and most modern NIC ROMs) would loop fetching pxelinux.0 again.
    if (s.server.http.enabled) b.ipxe = "http://{{server}}:{{http_port}}/ipxe/{{mac}}";
    read_string(c, m, "bios", b.bios);
    read_string(c, m, "uefi-x64", b.uefi_x64);
    read_string(c, m, "uefi-ia32", b.uefi_ia32);
    read_string(c, m, "uefi-arm64", b.uefi_arm64);
    const auto ipxe = m.get("ipxe");
    if (ipxe.IsDefined() && ipxe.IsScalar()) {
        const auto& v = ipxe.Scalar();
        b.ipxe = (v == "off" || v == "false" || v == "no") ? std::string{} : v;
    } else if (ipxe.IsDefined() && !ipxe.IsNull()) {
        c.error(ipxe, "'ipxe' must be a URL or off");
    } else if (ipxe.IsDefined()) {
        b.ipxe.clear();
    }
    read_string(c, m, "uefi-http", b.uefi_http);
    read_string(c, m, "grub_dir", b.grub_dir);
    const auto gc = m.get("grub_commands");
    std::string gcs;
    if (scalar(c, gc, "grub_commands", gcs)) {
        if (gcs == "linuxefi") b.grub_linux = "linuxefi", b.grub_initrd = "initrdefi";
        else if (gcs == "linux") b.grub_linux = "linux", b.grub_initrd = "initrd";
        else c.error(gc, "grub_commands must be 'linuxefi' (EL7 GRUB) or 'linux' (upstream GRUB), not '" + gcs + "'");
    }
    while (!b.grub_dir.empty() && b.grub_dir.back() == '/') b.grub_dir.pop_back();
    while (!b.grub_dir.empty() && b.grub_dir.front() == '/') b.grub_dir.erase(0, 1);
    if (b.grub_dir.find("..") != std::string::npos) c.error(m.get("grub_dir"), "grub_dir must stay inside the TFTP root");
    if (!b.ipxe.empty() && !s.server.http.enabled && b.ipxe.find("{{http_port}}") != std::string::npos)
        c.error(ipxe.IsDefined() ? ipxe : node, "iPXE chaining points at pxed's HTTP server, which is disabled; enable server.http or set boot.ipxe: off");
    if (c.options.check_files && s.server.tftp.enabled && stdfs::is_directory(s.server.tftp.root)) {
        for (const auto* key : {"bios", "uefi-x64", "uefi-ia32", "uefi-arm64"}) {
            const auto n = m.get(key);
            const std::string* file = key == std::string("bios") ? &b.bios
                                      : key == std::string("uefi-x64") ? &b.uefi_x64
                                      : key == std::string("uefi-ia32") ? &b.uefi_ia32 : &b.uefi_arm64;
            if (!file->empty() && n.IsDefined() && !stdfs::exists(stdfs::path(s.server.tftp.root) / *file))
                c.warning(n, "boot file '" + *file + "' is not in the TFTP root yet; " + key + " clients will fail to boot");
        }
    }
    m.finish();
}

void read_trees(context& c, const YAML::Node& node, site& s) {
    map_reader m(c, node, "trees");
    if (!m.present()) return;
    std::map<std::string, std::string> urls;  // url -> tree name
    for (const auto& kv : m.node()) {
        const auto name = kv.first.Scalar();
        m.get(name);
        map_reader t(c, kv.second, "tree '" + name + "'");
        tree tr;
        tr.name = name;
        tr.where = c.at(kv.first);
        const auto path = t.get("path");
        if (!scalar(c, path, "path", tr.path)) {
            c.error(kv.first, "tree '" + name + "' needs 'path', the directory holding the install tree");
        } else {
            tr.path = c.resolve_path(tr.path);
            if (c.options.check_files && !stdfs::is_directory(tr.path))
                c.error(path, "tree '" + name + "': directory '" + tr.path + "' does not exist (is the DVD mounted?)");
        }
        const auto url = t.get("url");
        std::string us;
        if (!scalar(c, url, "url", us)) {
            c.error(kv.first, "tree '" + name + "' needs 'url', the path where HTTP and FTP serve it (e.g. /pub/centos/7/x86_64)");
        } else if (const auto norm = normalize_url_path(us); !norm) {
            c.error(url, "tree url '" + us + "' must be an absolute path below / such as /pub/centos/7/x86_64, without '..', '%', '?' or '#'");
        } else {
            tr.url = *norm;
            if (const auto it = urls.find(tr.url); it != urls.end())
                c.error(url, "tree url " + tr.url + " is already used by tree '" + it->second + "'");
            urls.emplace(tr.url, name);
        }
        const auto proto = t.get("protocol");
        std::string ps;
        if (scalar(c, proto, "protocol", ps)) {
            if (ps == "http") tr.protocol = tree_protocol::http;
            else if (ps == "ftp") tr.protocol = tree_protocol::ftp;
            else c.error(proto, "tree protocol must be 'http' or 'ftp', not '" + ps + "'");
        }
        if (tr.protocol == tree_protocol::ftp && !s.server.ftp.enabled)
            c.error(proto, "tree '" + name + "' is served over FTP, but server.ftp is disabled");
        if (tr.protocol == tree_protocol::http && !s.server.http.enabled)
            c.error(proto.IsDefined() ? proto : kv.first, "tree '" + name + "' is served over HTTP, but server.http is disabled");
        t.finish();
        s.trees.emplace(name, std::move(tr));
    }
}

// Profiles as written, before inheritance is applied.
struct raw_profile {
    profile p;
    std::set<std::string> given;  // keys present in the YAML
    std::map<std::string, YAML::Node> nodes;
    YAML::Node key_node;
};

void read_profiles(context& c, const YAML::Node& node, site& s) {
    map_reader m(c, node, "profiles");
    if (!m.present()) return;
    std::map<std::string, raw_profile> raw;
    static const std::vector<std::string> fields{"label", "inherits", "tree", "kernel", "initrd", "append", "kickstart"};
    for (const auto& kv : m.node()) {
        const auto name = kv.first.Scalar();
        m.get(name);
        if (name == local_entry) {
            c.error(kv.first, "'local' is reserved for the boot-from-disk menu entry; rename this profile");
            continue;
        }
        raw_profile rp;
        rp.key_node = kv.first;
        rp.p.name = name;
        rp.p.where = c.at(kv.first);
        map_reader pm(c, kv.second, "profile '" + name + "'");
        std::string* targets[] = {&rp.p.label, &rp.p.inherits, &rp.p.tree, &rp.p.kernel,
                                  &rp.p.initrd, &rp.p.append, &rp.p.kickstart};
        for (std::size_t i = 0; i < fields.size(); ++i) {
            const auto n = pm.get(fields[i]);
            if (scalar(c, n, fields[i], *targets[i])) {
                rp.given.insert(fields[i]);
                rp.nodes[fields[i]] = n;
            }
        }
        if (pm.get("vars").IsDefined()) rp.given.insert("vars");
        rp.p.vars = read_vars(c, pm);
        warn_secret_looking_vars(c, pm, rp.p.vars);
        rp.p.secret_values = read_secrets(c, pm);
        rp.p.lifecycle = read_lifecycle(c, pm.get("lifecycle"), "profile '" + name + "' lifecycle");
        pm.finish();
        raw.emplace(name, std::move(rp));
    }

    // Apply inheritance: walk each chain to its root, refusing loops.
    for (auto& entry : raw) {
        // Not a structured binding: lambdas below capture these (C++17 forbids that).
        const auto& name = entry.first;
        auto& rp = entry.second;
        std::vector<const raw_profile*> chain{&rp};
        bool broken = false;
        while (!chain.back()->p.inherits.empty()) {
            const auto& parent_name = chain.back()->p.inherits;
            const auto it = raw.find(parent_name);
            if (it == raw.end()) {
                std::vector<std::string> names;
                for (const auto& r : raw) names.push_back(r.first);
                if (chain.size() == 1)
                    c.error(rp.nodes["inherits"], "profile '" + name + "' inherits unknown profile '" + parent_name + "'" +
                                                      suggestion(parent_name, names));
                broken = true;
                break;
            }
            if (std::find(chain.begin(), chain.end(), &it->second) != chain.end()) {
                std::string path = name;
                for (std::size_t i = 1; i < chain.size(); ++i) path += " -> " + chain[i]->p.name;
                c.error(rp.nodes["inherits"], "inheritance loop: " + path + " -> " + parent_name);
                broken = true;
                break;
            }
            chain.push_back(&it->second);
        }
        if (broken) continue;
        profile merged;
        merged.name = name;
        merged.where = rp.p.where;
        merged.inherits = rp.p.inherits;
        // From the root ancestor down, each level overrides what it gives.
        for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
            const auto& src = (*it)->p;
            const auto& given = (*it)->given;
            if (given.count("tree")) merged.tree = src.tree;
            if (given.count("kernel")) merged.kernel = src.kernel;
            if (given.count("initrd")) merged.initrd = src.initrd;
            if (given.count("append")) merged.append = src.append;
            if (given.count("kickstart")) merged.kickstart = src.kickstart;
            for (const auto& [k, v] : src.vars) merged.vars[k] = v;
            for (const auto& [k, v] : src.secret_values) merged.secret_values[k] = v;
            const auto& l = src.lifecycle;
            if (l.new_hosts) merged.lifecycle.new_hosts = l.new_hosts;
            if (l.install_done) merged.lifecycle.install_done = l.install_done;
            if (l.install_timeout) merged.lifecycle.install_timeout = l.install_timeout;
            if (l.on_timeout) merged.lifecycle.on_timeout = l.on_timeout;
            if (l.when_installed) merged.lifecycle.when_installed = l.when_installed;
        }
        // A label is what a person reads in the menu: an inherited one would
        // show two entries with the same text, so it defaults to the name.
        merged.label = rp.p.label.empty() ? name : rp.p.label;

        auto where_of = [&](const char* field) {
            for (const auto* r : chain)
                if (r->given.count(field)) return r->nodes.at(field);
            return rp.key_node;
        };
        if (!merged.tree.empty() && !s.find_tree(merged.tree)) {
            std::vector<std::string> names;
            for (const auto& t : s.trees) names.push_back(t.first);
            c.error(where_of("tree"), "profile '" + name + "' uses unknown tree '" + merged.tree + "'" + suggestion(merged.tree, names));
        }
        for (const char* field : {"kernel", "initrd"}) {
            const auto& file = std::string(field) == "kernel" ? merged.kernel : merged.initrd;
            if (file.empty()) {
                c.error(rp.key_node, "profile '" + name + "' needs '" + field + "' (a path in the TFTP root)");
                continue;
            }
            if (file.find("..") != std::string::npos || file[0] == '/') {
                c.error(where_of(field), std::string(field) + " '" + file + "' must be a relative path inside the TFTP root");
                continue;
            }
            if (c.options.check_files && s.server.tftp.enabled && stdfs::is_directory(s.server.tftp.root) &&
                !stdfs::is_regular_file(stdfs::path(s.server.tftp.root) / file))
                c.error(where_of(field), "profile '" + name + "': " + field + " '" + file + "' is not in the TFTP root " +
                                             s.server.tftp.root);
        }
        s.profiles.emplace(name, std::move(merged));
    }
}

void read_menu(context& c, const YAML::Node& node, site& s) {
    map_reader m(c, node, "menu");
    auto& menu = s.menu;
    read_string(c, m, "title", menu.title);
    read_duration(c, m, "timeout", menu.timeout);
    read_string(c, m, "ui", menu.ui);
    std::vector<std::string> names{local_entry};
    for (const auto& p : s.profiles) names.push_back(p.first);
    const auto entries = m.get("entries");
    if (entries.IsDefined()) {
        for (const auto& [e, enode] : scalar_list(c, entries, "entries")) {
            if (e != local_entry && !s.find_profile(e))
                c.error(enode, "menu entry '" + e + "' is not a profile" + suggestion(e, names));
            else if (std::find(menu.entries.begin(), menu.entries.end(), e) != menu.entries.end())
                c.error(enode, "menu entry '" + e + "' is listed twice");
            else
                menu.entries.push_back(e);
        }
    } else {
        // Not given: every profile, then the local disk.
        for (const auto& p : s.profiles) menu.entries.push_back(p.first);
        menu.entries.push_back(local_entry);
    }
    const auto def = m.get("default");
    if (scalar(c, def, "default", menu.default_entry) &&
        std::find(menu.entries.begin(), menu.entries.end(), menu.default_entry) == menu.entries.end())
        c.error(def, "menu default '" + menu.default_entry + "' is not one of the menu entries (" + join(menu.entries) + ")");
    if (!def.IsDefined() && !menu.entries.empty() &&
        std::find(menu.entries.begin(), menu.entries.end(), menu.default_entry) == menu.entries.end())
        menu.default_entry = menu.entries.front();
    const auto policy = m.get("unknown_hosts");
    std::string ps;
    if (scalar(c, policy, "unknown_hosts", ps)) {
        if (ps == "menu") menu.unknown_hosts = unknown_policy::menu;
        else if (ps == "local") menu.unknown_hosts = unknown_policy::local;
        else if (ps == "ignore") menu.unknown_hosts = unknown_policy::ignore;
        else c.error(policy, "unknown_hosts must be menu, local or ignore, not '" + ps + "'");
    }
    m.finish();
}

void read_hosts(context& c, const YAML::Node& node, site& s) {
    if (!node.IsDefined() || node.IsNull()) return;
    if (!node.IsSequence()) {
        c.error(node, "'hosts' must be a list");
        return;
    }
    std::map<wire::mac_address, int> macs;  // -> line
    std::map<wire::ipv4_address, int> ips;
    std::map<std::string, int> names;
    std::vector<std::string> profile_names;
    for (const auto& p : s.profiles) profile_names.push_back(p.first);
    for (const auto& item : node) {
        map_reader m(c, item, "host");
        if (!m.present()) {
            c.error(item, "each host must be a mapping with at least 'mac'");
            continue;
        }
        host h;
        h.where = c.at(item);
        const auto line = h.where.line;
        const auto mac = m.get("mac");
        std::string ms;
        bool mac_ok = false;
        if (!scalar(c, mac, "mac", ms)) {
            c.error(item, "host needs 'mac'");
        } else if (const auto parsed = wire::mac_address::parse(ms); !parsed) {
            c.error(mac, "'" + ms + "' is not a MAC address (expected 52:54:00:12:34:56)");
        } else if (const auto it = macs.find(*parsed); it != macs.end()) {
            c.error(mac, "MAC " + parsed->to_string() + " is already used by the host on line " + std::to_string(it->second));
        } else {
            h.mac = *parsed;
            macs.emplace(*parsed, line);
            mac_ok = true;
        }
        const auto hn = m.get("hostname");
        if (scalar(c, hn, "hostname", h.hostname)) {
            if (!valid_hostname(h.hostname))
                c.error(hn, "'" + h.hostname + "' is not a valid hostname (letters, digits and '-', dot-separated)");
            else if (const auto it = names.find(h.hostname); it != names.end())
                c.error(hn, "hostname '" + h.hostname + "' is already used by the host on line " + std::to_string(it->second));
            else
                names.emplace(h.hostname, line);
        }
        const auto ipn = m.get("ip");
        wire::ipv4_address ip;
        // Without pxed's DHCP server the reservation only says which
        // address the host has (its documents go there, docs/security.md):
        // it need not be in a subnet, and may be pxed's own (the demo).
        const bool leases = s.server.dhcp.enabled && s.server.dhcp.mode == dhcp_mode::server;
        if (read_ip(c, m, "ip", ip)) {
            const auto* sn = s.find_subnet(ip);
            if (const auto it = ips.find(ip); it != ips.end()) {
                c.error(ipn, "IP " + ip.to_string() + " is already reserved for the host on line " + std::to_string(it->second));
            } else if (!sn && leases) {
                c.error(ipn, "reserved IP " + ip.to_string() + " is outside every subnet");
            } else if (sn && (ip == sn->network.network() || ip == sn->network.broadcast())) {
                c.error(ipn, "reserved IP " + ip.to_string() + " is the network or broadcast address of " + sn->network.to_string());
            } else if (sn && sn->in_dynamic_range(ip)) {
                c.error(ipn, "reserved IP " + ip.to_string() + " is inside a dynamic range of " + sn->network.to_string() +
                                 "; a dynamic client could be given it too");
            } else if (ip == s.server.address && leases) {
                c.error(ipn, "reserved IP " + ip.to_string() + " is pxed's own server.address");
            } else {
                ips.emplace(ip, line);
            }
            h.ip = ip;
        }
        read_bool(c, m, "netboot", h.netboot);
        const auto pn = m.get("profile");
        if (scalar(c, pn, "profile", h.profile)) {
            if (!s.find_profile(h.profile))
                c.error(pn, "host uses unknown profile '" + h.profile + "'" + suggestion(h.profile, profile_names));
        } else if (h.netboot) {
            c.error(item, "host " + ms + " has netboot: true but no 'profile' to install");
        }
        h.vars = read_vars(c, m);
        h.secret_values = read_secrets(c, m);
        h.lifecycle = read_lifecycle(c, m.get("lifecycle"), "host " + ms + " lifecycle");
        m.finish();
        if (mac_ok) {
            s.host_index.emplace(h.mac, s.hosts.size());
            s.hosts.push_back(std::move(h));
        }
    }
}

load_result load_document(const YAML::Node& root, context& c) {
    auto s = std::make_shared<site>();
    s->loaded_at = static_cast<std::int64_t>(std::time(nullptr));
    map_reader top(c, root, "the top level");
    if (!top.present()) {
        if (!root.IsDefined() || root.IsNull()) c.error(source_location{c.file, 0, 0}, "the file is empty");
    } else {
        // Order matters: later sections refer to earlier ones.
        read_server(c, top.get("server"), *s);
        read_subnets(c, top.get("subnets"), *s);
        read_boot(c, top.get("boot"), *s);
        read_trees(c, top.get("trees"), *s);
        read_profiles(c, top.get("profiles"), *s);
        read_menu(c, top.get("menu"), *s);
        read_hosts(c, top.get("hosts"), *s);
        read_lifecycle(c, top.get("lifecycle"), "lifecycle").apply_to(s->lifecycle);
        read_access(c, top.get("access"), *s);
        top.finish();
        if (s->access.host_documents == host_document_access::open)
            c.warning(s->access.where, "access.host_documents: open gives every host's boot config and kickstart "
                                       "(and their secrets) to anyone on the provisioning network who names them");
        if (c.inline_secrets && world_readable(c.file))
            c.warning(source_location{c.file, 0, 0},
                      "site.yaml holds secrets and every user of this machine can read it; chmod o-r it, or move "
                      "the secrets into files ({file: ...})");
        if (s->server.dhcp.enabled && s->server.dhcp.relay_agents.empty())
            for (const auto& sn : s->subnets)
                if (sn.relay_only)
                    c.warning(sn.where, "subnet " + sn.network.to_string() +
                                            " is relay_only but server.dhcp.relay_agents is empty: pxed answers no "
                                            "relayed request, so no client on it gets an address; list the relay agents");
        if (s->server.dhcp.enabled && s->server.dhcp.mode == dhcp_mode::server && s->subnets.empty())
            c.error(top.node(), "DHCP runs in server mode but no 'subnets' are defined; add one or set server.dhcp.mode: proxy");
    }
    load_result r;
    r.diagnostics = std::move(c.diags);
    if (!has_errors(r.diagnostics)) r.model = std::move(s);
    return r;
}

}  // namespace

std::optional<seconds> parse_duration(const std::string& text) {
    if (text.empty()) return std::nullopt;
    std::int64_t total = 0;
    std::size_t i = 0;
    bool any_unit = false;
    while (i < text.size()) {
        std::int64_t n = 0;
        auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), n);
        if (ec != std::errc{} || n < 0 || n > 100LL * 365 * 86400) return std::nullopt;
        i = static_cast<std::size_t>(end - text.data());
        std::int64_t unit = 1;
        if (i < text.size()) {
            switch (text[i]) {
            case 's': unit = 1; break;
            case 'm': unit = 60; break;
            case 'h': unit = 3600; break;
            case 'd': unit = 86400; break;
            case 'w': unit = 7 * 86400; break;
            default: return std::nullopt;
            }
            ++i;
            any_unit = true;
        } else if (any_unit) {
            return std::nullopt;  // "1h30" is ambiguous
        }
        total += n * unit;
        if (total > 100LL * 365 * 86400) return std::nullopt;
    }
    return seconds{total};
}

load_result load_string(const std::string& yaml, const std::string& name, const std::string& base_dir,
                        const load_options& options) {
    context c;
    c.file = name;
    c.base_dir = base_dir;
    c.options = options;
    YAML::Node root;
    try {
        root = YAML::Load(yaml);
    } catch (const YAML::ParserException& e) {
        c.error(source_location{name, e.mark.line + 1, e.mark.column + 1}, "YAML syntax: " + e.msg);
        return load_result{nullptr, std::move(c.diags)};
    }
    try {
        auto r = load_document(root, c);
        if (r.model) std::const_pointer_cast<site>(r.model)->source_file = name;
        return r;
    } catch (const YAML::Exception& e) {
        // Defensive: a yaml-cpp accessor threw on a node shape we did not expect.
        c.error(source_location{name, e.mark.line + 1, e.mark.column + 1}, e.msg);
        return load_result{nullptr, std::move(c.diags)};
    }
}

load_result load_file(const std::string& path, const load_options& options) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        load_result r;
        r.diagnostics.push_back({severity::error, {path, 0, 0}, "cannot read the file: " + std::string(std::strerror(errno))});
        return r;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    const auto abs = stdfs::absolute(path).lexically_normal();
    return load_string(ss.str(), path, abs.parent_path().string(), options);
}

}  // namespace pxed::inventory
