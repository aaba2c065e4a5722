#pragma once
// The fast path for large inventories (docs/site-yaml.md, "Large
// inventories"): the `hosts:` list of a site.yaml read line by line,
// without building yaml-cpp's node tree for it. yaml-cpp's YAML::Load
// spends about 40 us and 4 KiB per host entry on its tree; 100,000 hosts
// took 12 s and 443 MiB (bench/README.md). Only entries in the shape a
// generated inventory has are taken here: a block list at the top-level
// key `hosts`, each entry a mapping of known keys to scalars on one line
// (`- {mac: .., ip: ..}`) or one key per line (`- mac: ..` / `  ip: ..`).
// Every other entry (nested values, anchors, tags, escapes, comments
// inside a flow mapping, unknown or repeated keys, non-ASCII) stays in the
// text given to yaml-cpp, as does everything else in the file; the
// entries taken here become empty lines there, so every line and column
// yaml-cpp reports is still the file's.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace YAML {
class Node;
}

namespace pxed::inventory::detail {

/// One `key: value` of an entry: offsets into the scanned text. Lines and
/// columns are 1-based, as diagnostics count them.
struct scanned_pair {
    std::uint32_t key_at = 0, value_at = 0;
    std::uint16_t key_len = 0, value_len = 0;
    std::uint32_t line = 0;  // key and value are on one line
    std::uint16_t key_column = 0, value_column = 0;
    bool null = false;  // empty, ~ or null, unquoted: what yaml-cpp reads as a null node
};

/// One entry of the list: where yaml-cpp would mark it (its '{', or its
/// first key), and its pairs, pairs[first, first + count).
struct scanned_host {
    std::uint32_t line = 0;
    std::uint16_t column = 0;
    std::uint8_t count = 0;
    std::uint32_t first = 0;
};

/// Which entries may be taken: `known` says whether a key may appear in
/// one (a key it refuses leaves the entry to yaml-cpp); `required`, when
/// set, must be given with a value; `unique_keys`: an entry naming a key
/// twice is left to yaml-cpp.
struct scan_rules {
    bool (*known)(std::string_view key) = nullptr;
    const char* required = nullptr;
    bool unique_keys = true;
};

struct host_scan {
    /// False: nothing was taken (no top-level block list `hosts:`, or a
    /// file shape this does not follow); use the text as it is.
    bool used = false;
    const std::string* text = nullptr;  // the scanned text, which must outlive this
    /// The text with the taken entries' lines emptied: same lines, same
    /// columns; byte offsets after the first taken line differ (offset()).
    std::string rest;
    std::uint32_t hosts_line = 0;  // of the `hosts:` key, 1-based
    std::size_t left = 0;          // entries left in `rest`
    std::vector<scanned_host> hosts;
    std::vector<scanned_pair> pairs;
    std::vector<std::uint32_t> line_starts;  // of the text, by 0-based line

    std::string_view key(const scanned_pair& p) const { return std::string_view(*text).substr(p.key_at, p.key_len); }
    std::string_view value(const scanned_pair& p) const {
        return std::string_view(*text).substr(p.value_at, p.value_len);
    }
    /// The byte offset in the text of a 0-based line and column of `rest`.
    std::size_t offset(int line0, int column0) const;
};

host_scan scan_hosts(const std::string& text, const scan_rules& rules);

/// A whole file, read into a string of its size (reading through
/// istreambuf_iterators grows a copy by doubling: 24 MiB at once for an
/// 8 MiB inventory). Reads to the end whatever the size said (a pipe, a
/// file that grew).
std::string read_whole(std::istream& in);

/// Whether yaml-cpp's tree of `scan.rest` has the one `hosts:` the scan
/// found, holding the entries it left. If not, the file has a shape the
/// scan misread: parse the whole text instead.
bool fits(const YAML::Node& root, const host_scan& scan);

}  // namespace pxed::inventory::detail
