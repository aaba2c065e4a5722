#include "pxed/engine/http_validators.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <vector>

#include "pxed/wire/text.hpp"

namespace pxed::http {
namespace {

constexpr const char* day_names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* long_day_names[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
constexpr const char* month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Howard Hinnant's civil calendar algorithms: no time zone, no locale, no
// libc state, valid for any year.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// A tiny cursor for the three date formats.
class cursor {
public:
    explicit cursor(std::string_view s) : s_(s) {}

    bool literal(std::string_view lit) {
        if (s_.substr(pos_, lit.size()) != lit) return false;
        pos_ += lit.size();
        return true;
    }
    // Exactly `n` digits (or 1..n when `at_least_one`).
    bool digits(unsigned n, unsigned& out, bool variable = false) {
        out = 0;
        unsigned got = 0;
        while (got < n && pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
            out = out * 10 + static_cast<unsigned>(s_[pos_] - '0');
            ++pos_;
            ++got;
        }
        return variable ? got > 0 : got == n;
    }
    template <std::size_t N>
    bool one_of(const char* const (&names)[N], unsigned& index) {
        for (unsigned i = 0; i < N; ++i) {
            if (literal(names[i])) {
                index = i;
                return true;
            }
        }
        return false;
    }
    bool done() const { return pos_ == s_.size(); }

private:
    std::string_view s_;
    std::size_t pos_ = 0;
};

std::optional<std::int64_t> make_time(std::int64_t year, unsigned month, unsigned day, unsigned hh, unsigned mm,
                                      unsigned ss) {
    if (month >= 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return std::nullopt;
    const std::int64_t days = days_from_civil(year, month + 1, day);
    // Reject Feb 30 and the like: the day must survive a round trip.
    std::int64_t y;
    unsigned m, d;
    civil_from_days(days, y, m, d);
    if (y != year || m != month + 1 || d != day) return std::nullopt;
    return days * 86400 + hh * 3600 + mm * 60 + std::min(ss, 59u);
}

bool clock(cursor& c, unsigned& hh, unsigned& mm, unsigned& ss) {
    return c.digits(2, hh) && c.literal(":") && c.digits(2, mm) && c.literal(":") && c.digits(2, ss);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

using wire::iequals;

// Decimal digits only, saturating at the maximum: a 30-digit last-byte-pos
// simply means "to the end".
std::optional<std::uint64_t> parse_number(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::uint64_t v = 0;
    constexpr auto max = std::numeric_limits<std::uint64_t>::max();
    for (const char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        const auto digit = static_cast<std::uint64_t>(c - '0');
        v = v > (max - digit) / 10 ? max : v * 10 + digit;
    }
    return v;
}

bool is_etag_start(std::string_view s) { return !s.empty() && (s.front() == '"' || s.substr(0, 2) == "W/"); }

}  // namespace

std::string format_http_date(std::int64_t t) {
    const std::int64_t days = floor_div(t, 86400);
    const std::int64_t secs = t - days * 86400;
    std::int64_t y;
    unsigned m, d;
    civil_from_days(days, y, m, d);
    const auto weekday = static_cast<unsigned>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02u %s %04lld %02u:%02u:%02u GMT", day_names[weekday], d, month_names[m - 1],
                  static_cast<long long>(y), static_cast<unsigned>(secs / 3600), static_cast<unsigned>(secs / 60 % 60),
                  static_cast<unsigned>(secs % 60));
    return buf;
}

std::optional<std::int64_t> parse_http_date(std::string_view text) {
    unsigned wd, day, month, year, hh, mm, ss;
    {
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        cursor c(text);
        if (c.one_of(day_names, wd) && c.literal(", ") && c.digits(2, day) && c.literal(" ") &&
            c.one_of(month_names, month) && c.literal(" ") && c.digits(4, year) && c.literal(" ") &&
            clock(c, hh, mm, ss) && c.literal(" GMT") && c.done())
            return make_time(year, month, day, hh, mm, ss);
    }
    {
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT. A two-digit year is taken
        // as 1970-2069, near enough to "within 50 years" for mtimes.
        cursor c(text);
        if (c.one_of(long_day_names, wd) && c.literal(", ") && c.digits(2, day) && c.literal("-") &&
            c.one_of(month_names, month) && c.literal("-") && c.digits(2, year) && c.literal(" ") &&
            clock(c, hh, mm, ss) && c.literal(" GMT") && c.done())
            return make_time(year < 70 ? 2000 + year : 1900 + year, month, day, hh, mm, ss);
    }
    {
        // asctime: Sun Nov  6 08:49:37 1994
        cursor c(text);
        if (c.one_of(day_names, wd) && c.literal(" ") && c.one_of(month_names, month) && c.literal(" ")) {
            c.literal(" ");
            if (c.digits(2, day, true) && c.literal(" ") && clock(c, hh, mm, ss) && c.literal(" ") &&
                c.digits(4, year) && c.done())
                return make_time(year, month, day, hh, mm, ss);
        }
    }
    return std::nullopt;
}

std::string file_etag(std::uint64_t size, std::int64_t mtime) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "\"%llx-%llx\"", static_cast<unsigned long long>(mtime),
                  static_cast<unsigned long long>(size));
    return buf;
}

std::string body_etag(std::string_view body) {
    // FNV-1a: not for security, only to tell two renderings apart.
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (const char c : body) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ull;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "\"r%016llx\"", static_cast<unsigned long long>(h));
    return buf;
}

