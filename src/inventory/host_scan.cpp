#include "host_scan.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <istream>
#include <optional>

namespace pxed::inventory::detail {
namespace {

using line_t = std::string_view;

std::size_t indent_of(line_t l) {
    std::size_t i = 0;
    while (i < l.size() && l[i] == ' ') ++i;
    return i;
}

bool blank_or_comment(line_t l) {
    const auto i = indent_of(l);
    return i == l.size() || l[i] == '#';
}

// "- " or "-" at the end of the line, at column `at`.
bool item_at(line_t l, std::size_t at) {
    return at < l.size() && l[at] == '-' && (at + 1 == l.size() || l[at + 1] == ' ');
}

bool key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// What may not start a plain scalar (YAML 1.2 section 7.3.3, minus the
// cases where '-', '?' and ':' may: those entries go to yaml-cpp).
bool indicator(char c) {
    return std::string_view("-?:,[]{}#&*!|>'\"%@`").find(c) != std::string_view::npos;
}

// What may appear inside a plain scalar taken here: what MACs, names,
// addresses, profile names, paths and URLs are written with. Anything
// else (YAML indicators mid-scalar, where yaml-cpp has quirks of its own:
// "00:?2" in a flow mapping is a syntax error there) leaves the entry to
// yaml-cpp; tests/fuzz/inventory_hosts_fuzz.cpp compares the two paths.
bool plain_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("-._/+=~%@ ").find(c) != std::string_view::npos;
}

bool null_word(std::string_view s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

struct span {
    std::size_t at = 0, len = 0;  // the text, within the line
    bool null = false;
    std::size_t mark = 0;  // where its node starts: a quoted one at its quote
};

// A scalar value starting at `p` (after "key: " and its spaces): in a
// block mapping it ends the line (or a " #" comment follows); in a flow
// mapping it ends at ',' or '}'. Returns where parsing goes on, or nothing
// when the value is not one of the simple shapes.
std::optional<std::size_t> value_at(line_t l, std::size_t p, bool flow, span& out) {
    const auto end_ok = [&](std::size_t q) -> std::optional<std::size_t> {
        while (q < l.size() && l[q] == ' ') ++q;
        if (flow) {
            if (q < l.size() && (l[q] == ',' || l[q] == '}')) return q;
            return std::nullopt;
        }
        if (q == l.size()) return q;
        if (l[q] == '#' && l[q - 1] == ' ') return l.size();
        return std::nullopt;
    };
    if (p == l.size() || (!flow && l[p] == '#') || (flow && (l[p] == ',' || l[p] == '}'))) {
        out = {p, 0, true, p};
        if (!flow) return l.size();
        return p;
    }
    const char q = l[p];
    if (q == '"' || q == '\'') {
        const auto close = l.find(q, p + 1);
        if (close == line_t::npos) return std::nullopt;
        const auto inside = l.substr(p + 1, close - p - 1);
        if (q == '"' && inside.find('\\') != line_t::npos) return std::nullopt;  // escapes: yaml-cpp decodes them
        if (q == '\'' && close + 1 < l.size() && l[close + 1] == '\'') return std::nullopt;  // '' is a quote
        out = {p + 1, inside.size(), false, p};
        return end_ok(close + 1);
    }
    if (indicator(q)) return std::nullopt;
    std::size_t e = p;
    while (e < l.size()) {
        const char c = l[e];
        if (c == ':' && (e + 1 == l.size() || l[e + 1] == ' ' || (flow && (l[e + 1] == ',' || l[e + 1] == '}'))))
            return std::nullopt;  // a key, or a mapping
        if (c == '#' && l[e - 1] == ' ') break;
        if (flow && (c == ',' || c == '}')) break;
        // ':' only between the characters of a MAC, a time or a URL.
        if (c == ':' ? !(plain_char(l[e + 1]) && l[e + 1] != ' ') : !plain_char(c)) return std::nullopt;
        ++e;
    }
    if (flow && e < l.size() && l[e] == '#') return std::nullopt;  // a comment inside {..}
    auto t = e;
    while (t > p && l[t - 1] == ' ') --t;
    const auto text = l.substr(p, t - p);
    out = {p, text.size(), null_word(text), p};
    return flow ? e : l.size();
}

// "key:" at p, followed by a space (or the end of a block line). Returns
// the position after the ':' and its spaces.
std::optional<std::size_t> key_at(line_t l, std::size_t p, bool flow, span& out) {
    auto e = p;
    while (e < l.size() && key_char(l[e])) ++e;
    if (e == p || l[p] == '-' || e == l.size() || l[e] != ':') return std::nullopt;
    out = {p, e - p, false, p};
    ++e;
    if (e < l.size() && l[e] != ' ') return std::nullopt;
    if (flow && e == l.size()) return std::nullopt;
    while (e < l.size() && l[e] == ' ') ++e;
    return e;
}

bool simple_line(line_t l) {
    if (l.size() >= 65000) return false;
    for (const char c : l)
        if (static_cast<unsigned char>(c) >= 0x80 || c == '\t' || c == '\r' || c == '\0') return false;
    return true;
}

class scanner {
public:
    scanner(const std::string& text, const scan_rules& rules, host_scan& out) : text_(text), rules_(rules), out_(out) {}

    // Reads one entry, lines [first, last); false leaves it to yaml-cpp.
    bool entry(std::size_t first, std::size_t last, std::size_t dash) {
        const auto pairs_before = out_.pairs.size();
        scanned_host h;
        h.first = static_cast<std::uint32_t>(pairs_before);
        if (!read_entry(first, last, dash, h) || !acceptable(h)) {
            out_.pairs.resize(pairs_before);
            return false;
        }
        out_.hosts.push_back(h);
        return true;
    }

    line_t line(std::size_t i) const {
        const auto b = out_.line_starts[i];
        auto e = i + 1 < out_.line_starts.size() ? out_.line_starts[i + 1] - 1 : text_.size();
        return std::string_view(text_).substr(b, e - b);
    }

private:
    bool add(std::size_t line, const span& k, const span& v) {
        if (v.len > 65000) return false;
        scanned_pair p;
        const auto base = out_.line_starts[line];
        p.key_at = static_cast<std::uint32_t>(base + k.at);
        p.key_len = static_cast<std::uint16_t>(k.len);
        p.value_at = static_cast<std::uint32_t>(base + v.at);
        p.value_len = static_cast<std::uint16_t>(v.len);
        p.line = static_cast<std::uint32_t>(line + 1);
        p.key_column = static_cast<std::uint16_t>(k.at + 1);
        p.value_column = static_cast<std::uint16_t>(v.mark + 1);
        p.null = v.null;
        out_.pairs.push_back(p);
        return true;
    }

    bool read_entry(std::size_t first, std::size_t last, std::size_t dash, scanned_host& h) {
        const auto l0 = line(first);
        if (!simple_line(l0)) return false;
        auto p = dash + 1;
        while (p < l0.size() && l0[p] == ' ') ++p;
        if (p < l0.size() && l0[p] == '{') {
            h.line = static_cast<std::uint32_t>(first + 1);
            h.column = static_cast<std::uint16_t>(p + 1);
            for (auto i = first + 1; i < last; ++i)
                if (!blank_or_comment(line(i))) return false;  // a flow mapping over several lines
            return flow_pairs(first, l0, p + 1);
        }
        std::size_t i = first, column = p;
        if (p == l0.size()) {  // "-" alone: the mapping starts on the next line
            i = first + 1;
            while (i < last && blank_or_comment(line(i))) ++i;
            if (i == last) return false;
            column = indent_of(line(i));
        } else if (l0[p] == '#') {
            return false;
        }
        h.line = static_cast<std::uint32_t>(i + 1);
        h.column = static_cast<std::uint16_t>(column + 1);
        for (; i < last; ++i) {
            const auto l = line(i);
            if (i != first && blank_or_comment(l)) continue;
            if (!simple_line(l) || (i != first && indent_of(l) != column)) return false;
            span k, v;
            const auto after_key = key_at(l, column, false, k);
            if (!after_key || !value_at(l, *after_key, false, v) || !add(i, k, v)) return false;
        }
        return true;
    }

    bool flow_pairs(std::size_t line_no, line_t l, std::size_t p) {
        while (p < l.size() && l[p] == ' ') ++p;
        if (p < l.size() && l[p] == '}') return tail_ok(l, p + 1);
        for (;;) {
            span k, v;
            const auto after_key = key_at(l, p, true, k);
            if (!after_key) return false;
            const auto after_value = value_at(l, *after_key, true, v);
            if (!after_value || !add(line_no, k, v)) return false;
            p = *after_value;
            if (p >= l.size()) return false;  // no closing '}' on the line
            if (l[p] == '}') return tail_ok(l, p + 1);
            ++p;  // ','
            while (p < l.size() && l[p] == ' ') ++p;
            if (p == l.size() || l[p] == '}') return false;  // a trailing comma
        }
    }

    static bool tail_ok(line_t l, std::size_t p) {
        const auto spaces = p;
        while (p < l.size() && l[p] == ' ') ++p;
        return p == l.size() || (l[p] == '#' && p > spaces);
    }

    bool acceptable(scanned_host& h) {
        const auto n = out_.pairs.size() - h.first;
        if (n == 0 || n > 255) return false;
        h.count = static_cast<std::uint8_t>(n);
        bool required = rules_.required == nullptr;
        for (auto i = h.first; i < out_.pairs.size(); ++i) {
            const auto& p = out_.pairs[i];
            const auto k = out_.key(p);
            if (rules_.known && !rules_.known(k)) return false;
            if (rules_.unique_keys)
                for (auto j = h.first; j < i; ++j)
                    if (out_.key(out_.pairs[j]) == k) return false;
            if (rules_.required && k == rules_.required && !p.null) required = true;
        }
        return required;
    }

    const std::string& text_;
    const scan_rules& rules_;
    host_scan& out_;
};

}  // namespace

bool fits(const YAML::Node& root, const host_scan& scan) {
    if (!root.IsMap()) return false;
    int seen = 0;
    for (const auto& kv : root) {
        if (!kv.first.IsScalar() || kv.first.Scalar() != "hosts") continue;
        ++seen;
        if (kv.first.Mark().line + 1 != static_cast<int>(scan.hosts_line)) return false;
        const auto& v = kv.second;
        if (scan.left == 0 ? !v.IsNull() : !(v.IsSequence() && v.size() == scan.left)) return false;
    }
    return seen == 1;
}

std::size_t host_scan::offset(int line0, int column0) const {
    if (line0 < 0 || static_cast<std::size_t>(line0) >= line_starts.size()) return 0;
    return line_starts[static_cast<std::size_t>(line0)] + static_cast<std::size_t>(std::max(column0, 0));
}

host_scan scan_hosts(const std::string& text, const scan_rules& rules) {
    host_scan out;
    out.text = &text;
    if (text.size() >= 0xffffffffu) return out;
    out.line_starts.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i)
        if (text[i] == '\n') out.line_starts.push_back(static_cast<std::uint32_t>(i + 1));
    scanner s(text, rules, out);
    const auto lines = out.line_starts.size();

