// The pure parts of the HTTP server: request-targets, dates, validators,
// ranges, listings, and decide() driven with a fake namespace.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "pxed/engine/http_exchange.hpp"
#include "pxed/engine/http_listing.hpp"
#include "pxed/engine/http_target.hpp"
#include "pxed/engine/http_validators.hpp"

namespace pxed::http {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// --- percent-decoding and request-targets

TEST(HttpTarget, PercentDecode) {
    EXPECT_EQ(percent_decode("a%20b"), "a b");
    EXPECT_EQ(percent_decode("%41%6a%6A"), "Ajj");
    EXPECT_EQ(percent_decode("a+b"), "a+b");  // + is literal in a path
    EXPECT_EQ(percent_decode(""), "");
    EXPECT_FALSE(percent_decode("%"));
    EXPECT_FALSE(percent_decode("%4"));
    EXPECT_FALSE(percent_decode("%zz"));
    EXPECT_FALSE(percent_decode("abc%g0"));
}

TEST(HttpTarget, PercentEncodeKeepsUnreservedAndSlash) {
    EXPECT_EQ(percent_encode_path("pub/centos 7/a&b"), "pub/centos%207/a%26b");
    EXPECT_EQ(percent_encode_path("x-y_z.~"), "x-y_z.~");
    EXPECT_EQ(percent_encode_path("\xff\"<"), "%FF%22%3C");
}

struct target_case {
    const char* raw;
    unsigned status;  // 0: accepted
    const char* path;
    bool trailing;
};

TEST(HttpTarget, Table) {
    const target_case cases[] = {
        {"/", 0, "", true},
        {"/a/b.rpm", 0, "a/b.rpm", false},
        {"/pub/centos/7/", 0, "pub/centos/7", true},
        {"//a///b", 0, "a/b", false},
        {"/a/./b/.", 0, "a/b", true},
        {"/a%20b", 0, "a b", false},
        {"/a?x=1", 0, "a", false},
        {"/dir/?C=M;O=A", 0, "dir", true},
        {"/a#frag", 0, "a", false},
        {"http://example.org/a/b", 0, "a/b", false},
        {"HTTP://example.org", 0, "", true},
        {"https://h:8080/x?y", 0, "x", false},
        {"/%2e/a", 0, "a", false},
        {"/a\\b", 0, "a/b", false},  // a raw backslash separates, as in the namespace
        {"/..", 403, nullptr, false},
        {"/a/../../etc/passwd", 403, nullptr, false},
        {"/%2e%2e/etc/passwd", 403, nullptr, false},
        {"/%2E%2e/x", 403, nullptr, false},
        {"/a/..%2f..%2fetc", 400, nullptr, false},
        {"/a%2fb", 400, nullptr, false},
        {"/a%5cb", 400, nullptr, false},
        {"/a%00.cfg", 400, nullptr, false},
        {"/a%0d%0aSet-Cookie:x", 400, nullptr, false},
        {"/a%7f", 400, nullptr, false},
        {"/%", 400, nullptr, false},
        {"/%g1", 400, nullptr, false},
        {"", 400, nullptr, false},
        {"*", 400, nullptr, false},
        {"example.org:443", 400, nullptr, false},
        {"a/b", 400, nullptr, false},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.raw);
        const auto r = parse_target(c.raw, 8192);
        if (c.status == 0) {
            ASSERT_TRUE(r.value) << r.reason;
            EXPECT_EQ(r.value->path, c.path);
            EXPECT_EQ(r.value->trailing_slash, c.trailing);
        } else {
            ASSERT_FALSE(r.value);
            EXPECT_EQ(r.status, c.status);
            EXPECT_FALSE(r.reason.empty());
        }
    }
}

TEST(HttpTarget, LengthLimitIs414) {
    const std::string longer = "/" + std::string(100, 'a');
    EXPECT_EQ(parse_target(longer, 100).status, 414u);
    EXPECT_TRUE(parse_target(longer, 101).value);
}

TEST(HttpTarget, QueryIsKeptRaw) {
    const auto r = parse_target("/api/v1/hosts?x=%41", 100);
    ASSERT_TRUE(r.value);
    EXPECT_EQ(r.value->query, "x=%41");
}

