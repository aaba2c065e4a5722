#include "pxed/engine/http_listing.hpp"

#include <algorithm>
#include <cstdio>

#include "pxed/engine/http_target.hpp"
#include "pxed/engine/http_validators.hpp"

namespace pxed::http {
namespace {

std::string listing_date(std::int64_t mtime) {
    if (mtime == 0) return "-";
    // "Sun, 06 Nov 1994 08:49:37 GMT" -> "06-Nov-1994 08:49", as Apache and
    // nginx list them.
    const std::string d = format_http_date(mtime);
    return d.substr(5, 2) + "-" + d.substr(8, 3) + "-" + d.substr(12, 4) + " " + d.substr(17, 5);
}

}  // namespace

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

std::string listing_html(std::string_view path, std::vector<listing_entry> entries) {
    std::sort(entries.begin(), entries.end(), [](const listing_entry& a, const listing_entry& b) {
        if (a.is_directory != b.is_directory) return a.is_directory;
        return a.name < b.name;
    });
    const std::string title = html_escape("/" + std::string(path) + (path.empty() ? "" : "/"));
    std::string out;
    out.reserve(512 + entries.size() * 160);
    out += "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>Index of ";
    out += title;
    out += "</title>\n<style>td{padding:0 1em 0 0}td.s{text-align:right}</style>\n</head>\n<body>\n<h1>Index of ";
    out += title;
    out += "</h1>\n<table>\n<tr><th>Name</th><th>Last modified (UTC)</th><th>Size</th></tr>\n";
    if (!path.empty()) out += "<tr><td><a href=\"../\">../</a></td><td></td><td class=\"s\">-</td></tr>\n";
    char size[32];
    for (const auto& e : entries) {
        const std::string shown = html_escape(e.name) + (e.is_directory ? "/" : "");
        // "./" keeps a name with a colon ("a:b") from reading as a URL scheme.
        const std::string href = "./" + html_escape(percent_encode_path(e.name)) + (e.is_directory ? "/" : "");
        if (e.is_directory)
            std::snprintf(size, sizeof size, "-");
        else
            std::snprintf(size, sizeof size, "%llu", static_cast<unsigned long long>(e.size));
        out += "<tr><td><a href=\"";
        out += href;
        out += "\">";
        out += shown;
        out += "</a></td><td>";
        out += listing_date(e.mtime);
        out += "</td><td class=\"s\">";
        out += size;
        out += "</td></tr>\n";
    }
    out += "</table>\n</body>\n</html>\n";
    return out;
}

std::string_view content_type_for(std::string_view path) {
    const auto slash = path.rfind('/');
    const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    // GPG keys are conventionally RPM-GPG-KEY-<distro>-<version>, often
    // without an extension.
    if (name.find("GPG-KEY") != std::string_view::npos) return "text/plain; charset=utf-8";
    const auto dot = name.rfind('.');
    if (dot == std::string_view::npos || dot + 1 == name.size()) return "application/octet-stream";
    std::string ext(name.substr(dot + 1));
    for (auto& c : ext)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');

    struct mapping {
        const char* ext;
        const char* type;
    };
    // Plain text for what boot loaders and Anaconda read as text (so a
    // browser shows it rather than downloading it), the registered types
    // for repository metadata and archives.
    static constexpr mapping table[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"txt", "text/plain; charset=utf-8"},
        {"cfg", "text/plain; charset=utf-8"},
        {"conf", "text/plain; charset=utf-8"},
        {"ks", "text/plain; charset=utf-8"},
        {"ipxe", "text/plain; charset=utf-8"},
        {"sh", "text/plain; charset=utf-8"},
        {"treeinfo", "text/plain; charset=utf-8"},
        {"discinfo", "text/plain; charset=utf-8"},
        {"md5", "text/plain; charset=utf-8"},
        {"sha256", "text/plain; charset=utf-8"},
        {"asc", "text/plain; charset=utf-8"},
        {"css", "text/css"},
        {"js", "application/javascript"},
        {"json", "application/json"},
        {"xml", "application/xml"},
        {"rpm", "application/x-rpm"},
        {"iso", "application/x-iso9660-image"},
        {"gz", "application/gzip"},
        {"tgz", "application/gzip"},
        {"bz2", "application/x-bzip2"},
        {"xz", "application/x-xz"},
        {"zst", "application/zstd"},
        {"tar", "application/x-tar"},
        {"zip", "application/zip"},
        {"sqlite", "application/vnd.sqlite3"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"svg", "image/svg+xml"},
        {"efi", "application/efi"},
    };
    for (const auto& m : table)
        if (ext == m.ext) return m.type;
    return "application/octet-stream";
}

}  // namespace pxed::http