    // The one top-level `hosts:` with nothing after it on its line; a
    // second document, or "---" after content, and yaml-cpp decides.
    std::optional<std::size_t> hosts;
    bool content = false;
    for (std::size_t i = 0; i < lines; ++i) {
        const auto l = s.line(i);
        if (l.substr(0, 3) == "---" || l.substr(0, 3) == "...") {
            if (content || l.substr(0, 3) == "...") return out;
            continue;
        }
        if (!blank_or_comment(l)) content = true;
        if (l.substr(0, 6) != "hosts:") continue;
        if (hosts) return out;
        const auto tail = l.substr(6);
        const auto i2 = indent_of(tail);
        if (i2 != tail.size() && !(tail[i2] == '#' && i2 > 0)) return out;
        hosts = i;
    }
    if (!hosts) return out;

    // Its block list: entries at one indentation, each running until the
    // next, or until a line less indented (or as indented, not an entry).
    std::vector<std::pair<std::size_t, std::size_t>> entries;  // first line, dash column
    std::size_t end = lines, dash = 0;
    bool started = false;
    for (std::size_t i = *hosts + 1; i < lines; ++i) {
        const auto l = s.line(i);
        if (blank_or_comment(l)) continue;
        const auto ind = indent_of(l);
        if (!started) {
            if (!item_at(l, ind)) return out;  // not a block list
            dash = ind;
            started = true;
        }
        if (ind < dash || (ind == dash && !item_at(l, ind))) {
            end = i;
            break;
        }
        if (ind == dash) entries.emplace_back(i, ind);
    }
    if (entries.empty()) return out;

