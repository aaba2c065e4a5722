#pragma once
/// The request-target of an HTTP request (RFC 9112 section 3.2) turned into
/// a path of the file namespace: percent-decoded, with the tricks that aim
/// at leaving the served roots refused before the namespace sees them.
/// Pure: no I/O, no Beast.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pxed::http {

/// Decodes %XX escapes. nullopt when a `%` is not followed by two hex
/// digits. `+` stays `+`: it means a space only in HTML form data, never in
/// a path.
std::optional<std::string> percent_decode(std::string_view in);

/// Escapes everything but RFC 3986 unreserved characters and `/`: for
/// Location headers and the links of directory listings.
std::string percent_encode_path(std::string_view path);

struct target {
    /// Decoded and normalised the way fs::file_namespace::normalize does it:
    /// no leading `/`, no empty or `.` components; "" is the top.
    std::string path;
    /// The decoded path ended in `/` (or was just "/"): a directory asked for
    /// as one, which gets a listing rather than a redirect.
    bool trailing_slash = false;
    std::string query;  ///< raw, without the `?`
};

struct target_result {
    std::optional<target> value;
    unsigned status = 400;  ///< when !value: 400, 403 or 414
    std::string reason;     ///< when !value: for the log, safe to print
};

/// Accepts origin-form ("/a/b?q") and absolute-form ("http://host/a/b"),
/// RFC 9112 section 3.2.1-3.2.2. Refused:
///   longer than max_length                         414
///   empty, no leading `/`, `*`, authority-form     400
///   malformed %-escape, %00 or any control char    400
///   %2F or %5C (a separator hidden in an escape)   400
///   a `..` component, raw or encoded               403
target_result parse_target(std::string_view raw, std::size_t max_length);

}  // namespace pxed::http
