#pragma once
/// HTTP dates, entity tags, conditional requests (RFC 9110 section 13) and
/// byte ranges (RFC 9110 section 14). Pure functions of header values and
/// the representation's size and mtime.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pxed::http {

/// IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 section 5.6.7).
std::string format_http_date(std::int64_t unix_seconds);

/// IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must
/// accept. nullopt for anything else (such a condition is then ignored).
std::optional<std::int64_t> parse_http_date(std::string_view text);

/// A strong validator for a file: mtime and size in hex, as nginx makes
/// them, so a mirror re-synced with the same files keeps its ETags.
std::string file_etag(std::uint64_t size, std::int64_t mtime);

/// A strong validator for a rendered document: a hash of its bytes, so a
/// reload that renders the same text keeps the same ETag.
std::string body_etag(std::string_view body);

/// Whether an If-Match / If-None-Match field value names `etag` (quoted).
/// `*` matches anything. `weak` compares ignoring a W/ prefix (If-None-Match,
/// RFC 9110 section 8.8.3.2); strong never matches a weak tag (If-Match).
bool etag_matches(std::string_view field_value, std::string_view etag, bool weak);

/// What the preconditions of a GET or HEAD decide (RFC 9110 section 13.2.2).
enum class precondition { proceed, not_modified, failed };

struct conditional_headers {
    std::string_view if_match;
    std::string_view if_none_match;
    std::string_view if_modified_since;
    std::string_view if_unmodified_since;
};

/// `etag` may be empty (no validator: the ETag conditions are then false),
/// `mtime` 0 means unknown (the date conditions are then ignored). `now`
/// guards against dates from the future, which are ignored.
precondition evaluate_preconditions(const conditional_headers& h, std::string_view etag, std::int64_t mtime,
                                    std::int64_t now);

/// Whether If-Range lets the Range apply (RFC 9110 section 13.1.5): an
/// absent field does, an ETag must match strongly, a date must equal
/// Last-Modified exactly.
bool if_range_allows(std::string_view if_range, std::string_view etag, std::int64_t mtime);

struct byte_range {
    std::uint64_t first = 0;
    std::uint64_t length = 0;
};

enum class range_outcome {
    whole,          ///< no Range, another unit, or ranges that do not merge into one: send 200 and all of it
    partial,        ///< send 206 with `range`
    unsatisfiable,  ///< send 416 with `Content-Range: bytes */size`
};

struct range_result {
    range_outcome outcome = range_outcome::whole;
    byte_range range;
};

/// Most byte-range-specs one field may hold; more is a sign of abuse and
/// answered 416 (RFC 9110 section 14.2 allows rejecting such sets).
inline constexpr std::size_t max_ranges = 64;

/// Parses a Range field value against a representation of `size` bytes.
/// Several ranges that overlap or touch are merged into one; several that
/// stay apart are answered with the whole representation (a server may
/// ignore Range, and no installer asks for that). A malformed bytes range
/// set is unsatisfiable, as nginx and Apache answer it.
range_result evaluate_range(std::string_view field_value, std::uint64_t size);

}  // namespace pxed::http