bool etag_matches(std::string_view field, std::string_view etag, bool weak) {
    if (etag.empty()) return false;
    const bool ours_weak = etag.substr(0, 2) == "W/";
    const std::string_view ours = ours_weak ? etag.substr(2) : etag;
    std::string_view rest = trim(field);
    if (rest == "*") return true;
    while (!rest.empty()) {
        while (!rest.empty() && (rest.front() == ',' || rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
        if (rest.empty()) break;
        bool theirs_weak = false;
        if (rest.substr(0, 2) == "W/") {
            theirs_weak = true;
            rest.remove_prefix(2);
        }
        if (rest.empty() || rest.front() != '"') return false;  // malformed: stop here
        const auto close = rest.find('"', 1);
        if (close == std::string_view::npos) return false;
        const std::string_view theirs = rest.substr(0, close + 1);
        rest.remove_prefix(close + 1);
        if (theirs == ours && (weak || (!theirs_weak && !ours_weak))) return true;
    }
    return false;
}

precondition evaluate_preconditions(const conditional_headers& h, std::string_view etag, std::int64_t mtime,
                                    std::int64_t now) {
    // RFC 9110 section 13.2.2, steps 1-4 for a GET or HEAD.
    if (!h.if_match.empty()) {
        if (!etag_matches(h.if_match, etag, false)) return precondition::failed;
    } else if (!h.if_unmodified_since.empty() && mtime != 0) {
        const auto since = parse_http_date(trim(h.if_unmodified_since));
        if (since && mtime > *since) return precondition::failed;
    }
    if (!h.if_none_match.empty()) {
        if (etag_matches(h.if_none_match, etag, true)) return precondition::not_modified;
    } else if (!h.if_modified_since.empty() && mtime != 0) {
        const auto since = parse_http_date(trim(h.if_modified_since));
        // A date later than our clock is invalid (section 13.1.3): ignore it,
        // or a client with a clock ahead would never see an update.
        if (since && *since <= now && mtime <= *since) return precondition::not_modified;
    }
    return precondition::proceed;
}

bool if_range_allows(std::string_view if_range, std::string_view etag, std::int64_t mtime) {
    const std::string_view v = trim(if_range);
    if (v.empty()) return true;
    if (is_etag_start(v)) {
        // Strong comparison only, and a weak tag never matches.
        return !etag.empty() && v == etag && v.substr(0, 2) != "W/";
    }
    const auto date = parse_http_date(v);
    return date && mtime != 0 && *date == mtime;
}

range_result evaluate_range(std::string_view field, std::uint64_t size) {
    range_result whole;
    range_result unsatisfiable;
    unsatisfiable.outcome = range_outcome::unsatisfiable;

    std::string_view v = trim(field);
    if (v.empty()) return whole;
    const auto eq = v.find('=');
    if (eq == std::string_view::npos) return whole;  // no ranges-specifier at all: not ours to judge
    // Another range unit must be ignored (RFC 9110 section 14.2).
    if (!iequals(trim(v.substr(0, eq)), "bytes")) return whole;
    v.remove_prefix(eq + 1);

    std::vector<byte_range> ranges;
    std::size_t specs = 0;
    while (true) {
        const auto comma = v.find(',');
        const std::string_view spec = trim(v.substr(0, comma));
        if (!spec.empty()) {
            if (++specs > max_ranges) return unsatisfiable;
            const auto dash = spec.find('-');
            if (dash == std::string_view::npos) return unsatisfiable;
            const std::string_view a = spec.substr(0, dash);
            const std::string_view b = spec.substr(dash + 1);
            if (a.empty()) {
                // suffix-range: the last b bytes.
                const auto n = parse_number(b);
                if (!n) return unsatisfiable;
                if (*n > 0 && size > 0) {
                    const auto len = std::min(*n, size);
                    ranges.push_back({size - len, len});
                }
            } else {
                const auto first = parse_number(a);
                if (!first) return unsatisfiable;
                std::uint64_t last = std::numeric_limits<std::uint64_t>::max();
                if (!b.empty()) {
                    const auto l = parse_number(b);
                    if (!l || *l < *first) return unsatisfiable;
                    last = *l;
                }
                if (*first < size) {
                    last = std::min(last, size - 1);
                    ranges.push_back({*first, last - *first + 1});
                }
            }
        }
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
    }
    if (ranges.empty()) return unsatisfiable;

    std::sort(ranges.begin(), ranges.end(), [](const byte_range& x, const byte_range& y) { return x.first < y.first; });
    byte_range merged = ranges.front();
    for (std::size_t i = 1; i < ranges.size(); ++i) {
        const std::uint64_t end = merged.first + merged.length;
        if (ranges[i].first > end) return whole;  // apart: would need multipart/byteranges
        merged.length = std::max(end, ranges[i].first + ranges[i].length) - merged.first;
    }
    range_result r;
    r.outcome = range_outcome::partial;
    r.range = merged;
    return r;
}

}  // namespace pxed::http
