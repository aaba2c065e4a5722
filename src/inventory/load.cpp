// site.yaml -> site model. Every problem becomes a diagnostic naming file,
// line and column; parsing goes on after an error so that one run of
// `pxed check` reports everything at once.

#include "pxed/inventory/load.hpp"
#include "pxed/inventory/install_tree.hpp"
#include "pxed/inventory/keys.hpp"
#include "pxed/wire/text.hpp"

#include "host_scan.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <iterator>
#include <limits>
#include <array>
#include <variant>

#include <sys/stat.h>

namespace pxed::inventory {
namespace stdfs = std::filesystem;
namespace {

// ---------------------------------------------------------------- helpers

std::string suggestion(const std::string& word, const std::vector<std::string>& candidates) {
    const auto best = wire::closest(word, candidates);
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

// A line and column (1-based) of the file: where a value read by the
// fast host path is written (it has no YAML::Node).
struct text_mark {
    int line = 0, column = 0;
};

struct context {
    std::string file;
    std::string base_dir;
    load_options options;
    std::vector<diagnostic> diags;
    std::vector<secret_span> inline_secrets;  // the secrets written in site.yaml itself
    // The hosts read without yaml-cpp's tree (host_scan.hpp); null: none.
    const detail::host_scan* fast = nullptr;

    // A node's byte offset in the file: the tree was built from the scan's
    // `rest`, whose lines and columns are the file's but not its offsets.
    std::size_t offset(const YAML::Mark& m) const {
        if (fast) return fast->offset(m.line, m.column);
        return static_cast<std::size_t>(std::max(m.pos, 0));
    }
    source_location at(const text_mark& m) const { return {file, m.line, m.column}; }
    void error(const text_mark& m, std::string msg) { error(at(m), std::move(msg)); }

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

bool absent(const YAML::Node& n) { return !n.IsDefined() || n.IsNull(); }

bool scalar(context& c, const YAML::Node& n, const std::string& key, std::string& out) {
    if (absent(n)) return false;
    if (!n.IsScalar()) {
        c.error(n, "'" + key + "' must be a single value, not a list or mapping");
        return false;
    }
    out = n.Scalar();
    return true;
}

template <typename Int>
bool parse_int(const std::string& s, Int& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
}

// A list of scalars; a single scalar is accepted as a list of one.
std::vector<std::pair<std::string, YAML::Node>> scalar_list(context& c, const YAML::Node& n, const std::string& key) {
    std::vector<std::pair<std::string, YAML::Node>> out;
    if (absent(n)) return out;
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

// The scalar entries of a list already read (and complained about) once.
std::vector<YAML::Node> scalar_items(const YAML::Node& n) {
    std::vector<YAML::Node> out;
    if (absent(n)) return out;
    if (n.IsScalar()) out.push_back(n);
    if (n.IsSequence())
        for (const auto& item : n)
            if (item.IsScalar()) out.push_back(item);
    return out;
}

// "30s", "5m", "12h", "1d": the largest unit that divides it.
std::string format_duration(seconds d) {
    const auto n = d.count();
    if (n == 0) return "0s";
    for (const auto& [unit, size] : {std::pair<char, std::int64_t>{'d', 86400}, {'h', 3600}, {'m', 60}})
        if (n % size == 0) return std::to_string(n / size) + unit;
    return std::to_string(n) + "s";
}

// A dynamic range written the right way round, or nothing.
std::optional<wire::ipv4_range> forward_range(const std::string& text) {
    const auto r = wire::ipv4_range::parse(text);
    if (!r || r->last < r->first) return std::nullopt;
    return r;
}

// ---------------------------------------------------------------- key tables
//
// Each section of site.yaml is one table of keys (the model is Kea's
// std_option_defs.h): its name, kind, bounds, doc line and the field it
// fills. read_section() parses a mapping from the table, map_reader names
// keys not in it, and describe() gives docs/site-yaml.md's reference
// tables (checked by tests/unit/site_yaml_docs_test.cpp). What a table
// cannot say (one key against another, one host against the next) stays
// in the section's own read_* function.

enum class kind {
    text, path, flag, port, count, duration, ipv4, ipv4_list, networks, names, choice,
    mac, hostname, cidr, ranges, url_path, custom,
};

struct choice_word {
    const char* word;
    int value;
    const char* note;  // for the error message; may be null
};
using choice_words = std::vector<choice_word>;

template <typename E>
choice_word word(const char* w, E v, const char* note = nullptr) {
    return {w, static_cast<int>(v), note};
}

struct key_meta {
    const char* name;
    kind type;
    const char* doc;
    std::int64_t min = 0;  // number, port: the value; duration: seconds; cidr: unused
    std::int64_t max = 0;  // number, port: the value; cidr: the longest prefix
    const char* unit = nullptr;               // number: what it counts, for the error
    const choice_words* words = nullptr;      // choice
    const char* shown_default = nullptr;      // when the field's initializer is not what the docs say
    const char* shown_type = nullptr;         // custom
    std::vector<key_doc> (*nested)() = nullptr;  // a nested section, listed inside this one's docs table
    bool required = false;
};

// Where a custom key's reader finds its value and its section.
struct field_node {
    const YAML::Node& value;
    const YAML::Node& section;  // the mapping, or where to point when it is missing
    const std::string& what;    // "server.tftp", "host 52:54:00:12:34:56"
    const char* key;
};

template <typename S>
using reader_fn = void (*)(context&, const field_node&, S&);

// An enum field, stored as its choice_word value.
template <typename S>
struct enum_ref {
    int (*get)(const S&);  // -1: an unset optional
    void (*set)(S&, int);
    const void* tag;       // which field: enum_tag<M>
};

template <auto M>
inline constexpr char enum_tag = 0;

template <typename T>
struct member_of;
template <typename C, typename T>
struct member_of<T C::*> {
    using owner = C;
    using type = T;
};
template <typename T>
struct unoptional {
    using type = T;
    static constexpr bool optional = false;
};
template <typename T>
struct unoptional<std::optional<T>> {
    using type = T;
    static constexpr bool optional = true;
};

template <auto M>
enum_ref<typename member_of<decltype(M)>::owner> enum_field() {
    using S = typename member_of<decltype(M)>::owner;
    using F = typename member_of<decltype(M)>::type;
    using E = typename unoptional<F>::type;
    return {[](const S& s) -> int {
                if constexpr (unoptional<F>::optional)
                    return (s.*M) ? static_cast<int>(*(s.*M)) : -1;
                else
                    return static_cast<int>(s.*M);
            },
            [](S& s, int v) { s.*M = static_cast<E>(v); }, &enum_tag<M>};
}

template <typename S>
using target = std::variant<reader_fn<S>, enum_ref<S>, std::string S::*, bool S::*, std::uint16_t S::*, unsigned S::*,
                            seconds S::*, std::optional<seconds> S::*, wire::ipv4_address S::*,
                            std::optional<wire::ipv4_address> S::*, std::vector<wire::ipv4_address> S::*,
                            std::vector<wire::ipv4_network> S::*, std::vector<std::string> S::*,
                            wire::mac_address S::*, wire::ipv4_network S::*, std::vector<wire::ipv4_range> S::*>;

template <typename S>
struct key {
    key_meta meta;
    target<S> field;

    key required() const {
        auto k = *this;
        k.meta.required = true;
        return k;
    }
    key shows(const char* default_text) const {
        auto k = *this;
        k.meta.shown_default = default_text;
        return k;
    }
};

template <typename S>
struct table {
    std::vector<key<S>> keys;
    /// The object whose fields hold the defaults the docs show; S{} when null.
    S (*defaults)() = nullptr;
};

// The table entries, one function per kind.
template <typename S>
key<S> text(const char* n, std::string S::*f, const char* doc) { return {{n, kind::text, doc}, f}; }
template <typename S>
key<S> path(const char* n, std::string S::*f, const char* doc) { return {{n, kind::path, doc}, f}; }
template <typename S>
key<S> url_path(const char* n, std::string S::*f, const char* doc) { return {{n, kind::url_path, doc}, f}; }
template <typename S>
key<S> hostname(const char* n, std::string S::*f, const char* doc) { return {{n, kind::hostname, doc}, f}; }
template <typename S>
key<S> flag(const char* n, bool S::*f, const char* doc) { return {{n, kind::flag, doc}, f}; }
template <typename S>
key<S> port(const char* n, std::uint16_t S::*f, const char* doc) { return {{n, kind::port, doc, 0, 65535}, f}; }
template <typename S>
key<S> number(const char* n, unsigned S::*f, std::int64_t min, std::int64_t max, const char* unit, const char* doc) {
    return {{n, kind::count, doc, min, max, unit}, f};
}
template <typename S, typename F>
key<S> duration(const char* n, F S::*f, std::int64_t min_seconds, const char* doc) {
    return {{n, kind::duration, doc, min_seconds}, f};
}
template <typename S, typename F>
key<S> ipv4(const char* n, F S::*f, const char* doc) { return {{n, kind::ipv4, doc}, f}; }
template <typename S>
key<S> ipv4s(const char* n, std::vector<wire::ipv4_address> S::*f, const char* doc) {
    return {{n, kind::ipv4_list, doc}, f};
}
template <typename S>
key<S> networks(const char* n, std::vector<wire::ipv4_network> S::*f, const char* doc) {
    return {{n, kind::networks, doc}, f};
}
template <typename S>
key<S> names(const char* n, std::vector<std::string> S::*f, const char* doc) { return {{n, kind::names, doc}, f}; }
template <typename S>
key<S> mac(const char* n, wire::mac_address S::*f, const char* doc) { return {{n, kind::mac, doc}, f}; }
template <typename S>
key<S> cidr(const char* n, wire::ipv4_network S::*f, int longest_prefix, const char* doc) {
    return {{n, kind::cidr, doc, 0, longest_prefix}, f};
}
template <typename S>
key<S> ranges(const char* n, std::vector<wire::ipv4_range> S::*f, const char* doc) {
    return {{n, kind::ranges, doc}, f};
}
// One of a few words, into a string field (the word) or an enum field.
template <typename S>
key<S> choice(const char* n, std::string S::*f, const choice_words& words, const char* doc) {
    return {{n, kind::choice, doc, 0, 0, nullptr, &words}, f};
}
template <typename S>
key<S> choice(const char* n, enum_ref<S> f, const choice_words& words, const char* doc) {
    return {{n, kind::choice, doc, 0, 0, nullptr, &words}, f};
}
// Read by a function of its own: nested sections, lists of sections, vars.
template <typename S>
key<S> custom(const char* n, const char* type, reader_fn<S> f, const char* doc) {
    key<S> k{{n, kind::custom, doc}, f};
    k.meta.shown_type = type;
    return k;
}
template <typename S>
key<S> section(const char* n, reader_fn<S> f, std::vector<key_doc> (*nested)(), const char* doc) {
    auto k = custom(n, "mapping", f, doc);
    k.meta.nested = nested;
    return k;
}

// ---------------------------------------------------------------- reading one value

std::string quoted_words(const choice_words& words, bool notes) {
    std::string s;
    for (std::size_t i = 0; i < words.size(); ++i) {
        if (i > 0) s += i + 1 == words.size() ? " or " : ", ";
        s += words[i].word;
        if (notes && words[i].note) s += std::string(" (") + words[i].note + ")";
    }
    return s;
}

template <typename Where>
const choice_word* read_choice(context& c, const key_meta& k, const Where& n, const std::string& w) {
    std::vector<std::string> all;
    for (const auto& cw : *k.words) {
        if (w == cw.word) return &cw;
        all.emplace_back(cw.word);
    }
    c.error(n, "'" + std::string(k.name) + "' must be " + quoted_words(*k.words, true) + ", not '" + w + "'" +
                   suggestion(w, all));
    return nullptr;
}
const choice_word* read_choice(context& c, const key_meta& k, const YAML::Node& n) {
    std::string w;
    if (!scalar(c, n, k.name, w)) return nullptr;
    return read_choice(c, k, n, w);
}

// The scalar kinds are checked from their text and where it is written
// (a YAML::Node, or a text_mark of the fast host path), so that both paths
// say the same thing at the same place.
template <typename Where>
void check_scalar(context& c, const key_meta& k, const std::string& s, const Where& at, std::string& out);
template <typename Where>
void check_scalar(context& c, const key_meta& k, const std::string& s, const Where& at, bool& out);
template <typename Where>
void check_scalar(context& c, const key_meta& k, const std::string& s, const Where& at,
                  std::optional<wire::ipv4_address>& out);
template <typename Where>
void check_scalar(context& c, const key_meta& k, const std::string& s, const Where& at, wire::mac_address& out);

template <typename T>
void read_checked(context& c, const key_meta& k, const field_node& f, T& out) {
    std::string s;
    if (scalar(c, f.value, k.name, s)) check_scalar(c, k, s, f.value, out);
}

template <typename Where>
void check_scalar(context& c, const key_meta& k, const std::string& s, const Where& at, std::string& out) {
    switch (k.type) {
    case kind::path:
        // An empty path would name the config file's directory or, joined
        // with a file name, the root directory: neither is what was meant.
        if (s.empty())
            c.error(at, "'" + std::string(k.name) + "' is empty: give a path, or leave the key out for its default");
        else
            out = c.resolve_path(s);
        return;
    case kind::hostname:
        if (!valid_hostname(s)) c.error(at, "'" + s + "' is not a valid hostname (letters, digits and '-', dot-separated)");
        out = s;
        return;
    case kind::url_path:
        if (const auto norm = normalize_url_path(s))
            out = *norm;
        else
            c.error(at, "'" + std::string(k.name) + "' '" + s +
                                 "' must be an absolute path below / such as /pub/centos/7/x86_64, without '..', '%', '?' or '#'");
        return;
    case kind::choice:
        if (const auto* w = read_choice(c, k, at, s)) out = w->word;
        return;
    default:
        out = s;
    }
}

void read_value(context& c, const key_meta& k, const field_node& f, std::string& out) { read_checked(c, k, f, out); }

template <typename Where>
void check_scalar(context& c, const key_meta& k, const std::string& s, const Where& at, bool& out) {
    std::string l = s;
    std::transform(l.begin(), l.end(), l.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (l == "true" || l == "yes" || l == "on") out = true;
    else if (l == "false" || l == "no" || l == "off") out = false;
    else c.error(at, "'" + std::string(k.name) + "' must be true or false, not '" + s + "'");
}
void read_value(context& c, const key_meta& k, const field_node& f, bool& out) { read_checked(c, k, f, out); }

std::string bounds_text(const key_meta& k) {
    return std::to_string(k.min) + " to " + std::to_string(k.max) + (k.unit ? std::string(" ") + k.unit : "");
}

template <typename Uint>
void read_number(context& c, const key_meta& k, const field_node& f, Uint& out) {
    std::string s;
    if (!scalar(c, f.value, k.name, s)) return;
    std::int64_t v = 0;
    if (!parse_int(s, v) || v < k.min || v > k.max) {
        const auto range = k.type == kind::port ? "a port number 0-65535 (0 = any free port)" : bounds_text(k);
        c.error(f.value, "'" + std::string(k.name) + "' must be " + range + ", not '" + s + "'");
        return;
    }
    out = static_cast<Uint>(v);
}
void read_value(context& c, const key_meta& k, const field_node& f, std::uint16_t& out) { read_number(c, k, f, out); }
void read_value(context& c, const key_meta& k, const field_node& f, unsigned& out) { read_number(c, k, f, out); }

void read_value(context& c, const key_meta& k, const field_node& f, std::optional<seconds>& out) {
    std::string s;
    if (!scalar(c, f.value, k.name, s)) return;
    const auto d = parse_duration(s);
    if (!d)
        c.error(f.value, "'" + std::string(k.name) + "': '" + s + "' is not a duration (examples: 30s, 5m, 12h, 1d, 3600)");
    else if (d->count() < k.min)
        c.error(f.value, "'" + std::string(k.name) + "' must be at least " + format_duration(seconds{k.min}) + ", not '" +
                             s + "'");
    else
        out = *d;
}
void read_value(context& c, const key_meta& k, const field_node& f, seconds& out) {
    std::optional<seconds> d;
    read_value(c, k, f, d);
    if (d) out = *d;
}

template <typename Where>
void check_scalar(context& c, const key_meta& k, const std::string& s, const Where& at,
                  std::optional<wire::ipv4_address>& out) {
    if (const auto a = wire::ipv4_address::parse(s))
        out = *a;
    else
        c.error(at, "'" + std::string(k.name) + "': '" + s + "' is not an IPv4 address (expected a.b.c.d)");
}
void read_value(context& c, const key_meta& k, const field_node& f, std::optional<wire::ipv4_address>& out) {
    read_checked(c, k, f, out);
}
void read_value(context& c, const key_meta& k, const field_node& f, wire::ipv4_address& out) {
    std::optional<wire::ipv4_address> a;
    read_value(c, k, f, a);
    if (a) out = *a;
}

void read_value(context& c, const key_meta& k, const field_node& f, std::vector<wire::ipv4_address>& out) {
    out.clear();
    for (const auto& [s, node] : scalar_list(c, f.value, k.name)) {
        if (const auto a = wire::ipv4_address::parse(s))
            out.push_back(*a);
        else
            c.error(node, "'" + std::string(k.name) + "': '" + s + "' is not an IPv4 address");
    }
}

// Addresses and networks ("10.0.0.1", "10.0.0.0/24").
void read_value(context& c, const key_meta& k, const field_node& f, std::vector<wire::ipv4_network>& out) {
    out.clear();
    for (const auto& [s, node] : scalar_list(c, f.value, k.name)) {
        const auto net = wire::ipv4_network::parse(s);
        const auto addr = net ? std::nullopt : wire::ipv4_address::parse(s);
        if (net && !net->has_host_bits())
            out.push_back(*net);
        else if (addr)
            out.push_back(wire::ipv4_network{*addr, 32});
        else
            c.error(node, f.what + "." + k.name + ": '" + s + "' is not an address or a network (10.0.0.0/24)");
    }
}

void read_value(context& c, const key_meta& k, const field_node& f, std::vector<std::string>& out) {
    out.clear();
    for (auto& [s, node] : scalar_list(c, f.value, k.name)) out.push_back(s);
}

template <typename Where>
void check_scalar(context& c, const key_meta&, const std::string& s, const Where& at, wire::mac_address& out) {
    if (const auto m = wire::mac_address::parse(s))
        out = *m;
    else
        c.error(at, "'" + s + "' is not a MAC address (expected 52:54:00:12:34:56)");
}
void read_value(context& c, const key_meta& k, const field_node& f, wire::mac_address& out) { read_checked(c, k, f, out); }

void read_value(context& c, const key_meta& k, const field_node& f, wire::ipv4_network& out) {
    std::string s;
    if (!scalar(c, f.value, k.name, s)) return;
    const auto n = wire::ipv4_network::parse(s);
    if (!n)
        c.error(f.value, "'" + s + "' is not a network in CIDR form (for example 192.168.1.0/24)");
    else if (n->has_host_bits())
        c.error(f.value, "'" + s + "' has host bits set; did you mean " +
                             wire::ipv4_network{n->network(), n->prefix()}.to_string() + "?");
    else if (n->prefix() > k.max)
        c.error(f.value, "'" + s + "' is too small to hold clients (a /" + std::to_string(k.max) + " or larger is needed)");
    else
        out = *n;
}

void read_value(context& c, const key_meta& k, const field_node& f, std::vector<wire::ipv4_range>& out) {
    out.clear();
    for (const auto& [s, node] : scalar_list(c, f.value, k.name)) {
        if (const auto r = forward_range(s))
            out.push_back(*r);
        else if (wire::ipv4_range::parse(s))
            c.error(node, "range " + s + " ends before it starts");
        else
            c.error(node, "'" + s + "' is not an address range (expected first-last, e.g. 192.168.1.230-192.168.1.240)");
    }
}

// ---------------------------------------------------------------- reading a section

// A section as read: the node of each key of its table, for the checks
// that follow (a key's node is missing when it was not given).
template <typename S>
struct parsed {
    parsed(const table<S>& t, const YAML::Node& n, bool p) : keys(&t), node(n), present(p) {}

    const table<S>* keys;
    std::vector<YAML::Node> nodes;
    std::vector<bool> clean;  // per key: read without a diagnostic
    YAML::Node node;  // never assigned to: YAML::Node's operator= writes into the document
    bool present;

    // The node of the key that fills field M.
    template <auto M>
    const YAML::Node& at() const {
        for (std::size_t i = 0; i < keys->keys.size(); ++i) {
            const auto& field = keys->keys[i].field;
            if constexpr (std::is_enum_v<typename unoptional<typename member_of<decltype(M)>::type>::type>) {
                if (const auto* e = std::get_if<enum_ref<S>>(&field); e && e->tag == &enum_tag<M>) return nodes[i];
            } else {
                if (const auto* p = std::get_if<decltype(M)>(&field); p && *p == M) return nodes[i];
            }
        }
        return missing_node();
    }
    template <auto M>
    bool given() const {
        return !absent(at<M>());
    }
    // Given, and read without a complaint: its field holds what was written.
    template <auto M>
    bool valid() const {
        for (std::size_t i = 0; i < nodes.size(); ++i)
            if (&at<M>() == &nodes[i]) return given<M>() && clean[i];
        return false;
    }
    template <auto M>
    const key_meta& meta() const {
        std::size_t i = 0;
        while (i + 1 < nodes.size() && &at<M>() != &nodes[i]) ++i;
        return keys->keys[i].meta;
    }
    template <auto M>
    std::string name() const {
        return meta<M>().name;
    }
    // Where to point for a key's problem: its node, or the section's.
    template <auto M>
    const YAML::Node& where() const {
        return given<M>() ? at<M>() : node;
    }

    static const YAML::Node& missing_node() {
        static const YAML::Node n = map_reader::missing();
        return n;
    }
};

// Reads `node` (a mapping, or missing) into `out` from its table: each
// key's value, each custom reader (called even when its key is missing, so
// that nested sections fill in their own checks), a required key's absence
// (at `anchor`), and every unknown key. `what` names the section in errors.
template <typename S>
parsed<S> read_section(context& c, const YAML::Node& node, const table<S>& t, S& out, const std::string& what,
                       const YAML::Node& anchor) {
    map_reader m(c, node, what);
    parsed<S> p(t, m.present() ? node : anchor, m.present());
    for (const auto& k : t.keys) {
        p.nodes.push_back(m.get(k.meta.name));
        const auto diags_before = c.diags.size();
        const field_node f{p.nodes.back(), p.node, what, k.meta.name};
        std::visit(
            [&](const auto& field) {
                using F = std::decay_t<decltype(field)>;
                if constexpr (std::is_same_v<F, reader_fn<S>>) {
                    field(c, f, out);
                } else if (absent(f.value)) {
                    // not given: the field keeps its default
                } else if constexpr (std::is_same_v<F, enum_ref<S>>) {
                    if (const auto* w = read_choice(c, k.meta, f.value)) field.set(out, w->value);
                } else {
                    read_value(c, k.meta, f, out.*field);
                }
            },
            k.field);
        p.clean.push_back(c.diags.size() == diags_before);
        if (k.meta.required && p.present && absent(f.value))
            c.error(anchor, what + " needs '" + k.meta.name + "': " + k.meta.doc);
    }
    m.finish();
    return p;
}
template <typename S>
parsed<S> read_section(context& c, const YAML::Node& node, const table<S>& t, S& out, const std::string& what) {
    return read_section(c, node, t, out, what, node);
}

// ---------------------------------------------------------------- describing a section

std::string code(const std::string& s) { return "`" + s + "`"; }

template <typename T>
std::string list_text(const std::vector<T>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x.to_string();
    return code("[" + s + "]");
}

struct default_text {
    const key_meta& k;
    template <typename S>
    std::string operator()(const reader_fn<S>&, const S&) const { return "none"; }
    template <typename S>
    std::string operator()(const enum_ref<S>& e, const S& s) const {
        for (const auto& w : *k.words)
            if (w.value == e.get(s)) return code(w.word);
        return "none";
    }
    static std::string of(const std::string& v) { return v.empty() ? "none" : code(v); }
    static std::string of(bool v) { return code(v ? "true" : "false"); }
    static std::string of(std::uint16_t v) { return code(std::to_string(v)); }
    static std::string of(unsigned v) { return code(std::to_string(v)); }
    static std::string of(seconds v) { return code(format_duration(v)); }
    static std::string of(const std::optional<seconds>& v) { return v ? of(*v) : "none"; }
    static std::string of(wire::ipv4_address v) { return code(v.to_string()); }
    static std::string of(const std::optional<wire::ipv4_address>& v) { return v ? of(*v) : "none"; }
    static std::string of(const std::vector<wire::ipv4_address>& v) { return list_text(v); }
    static std::string of(const std::vector<wire::ipv4_network>& v) { return list_text(v); }
    static std::string of(const std::vector<std::string>& v) { return code("[" + join(v) + "]"); }
    static std::string of(const std::vector<wire::ipv4_range>& v) { return list_text(v); }
    static std::string of(const wire::mac_address&) { return "none"; }
    static std::string of(const wire::ipv4_network&) { return "none"; }
    template <typename S, typename F>
    std::string operator()(F S::*field, const S& s) const { return of(s.*field); }
};

key_doc describe_key(const key_meta& k) {
    key_doc d;
    d.name = k.name;
    d.doc = k.doc;
    switch (k.type) {
    case kind::text: d.type = "text"; break;
    case kind::path: d.type = "path"; break;
    case kind::url_path: d.type = "URL path"; break;
    case kind::hostname: d.type = "hostname"; break;
    case kind::flag: d.type = "boolean"; break;
    case kind::port: d.type = "port"; break;
    case kind::count: d.type = "number", d.bounds = std::to_string(k.min) + "-" + std::to_string(k.max); break;
    case kind::duration:
        d.type = "duration";
        if (k.min > 0) d.bounds = "at least " + format_duration(seconds{k.min});
        break;
    case kind::ipv4: d.type = "IPv4 address"; break;
    case kind::ipv4_list: d.type = "IPv4 addresses"; break;
    case kind::networks: d.type = "addresses and networks"; break;
    case kind::names: d.type = "names"; break;
    case kind::mac: d.type = "MAC address"; break;
    case kind::cidr: d.type = "network", d.bounds = "/" + std::to_string(k.max) + " or larger"; break;
    case kind::ranges: d.type = "address ranges"; break;
    case kind::choice: {
        d.type = "one of";
        for (const auto& w : *k.words) d.bounds += (d.bounds.empty() ? "" : ", ") + code(w.word);
        break;
    }
    case kind::custom: d.type = k.shown_type; break;
    }
    return d;
}

// A table's keys for the docs; a nested section's keys follow as
// "section.key".
template <typename S>
std::vector<key_doc> describe(const table<S>& t) {
    const S defaults = t.defaults ? t.defaults() : S{};
    std::vector<key_doc> out;
    for (const auto& k : t.keys) {
        if (k.meta.nested) {
            for (auto d : k.meta.nested()) {
                d.name = std::string(k.meta.name) + "." + d.name;
                out.push_back(std::move(d));
            }
            continue;
        }
        auto d = describe_key(k.meta);
        if (k.meta.shown_default)
            d.default_value = k.meta.shown_default;
        else if (k.meta.required)
            d.default_value = "required";
        else
            d.default_value = std::visit([&](const auto& field) { return default_text{k.meta}(field, defaults); }, k.field);
        out.push_back(std::move(d));
    }
    return out;
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

// ---------------------------------------------------------------- lifecycle

const choice_words new_host_words{word("pending", new_host_state::pending), word("installed", new_host_state::installed)};
const choice_words install_end_words{word("callback", install_end::callback), word("kickstart", install_end::kickstart)};
const choice_words timeout_words{word("local", timeout_action::local), word("install", timeout_action::install)};
const choice_words installed_pxe_words{word("answer", installed_pxe::answer), word("none", installed_pxe::none)};

// `lifecycle:` at the top level, in a profile or in a host: every field
// optional, so that each level overrides only what it names. The docs show
// the top level's defaults.
const table<lifecycle_overrides>& lifecycle_keys() {
    static const table<lifecycle_overrides> t{
        {
            choice("new_hosts", enum_field<&lifecycle_overrides::new_hosts>(), new_host_words,
                   "what a host new to site.yaml starts as"),
            choice("install_done", enum_field<&lifecycle_overrides::install_done>(), install_end_words,
                   "how pxed learns that an install finished"),
            duration("install_timeout", &lifecycle_overrides::install_timeout, 60,
                     "an install not done after this long is marked failed"),
            choice("on_timeout", enum_field<&lifecycle_overrides::on_timeout>(), timeout_words,
                   "what a failed host boots next"),
            choice("installed_pxe", enum_field<&lifecycle_overrides::when_installed>(), installed_pxe_words,
                   "what DHCP tells an installed host's firmware"),
        },
        [] {
            const lifecycle_policy p;
            lifecycle_overrides o;
            o.new_hosts = p.new_hosts;
            o.install_done = p.install_done;
            o.install_timeout = p.install_timeout;
            o.on_timeout = p.on_timeout;
            o.when_installed = p.when_installed;
            return o;
        }};
    return t;
}

lifecycle_overrides read_lifecycle(context& c, const YAML::Node& node, const std::string& what) {
    lifecycle_overrides o;
    read_section(c, node, lifecycle_keys(), o, what);
    return o;
}

template <typename S>
void read_lifecycle_into(context& c, const field_node& f, S& out) {
    out.lifecycle = read_lifecycle(c, f.value, f.what + " " + f.key);
}

// ---------------------------------------------------------------- vars and secrets

// A profile's vars go into its menu kickstart too, which any client may
// fetch: a password hash there is every host's (docs/security.md).
void warn_secret_looking_vars(context& c, const field_node& f, const variables& vars) {
    for (const auto& [k, v] : vars) {
        std::string lower;
        for (const char ch : k) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        for (const char* w : {"password", "passwd", "rootpw", "secret", "token", "private", "hash", "crypt", "luks"}) {
            if (lower.find(w) == std::string::npos) continue;
            c.warning(f.value, f.what + " " + f.key + ": '" + k +
                                   "' looks like a secret, and vars go into the menu's kickstart that any "
                                   "client may fetch; move it to 'secrets:' (rendered only for the host itself)");
            break;
        }
    }
}

variables read_vars(context& c, const field_node& f) {
    variables vars;
    map_reader vm(c, f.value, f.what + " " + f.key);
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
secrets read_secrets(context& c, const field_node& f) {
    secrets out;
    map_reader sm(c, f.value, f.what + " " + f.key);
    if (!sm.present()) return out;
    for (const auto& kv : sm.node()) {
        const auto name = kv.first.Scalar();
        const std::string what = f.what + " secret '" + name + "'";
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
            c.inline_secrets.push_back({sec.value, c.offset(kv.second.Mark())});
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

// ---------------------------------------------------------------- access

const choice_words host_document_words{word("address-or-token", host_document_access::address_or_token),
                                       word("address-and-token", host_document_access::address_and_token),
                                       word("open", host_document_access::open)};

access_settings access_defaults() {
    access_settings a;
    a.api_read_from = {wire::ipv4_network{wire::ipv4_address{0x7f000000u}, 8}};
    return a;
}

void read_api_host_names(context& c, const field_node& f, access_settings& a) {
    for (auto& [name, at] : scalar_list(c, f.value, f.key)) {
        const bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
            return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.';
        });
        if (!plain)
            c.error(at, "'" + name + "' is not a host name (letters, digits, '-' and '.'; no port, no scheme)");
        else
            a.api_host_names.push_back(name);
    }
}

const table<access_settings>& api_keys() {
    static const table<access_settings> t{
        {
            networks("read_from", &access_settings::api_read_from,
                     "networks and addresses whose clients may GET /api/v1/..."),
            custom("host_names", "names", read_api_host_names,
                   "names clients may use to reach the API and the dashboard, besides addresses, localhost and "
                   "this machine's name (a DNS-rebinding guard)")
                .shows("`[]`"),
            flag("show_variables", &access_settings::api_show_variables,
                 "show template variables (never secrets) in the API's host objects"),
            path("keys_file", &access_settings::api_keys_file,
                 "API keys, 'name key' a line (pxed api-key NAME); none: no state changes over HTTP"),
        },
        access_defaults};
    return t;
}

void read_api(context& c, const field_node& f, access_settings& a) {
    const auto p = read_section(c, f.value, api_keys(), a, f.what + "." + f.key);
    if (!a.api_keys_file.empty()) read_api_keys(c, p.at<&access_settings::api_keys_file>(), a);
}

const table<access_settings>& access_keys() {
    static const table<access_settings> t{
        {
            choice("host_documents", enum_field<&access_settings::host_documents>(), host_document_words,
                   "who gets a host's boot configs and kickstart"),
            section("api", read_api, [] { return describe(api_keys()); }, "the JSON API"),
        },
        access_defaults};
    return t;
}

void read_access(context& c, const YAML::Node& node, site& s) {
    s.access = access_defaults();
    if (read_section(c, node, access_keys(), s.access, "access").present) s.access.where = c.at(node);
}

// ---------------------------------------------------------------- server

const choice_words log_levels{{"trace", 0, nullptr}, {"debug", 1, nullptr}, {"info", 2, nullptr}, {"warn", 3, nullptr},
                              {"error", 4, nullptr}, {"critical", 5, nullptr}, {"off", 6, nullptr}};
const choice_words log_formats{{"text", 0, nullptr}, {"json", 1, "one JSON object per line"}};

const table<log_settings>& log_keys() {
    static const table<log_settings> t{{
        choice("level", &log_settings::level, log_levels, "the least severe message logged"),
        choice("format", &log_settings::format, log_formats, "text, or one JSON object per line"),
        path("file", &log_settings::file, "log to this file instead of stderr (journald reads stderr)"),
    }};
    return t;
}

const choice_words dhcp_modes{word("server", dhcp_mode::server, "pxed hands out addresses"),
                              word("proxy", dhcp_mode::proxy,
                                   "another DHCP server does; pxed only adds boot information")};

const table<dhcp_settings>& dhcp_keys() {
    static const table<dhcp_settings> t{{
        flag("enabled", &dhcp_settings::enabled, "run the DHCP server"),
        choice("mode", enum_field<&dhcp_settings::mode>(), dhcp_modes,
               "hand out addresses (server), or only boot information beside another DHCP server (proxy)"),
        port("port", &dhcp_settings::port, "the DHCP server port"),
        port("proxy_port", &dhcp_settings::proxy_port, "the PXE boot server port used in proxy mode"),
        networks("relay_agents", &dhcp_settings::relay_agents,
                 "relay agents whose relayed requests are answered; empty: none is"),
        number("new_clients_per_second", &dhcp_settings::new_clients_per_second, 1, 100000, nullptr,
               "new clients one relay agent or interface may bring per second, once its burst is spent"),
        number("new_clients_burst", &dhcp_settings::new_clients_burst, 1, 100000, nullptr,
               "new clients at once from one relay agent or interface"),
        number("quarantine_max_percent", &dhcp_settings::quarantine_max_percent, 0, 100, "percent",
               "share of a subnet's dynamic addresses DHCPDECLINEs may quarantine at once; 0: never quarantine"),
    }};
    return t;
}

const table<tftp_settings>& tftp_keys() {
    static const table<tftp_settings> t{{
        flag("enabled", &tftp_settings::enabled, "run the TFTP server"),
        port("port", &tftp_settings::port, "the TFTP server port"),
        flag("look_ahead", &tftp_settings::look_ahead,
             "after two timeouts in a row, send the blocks after the unanswered ones too"),
        number("busy_poll_us", &tftp_settings::busy_poll_us, 0, 1000, "microseconds",
               "poll for a fast client's ACK for up to this long instead of sleeping; 0: never poll"),
        number("max_transfers", &tftp_settings::max_transfers, 1, 65536, nullptr,
               "transfers at once, all clients together"),
        number("max_transfers_per_client", &tftp_settings::max_transfers_per_client, 1, 65536, nullptr,
               "transfers at once from one client address"),
        number("data_threads", &tftp_settings::data_threads, 0, 64, nullptr,
               "threads that carry the transfers' data; 0 or 1: all on the event loop")
            .shows("the CPUs, at most 4"),
        path("root", &tftp_settings::root, "the directory holding pxelinux.0, kernels and initrds")
            .shows("required when TFTP is on"),
    }};
    return t;
}

void read_tftp(context& c, const field_node& f, server_settings& srv) {
    auto& t = srv.tftp;
    const auto p = read_section(c, f.value, tftp_keys(), t, f.what + "." + f.key, f.section);
    const auto& root = p.at<&tftp_settings::root>();
    if (p.valid<&tftp_settings::root>()) {
        if (c.options.check_files && !stdfs::is_directory(t.root))
            c.error(root, "TFTP root '" + t.root + "' is not a directory");
    } else if (t.enabled && absent(root)) {
        c.error(p.node, f.what + "." + f.key + "." + p.name<&tftp_settings::root>() +
                            " is required: " + p.meta<&tftp_settings::root>().doc);
    }
}

const table<http_settings>& http_keys() {
    static const table<http_settings> t{{
        flag("enabled", &http_settings::enabled, "run the HTTP server"),
        port("port", &http_settings::port, "the HTTP server port"),
        number("max_connections", &http_settings::max_connections, 1, 1000000, nullptr,
               "connections at once; at the cap the most idle or slowest one makes room"),
        number("max_connections_per_client", &http_settings::max_connections_per_client, 1, 1000000, nullptr,
               "connections at once from one address; more get 503"),
        duration("header_timeout", &http_settings::header_timeout, 1,
                 "from a request's first byte to the end of its header, in total"),
        number("min_rate", &http_settings::min_rate, 0, 1 << 30, "bytes per second",
               "a response slower than this many bytes per second over a whole window is abandoned; 0: no minimum"),
        duration("min_rate_window", &http_settings::min_rate_window, 1, "the window min_rate is averaged over"),
    }};
    return t;
}

void read_passive_ports(context& c, const field_node& f, ftp_settings& ftp) {
    std::string ps;
    if (!scalar(c, f.value, f.key, ps)) return;
    const auto dash = ps.find('-');
    unsigned lo = 0, hi = 0;
    if (dash == std::string::npos || !parse_int(ps.substr(0, dash), lo) || !parse_int(ps.substr(dash + 1), hi) ||
        lo < 1024 || hi > 65535 || lo > hi) {
        c.error(f.value, std::string(f.key) + " must be a range like 30000-30100 within 1024-65535, not '" + ps + "'");
        return;
    }
    ftp.passive_first = static_cast<std::uint16_t>(lo);
    ftp.passive_last = static_cast<std::uint16_t>(hi);
}

const table<ftp_settings>& ftp_keys() {
    static const std::string passive_default =
        code(std::to_string(ftp_settings{}.passive_first) + "-" + std::to_string(ftp_settings{}.passive_last));
    static const table<ftp_settings> t{{
        flag("enabled", &ftp_settings::enabled, "run the FTP server"),
        port("port", &ftp_settings::port, "the FTP control port"),
        custom("passive_ports", "port range", read_passive_ports, "passive data ports, first-last within 1024-65535")
            .shows(passive_default.c_str()),
        number("max_sessions", &ftp_settings::max_sessions, 1, 1000000, nullptr, "control connections at once"),
        number("max_sessions_per_client", &ftp_settings::max_sessions_per_client, 1, 1000000, nullptr,
               "control connections at once from one address; more get 421"),
        duration("passive_timeout", &ftp_settings::passive_timeout, 1,
                 "a passive listener nobody connected to is closed after this"),
        duration("idle_timeout", &ftp_settings::idle_timeout, 1, "a session with no command for this long gets 421"),
        flag("active_mode", &ftp_settings::active_mode, "allow PORT/EPRT (the server connects to the client)"),
    }};
    return t;
}

// "address:port": where Prometheus scrapes when not on the HTTP port.
void read_metrics_listen(context& c, const field_node& f, metrics_settings& m) {
    std::string text;
    if (!scalar(c, f.value, f.key, text)) return;
    const auto colon = text.rfind(':');
    unsigned port = 0;
    const auto address = colon == std::string::npos ? std::nullopt : wire::ipv4_address::parse(text.substr(0, colon));
    if (!address || !parse_int(text.substr(colon + 1), port) || port < 1 || port > 65535) {
        c.error(f.value, f.what + "." + f.key + " must be address:port, like 127.0.0.1:9172, not '" + text + "'");
        return;
    }
    m.listen_address = address;
    m.listen_port = static_cast<std::uint16_t>(port);
}

const table<metrics_settings>& metrics_keys() {
    static const table<metrics_settings> t{{
        flag("enabled", &metrics_settings::enabled, "serve Prometheus metrics at GET /metrics"),
        custom("listen", "address:port", read_metrics_listen,
               "a listener of its own for /metrics; unset: the HTTP server's port")
            .shows("HTTP server"),
    }};
    return t;
}

const table<dashboard_settings>& dashboard_keys() {
    static const table<dashboard_settings> t{{
        flag("enabled", &dashboard_settings::enabled, "serve the live dashboard at /ui/ on the HTTP server"),
        number("max_streams", &dashboard_settings::max_streams, 1, 10000, nullptr,
               "live dashboard streams (browser tabs) at once"),
        number("max_streams_per_client", &dashboard_settings::max_streams_per_client, 1, 1000, nullptr,
               "live streams from one client address"),
        duration("session_idle", &dashboard_settings::session_idle, 60, "a signed-in session ends after this long idle"),
        duration("session_max_age", &dashboard_settings::session_max_age, 60, "a signed-in session ends after this long"),
    }};
    return t;
}

const table<trace_settings>& trace_keys() {
    static const table<trace_settings> t{{
        flag("enabled", &trace_settings::enabled,
             "keep every host's boot trace (`pxed trace`)"),
        number("per_host", &trace_settings::per_host, 10, 100000, "events", "events kept per inventory host"),
        number("total", &trace_settings::total, 100, 10000000, "events", "events kept of all inventory hosts"),
        number("unknown_hosts", &trace_settings::unknown_hosts, 0, 1000000, nullptr,
               "MACs outside the inventory kept (`pxed trace --unknown`), 20 events each"),
    }};
    return t;
}

const choice_words store_backend_words{word("sqlite", store_backend::sqlite),
                                        word("postgresql", store_backend::postgresql)};

const table<store_settings>& store_keys() {
    static const table<store_settings> t{{
        choice("backend", enum_field<&store_settings::backend>(), store_backend_words,
               "sqlite (files in state_dir, one instance) or postgresql (shared by several instances)"),
        text("conninfo", &store_settings::conninfo,
             "PostgreSQL connection string, for example \"host=db1 dbname=pxed user=pxed\"; no password"),
        path("password_file", &store_settings::password_file, "a file holding the PostgreSQL password"),
        text("instance", &store_settings::instance, "this instance's name in the shared database")
            .shows("the host name"),
    }};
    return t;
}

void read_store(context& c, const field_node& f, server_settings& srv) {
    auto& st = srv.store;
    st.where = c.at(f.value);
    const auto p = read_section(c, f.value, store_keys(), st, f.what + "." + f.key, f.section);
    if (st.backend == store_backend::postgresql) {
        if (st.conninfo.empty()) c.error(f.value, "server.store.backend postgresql needs conninfo (\"host=... dbname=...\")");
        if (st.conninfo.find("password") != std::string::npos)
            c.error(p.at<&store_settings::conninfo>(),
                    "server.store.conninfo must not hold the password: site.yaml is read by many; put it in a file "
                    "and name it in password_file");
    } else if (!st.conninfo.empty() || !st.password_file.empty()) {
        c.error(f.value, "server.store: conninfo and password_file are for backend: postgresql");
    }
}

// A nested section of server:, read into its own field.
template <auto M, auto Keys>
void read_server_part(context& c, const field_node& f, server_settings& srv) {
    read_section(c, f.value, Keys(), srv.*M, f.what + "." + f.key, f.section);
}

template <auto Keys>
std::vector<key_doc> describe_part() {
    return describe(Keys());
}

void read_interfaces(context& c, const field_node& f, server_settings& srv) {
    for (auto& [name, _] : scalar_list(c, f.value, f.key)) srv.dhcp.interfaces.push_back(name);
}

const table<server_settings>& server_keys() {
    static const table<server_settings> t{{
        ipv4("address", &server_settings::address, "the address clients are told to fetch boot files from")
            .required(),
        ipv4("listen", &server_settings::listen, "the address the TFTP, HTTP and FTP servers bind to"),
        custom("interfaces", "names", read_interfaces, "interfaces DHCP listens on").shows("`[]`"),
        path("state_dir", &server_settings::state_dir, "leases, host state and the control socket"),
        text("user", &server_settings::user, "drop root privileges to this user after binding"),
        path("templates", &server_settings::templates, "a site template directory over the shipped templates"),
        section("log", read_server_part<&server_settings::log, log_keys>, describe_part<log_keys>, "logging"),
        section("dhcp", read_server_part<&server_settings::dhcp, dhcp_keys>, describe_part<dhcp_keys>, "DHCP"),
        section("tftp", read_tftp, describe_part<tftp_keys>, "TFTP"),
        section("http", read_server_part<&server_settings::http, http_keys>, describe_part<http_keys>, "HTTP"),
        section("ftp", read_server_part<&server_settings::ftp, ftp_keys>, describe_part<ftp_keys>, "FTP"),
        section("metrics", read_server_part<&server_settings::metrics, metrics_keys>, describe_part<metrics_keys>,
                "Prometheus metrics"),
        section("dashboard", read_server_part<&server_settings::dashboard, dashboard_keys>,
                describe_part<dashboard_keys>, "the live web dashboard"),
        section("trace", read_server_part<&server_settings::trace, trace_keys>, describe_part<trace_keys>,
                "the per-host boot trace"),
        section("store", read_store, describe_part<store_keys>,
                "where leases live: SQLite, or PostgreSQL shared by several instances"),
    }};
    return t;
}

void read_server(context& c, const YAML::Node& node, site& s) {
    if (!node.IsDefined() || !node.IsMap()) {
        if (!absent(node)) c.error(node, "server must be a mapping of key: value");
        c.error(c.at(node), "the 'server' section is missing; it needs at least 'address'");
        return;
    }
    auto& srv = s.server;
    const auto p = read_section(c, node, server_keys(), srv, "server");
    if (p.valid<&server_settings::templates>() && c.options.check_files && !stdfs::is_directory(srv.templates))
        c.error(p.at<&server_settings::templates>(), "template directory '" + srv.templates + "' does not exist");
    if (srv.http.enabled && srv.ftp.enabled && srv.http.port == srv.ftp.port && srv.http.port != 0)
        c.error(node, "http and ftp cannot share TCP port " + std::to_string(srv.http.port));
    if (srv.dhcp.enabled && srv.tftp.enabled && srv.dhcp.port == srv.tftp.port && srv.tftp.port != 0)
        c.error(node, "dhcp and tftp cannot share UDP port " + std::to_string(srv.tftp.port));
}

// ---------------------------------------------------------------- subnets

const table<subnet>& subnet_keys() {
    static const table<subnet> t{{
        cidr("network", &subnet::network, 30, "the network, for example 192.168.1.0/24").required(),
        ranges("ranges", &subnet::ranges, "dynamic pools, first-last, inside the network"),
        ipv4s("routers", &subnet::routers, "DHCP option 3"),
        ipv4s("dns", &subnet::dns, "DHCP option 6"),
        text("domain", &subnet::domain, "DHCP option 15; also makes {{fqdn}} in templates"),
        duration("lease_time", &subnet::lease_time, 1, "the lease time clients get"),
        duration("max_lease_time", &subnet::max_lease_time, 1, "the longest lease a client may ask for"),
        ipv4("next_server", &subnet::next_server, "the boot server for this subnet").shows("`server.address`"),
        flag("authoritative", &subnet::authoritative, "NAK requests for addresses that are not this server's to give"),
        flag("relay_only", &subnet::relay_only, "only reached through a relay agent, never on a local interface"),
    }};
    return t;
}

struct seen_range {
    wire::ipv4_range range;
    source_location where;
};

// A subnet's ranges against its network and every range before them; the
// ones that fail stay out of the model.
void check_ranges(context& c, const parsed<subnet>& p, subnet& sn, bool net_ok, std::vector<seen_range>& all) {
    sn.ranges.clear();
    for (const auto& rnode : scalar_items(p.at<&subnet::ranges>())) {
        const auto text = rnode.Scalar();
        const auto r = forward_range(text);
        if (!r) continue;  // already reported
        if (net_ok && (!sn.network.contains(r->first) || !sn.network.contains(r->last))) {
            c.error(rnode, "range " + text + " is not inside subnet " + sn.network.to_string());
            continue;
        }
        if (net_ok && (r->contains(sn.network.network()) || r->contains(sn.network.broadcast()))) {
            c.error(rnode, "range " + text + " includes the network or broadcast address of " + sn.network.to_string());
            continue;
        }
        for (const auto& other : all)
            if (other.range.overlaps(*r))
                c.error(rnode, "range " + text + " overlaps range " + other.range.to_string() + " (line " +
                                   std::to_string(other.where.line) + ")");
        all.push_back({*r, c.at(rnode)});
        sn.ranges.push_back(*r);
    }
}

void read_subnets(context& c, const YAML::Node& node, site& s) {
    if (absent(node)) return;
    if (!node.IsSequence()) {
        c.error(node, "'subnets' must be a list");
        return;
    }
    std::vector<seen_range> all_ranges;
    for (const auto& item : node) {
        subnet sn;
        sn.where = c.at(item);
        const auto p = read_section(c, item, subnet_keys(), sn, "subnet");
        if (!p.present) continue;
        const bool net_ok = p.valid<&subnet::network>();
        if (net_ok)
            for (const auto& other : s.subnets)
                if (other.network.overlaps(sn.network))
                    c.error(p.at<&subnet::network>(), "subnet " + sn.network.to_string() + " overlaps subnet " +
                                                          other.network.to_string() + " (line " +
                                                          std::to_string(other.where.line) + ")");
        check_ranges(c, p, sn, net_ok, all_ranges);
        if (net_ok)
            for (const auto& r : sn.routers)
                if (!sn.network.contains(r))
                    c.warning(p.at<&subnet::routers>(),
                              "router " + r.to_string() + " is outside subnet " + sn.network.to_string());
        if (sn.max_lease_time < sn.lease_time)
            c.error(p.where<&subnet::max_lease_time>(), p.name<&subnet::max_lease_time>() + " is shorter than " +
                                                            p.name<&subnet::lease_time>());
        s.subnets.push_back(std::move(sn));
    }
}

// ---------------------------------------------------------------- boot

// iPXE chaining is on by default when pxed serves HTTP: without it, iPXE
// (QEMU's and most modern NIC ROMs) would loop fetching pxelinux.0 again.
const std::string default_ipxe_url = "http://{{server}}:{{http_port}}/ipxe/{{mac}}";

void read_ipxe(context& c, const field_node& f, boot_files& b) {
    if (!f.value.IsDefined()) return;
    if (f.value.IsNull()) {
        b.ipxe.clear();
    } else if (f.value.IsScalar()) {
        const auto& v = f.value.Scalar();
        b.ipxe = (v == "off" || v == "false" || v == "no") ? std::string{} : v;
    } else {
        c.error(f.value, "'" + std::string(f.key) + "' must be a URL or off");
    }
}

// UEFI HTTP Boot: the boot file of the client's architecture from pxed's
// HTTP server, which serves the TFTP root at / (docs/boot-paths.md).
const std::string default_uefi_http_url = "{{http_url}}/{{boot_file}}";

void read_uefi_http(context& c, const field_node& f, boot_files& b) {
    if (!f.value.IsDefined()) return;
    if (f.value.IsNull()) {
        b.uefi_http.clear();
    } else if (f.value.IsScalar()) {
        const auto& v = f.value.Scalar();
        b.uefi_http = (v == "off" || v == "false" || v == "no") ? std::string{} : v;
    } else {
        c.error(f.value, "'" + std::string(f.key) + "' must be a URL or off");
    }
}

// A UEFI HTTP Boot URL as written (boot.uefi-http, a profile's or a host's
// uefi-http): what the firmware's HTTP client loads (UEFI 2.5 section 24.7),
// a template; `off` in a profile or host turns HTTP Boot off for it.
template <typename Where>
void check_uefi_http(context& c, const Where& at, const std::string& url, bool http_on, const std::string& what) {
    if (url == "off") return;
    const bool ours = url.find("{{http_url}}") != std::string::npos || url.find("{{http_port}}") != std::string::npos;
    if (!wire::starts_with(url, "http://") && !wire::starts_with(url, "https://") && !wire::starts_with(url, "{{http_url}}"))
        c.error(at, what + " '" + url + "' is not an http:// or https:// URL (UEFI HTTP Boot firmware loads its boot "
                                        "file from a URL), nor off");
    else if (ours && !http_on)
        c.error(at, what + " points at pxed's HTTP server, which is disabled; enable server.http or give the URL of "
                           "another server");
}

const choice_words grub_command_words{{"linuxefi", 0, "EL7 GRUB"}, {"linux", 1, "upstream GRUB"}};

// boot.secure_boot: on takes the first pair that is installed.
struct signed_loaders {
    const char* shim;
    const char* grub;
    const char* packages;
};
const signed_loaders secure_boot_defaults[] = {
    {"/usr/lib/shim/shimx64.efi.signed", "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed",
     "Debian's shim-signed and grub-efi-amd64-signed"},
    {"/boot/efi/EFI/centos/shimx64.efi", "/boot/efi/EFI/centos/grubx64.efi", "CentOS 7's shim-x64 and grub2-efi-x64"},
};

bool is_file(const std::string& p) {
    std::error_code ec;
    return stdfs::is_regular_file(p, ec);
}

// The pair `on` means: the first one installed, or (not looking at files)
// Debian's; nullptr when checking files and neither is there.
const signed_loaders* installed_signed_loaders(const context& c) {
    for (const auto& d : secure_boot_defaults)
        if (!c.options.check_files || (is_file(d.shim) && is_file(d.grub))) return &d;
    return nullptr;
}

std::string secure_boot_missing() {
    std::string s;
    for (const auto& d : secure_boot_defaults) {
        if (!s.empty()) s += "; ";
        s += std::string(d.packages) + ": ";
        std::string gone;
        for (const char* f : {d.shim, d.grub})
            if (!is_file(f)) gone += (gone.empty() ? "" : " and ") + std::string(f);
        s += gone + " missing";
    }
    return s;
}

void read_secure_boot(context& c, const field_node& f, boot_files& b) {
    if (!f.value.IsDefined() || f.value.IsNull()) return;
    auto& sb = b.secure_boot;
    sb.where = c.at(f.value);
    const auto wanted = [&]() -> const signed_loaders* {
        if (const auto* d = installed_signed_loaders(c)) return d;
        c.error(f.value, "secure_boot: on needs a signed shim and GRUB, and none is installed (" + secure_boot_missing() +
                             "); install them, or name the files: secure_boot: {shim: PATH, grub: PATH}");
        return nullptr;
    };
    if (f.value.IsScalar()) {
        const auto& v = f.value.Scalar();
        if (v == "off" || v == "false" || v == "no") return;
        if (v != "on" && v != "true" && v != "yes") {
            c.error(f.value, "'secure_boot' must be off, on or {shim: PATH, grub: PATH}, not '" + v + "'");
            return;
        }
        if (const auto* d = wanted()) sb.shim = d->shim, sb.grub = d->grub;
        return;
    }
    map_reader m(c, f.value, "boot.secure_boot");
    if (!m.present()) return;
    // A file left out is the one `on` would take.
    std::string shim, grub;
    const auto read_file = [&](const char* key, std::string& out) {
        const auto node = m.get(key);
        if (!node.IsDefined()) return true;
        std::string v;
        if (!scalar(c, node, key, v)) return false;
        if (v.empty()) {
            c.error(node, std::string("secure_boot: '") + key + "' is empty: give the path of the signed file");
            return false;
        }
        out = c.resolve_path(v);
        if (!c.options.check_files) return true;
        std::error_code ec;
        if (!stdfs::exists(out, ec)) {
            c.error(node, std::string("secure_boot: ") + key + " '" + out + "' does not exist");
            return false;
        }
        if (!stdfs::is_regular_file(out, ec)) {
            c.error(node, std::string("secure_boot: ") + key + " '" + out + "' is not a regular file");
            return false;
        }
        return true;
    };
    const bool shim_ok = read_file("shim", shim);
    const bool grub_ok = read_file("grub", grub);
    m.finish();
    if (!shim_ok || !grub_ok) return;
    if (shim.empty() || grub.empty()) {
        const auto* d = wanted();
        if (!d) return;
        if (shim.empty()) shim = d->shim;
        if (grub.empty()) grub = d->grub;
    }
    sb.shim = std::move(shim);
    sb.grub = std::move(grub);
}

const table<boot_files>& boot_keys() {
    static const std::string ipxe_default = code(default_ipxe_url) + " when HTTP is on";
    static const std::string uefi_http_default = code(default_uefi_http_url) + " when HTTP is on";
    static const table<boot_files> t{{
        text("bios", &boot_files::bios, "boot file of BIOS PXE clients"),
        text("uefi-x64", &boot_files::uefi_x64, "boot file of UEFI x86-64 clients")
            .shows("`grubx64.efi`; `shimx64.efi` with `secure_boot`"),
        text("uefi-ia32", &boot_files::uefi_ia32, "boot file of UEFI 32-bit clients"),
        text("uefi-arm64", &boot_files::uefi_arm64, "boot file of UEFI ARM64 clients"),
        custom("ipxe", "URL or `off`", read_ipxe, "the URL iPXE clients chain to").shows(ipxe_default.c_str()),
        custom("uefi-http", "URL or `off`", read_uefi_http,
               "the URL UEFI HTTP Boot clients load, unless their profile or host gives one")
            .shows(uefi_http_default.c_str()),
        text("grub_dir", &boot_files::grub_dir, "where GRUB looks for grub.cfg, relative to the TFTP root")
            .shows("TFTP root"),
        choice("grub_commands", &boot_files::grub_linux, grub_command_words,
               "the GRUB commands that load the kernel and initrd"),
        custom("secure_boot", "`off`, `on` or {shim: PATH, grub: PATH}", read_secure_boot,
               "serve a signed shim at uefi-x64 (default shimx64.efi) and its signed GRUB as grubx64.efi beside it")
            .shows("`off`"),
    }};
    return t;
}

template <auto M>
void warn_if_not_in_root(context& c, const parsed<boot_files>& p, const site& s) {
    const auto& file = s.boot.*M;
    if (!file.empty() && p.given<M>() && !stdfs::exists(stdfs::path(s.server.tftp.root) / file))
        c.warning(p.at<M>(), "boot file '" + file + "' is not in the TFTP root yet; " + p.template name<M>() +
                                 " clients will fail to boot");
}

// Secure Boot: shim at uefi-x64 (shimx64.efi unless named), GRUB as
// grubx64.efi beside it, both served from their files by pxed itself. A real
// file of the TFTP root at either name is no longer served: said, not hidden.
void check_secure_boot(context& c, const parsed<boot_files>& p, site& s) {
    auto& b = s.boot;
    if (!p.given<&boot_files::uefi_x64>()) b.uefi_x64 = "shimx64.efi";
    const auto at = b.secure_boot.where;
    if (b.uefi_x64.empty() || b.uefi_x64.find("://") != std::string::npos || b.uefi_x64.find("..") != std::string::npos ||
        b.uefi_x64.back() == '/') {
        c.error(p.where<&boot_files::uefi_x64>(), "with boot.secure_boot, uefi-x64 is the name pxed serves shim at, a "
                                               "file name in the TFTP root, not '" + b.uefi_x64 + "'");
        return;
    }
    while (b.uefi_x64.front() == '/') b.uefi_x64.erase(0, 1);
    const auto grub = b.secure_boot_grub();
    if (b.uefi_x64 == grub) {
        c.error(p.where<&boot_files::uefi_x64>(), "uefi-x64 '" + b.uefi_x64 + "' is the name shim loads its GRUB by; with "
                                               "boot.secure_boot, shim needs another (the default is shimx64.efi)");
        return;
    }
    if (!c.options.check_files || !s.server.tftp.enabled || !stdfs::is_directory(s.server.tftp.root)) return;
    for (const auto& [name, file] : {std::pair{b.uefi_x64, b.secure_boot.shim}, std::pair{grub, b.secure_boot.grub}})
        if (is_file((stdfs::path(s.server.tftp.root) / name).string()))
            c.warning(at, "the TFTP root's " + name + " is not served: boot.secure_boot serves " + file +
                              " under that name (TFTP and HTTP); remove the file from the root to silence this");
}

void read_boot(context& c, const YAML::Node& node, site& s) {
    auto& b = s.boot;
    if (s.server.http.enabled) b.ipxe = default_ipxe_url;
    if (s.server.http.enabled) b.uefi_http = default_uefi_http_url;
    const auto p = read_section(c, node, boot_keys(), b, "boot");
    if (!absent(node) && node.IsMap() && !b.uefi_http.empty())
        for (const auto& kv : node)
            if (kv.first.Scalar() == "uefi-http" && kv.second.IsScalar())
                check_uefi_http(c, kv.second, b.uefi_http, s.server.http.enabled, "boot.uefi-http");
    b.grub_initrd = b.grub_linux == "linux" ? "initrd" : "initrdefi";
    while (!b.grub_dir.empty() && b.grub_dir.back() == '/') b.grub_dir.pop_back();
    while (!b.grub_dir.empty() && b.grub_dir.front() == '/') b.grub_dir.erase(0, 1);
    if (b.grub_dir.find("..") != std::string::npos)
        c.error(p.at<&boot_files::grub_dir>(), "grub_dir must stay inside the TFTP root");
    if (!b.ipxe.empty() && !s.server.http.enabled && b.ipxe.find("{{http_port}}") != std::string::npos)
        c.error(p.node, "iPXE chaining points at pxed's HTTP server, which is disabled; enable server.http or set "
                        "boot.ipxe: off");
    if (b.secure_boot.on()) check_secure_boot(c, p, s);
    if (c.options.check_files && s.server.tftp.enabled && stdfs::is_directory(s.server.tftp.root)) {
        warn_if_not_in_root<&boot_files::bios>(c, p, s);
        if (!b.secure_boot.on()) warn_if_not_in_root<&boot_files::uefi_x64>(c, p, s);
        warn_if_not_in_root<&boot_files::uefi_ia32>(c, p, s);
        warn_if_not_in_root<&boot_files::uefi_arm64>(c, p, s);
    }
}

// ---------------------------------------------------------------- trees

const choice_words tree_protocols{word("http", tree_protocol::http), word("ftp", tree_protocol::ftp)};

const table<tree>& tree_keys() {
    static const table<tree> t{{
        path("path", &tree::path, "the directory holding the install tree").required(),
        url_path("url", &tree::url, "the path where HTTP and FTP serve it (e.g. /pub/centos/7/x86_64)").required(),
        choice("protocol", enum_field<&tree::protocol>(), tree_protocols, "the scheme of {{tree_url}} in templates"),
    }};
    return t;
}

void read_trees(context& c, const YAML::Node& node, site& s) {
    map_reader m(c, node, "trees");
    if (!m.present()) return;
    std::map<std::string, std::string> urls;  // url -> tree name
    for (const auto& kv : m.node()) {
        const auto name = kv.first.Scalar();
        m.get(name);
        tree tr;
        tr.name = name;
        tr.where = c.at(kv.first);
        const auto p = read_section(c, kv.second, tree_keys(), tr, "tree '" + name + "'", kv.first);
        if (p.valid<&tree::path>() && c.options.check_files && !stdfs::is_directory(tr.path))
            c.error(p.at<&tree::path>(),
                    "tree '" + name + "': directory '" + tr.path + "' does not exist (is the DVD mounted?)");
        if (p.valid<&tree::url>()) {
            if (const auto it = urls.find(tr.url); it != urls.end())
                c.error(p.at<&tree::url>(), "tree url " + tr.url + " is already used by tree '" + it->second + "'");
            urls.emplace(tr.url, name);
        }
        const auto& proto = p.given<&tree::protocol>() ? p.at<&tree::protocol>() : kv.first;
        if (tr.protocol == tree_protocol::ftp && !s.server.ftp.enabled)
            c.error(proto, "tree '" + name + "' is served over FTP, but server.ftp is disabled");
        if (tr.protocol == tree_protocol::http && !s.server.http.enabled)
            c.error(proto, "tree '" + name + "' is served over HTTP, but server.http is disabled");
        s.trees.emplace(name, std::move(tr));
    }
}

// ---------------------------------------------------------------- profiles

secrets read_secrets(context& c, const field_node& f);

template <typename S>
void read_vars_into(context& c, const field_node& f, S& out) {
    out.vars = read_vars(c, f);
}
void read_profile_vars(context& c, const field_node& f, profile& p) {
    p.vars = read_vars(c, f);
    warn_secret_looking_vars(c, f, p.vars);
}
template <typename S>
void read_secrets_into(context& c, const field_node& f, S& out) {
    out.secret_values = read_secrets(c, f);
}

// GRUB's own names ($grub_cpu); the notes answer the other spellings in
// the error (Debian says amd64, EL and the kernel say aarch64).
const choice_words arch_words{word("x86_64", cpu_arch::x86_64, "x86-64, amd64"),
                              word("arm64", cpu_arch::arm64, "aarch64")};

const table<profile>& profile_keys() {
    static const table<profile> t{{
        text("label", &profile::label, "menu text; defaults to the profile's name (not inherited)"),
        text("inherits", &profile::inherits, "another profile, whose keys this one takes unless it gives them"),
        text("tree", &profile::tree, "the install tree, a name from trees"),
        text("kernel", &profile::kernel, "the kernel, a path inside the TFTP root or tree:PATH inside the tree")
            .shows("the tree's"),
        text("initrd", &profile::initrd, "the initrd, a path inside the TFTP root or tree:PATH inside the tree")
            .shows("the tree's"),
        text("append", &profile::append, "kernel arguments, a template"),
        text("kickstart", &profile::kickstart, "kickstart template, a file under kickstart/"),
        choice("arch", enum_field<&profile::arch>(), arch_words,
               "the CPU its kernel is for: its GRUB commands, and which firmware's menus list it"),
        custom("vars", "mapping", read_profile_vars, "template variables; no secrets here"),
        custom("secrets", "mapping", read_secrets_into<profile>, "secret values by name, or {file: /path}"),
        custom("lifecycle", "mapping", read_lifecycle_into<profile>, "the lifecycle policy of this profile's hosts"),
        text("uefi-http", &profile::uefi_http, "the URL its UEFI HTTP Boot hosts load, or off").shows("`boot.uefi-http`"),
    }};
    return t;
}

// A profile as written, before inheritance is applied.
struct raw_profile {
    profile p;
    parsed<profile> keys;
    YAML::Node key_node;
};

// The node of the nearest profile in the chain that gives field M.
template <auto M>
YAML::Node where_of(const std::vector<const raw_profile*>& chain, const raw_profile& rp) {
    for (const auto* r : chain)
        if (r->keys.template given<M>()) return r->keys.template at<M>();
    return rp.key_node;
}

// From the root ancestor down, each level overrides what it gives.
profile merge_chain(const std::vector<const raw_profile*>& chain) {
    profile merged;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        const auto& src = (*it)->p;
        const auto& given = (*it)->keys;
        for (std::size_t i = 0; i < given.nodes.size(); ++i)
            if (const auto* f = std::get_if<std::string profile::*>(&given.keys->keys[i].field); f && !absent(given.nodes[i]))
                merged.**f = src.**f;
        if (given.template given<&profile::arch>()) merged.arch = src.arch;
        for (const auto& [k, v] : src.vars) merged.vars[k] = v;
        for (const auto& [k, v] : src.secret_values) merged.secret_values[k] = v;
        const auto& l = src.lifecycle;
        if (l.new_hosts) merged.lifecycle.new_hosts = l.new_hosts;
        if (l.install_done) merged.lifecycle.install_done = l.install_done;
        if (l.install_timeout) merged.lifecycle.install_timeout = l.install_timeout;
        if (l.on_timeout) merged.lifecycle.on_timeout = l.on_timeout;
        if (l.when_installed) merged.lifecycle.when_installed = l.when_installed;
    }
    return merged;
}

// `kernel: tree:PATH`: a file inside the profile's tree, served from the
// tree's own mount (its url in the one namespace TFTP, HTTP and FTP share),
// so nothing is copied and it cannot disagree with the tree.
constexpr std::string_view in_tree_prefix = "tree:";

// The kernel or initrd of a profile with a tree that leaves it out, or
// names it with tree:PATH: rewritten to the tree's mount. Returns whether
// the file is the tree's.
template <auto M>
bool take_file_from_tree(context& c, const site& s, profile& merged, const std::vector<const raw_profile*>& chain,
                         const raw_profile& rp, const std::optional<wire::result<install_tree_info, std::string>>& probed) {
    auto& file = merged.*M;
    const auto field = rp.keys.template name<M>();
    const bool named = wire::starts_with(file, in_tree_prefix);
    if (!named && !file.empty()) return false;
    const tree* t = merged.tree.empty() ? nullptr : s.find_tree(merged.tree);
    if (!t) {
        if (named)
            c.error(where_of<M>(chain, rp), "profile '" + merged.name + "': " + field + " '" + file +
                                                "' is inside a tree, but the profile has no tree: add tree: NAME");
        else if (merged.tree.empty())
            c.error(rp.key_node, "profile '" + merged.name + "' needs '" + field +
                                     "' (a path in the TFTP root), or a tree: to take it from");
        return false;  // an unknown tree is reported on its own line
    }
    // A tree whose url was refused has none; its own error says why.
    if (t->url.empty()) return false;
    const auto mount = t->url.substr(1) + "/";
    if (named) {
        const auto inside = file.substr(in_tree_prefix.size());
        if (inside.empty() || inside.find("..") != std::string::npos || inside[0] == '/') {
            c.error(where_of<M>(chain, rp), field + " '" + file + "' must be tree: and a relative path inside the tree");
            return false;
        }
        if (c.options.check_files && stdfs::is_directory(t->path) && !stdfs::is_regular_file(stdfs::path(t->path) / inside))
            c.error(where_of<M>(chain, rp), "profile '" + merged.name + "': " + field + " '" + file + "' is not in tree '" +
                                                t->name + "' (no " + t->path + "/" + inside + ")");
        file = mount + inside;
        return true;
    }
    // Left out: the tree says where it keeps it.
    const std::string want = M == &profile::kernel ? "kernel" : "initrd";
    if (!probed) {
        // `pxed render` on a machine without the tree (read_profiles warns).
        file = mount + (want == "kernel" ? conventional_kernel("el") : std::string("images/pxeboot/initrd.img"));
        return true;
    }
    // When the kernel could not be found either, that error said it all.
    if (want == "initrd" && merged.kernel.empty()) return false;
    if (!*probed) {
        c.error(rp.key_node, "profile '" + merged.name + "' gives no " + field +
                                 (want == "kernel" && merged.initrd.empty() ? " or initrd" : "") +
                                 " and takes it from tree '" + t->name + "', but " + probed->error() + "; fix trees." +
                                 t->name + ".path or add " + field + ":");
        return false;
    }
    const auto& info = probed->value();
    const auto& found = want == "kernel" ? info.kernel : info.initrd;
    if (found.empty() || !stdfs::is_regular_file(stdfs::path(t->path) / found)) {
        const auto where = found.empty() ? (info.evidence + " names no " + want + " and there is no " +
                                            (want == "kernel" ? conventional_kernel(info.family) : std::string("initrd")))
                                         : (info.evidence + " names " + found + " but it is not there");
        c.error(rp.key_node, "profile '" + merged.name + "' gives no " + field + " and tree '" + t->name + "' (" +
                                 t->path + ") has none: " + where + "; add " + field +
                                 ": (a path in the TFTP root or tree:PATH)");
        return false;
    }
    file = mount + found;
    return true;
}

template <auto M>
void check_profile_file(context& c, const site& s, const profile& merged, const std::vector<const raw_profile*>& chain,
                        const raw_profile& rp, bool from_tree) {
    const auto& file = merged.*M;
    const auto field = rp.keys.template name<M>();
    if (file.empty() || from_tree) return;  // take_file_from_tree said why, or checked it
    if (file.find("..") != std::string::npos || file[0] == '/') {
        c.error(where_of<M>(chain, rp), field + " '" + file + "' must be a relative path inside the TFTP root");
        return;
    }
    if (c.options.check_files && s.server.tftp.enabled && stdfs::is_directory(s.server.tftp.root) &&
        !stdfs::is_regular_file(stdfs::path(s.server.tftp.root) / file))
        c.error(where_of<M>(chain, rp), "profile '" + merged.name + "': " + field + " '" + file +
                                            "' is not in the TFTP root " + s.server.tftp.root);
}

// Each profile's chain of ancestors, itself first; empty when the chain is
// broken (an unknown parent or a loop, reported here).
std::vector<const raw_profile*> ancestry(context& c, const std::map<std::string, raw_profile>& raw, const std::string& name,
                                         const raw_profile& rp) {
    std::vector<const raw_profile*> chain{&rp};
    while (!chain.back()->p.inherits.empty()) {
        const auto& parent_name = chain.back()->p.inherits;
        const auto it = raw.find(parent_name);
        const auto& inherits = rp.keys.at<&profile::inherits>();
        if (it == raw.end()) {
            std::vector<std::string> names;
            for (const auto& r : raw) names.push_back(r.first);
            if (chain.size() == 1)
                c.error(inherits, "profile '" + name + "' inherits unknown profile '" + parent_name + "'" +
                                      suggestion(parent_name, names));
            return {};
        }
        if (std::find(chain.begin(), chain.end(), &it->second) != chain.end()) {
            std::string loop = name;
            for (std::size_t i = 1; i < chain.size(); ++i) loop += " -> " + chain[i]->p.name;
            c.error(inherits, "inheritance loop: " + loop + " -> " + parent_name);
            return {};
        }
        chain.push_back(&it->second);
    }
    return chain;
}

void read_profiles(context& c, const YAML::Node& node, site& s) {
    map_reader m(c, node, "profiles");
    if (!m.present()) return;
    std::map<std::string, raw_profile> raw;
    for (const auto& kv : m.node()) {
        const auto name = kv.first.Scalar();
        m.get(name);
        if (name == local_entry) {
            c.error(kv.first, "'local' is reserved for the boot-from-disk menu entry; rename this profile");
            continue;
        }
        profile p;
        p.name = name;
        p.where = c.at(kv.first);
        auto keys = read_section(c, kv.second, profile_keys(), p, "profile '" + name + "'");
        if (keys.valid<&profile::uefi_http>())
            check_uefi_http(c, keys.at<&profile::uefi_http>(), p.uefi_http, s.server.http.enabled,
                            "profile '" + name + "': uefi-http");
        raw.emplace(name, raw_profile{std::move(p), std::move(keys), kv.first});
    }

    for (const auto& [name, rp] : raw) {
        const auto chain = ancestry(c, raw, name, rp);
        if (chain.empty()) continue;
        auto merged = merge_chain(chain);
        merged.name = name;
        merged.where = rp.p.where;
        merged.inherits = rp.p.inherits;
        // A label is what a person reads in the menu: an inherited one would
        // show two entries with the same text, so it defaults to the name.
        merged.label = rp.p.label.empty() ? name : rp.p.label;
        if (!merged.tree.empty() && !s.find_tree(merged.tree)) {
            std::vector<std::string> names;
            for (const auto& t : s.trees) names.push_back(t.first);
            c.error(where_of<&profile::tree>(chain, rp),
                    "profile '" + name + "' uses unknown tree '" + merged.tree + "'" + suggestion(merged.tree, names));
        }
        // A tree is probed when a file is left out, and only where it is:
        // `pxed render` elsewhere shows EL's places (take_file_from_tree).
        std::optional<wire::result<install_tree_info, std::string>> probed;
        if (const auto* t = s.find_tree(merged.tree);
            t && (merged.kernel.empty() || merged.initrd.empty()) && stdfs::is_directory(t->path))
            probed = probe_install_tree(t->path);
        else if (t && c.options.check_files)
            probed = wire::result<install_tree_info, std::string>(std::string("its directory is missing"));
        else if (t && (merged.kernel.empty() || merged.initrd.empty()))
            c.warning(rp.key_node, "profile '" + name + "': tree '" + t->name + "' (" + t->path +
                                       ") is not on this machine, so its kernel and initrd are shown as "
                                       "images/pxeboot/vmlinuz and initrd.img, where EL trees keep them; pxed check "
                                       "where the tree is finds the real ones");
        merged.kernel_from_tree = take_file_from_tree<&profile::kernel>(c, s, merged, chain, rp, probed);
        merged.initrd_from_tree = take_file_from_tree<&profile::initrd>(c, s, merged, chain, rp, probed);
        check_profile_file<&profile::kernel>(c, s, merged, chain, rp, merged.kernel_from_tree);
        check_profile_file<&profile::initrd>(c, s, merged, chain, rp, merged.initrd_from_tree);
        s.profiles.emplace(name, std::move(merged));
    }
}

// ---------------------------------------------------------------- menu

const choice_words unknown_host_words{word("menu", unknown_policy::menu), word("local", unknown_policy::local),
                                      word("ignore", unknown_policy::ignore)};

const table<menu_settings>& menu_keys() {
    static const table<menu_settings> t{{
        text("title", &menu_settings::title, "the menu's title"),
        duration("timeout", &menu_settings::timeout, 0, "then the default entry boots"),
        text("default", &menu_settings::default_entry, "an entry name"),
        names("entries", &menu_settings::entries, "profile names and local, in menu order")
            .shows("every profile, then `local`"),
        choice("unknown_hosts", enum_field<&menu_settings::unknown_hosts>(), unknown_host_words,
               "what clients without a host entry get"),
        text("ui", &menu_settings::ui, "the pxelinux menu module"),
    }};
    return t;
}

void read_menu(context& c, const YAML::Node& node, site& s) {
    auto& menu = s.menu;
    const auto p = read_section(c, node, menu_keys(), menu, "menu");
    std::vector<std::string> names{local_entry};
    for (const auto& pr : s.profiles) names.push_back(pr.first);
    menu.entries.clear();
    if (p.given<&menu_settings::entries>()) {
        for (const auto& enode : scalar_items(p.at<&menu_settings::entries>())) {
            const auto e = enode.Scalar();
            if (e != local_entry && !s.find_profile(e))
                c.error(enode, "menu entry '" + e + "' is not a profile" + suggestion(e, names));
            else if (std::find(menu.entries.begin(), menu.entries.end(), e) != menu.entries.end())
                c.error(enode, "menu entry '" + e + "' is listed twice");
            else
                menu.entries.push_back(e);
        }
    } else {
        // Not given: every profile, then the local disk.
        for (const auto& pr : s.profiles) menu.entries.push_back(pr.first);
        menu.entries.push_back(local_entry);
    }
    const bool listed =
        std::find(menu.entries.begin(), menu.entries.end(), menu.default_entry) != menu.entries.end();
    if (p.valid<&menu_settings::default_entry>() && !listed)
        c.error(p.at<&menu_settings::default_entry>(), "menu default '" + menu.default_entry +
                                                           "' is not one of the menu entries (" + join(menu.entries) + ")");
    if (!p.given<&menu_settings::default_entry>() && !menu.entries.empty() && !listed)
        menu.default_entry = menu.entries.front();
}

// ---------------------------------------------------------------- hosts

const table<host>& host_keys() {
    static const table<host> t{{
        mac("mac", &host::mac, "the host's MAC address, 52:54:00:12:34:56").required(),
        hostname("hostname", &host::hostname, "the host's name (RFC 1123), unique"),
        ipv4("ip", &host::ip, "the host's reserved address, unique"),
        text("profile", &host::profile, "what to install; required while netboot is true"),
        flag("netboot", &host::netboot, "false: always boot from the local disk"),
        custom("vars", "mapping", read_vars_into<host>, "template variables over the profile's"),
        custom("secrets", "mapping", read_secrets_into<host>, "secrets over the profile's of the same name"),
        custom("lifecycle", "mapping", read_lifecycle_into<host>, "this host's lifecycle policy"),
        text("uefi-http", &host::uefi_http, "the URL it loads when it boots over UEFI HTTP Boot, or off")
            .shows("its profile's"),
    }};
    return t;
}

// What one host may not share with another, by the line that has it:
// hash maps, so that each host is checked in constant time.
struct taken {
    struct ip_hash {
        std::size_t operator()(const wire::ipv4_address& a) const { return std::hash<std::uint32_t>{}(a.value()); }
    };
    std::unordered_map<wire::mac_address, int> macs;
    std::unordered_map<wire::ipv4_address, int, ip_hash> ips;
    std::unordered_map<std::string, int> names;
};

// A host entry as read, by either path: per key of host_keys(), whether
// it was given, whether it was read without a complaint, and where.
struct host_read {
    struct key_state {
        bool given = false, clean = false;
        text_mark at;
    };
    static constexpr std::size_t max_keys = 16;
    std::array<key_state, max_keys> keys{};
    text_mark entry;
    std::string mac_text;  // as written ("" when it is not a scalar)

    // The index in host_keys() of the key that fills field M.
    template <auto M>
    static std::size_t index() {
        static const std::size_t i = [] {
            const auto& t = host_keys().keys;
            for (std::size_t n = 0; n < t.size(); ++n)
                if (const auto* f = std::get_if<decltype(M)>(&t[n].field); f && *f == M) return n;
            return t.size();
        }();
        return i;
    }
    template <auto M>
    const key_state& key() const {
        return keys[index<M>()];
    }
    template <auto M>
    bool valid() const {
        return key<M>().given && key<M>().clean;
    }
    template <auto M>
    static std::string name() {
        return host_keys().keys[index<M>()].meta.name;
    }
};

text_mark mark_of(const YAML::Node& n) {
    if (!n.IsDefined() || n.Mark().is_null()) return {};
    return {n.Mark().line + 1, n.Mark().column + 1};
}

void check_host_ip(context& c, const host_read& p, const host& h, const site& s, taken& t) {
    if (!p.valid<&host::ip>()) return;
    const auto& at = p.key<&host::ip>().at;
    const auto ip = *h.ip;
    // Without pxed's DHCP server the reservation only says which
    // address the host has (its documents go there, docs/security.md):
    // it need not be in a subnet, and may be pxed's own (the demo).
    const bool leases = s.server.dhcp.enabled && s.server.dhcp.mode == dhcp_mode::server;
    const auto* sn = s.find_subnet(ip);
    if (const auto it = t.ips.find(ip); it != t.ips.end())
        c.error(at, "IP " + ip.to_string() + " is already reserved for the host on line " + std::to_string(it->second));
    else if (!sn && leases)
        c.error(at, "reserved IP " + ip.to_string() + " is outside every subnet");
    else if (sn && (ip == sn->network.network() || ip == sn->network.broadcast()))
        c.error(at, "reserved IP " + ip.to_string() + " is the network or broadcast address of " + sn->network.to_string());
    else if (sn && sn->in_dynamic_range(ip))
        c.error(at, "reserved IP " + ip.to_string() + " is inside a dynamic range of " + sn->network.to_string() +
                        "; a dynamic client could be given it too");
    else if (ip == s.server.address && leases)
        c.error(at, "reserved IP " + ip.to_string() + " is pxed's own server.address");
    else
        t.ips.emplace(ip, h.where.line);
}

// Checks one host against the site and the hosts before it, and adds it
// when it has a MAC of its own.
void check_host(context& c, const host_read& p, host&& h, site& s, taken& t) {
    if (p.valid<&host::uefi_http>())
        check_uefi_http(c, p.key<&host::uefi_http>().at, h.uefi_http, s.server.http.enabled,
                        "host " + h.mac.to_string() + ": uefi-http");
    bool mac_ok = false;
    if (p.valid<&host::mac>()) {
        if (const auto it = t.macs.find(h.mac); it != t.macs.end()) {
            c.error(p.key<&host::mac>().at, "MAC " + h.mac.to_string() + " is already used by the host on line " +
                                                std::to_string(it->second));
        } else {
            t.macs.emplace(h.mac, h.where.line);
            mac_ok = true;
        }
    }
    if (p.valid<&host::hostname>()) {
        if (const auto it = t.names.find(h.hostname); it != t.names.end())
            c.error(p.key<&host::hostname>().at, "hostname '" + h.hostname + "' is already used by the host on line " +
                                                     std::to_string(it->second));
        else
            t.names.emplace(h.hostname, h.where.line);
    }
    check_host_ip(c, p, h, s, t);
    if (p.key<&host::profile>().given) {
        if (!s.find_profile(h.profile)) {
            std::vector<std::string> profile_names;
            for (const auto& pr : s.profiles) profile_names.push_back(pr.first);
            c.error(p.key<&host::profile>().at,
                    "host uses unknown profile '" + h.profile + "'" + suggestion(h.profile, profile_names));
        }
    } else if (h.netboot) {
        c.error(p.entry, "host " + p.mac_text + " has netboot: true but no '" + host_read::name<&host::profile>() +
                             "' to install");
    }
    if (mac_ok) {
        s.host_index.emplace(h.mac, s.hosts.size());
        s.hosts.push_back(std::move(h));
    }
}

// A host entry of yaml-cpp's tree.
void read_host(context& c, const YAML::Node& item, site& s, taken& t) {
    host h;
    h.where = c.at(item);
    const auto p = read_section(c, item, host_keys(), h, "host");
    host_read r;
    r.entry = mark_of(p.node);
    for (std::size_t i = 0; i < p.nodes.size() && i < host_read::max_keys; ++i)
        r.keys[i] = {!absent(p.nodes[i]), p.clean[i], mark_of(p.nodes[i])};
    const auto& m = p.nodes[host_read::index<&host::mac>()];
    if (m.IsScalar()) r.mac_text = m.Scalar();
    if (!p.present) {
        c.error(item, "each host must be a mapping with at least 'mac'");
        return;
    }
    check_host(c, r, std::move(h), s, t);
}

// The keys the fast path reads (host_scan.hpp): those whose value is one
// scalar checked by check_scalar. An entry with any other key (vars,
// secrets, lifecycle, or a typo) is read from yaml-cpp's tree.
template <typename F>
inline constexpr bool fast_field = std::is_same_v<F, std::string host::*> || std::is_same_v<F, bool host::*> ||
                                   std::is_same_v<F, std::optional<wire::ipv4_address> host::*> ||
                                   std::is_same_v<F, wire::mac_address host::*>;

bool fast_host_key(std::string_view name) {
    for (const auto& k : host_keys().keys)
        if (name == k.meta.name)
            return std::visit([](const auto& f) { return fast_field<std::decay_t<decltype(f)>>; }, k.field);
    return false;
}

detail::scan_rules fast_host_rules() {
    detail::scan_rules r;
    r.known = fast_host_key;
    r.required = "mac";  // the table's one required key (an entry without it is an error, said by the tree path)
    return r;
}

// A host entry of the fast path: what read_host does with a mapping of
// scalars, key by key in the table's order, with the same messages.
void read_fast_host(context& c, const detail::scanned_host& e, site& s, taken& t) {
    const auto& scan = *c.fast;
    host h;
    h.where = {c.file, static_cast<int>(e.line), e.column};
    host_read r;
    r.entry = {static_cast<int>(e.line), e.column};
    const auto& keys = host_keys().keys;
    std::string text;
    for (std::size_t i = 0; i < keys.size() && i < host_read::max_keys; ++i) {
        const auto& k = keys[i];
        const detail::scanned_pair* pair = nullptr;
        for (auto n = e.first; n < e.first + e.count; ++n)
            if (scan.key(scan.pairs[n]) == k.meta.name) pair = &scan.pairs[n];
        // Not given (or null): the field keeps its default, as a custom
        // reader leaves vars, secrets and lifecycle when their key is missing.
        if (!pair || pair->null) continue;
        const auto before = c.diags.size();
        const text_mark at{static_cast<int>(pair->line), pair->value_column};
        text.assign(scan.value(*pair));
        std::visit(
            [&](const auto& field) {
                if constexpr (fast_field<std::decay_t<decltype(field)>>) check_scalar(c, k.meta, text, at, h.*field);
            },
            k.field);
        r.keys[i] = {true, c.diags.size() == before, at};
        if (i == host_read::index<&host::mac>()) r.mac_text = text;
    }
    check_host(c, r, std::move(h), s, t);
}

void read_hosts(context& c, const YAML::Node& node, site& s) {
    const std::size_t fast = c.fast ? c.fast->hosts.size() : 0;
    if (absent(node) && fast == 0) return;
    if (!absent(node) && !node.IsSequence()) {
        c.error(node, "'hosts' must be a list");
        return;
    }
    taken t;
    const auto all = fast + (absent(node) ? 0 : node.size());
    t.macs.reserve(all);
    t.ips.reserve(all);
    t.names.reserve(all);
    s.hosts.reserve(all);
    s.host_index.reserve(all);
    // The two paths' entries in the file's order, so that "already used by
    // the host on line N" names the same host either way.
    std::size_t next = 0;
    const auto fast_before = [&](int line) {
        while (next < fast && static_cast<int>(c.fast->hosts[next].line) < line) read_fast_host(c, c.fast->hosts[next++], s, t);
    };
    if (!absent(node))
        for (const auto& item : node) {
            fast_before(item.Mark().line + 1);
            read_host(c, item, s, t);
        }
    fast_before(std::numeric_limits<int>::max());
}

// ---------------------------------------------------------------- the file

template <void (*Read)(context&, const YAML::Node&, site&)>
void read_top(context& c, const field_node& f, site& s) {
    Read(c, f.value, s);
}

void read_top_lifecycle(context& c, const field_node& f, site& s) {
    read_lifecycle(c, f.value, f.key).apply_to(s.lifecycle);
}

// Order matters: later sections refer to earlier ones.
const table<site>& top_keys() {
    static const table<site> t{{
        custom("server", "mapping", read_top<read_server>, "pxed's own addresses, servers and limits"),
        custom("subnets", "list", read_top<read_subnets>, "the DHCP subnets"),
        custom("boot", "mapping", read_top<read_boot>, "the boot file per client architecture"),
        custom("trees", "mapping", read_top<read_trees>, "install trees by name"),
        custom("profiles", "mapping", read_top<read_profiles>, "operating system profiles by name"),
        custom("menu", "mapping", read_top<read_menu>, "what clients without a host entry see"),
        custom("hosts", "list", read_top<read_hosts>, "the hosts pxed knows"),
        custom("lifecycle", "mapping", read_top_lifecycle, "when a host installs and how an install ends"),
        custom("access", "mapping", read_top<read_access>, "who gets a host's documents and the API"),
    }};
    return t;
}

// What no one section can see.
void check_site(context& c, const YAML::Node& root, const site& s) {
    if (s.access.host_documents == host_document_access::open)
        c.warning(s.access.where, "access.host_documents: open gives every host's boot config and kickstart "
                                  "(and their secrets) to anyone on the provisioning network who names them");
    if (!c.inline_secrets.empty() && world_readable(c.file))
        c.warning(source_location{c.file, 0, 0},
                  "site.yaml holds secrets and every user of this machine can read it; chmod o-r it, or move "
                  "the secrets into files ({file: ...})");
    if (s.server.dhcp.enabled && s.server.dhcp.relay_agents.empty())
        for (const auto& sn : s.subnets)
            if (sn.relay_only)
                c.warning(sn.where, "subnet " + sn.network.to_string() +
                                        " is relay_only but server.dhcp.relay_agents is empty: pxed answers no "
                                        "relayed request, so no client on it gets an address; list the relay agents");
    if (s.server.dhcp.enabled && s.server.dhcp.mode == dhcp_mode::server && s.subnets.empty())
        c.error(root, "DHCP runs in server mode but no 'subnets' are defined; add one or set server.dhcp.mode: proxy");
}

load_result load_document(const YAML::Node& root, context& c) {
    auto s = std::make_shared<site>();
    s->loaded_at = static_cast<std::int64_t>(std::time(nullptr));
    if (absent(root)) {
        c.error(source_location{c.file, 0, 0}, "the file is empty");
    } else if (!root.IsMap()) {
        c.error(root, "the top level must be a mapping of key: value");
    } else {
        read_section(c, root, top_keys(), *s, "the top level");
        check_site(c, root, *s);
    }
    load_result r;
    r.diagnostics = std::move(c.diags);
    if (!has_errors(r.diagnostics)) r.model = std::move(s);
    return r;
}

// ---------------------------------------------------------------- YAML syntax errors

// The collections open where yaml-cpp gave up, outermost first.
class open_collections : public YAML::EventHandler {
public:
    struct open {
        YAML::Mark mark;
        bool flow;
        char bracket;
    };
    std::vector<open> stack;

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value style) override {
        stack.push_back({m, style == YAML::EmitterStyle::Flow, '['});
    }
    void OnSequenceEnd() override { stack.pop_back(); }
    void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value style) override {
        stack.push_back({m, style == YAML::EmitterStyle::Flow, '{'});
    }
    void OnMapEnd() override { stack.pop_back(); }
};

// yaml-cpp reports a '[' or '{' left open at the token where it gave up,
// which is on a later line (past the end of the file when nothing follows):
// the place to fix is the bracket itself, so point there. Other syntax
// errors are reported where yaml-cpp saw them (its Mark is 0-based).
diagnostic syntax_error(const std::string& yaml, const std::string& file, const YAML::ParserException& e) {
    const source_location seen{file, e.mark.line + 1, e.mark.column + 1};
    diagnostic d{severity::error, seen, "YAML syntax: " + e.msg};
    if (e.msg != YAML::ErrorMsg::END_OF_MAP_FLOW && e.msg != YAML::ErrorMsg::END_OF_SEQ_FLOW) return d;
    std::istringstream in(yaml);
    YAML::Parser parser(in);
    open_collections h;
    try {
        while (parser.HandleNextDocument(h)) {
        }
    } catch (const YAML::Exception&) {
        // the same error again, with the collections still open
    }
    for (auto it = h.stack.rbegin(); it != h.stack.rend(); ++it) {
        if (!it->flow) continue;
        d.where = {file, it->mark.line + 1, it->mark.column + 1};
        d.message = std::string("YAML syntax: this '") + it->bracket + "' is never closed (" + e.msg + " at line " +
                    std::to_string(seen.line) + ", column " + std::to_string(seen.column) + ")";
        break;
    }
    return d;
}

}  // namespace

std::vector<section_doc> site_yaml_keys() {
    return {{"server", describe(server_keys())},    {"subnets", describe(subnet_keys())},
            {"boot", describe(boot_keys())},        {"trees", describe(tree_keys())},
            {"profiles", describe(profile_keys())}, {"menu", describe(menu_keys())},
            {"hosts", describe(host_keys())},       {"lifecycle", describe(lifecycle_keys())},
            {"access", describe(access_keys())}};
}

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

namespace {

std::string fnv1a_64(std::string_view text) {
    std::uint64_t h = 14695981039346656037ull;
    for (const char ch : text) {
        h ^= static_cast<unsigned char>(ch);
        h *= 1099511628211ull;
    }
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
    return out;
}

}  // namespace

std::string fingerprint(std::string text, const std::vector<secret_span>& spans) {
    // Masked where the value stands, never wherever its text occurs: a
    // search by value would let a guess be checked against the hash. The
    // value starts at its node (after a quote) or, for a block scalar, on
    // the lines after the indicator, each line indented: only quotes,
    // indicators and white space may come before each of its lines.
    const auto only_layout = [](std::string_view between) {
        return between.find_first_not_of(" \t\r\n\"'|>+-0123456789") == std::string_view::npos;
    };
    for (const auto& span : spans) {
        std::size_t cursor = span.offset, start = 0;
        const std::string& value = span.value;
        while (start < value.size()) {
            auto end = value.find('\n', start);
            if (end == std::string::npos) end = value.size();
            const std::string_view line = std::string_view(value).substr(start, end - start);
            start = end + 1;
            if (line.empty()) continue;
            const auto at = cursor <= text.size() ? text.find(line, cursor) : std::string::npos;
            if (at == std::string::npos || !only_layout(std::string_view(text).substr(cursor, at - cursor))) return {};
            // A fixed mark: not even the length is left to guess from.
            static constexpr std::string_view mark = "<secret>";
            text.replace(at, line.size(), mark);
            cursor = at + mark.size();
        }
    }
    return fnv1a_64(text);
}

load_result load_string(const std::string& yaml, const std::string& name, const std::string& base_dir,
                        const load_options& options) {
    context c;
    c.file = name;
    c.base_dir = base_dir;
    c.options = options;
    YAML::Node root;
    std::optional<detail::host_scan> scan;
    if (options.fast_hosts) scan = detail::scan_hosts(yaml, fast_host_rules());
    // Only when the scan took every entry: blanking some entries and not
    // others can change how yaml-cpp reads the ones left (a last line
    // without a colon is a key at the end of the text, an error before
    // another entry: found by tests/fuzz/inventory_hosts_fuzz.cpp).
    if (scan && scan->used && scan->left == 0) {
        try {
            root = YAML::Load(scan->rest);
            if (!detail::fits(root, *scan)) scan.reset();
        } catch (const YAML::Exception&) {
            scan.reset();  // said below, from the whole text
        }
    } else {
        scan.reset();
    }
    if (scan) {
        c.fast = &*scan;
    } else {
        try {
            root = YAML::Load(yaml);
        } catch (const YAML::ParserException& e) {
            c.diags.push_back(syntax_error(yaml, name, e));
            return load_result{nullptr, std::move(c.diags)};
        }
    }
    try {
        auto r = load_document(root, c);
        if (r.model) {
            const auto s = std::const_pointer_cast<site>(r.model);
            s->source_file = name;
            s->fingerprint = fingerprint(yaml, c.inline_secrets);
        }
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
    // Read straight into one string of the file's size: a stringstream's
    // buffer and its copy would hold a 10 MB inventory three times over.
    const std::string text = detail::read_whole(in);
    const auto abs = stdfs::absolute(path).lexically_normal();
    return load_string(text, path, abs.parent_path().string(), options);
}

}  // namespace pxed::inventory