    out.used = true;
    out.hosts_line = static_cast<std::uint32_t>(*hosts + 1);
    out.hosts.reserve(entries.size());
    // A pair per "key: " in the list, about: reserved at once, not grown
    // by doubling (400,000 pairs of 100,000 hosts: 9 MiB, 19 MiB at the
    // last doubling).
    {
        const std::size_t from = out.line_starts[entries.front().first];
        const std::size_t to = end < lines ? out.line_starts[end] : text.size();
        const std::string_view list = std::string_view(text).substr(from, to - from);
        std::size_t keys = 0;
        for (auto at = list.find(": "); at != std::string_view::npos; at = list.find(": ", at + 2)) ++keys;
        out.pairs.reserve(keys);
    }
    std::vector<bool> taken(lines, false);
    for (std::size_t e = 0; e < entries.size(); ++e) {
        const auto first = entries[e].first;
        const auto last = e + 1 < entries.size() ? entries[e + 1].first : end;
        if (s.entry(first, last, entries[e].second))
            std::fill(taken.begin() + static_cast<std::ptrdiff_t>(first), taken.begin() + static_cast<std::ptrdiff_t>(last),
                      true);
        else
            ++out.left;
    }
    out.rest.reserve(text.size() / 8);
    for (std::size_t i = 0; i < lines; ++i) {
        if (!taken[i]) out.rest += s.line(i);
        if (i + 1 < lines) out.rest += '\n';
    }
    return out;
}

std::string read_whole(std::istream& in) {
    std::string text;
    in.seekg(0, std::ios::end);
    const auto size = in.tellg();
    in.seekg(0, std::ios::beg);
    if (in && size > 0) {
        text.resize(static_cast<std::size_t>(size));
        in.read(&text[0], static_cast<std::streamsize>(size));
        text.resize(static_cast<std::size_t>(in.gcount()));
    }
    in.clear();
    std::array<char, 65536> more{};
    while (in.read(more.data(), static_cast<std::streamsize>(more.size())) || in.gcount() > 0)
        text.append(more.data(), static_cast<std::size_t>(in.gcount()));
    return text;
}

}  // namespace pxed::inventory::detail