// --- dates

TEST(HttpDate, FormatsImfFixdate) {
    EXPECT_EQ(format_http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    EXPECT_EQ(format_http_date(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
    EXPECT_EQ(format_http_date(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
}

TEST(HttpDate, ParsesAllThreeForms) {
    // The three examples of RFC 9110 section 5.6.7.
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
    EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), 784111777);
    EXPECT_EQ(parse_http_date("Sun Nov 16 08:49:37 1994"), 784111777 + 10 * 86400);
    EXPECT_EQ(parse_http_date("Thu, 01 Jan 2065 00:00:00 GMT"), 2997993600);
}

TEST(HttpDate, RejectsMalformed) {
    for (const char* bad : {"", "yesterday", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC",
                            "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 31 Feb 1994 08:49:37 GMT",
                            "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
                            "Sun, 06 Nov 1994 08:49:37 GMT trailing", "1994-11-06T08:49:37Z"}) {
        EXPECT_FALSE(parse_http_date(bad)) << bad;
    }
}

TEST(HttpDate, RoundTrips) {
    for (std::int64_t t : {0LL, 1LL, 86399LL, 86400LL, 1700000000LL, 4102444800LL}) {
        EXPECT_EQ(parse_http_date(format_http_date(t)), t) << t;
    }
}

// --- validators and preconditions

TEST(HttpValidators, Etags) {
    EXPECT_EQ(file_etag(6, 0x6b0db1ac), "\"6b0db1ac-6\"");
    EXPECT_EQ(body_etag("a"), body_etag("a"));
    EXPECT_NE(body_etag("a"), body_etag("b"));
    const std::string e = "\"abc-1\"";
    EXPECT_TRUE(etag_matches("\"abc-1\"", e, false));
    EXPECT_TRUE(etag_matches("\"x\", \"abc-1\"", e, false));
    EXPECT_TRUE(etag_matches("*", e, false));
    EXPECT_TRUE(etag_matches("W/\"abc-1\"", e, true));
    EXPECT_FALSE(etag_matches("W/\"abc-1\"", e, false));  // If-Match compares strongly
    EXPECT_FALSE(etag_matches("\"abc-2\"", e, true));
    EXPECT_FALSE(etag_matches("abc-1", e, true));  // unquoted: malformed
    EXPECT_FALSE(etag_matches("\"abc-1", e, true));
    EXPECT_FALSE(etag_matches("\"x\"", "", true));
}

struct precondition_case {
    const char* name;
    conditional_headers h;
    precondition expected;
};

TEST(HttpValidators, PreconditionTable) {
    const std::string etag = "\"5-a\"";
    const std::int64_t mtime = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
    const std::int64_t now = 1700000000;
    const precondition_case cases[] = {
        {"nothing", {}, precondition::proceed},
        {"INM matches", {"", "\"5-a\"", "", ""}, precondition::not_modified},
        {"INM weak matches", {"", "W/\"5-a\"", "", ""}, precondition::not_modified},
        {"INM star", {"", "*", "", ""}, precondition::not_modified},
        {"INM differs", {"", "\"6-a\"", "", ""}, precondition::proceed},
        {"IMS same second", {"", "", "Sun, 06 Nov 1994 08:49:37 GMT", ""}, precondition::not_modified},
        {"IMS later", {"", "", "Mon, 07 Nov 1994 08:49:37 GMT", ""}, precondition::not_modified},
        {"IMS earlier", {"", "", "Sat, 05 Nov 1994 08:49:37 GMT", ""}, precondition::proceed},
        {"IMS garbage", {"", "", "last tuesday", ""}, precondition::proceed},
        {"IMS in the future", {"", "", "Fri, 01 Jan 2100 00:00:00 GMT", ""}, precondition::proceed},
        // If-None-Match wins over If-Modified-Since (RFC 9110 section 13.2.2).
        {"INM differs, IMS says unchanged", {"", "\"6-a\"", "Mon, 07 Nov 1994 08:49:37 GMT", ""},
         precondition::proceed},
        {"IM matches", {"\"5-a\"", "", "", ""}, precondition::proceed},
        {"IM differs", {"\"6-a\"", "", "", ""}, precondition::failed},
        {"IM weak never matches", {"W/\"5-a\"", "", "", ""}, precondition::failed},
        {"IUS later", {"", "", "", "Mon, 07 Nov 1994 08:49:37 GMT"}, precondition::proceed},
        {"IUS earlier", {"", "", "", "Sat, 05 Nov 1994 08:49:37 GMT"}, precondition::failed},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(evaluate_preconditions(c.h, etag, mtime, now), c.expected) << c.name;
    }
}

TEST(HttpValidators, IfRange) {
    const std::string etag = "\"5-a\"";
    const std::int64_t mtime = 784111777;
    EXPECT_TRUE(if_range_allows("", etag, mtime));
    EXPECT_TRUE(if_range_allows("\"5-a\"", etag, mtime));
    EXPECT_FALSE(if_range_allows("\"6-a\"", etag, mtime));
    EXPECT_FALSE(if_range_allows("W/\"5-a\"", etag, mtime));
    EXPECT_TRUE(if_range_allows("Sun, 06 Nov 1994 08:49:37 GMT", etag, mtime));
    EXPECT_FALSE(if_range_allows("Sun, 06 Nov 1994 08:49:38 GMT", etag, mtime));
    EXPECT_FALSE(if_range_allows("garbage", etag, mtime));
}

// --- ranges

struct range_case {
    const char* field;
    std::uint64_t size;
    range_outcome outcome;
    std::uint64_t first;
    std::uint64_t length;
};

TEST(HttpRange, Table) {
    const auto W = range_outcome::whole, P = range_outcome::partial, U = range_outcome::unsatisfiable;
    const range_case cases[] = {
        {"", 1000, W, 0, 0},
        {"bytes=0-99", 1000, P, 0, 100},
        {"bytes=100-199", 1000, P, 100, 100},
        {"bytes=500-", 1000, P, 500, 500},        // wget -c, dnf resuming
        {"bytes=-100", 1000, P, 900, 100},        // the last 100 bytes
        {"bytes=-5000", 1000, P, 0, 1000},        // suffix longer than the file
        {"bytes=900-5000", 1000, P, 900, 100},    // last clamped
        {"bytes=999-999", 1000, P, 999, 1},
        {"bytes=0-99999999999999999999999", 1000, P, 0, 1000},  // saturates
        {" bytes = 10-19 ", 1000, P, 10, 10},
        {"BYTES=10-19", 1000, P, 10, 10},
        {"bytes=0-9,10-19", 1000, P, 0, 20},      // touching: merged
        {"bytes=0-50,20-99", 1000, P, 0, 100},    // overlapping: merged
        {"bytes=10-19,0-9", 1000, P, 0, 20},      // out of order, still one piece
        {"bytes=0-9,,20-29", 1000, W, 0, 0},      // apart: the whole thing
        {"bytes=0-0,-1", 1000, W, 0, 0},
        {"bytes=1000-", 1000, U, 0, 0},           // wget -c on a complete file
        {"bytes=1000-2000", 1000, U, 0, 0},
        {"bytes=-0", 1000, U, 0, 0},
        {"bytes=0-", 0, U, 0, 0},                 // nothing to give from an empty file
        {"bytes=-10", 0, U, 0, 0},
        {"bytes=5-3", 1000, U, 0, 0},             // last before first: invalid
        {"bytes=abc", 1000, U, 0, 0},
        {"bytes=1-2-3", 1000, U, 0, 0},
        {"bytes=-", 1000, U, 0, 0},
        {"bytes=", 1000, U, 0, 0},
        {"bytes=0x10-20", 1000, U, 0, 0},
        {"bytes=+1-2", 1000, U, 0, 0},
        {"bytes=1000-,0-9", 1000, P, 0, 10},      // one satisfiable part is enough
        {"items=0-9", 1000, W, 0, 0},             // unknown unit: ignored
        {"bytes 0-9", 1000, W, 0, 0},             // no '=': not a ranges-specifier
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.field);
        const auto r = evaluate_range(c.field, c.size);
        EXPECT_EQ(r.outcome, c.outcome);
        if (c.outcome == P) {
            EXPECT_EQ(r.range.first, c.first);
            EXPECT_EQ(r.range.length, c.length);
        }
    }
}

TEST(HttpRange, TooManyRangesAreRefused) {
    std::string many = "bytes=";
    for (std::size_t i = 0; i <= max_ranges; ++i) many += std::to_string(i) + "-" + std::to_string(i) + ",";
    EXPECT_EQ(evaluate_range(many, 1 << 20).outcome, range_outcome::unsatisfiable);
}

// --- listings and content types

TEST(HttpListing, SortedEscapedWithSizesAndDates) {
    const std::vector<listing_entry> entries = {
        {"zeta.rpm", false, 1234, 784111777},
        {"Packages", true, 0, 784111777},
        {"a<b>&\"c\".txt", false, 5, 0},
        {"alpha.rpm", false, 99, 784111777},
        {"repodata", true, 0, 0},
    };
    const auto html = listing_html("pub/centos 7", entries);
    EXPECT_THAT(html, HasSubstr("<title>Index of /pub/centos 7/</title>"));
    EXPECT_THAT(html, HasSubstr("<a href=\"../\">../</a>"));
    // Directories first, then files, each by name.
    const auto packages = html.find("Packages/");
    const auto repodata = html.find("repodata/");
    const auto odd = html.find("a&lt;b&gt;&amp;&quot;c&quot;.txt");
    const auto alpha = html.find("alpha.rpm");
    const auto zeta = html.find("zeta.rpm");
    ASSERT_NE(odd, std::string::npos);
    EXPECT_LT(packages, repodata);
    EXPECT_LT(repodata, odd);
    EXPECT_LT(odd, alpha);
    EXPECT_LT(alpha, zeta);
    EXPECT_THAT(html, HasSubstr("href=\"./a%3Cb%3E%26%22c%22.txt\""));
    EXPECT_THAT(html, HasSubstr("<td>06-Nov-1994 08:49</td><td class=\"s\">1234</td>"));
    EXPECT_THAT(html, Not(HasSubstr("<b>")));
}

TEST(HttpListing, TopHasNoParentLink) {
    EXPECT_THAT(listing_html("", {}), Not(HasSubstr("../")));
    EXPECT_THAT(listing_html("", {}), HasSubstr("Index of /<"));
}

TEST(HttpListing, ContentTypes) {
    EXPECT_EQ(content_type_for("pub/x/Packages/vim-8.0.rpm"), "application/x-rpm");
    EXPECT_EQ(content_type_for("repodata/repomd.xml"), "application/xml");
    EXPECT_EQ(content_type_for("repodata/abc-primary.xml.gz"), "application/gzip");
    EXPECT_EQ(content_type_for("images/install.img"), "application/octet-stream");
    EXPECT_EQ(content_type_for("ks/host.KS"), "text/plain; charset=utf-8");
    EXPECT_EQ(content_type_for("tree/.treeinfo"), "text/plain; charset=utf-8");
    EXPECT_EQ(content_type_for("RPM-GPG-KEY-CentOS-7"), "text/plain; charset=utf-8");
    EXPECT_EQ(content_type_for("vmlinuz"), "application/octet-stream");
    EXPECT_EQ(content_type_for("dir.d/noext"), "application/octet-stream");
}

// --- decide() with a fake namespace

class fake_resolver final : public resolver {
public:
    std::map<std::string, entity> files;
    std::map<std::string, std::string> dirs;  // path -> listing body
    std::string last_api;
    std::string last_method;
    unsigned api_status_code = 0;

    lookup_result file(std::string_view path, bool listing, std::string_view) override {
        lookup_result r;
        const auto f = files.find(std::string(path));
        if (f != files.end()) {
            r.status = lookup_status::found;
            r.found = f->second;
            return r;
        }
        const auto d = dirs.find(std::string(path));
        if (d != dirs.end()) {
            if (!listing) {
                r.status = lookup_status::directory;
                return r;
            }
            r.status = lookup_status::found;
            r.found.body = std::make_shared<const std::string>(d->second);
            r.found.content_type = "text/html; charset=utf-8";
            r.found.dynamic = true;
            return r;
        }
        if (path == "secret") {
            r.status = lookup_status::forbidden;
            r.log_reason = "outside";
            return r;
        }
        r.status = lookup_status::not_found;
        r.log_reason = "\"" + std::string(path) + "\": not found";
        r.client_message = "not found";
        return r;
    }

    lookup_result api(std::string_view method, std::string_view path, std::string_view, std::string_view) override {
        last_method = std::string(method);
        last_api = std::string(path);
        lookup_result r;
        r.status = path == "api/v1/hosts" ? lookup_status::found : lookup_status::not_found;
        if (api_status_code) r.status = lookup_status::failed, r.status_code = api_status_code;
        r.found.body = std::make_shared<const std::string>(r.status == lookup_status::found ? "[]" : "{\"error\":\"x\"}");
        r.found.content_type = "application/json";
        r.found.dynamic = true;
        if (path == "ui/api/stream") {
            r.status = lookup_status::found;
            r.found.stream = true;
            r.found.content_type = "text/event-stream";
            r.found.body = std::make_shared<const std::string>("retry: 3000\n\n");
        }
        r.found.fields = api_fields;
        if (!api_cache_control.empty()) r.found.cache_control = api_cache_control;
        return r;
    }
    std::vector<std::pair<std::string, std::string>> api_fields;
    std::string api_cache_control;
};

class HttpDecide : public ::testing::Test {
protected:
    void SetUp() override {
        entity big;
        big.size = 100 << 20;
        big.mtime = 784111777;
        big.etag = file_etag(big.size, big.mtime);
        big.content_type = "application/x-rpm";
        fs.files["pub/big.rpm"] = big;
        entity doc;
        doc.body = std::make_shared<const std::string>("#version=RHEL7\ninstall\n");
        doc.size = doc.body->size();
        doc.mtime = 1600000000;
        doc.etag = body_etag(*doc.body);
        doc.content_type = "text/plain; charset=utf-8";
        fs.files["ks/n1.ks"] = doc;
        fs.dirs["pub"] = "<html>listing</html>";
    }

    response_plan get(std::string_view target, std::string_view method = "GET") {
        req.method = method;
        req.target = target;
        return decide(req, fs, {}, now);
    }

    static std::string field(const response_plan& p, const std::string& name) {
        const auto at = p.head.find("\r\n" + name + ": ");
        if (at == std::string::npos) return "<absent>";
        const auto start = at + 4 + name.size();
        return p.head.substr(start, p.head.find("\r\n", start) - start);
    }

    fake_resolver fs;
    request_head req = [] {
        request_head r;
        r.has_host = true;
        return r;
    }();
    std::int64_t now = 1700000000;
};

TEST_F(HttpDecide, GetFile) {
    const auto p = get("/pub/big.rpm");
    EXPECT_EQ(p.status, 200u);
    EXPECT_THAT(p.head, ::testing::StartsWith("HTTP/1.1 200 OK\r\n"));
    EXPECT_THAT(p.head, ::testing::EndsWith("\r\n\r\n"));
    EXPECT_EQ(field(p, "Content-Length"), std::to_string(100 << 20));
    EXPECT_EQ(field(p, "Content-Type"), "application/x-rpm");
    EXPECT_EQ(field(p, "Last-Modified"), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(field(p, "ETag"), file_etag(100 << 20, 784111777));
    EXPECT_EQ(field(p, "Accept-Ranges"), "bytes");
    EXPECT_EQ(field(p, "Date"), "Tue, 14 Nov 2023 22:13:20 GMT");
    EXPECT_EQ(field(p, "Connection"), "<absent>");
    EXPECT_TRUE(p.file_body);
    EXPECT_FALSE(p.memory);
    EXPECT_EQ(p.body_offset, 0u);
    EXPECT_EQ(p.body_length, 100u << 20);
    EXPECT_TRUE(p.keep_alive);
}

TEST_F(HttpDecide, HeadHasTheHeadersButNoBody) {
    const auto p = get("/pub/big.rpm", "HEAD");
    EXPECT_EQ(p.status, 200u);
    EXPECT_EQ(field(p, "Content-Length"), std::to_string(100 << 20));
    EXPECT_FALSE(p.file_body);
    EXPECT_EQ(p.body_length, 0u);
}

TEST_F(HttpDecide, RangeGives206) {
    req.range = "bytes=1048576-";
    const auto p = get("/pub/big.rpm");
    EXPECT_EQ(p.status, 206u);
    EXPECT_EQ(field(p, "Content-Range"), "bytes 1048576-104857599/104857600");
    EXPECT_EQ(field(p, "Content-Length"), std::to_string((100 << 20) - (1 << 20)));
    EXPECT_EQ(p.body_offset, 1u << 20);
    EXPECT_EQ(p.body_length, (100u << 20) - (1u << 20));
}

TEST_F(HttpDecide, RangeWithStaleIfRangeGivesEverything) {
    req.range = "bytes=10-";
    req.if_range = "\"old\"";
    const auto p = get("/pub/big.rpm");
    EXPECT_EQ(p.status, 200u);
    EXPECT_EQ(p.body_length, 100u << 20);
}

TEST_F(HttpDecide, UnsatisfiableRangeGives416) {
    req.range = "bytes=104857600-";
    const auto p = get("/pub/big.rpm");
    EXPECT_EQ(p.status, 416u);
    EXPECT_EQ(field(p, "Content-Range"), "bytes */104857600");
    EXPECT_TRUE(p.keep_alive);
    EXPECT_FALSE(p.file_body);
}

TEST_F(HttpDecide, RangeOfADocumentComesFromMemory) {
    req.range = "bytes=0-7";
    const auto p = get("/ks/n1.ks");
    EXPECT_EQ(p.status, 206u);
    ASSERT_TRUE(p.memory);
    EXPECT_EQ(p.memory->substr(p.body_offset, p.body_length), "#version");
    EXPECT_FALSE(p.file_body);
}

TEST_F(HttpDecide, ConditionalGetGives304) {
    const std::string etag = file_etag(100 << 20, 784111777);  // request_head holds views
    req.if_none_match = etag;
    auto p = get("/pub/big.rpm");
    EXPECT_EQ(p.status, 304u);
    EXPECT_EQ(field(p, "ETag"), file_etag(100 << 20, 784111777));
    EXPECT_EQ(field(p, "Content-Length"), "<absent>");
    EXPECT_EQ(p.body_length, 0u);
    EXPECT_TRUE(p.keep_alive);
    req.if_none_match = {};
    req.if_modified_since = "Sun, 06 Nov 1994 08:49:37 GMT";
    EXPECT_EQ(get("/pub/big.rpm").status, 304u);
    req.if_modified_since = "Sat, 05 Nov 1994 08:49:37 GMT";
    EXPECT_EQ(get("/pub/big.rpm").status, 200u);
}

TEST_F(HttpDecide, IfMatchFailureGives412) {
    req.if_match = "\"nope\"";
    EXPECT_EQ(get("/pub/big.rpm").status, 412u);
}

TEST_F(HttpDecide, DirectoryWithoutSlashRedirects) {
    const auto p = get("/pub");
    EXPECT_EQ(p.status, 301u);
    EXPECT_EQ(field(p, "Location"), "/pub/");
    // Rebuilt from the normalised path: never a protocol-relative URL.
    EXPECT_EQ(field(get("//pub"), "Location"), "/pub/");
}

TEST_F(HttpDecide, DirectoryWithSlashLists) {
    const auto p = get("/pub/");
    EXPECT_EQ(p.status, 200u);
    EXPECT_EQ(field(p, "Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(field(p, "Cache-Control"), "no-cache");
    EXPECT_EQ(field(p, "ETag"), "<absent>");
    ASSERT_TRUE(p.memory);
    EXPECT_EQ(*p.memory, "<html>listing</html>");
}

TEST_F(HttpDecide, MetricsGoToTheApiHandlerNotTheFiles) {
    get("/metrics");
    EXPECT_EQ(fs.last_api, "metrics");
    fs.last_api.clear();
    get("/metrics/x");
    EXPECT_EQ(fs.last_api, "") << "only /metrics itself is reserved";
}

TEST_F(HttpDecide, PostGoesToTheApiWithItsMethodAndExactStatus) {
    auto p = get("/api/v1/hosts", "POST");
    EXPECT_EQ(fs.last_method, "POST");
    EXPECT_EQ(p.status, 200u);
    get("/api/v1/hosts");
    EXPECT_EQ(fs.last_method, "GET");
    fs.api_status_code = 409;
    p = get("/api/v1/hosts/zz/install-done?token=x", "POST");
    EXPECT_EQ(p.status, 409u) << "the API's own status, not one of the file statuses";
    EXPECT_THAT(p.head, HasSubstr("409 Conflict"));
    fs.api_status_code = 401;
    p = get("/api/v1/hosts/zz/reinstall", "POST");
    EXPECT_EQ(field(p, "WWW-Authenticate"), "Bearer realm=\"pxed\"") << "a 401 names the scheme it wants";
    fs.api_status_code = 429;
    p = get("/api/v1/hosts/zz/reinstall", "POST");
    EXPECT_EQ(field(p, "Retry-After"), "60");
}

TEST_F(HttpDecide, TheDashboardIsAnsweredByTheApiWithItsOwnFields) {
    fs.api_fields = {{"Content-Security-Policy", "default-src 'none'"},
                     {"X-Evil", "a\r\nSet-Cookie: stolen=1"},
                     {"Bad\r\nName", "x"}};
    fs.api_cache_control = "no-store";
    auto p = get("/ui/api/hosts");
    EXPECT_EQ(fs.last_api, "ui/api/hosts");
    EXPECT_EQ(field(p, "Content-Security-Policy"), "default-src 'none'");
    EXPECT_EQ(field(p, "Cache-Control"), "no-store");
    EXPECT_THAT(p.head, Not(HasSubstr("stolen"))) << "a field with CR or LF is dropped, never split";
    EXPECT_THAT(p.head, Not(HasSubstr("Bad")));
    get("/ui/", "POST");
    EXPECT_EQ(fs.last_method, "POST") << "the dashboard takes POSTs (sign-in, actions)";
    EXPECT_EQ(fs.last_api, "ui");
    p = get("/ui");
    EXPECT_EQ(p.status, 301u) << "the page's relative links need the slash";
    EXPECT_EQ(field(p, "Location"), "/ui/");
}

TEST_F(HttpDecide, AStreamHasNoLengthAndEndsWithTheConnection) {
    auto p = get("/ui/api/stream");
    EXPECT_EQ(p.status, 200u);
    EXPECT_TRUE(p.stream);
    EXPECT_FALSE(p.keep_alive);
    EXPECT_EQ(field(p, "Content-Type"), "text/event-stream");
    EXPECT_EQ(field(p, "Content-Length"), "<absent>") << "a stream's length is not known";
    EXPECT_EQ(field(p, "Connection"), "close");
    EXPECT_EQ(field(p, "Cache-Control"), "no-store");
    ASSERT_TRUE(p.memory);
    EXPECT_EQ(*p.memory, "retry: 3000\n\n") << "what the stream says first";
    p = get("/ui/api/stream", "HEAD");
    EXPECT_FALSE(p.stream) << "HEAD: the head alone";
    EXPECT_EQ(p.body_length, 0u);
}

TEST_F(HttpDecide, Refusals) {
    EXPECT_EQ(get("/nope").status, 404u);
    EXPECT_EQ(get("/secret").status, 403u);
    EXPECT_EQ(get("/../etc/passwd").status, 403u);
    EXPECT_EQ(get("/a%00").status, 400u);
    EXPECT_EQ(get("/a%2F..%2F..").status, 400u);
    EXPECT_EQ(get("/x", "POST").status, 405u);
    EXPECT_EQ(field(get("/ks/n1.ks", "POST"), "Allow"), "GET, HEAD") << "files take no POST";
    EXPECT_EQ(fs.last_method, "") << "and the API was never asked";
    EXPECT_EQ(field(get("/x", "DELETE"), "Allow"), "GET, HEAD");
    EXPECT_EQ(get("/x", "BREW").status, 501u);
    EXPECT_EQ(get("/" + std::string(9000, 'a')).status, 414u);
    const auto p = get("/nope");
    EXPECT_THAT(*p.memory, HasSubstr("404 Not Found"));
    EXPECT_EQ(p.log_reason, "\"nope\": not found");
}

TEST_F(HttpDecide, HttpOneOneNeedsHost) {
    req.has_host = false;
    const auto p = get("/pub/big.rpm");
    EXPECT_EQ(p.status, 400u);
    EXPECT_FALSE(p.keep_alive);
    req.version = 10;
    EXPECT_EQ(get("/pub/big.rpm").status, 200u);
}

TEST_F(HttpDecide, KeepAlive) {
    EXPECT_TRUE(get("/pub/big.rpm").keep_alive);
    req.connection = "close";
    auto p = get("/pub/big.rpm");
    EXPECT_FALSE(p.keep_alive);
    EXPECT_EQ(field(p, "Connection"), "close");
    req.version = 10;
    req.connection = "";
    EXPECT_FALSE(get("/pub/big.rpm").keep_alive);
    req.connection = "Keep-Alive";
    p = get("/pub/big.rpm");
    EXPECT_TRUE(p.keep_alive);
    EXPECT_EQ(field(p, "Connection"), "keep-alive");
    // A body pxed does not read must not be taken for the next request.
    req.version = 11;
    req.connection = "";
    req.has_body = true;
    EXPECT_FALSE(get("/pub/big.rpm").keep_alive);
    EXPECT_TRUE(wants_keep_alive(11, "Upgrade, TE"));
    EXPECT_FALSE(wants_keep_alive(11, "upgrade,  CLOSE"));
}

TEST_F(HttpDecide, UnsupportedVersion) {
    req.version = 20;
    EXPECT_EQ(get("/pub/big.rpm").status, 505u);
}

TEST_F(HttpDecide, ApiRoutesAndKeepsItsErrorBodies) {
    auto p = get("/api/v1/hosts");
    EXPECT_EQ(fs.last_api, "api/v1/hosts");
    EXPECT_EQ(p.status, 200u);
    EXPECT_EQ(field(p, "Content-Type"), "application/json");
    p = get("/api/v1/hosts/zz");
    EXPECT_EQ(p.status, 404u);
    EXPECT_EQ(field(p, "Content-Type"), "application/json");
    EXPECT_EQ(*p.memory, "{\"error\":\"x\"}");
    // Only api/v1 itself is routed: "api" and "apiary" stay files.
    EXPECT_EQ(get("/apiary").status, 404u);
    EXPECT_EQ(fs.last_api, "api/v1/hosts/zz");
}

// RFC 9112 section 6.3: a request body whose end is unknown (a last coding
// other than chunked) or that carries both framings would be taken for the
// next request on a kept-alive connection: 400 and close, before any lookup.
TEST_F(HttpDecide, TransferEncodingThatIsNotChunkedIs400AndClose) {
    struct te_case {
        const char* te;
        bool content_length;
        bool refused;
    };
    const te_case cases[] = {
        {"gzip", false, true},          {"chunked, gzip", false, true}, {"identity", false, true},
        {"chunked", true, true},        {"gzip", true, true},           {"chunked", false, false},
        {"gzip, chunked", false, false}, {"gzip,Chunked\t", false, false}, {"", true, false},
    };
    for (const auto& c : cases) {
        req.transfer_encoding = c.te;
        req.has_content_length = c.content_length;
        req.has_body = true;
        const auto p = get("/pub/big.rpm");
        if (c.refused) {
            EXPECT_EQ(p.status, 400u) << c.te << " cl=" << c.content_length;
            EXPECT_FALSE(p.keep_alive) << c.te;
            EXPECT_THAT(p.head, HasSubstr("Connection: close\r\n")) << c.te;
            EXPECT_FALSE(framing_error(req).empty()) << c.te;
        } else {
            EXPECT_EQ(p.status, 200u) << c.te << " cl=" << c.content_length;
            EXPECT_FALSE(p.keep_alive) << c.te;  // still a body pxed will not read
            EXPECT_TRUE(framing_error(req).empty()) << c.te;
        }
    }
}

TEST(HttpErrorPlan, ClosesTheConnection) {
    const auto p = error_plan(431, "request header too large", 0);
    EXPECT_EQ(p.status, 431u);
    EXPECT_FALSE(p.keep_alive);
    EXPECT_THAT(p.head, HasSubstr("Connection: close\r\n"));
    EXPECT_THAT(p.head, ::testing::StartsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
}

}  // namespace
}  // namespace pxed::http
