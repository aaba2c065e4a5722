#include "pxed/inventory/locate.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <vector>

namespace pxed::inventory {

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

key_locations key_locations::from_string(const std::string& yaml, const std::string& name) {
    key_locations out;
    out.file_ = name;
    try {
        out.root_ = build(YAML::Load(yaml));
    } catch (const YAML::Exception&) {
        out.root_ = std::make_shared<tree>();
    }
    return out;
}

key_locations key_locations::from_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return from_string(text.str(), path);
}

source_location key_locations::find(std::initializer_list<std::string_view> path) const {
    source_location best{file_, 0, 0};
    const tree* at = root_.get();
    for (const auto part : path) {
        if (!at) break;
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
