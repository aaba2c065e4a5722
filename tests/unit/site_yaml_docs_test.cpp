// docs/site-yaml.md's reference tables against the loader's key tables
// (inventory::site_yaml_keys()): each table follows a `<!-- keys: NAME -->`
// line, and its key, type and default columns must be what the loader
// reads, key for key and in order. The meaning column is the docs' own
// prose. PXED_UPDATE_DOCS=1 rewrites the checked columns in place, keeping
// each key's meaning (a new key gets its doc line), like the golden tests'
// PXED_UPDATE_GOLDEN.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "pxed/inventory/keys.hpp"

using namespace pxed::inventory;

namespace {

const std::string docs_path = std::string(PXED_SOURCE_DIR) + "/docs/site-yaml.md";
const std::string header = "| key | type | default | meaning |";
const std::string separator = "|---|---|---|---|";

struct row {
    std::string key, type, default_value, meaning;
};

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(' ');
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(' ') - b + 1);
}

// "| `a` | b | c | the rest, | and all |" -> a, b, c, "the rest, | and all".
row parse_row(const std::string& line) {
    std::vector<std::string> cells;
    std::size_t at = 1;
    for (int i = 0; i < 3; ++i) {
        const auto bar = line.find('|', at);
        if (bar == std::string::npos) return {};
        cells.push_back(trim(line.substr(at, bar - at)));
        at = bar + 1;
    }
    const auto last = line.rfind('|');
    const auto meaning = last > at ? trim(line.substr(at, last - at)) : std::string{};
    auto key = cells[0];
    if (key.size() >= 2 && key.front() == '`' && key.back() == '`') key = key.substr(1, key.size() - 2);
    return {key, cells[1], cells[2], meaning};
}

// The doc line as the docs' sentence, for a key the docs do not describe yet.
std::string sentence(std::string doc) {
    if (!doc.empty() && doc[0] >= 'a' && doc[0] <= 'z') doc[0] = static_cast<char>(doc[0] - 'a' + 'A');
    return doc + ".";
}

row expected_row(const key_doc& k) {
    return {k.name, k.type + (k.bounds.empty() ? "" : " " + k.bounds), k.default_value, sentence(k.doc)};
}

std::string format_row(const row& r) {
    return "| `" + r.key + "` | " + r.type + " | " + r.default_value + " | " + r.meaning + " |";
}

struct docs_table {
    std::size_t first = 0, end = 0;  // lines of the table, header included
    std::vector<row> rows;
};

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
}

// The table after `<!-- keys: NAME -->`, if there is one.
std::optional<docs_table> find_table(const std::vector<std::string>& lines, const std::string& name) {
    const auto marker = "<!-- keys: " + name + " -->";
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (lines[i] != marker) continue;
        docs_table t;
        t.first = i + 1;
        while (t.first < lines.size() && lines[t.first].empty()) ++t.first;
        t.end = t.first;
        while (t.end < lines.size() && !lines[t.end].empty() && lines[t.end][0] == '|') ++t.end;
        for (std::size_t j = t.first + 2; j < t.end; ++j) t.rows.push_back(parse_row(lines[j]));
        return t;
    }
    return std::nullopt;
}

}  // namespace

TEST(site_yaml_docs, every_reference_table_matches_the_loaders_keys) {
    auto lines = read_lines(docs_path);
    ASSERT_FALSE(lines.empty()) << "cannot read " << docs_path;
    const bool update = std::getenv("PXED_UPDATE_DOCS") != nullptr;
    const auto sections = site_yaml_keys();
    // From the bottom up, so that rewriting one table moves none above it.
    for (auto s = sections.rbegin(); s != sections.rend(); ++s) {
        const auto table = find_table(lines, s->name);
        if (!table) {
            ADD_FAILURE() << docs_path << ": no '<!-- keys: " << s->name << " -->' before the " << s->name << " table";
            continue;
        }
        std::map<std::string, std::string> meanings;
        for (const auto& r : table->rows) meanings[r.key] = r.meaning;
        std::vector<std::string> generated{header, separator};
        bool same = lines[table->first] == header && table->rows.size() == s->keys.size();
        for (std::size_t i = 0; i < s->keys.size(); ++i) {
            auto want = expected_row(s->keys[i]);
            if (const auto it = meanings.find(want.key); it != meanings.end() && !it->second.empty())
                want.meaning = it->second;
            generated.push_back(format_row(want));
            if (i >= table->rows.size()) continue;
            const auto& have = table->rows[i];
            const bool row_same = have.key == want.key && have.type == want.type && have.default_value == want.default_value;
            same = same && row_same;
            EXPECT_TRUE(row_same) << docs_path << " line " << table->first + 3 + i << " (" << s->name << "):\n  has  `"
                                  << have.key << "` | " << have.type << " | " << have.default_value << "\n  want `"
                                  << want.key << "` | " << want.type << " | " << want.default_value;
        }
        EXPECT_EQ(table->rows.size(), s->keys.size()) << s->name << ": the docs list " << table->rows.size()
                                                       << " keys, the loader reads " << s->keys.size();
        if (same) continue;
        std::string text;
        for (const auto& g : generated) text += g + "\n";
        if (update) {
            lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(table->first),
                        lines.begin() + static_cast<std::ptrdiff_t>(table->end));
            lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(table->first), generated.begin(), generated.end());
        } else {
            ADD_FAILURE() << "the " << s->name << " table of " << docs_path
                          << " should read (PXED_UPDATE_DOCS=1 writes it):\n"
                          << text;
        }
    }
    if (update) {
        std::ofstream out(docs_path);
        for (const auto& l : lines) out << l << "\n";
    }
}

TEST(site_yaml_docs, a_docs_table_that_disagrees_is_caught) {
    // The check itself: a changed default or a missing key must not pass.
    const auto sections = site_yaml_keys();
    ASSERT_FALSE(sections.empty());
    const auto& k = sections.front().keys.front();
    const auto good = expected_row(k);
    auto bad = parse_row(format_row(good));
    EXPECT_EQ(bad.key, good.key);
    EXPECT_EQ(bad.type, good.type);
    EXPECT_EQ(bad.default_value, good.default_value);
    bad.default_value = "`something else`";
    EXPECT_NE(bad.default_value, good.default_value);
    std::vector<std::string> lines{"<!-- keys: x -->", "", header, separator, format_row(good), "", "prose"};
    const auto t = find_table(lines, "x");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->rows.size(), 1u);
    EXPECT_EQ(t->rows[0].key, good.key);
    EXPECT_FALSE(find_table(lines, "y"));
}
