#pragma once
/// Directory listings of install trees and the Content-Type of a path.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pxed::http {

struct listing_entry {
    std::string name;
    bool is_directory = false;
    std::uint64_t size = 0;
    std::int64_t mtime = 0;  ///< Unix seconds; 0: unknown, shown as "-"
};

/// An HTML page for the directory `path` (normalised, "" = top): a parent
/// link below the top, then sub-directories and then files, each sorted by
/// name (bytewise), with exact sizes in bytes and UTC modification times.
/// Names are HTML-escaped and links percent-encoded and relative.
std::string listing_html(std::string_view path, std::vector<listing_entry> entries);

/// The Content-Type for a file, by its extension: the types yum/dnf, Anaconda,
/// iPXE and browsers care about; application/octet-stream otherwise.
std::string_view content_type_for(std::string_view path);

/// `&`, `<`, `>`, `"` and `'` as character references.
std::string html_escape(std::string_view text);

}  // namespace pxed::http
