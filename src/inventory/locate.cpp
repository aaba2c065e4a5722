#include "pxed/inventory/locate.hpp"

#include "host_scan.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

namespace pxed::inventory {

// The host entries the scan read (host_scan.hpp) and the text their
// offsets point into: a few bytes per key instead of a tree node each.
struct scanned_hosts {
    std::string text;
    detail::host_scan scan;
};

// A copy of the positions only: YAML::Node keeps the whole document alive
// and is not safe to share between threads, this is.
struct key_locations::tree {
    struct entry {
        std::string key;      ///< map key, or the element's index in a sequence
        std::vector<std::string> scalars;  ///< sequence elements: the scalars they hold, to name them by
        int line = 0, column = 0;
        std::shared_ptr<tree> child;
    };
    bool sequence = false;
    std::vector<entry> entries;
    /// The `hosts:` list: its entries the scan read, between `entries`
    /// (those yaml-cpp read), both in the file's order.
    std::shared_ptr<const scanned_hosts> fast;
};

namespace {

bool same_text(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::shared_ptr<key_locations::tree> build(const YAML::Node& node) {
    auto t = std::make_shared<key_locations::tree>();
    if (node.IsMap()) {
        for (auto it = node.begin(); it != node.end(); ++it) {
            key_locations::tree::entry e;
            e.key = it->first.IsScalar() ? it->first.Scalar() : std::string{};
            e.line = it->first.Mark().line + 1;
            e.column = it->first.Mark().column + 1;
            e.child = build(it->second);
            t->entries.push_back(std::move(e));
        }
    } else if (node.IsSequence()) {
        t->sequence = true;
        std::size_t i = 0;
        for (const auto& item : node) {
            key_locations::tree::entry e;
            e.key = std::to_string(i++);
            e.line = item.Mark().line + 1;
            e.column = item.Mark().column + 1;
            if (item.IsScalar()) e.scalars.push_back(item.Scalar());
            if (item.IsMap())
                for (auto kv = item.begin(); kv != item.end(); ++kv)
                    if (kv->second.IsScalar()) e.scalars.push_back(kv->second.Scalar());
            e.child = build(item);
            t->entries.push_back(std::move(e));
        }
    }
    return t;
}

}  // namespace

// The one parse, as load_string does it: the simple host entries by the
// scan, the rest by yaml-cpp.
key_locations key_locations::from_string(const std::string& yaml, const std::string& name) {
    return from_text(yaml, name);
}

key_locations key_locations::from_text(std::string yaml, const std::string& name) {
    key_locations out;
    out.file_ = name;
    auto fast = std::make_shared<scanned_hosts>();
    fast->text = std::move(yaml);
    const std::string& text = fast->text;
    detail::scan_rules any_key;
    any_key.unique_keys = false;
    fast->scan = detail::scan_hosts(fast->text, any_key);
    if (fast->scan.used && fast->scan.left == 0) {  // as load_string
        try {
            const auto root = YAML::Load(fast->scan.rest);
            if (detail::fits(root, fast->scan)) {
                out.root_ = build(root);
                fast->scan.rest = {};
                fast->scan.line_starts = {};
                for (auto& e : out.root_->entries)
                    if (e.key == "hosts") {
                        e.child->sequence = true;
                        e.child->fast = fast;
                    }
                return out;
            }
        } catch (const YAML::Exception&) {
            // parsed whole below
        }
    }
    try {
        out.root_ = build(YAML::Load(text));
    } catch (const YAML::Exception&) {
        out.root_ = std::make_shared<tree>();
    }
    return out;  // `fast` (and the text) go: nothing points at them
}

key_locations key_locations::from_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return from_text(detail::read_whole(in), path);
}

namespace {

// An element of the hosts list: one yaml-cpp read, or one the scan read.
struct element {
    const key_locations::tree::entry* node = nullptr;
    const detail::scanned_host* fast = nullptr;
};

// The element of a list that has scanned entries, named as find() names
// one: by its index, or by any scalar it holds.
element find_element(const key_locations::tree& t, std::string_view part) {
    const auto& scan = t.fast->scan;
    const bool number = !part.empty() && std::all_of(part.begin(), part.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    for (const bool by_index : {true, false}) {
        if (by_index && !number) continue;
        std::size_t i = 0, j = 0, n = 0;
        while (i < t.entries.size() || j < scan.hosts.size()) {
            const bool take_fast = j < scan.hosts.size() &&
                                   (i == t.entries.size() || static_cast<int>(scan.hosts[j].line) < t.entries[i].line);
            const element e = take_fast ? element{nullptr, &scan.hosts[j++]} : element{&t.entries[i++], nullptr};
            bool match = false;
            if (by_index) {
                match = std::to_string(n) == part;
            } else if (e.node) {
                match = std::any_of(e.node->scalars.begin(), e.node->scalars.end(),
                                    [&](const auto& s) { return same_text(s, part); });
            } else {
                for (auto k = e.fast->first; k < e.fast->first + e.fast->count && !match; ++k)
                    match = !scan.pairs[k].null && same_text(scan.value(scan.pairs[k]), part);
            }
            ++n;
            if (match) return e;
        }
    }
    return {};
}

}  // namespace

source_location key_locations::find(std::initializer_list<std::string_view> path) const {
    source_location best{file_, 0, 0};
    const tree* at = root_.get();
    const detail::scanned_host* host = nullptr;  // a scanned entry: its keys are next
    const scanned_hosts* scanned = nullptr;
    for (const auto part : path) {
        if (host) {
            const detail::scanned_pair* key = nullptr;
            for (auto k = host->first; k < host->first + host->count && !key; ++k)
                if (scanned->scan.key(scanned->scan.pairs[k]) == part) key = &scanned->scan.pairs[k];
            if (!key) break;
            best.line = static_cast<int>(key->line);
            best.column = key->key_column;
            break;  // its value is a scalar: nothing below it
        }
        if (!at) break;
        if (at->fast) {
            const auto e = find_element(*at, part);
            if (e.fast) {
                best.line = static_cast<int>(e.fast->line);
                best.column = e.fast->column;
                host = e.fast;
                scanned = at->fast.get();
                continue;
            }
            if (!e.node) break;
            best.line = e.node->line;
            best.column = e.node->column;
            at = e.node->child.get();
            continue;
        }
        const tree::entry* found = nullptr;
        for (const auto& e : at->entries)
            if (e.key == part) {
                found = &e;
                break;
            }
        if (!found && at->sequence)
            for (const auto& e : at->entries)
                if (std::any_of(e.scalars.begin(), e.scalars.end(), [&](const auto& s) { return same_text(s, part); })) {
                    found = &e;
                    break;
                }
        if (!found) break;
        best.line = found->line;
        best.column = found->column;
        at = found->child.get();
    }
    return best;
}

}  // namespace pxed::inventory
