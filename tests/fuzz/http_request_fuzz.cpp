// libFuzzer target: the HTTP request path as the server runs it. Raw bytes
// go through Beast's request parser (as net/http_server feeds it), the
// parsed head through http::decide() with a fake namespace whose answers
// depend on the path. Then the plan is checked: a well-formed head with no
// CR/LF smuggled into it, a body inside its entity, a Content-Length that
// matches what follows. The same bytes also go straight to the pure
// helpers (targets, ranges, dates, validators, listings).

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "pxed/engine/http_exchange.hpp"
#include "pxed/engine/http_listing.hpp"
#include "pxed/engine/http_target.hpp"
#include "pxed/engine/http_validators.hpp"
#include "http_request_head.hpp"  // src/net: Beast stays out of the public headers

namespace {

namespace bhttp = boost::beast::http;
using namespace pxed::http;

void require(bool ok) {
    if (!ok) std::abort();
}

std::uint64_t hash(std::string_view s) {
    std::uint64_t h = 1469598103934665603ull;
    for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    return h;
}

// A path as the namespace sees it: relative, no "..", ".", empty
// components, NUL or control characters.
void require_normalised(std::string_view path) {
    require(path.empty() || path.front() != '/');
    for (const char c : path) require(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
    if (path.empty()) return;
    std::size_t start = 0;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        const auto part = path.substr(start, end - start);
        require(!part.empty() && part != ".." && part != ".");
        start = end + 1;
    }
}

// Answers by a hash of the path, so every kind of answer is reachable.
class fake_resolver final : public resolver {
public:
    std::uint64_t last_size = 0;
    std::shared_ptr<const std::string> last_body;

    lookup_result file(std::string_view path, bool listing, std::string_view) override {
        require_normalised(path);

        lookup_result r;
        const auto h = hash(path);
        entity& e = r.found;
        switch (h % 7) {
        case 0:  // a real file
            r.status = lookup_status::found;
            e.size = (h >> 8) % (1ull << 40);
            e.mtime = static_cast<std::int64_t>((h >> 16) % 2000000000);
            e.etag = file_etag(e.size, e.mtime);
            e.content_type = std::string(content_type_for(path));
            break;
        case 1:  // a rendered document
            r.status = lookup_status::found;
            e.body = std::make_shared<const std::string>(std::string(path) + "\n" + std::string((h >> 8) % 300, 'x'));
            e.size = e.body->size();
            e.mtime = 1600000000;
            e.etag = body_etag(*e.body);
            e.content_type = "text/plain; charset=utf-8";
            break;
        case 2:  // a directory
            if (!listing) {
                r.status = lookup_status::directory;
                break;
            }
            r.status = lookup_status::found;
            e.body = std::make_shared<const std::string>(
                listing_html(path, {{std::string(path), false, h, 0}, {"sub", true, 0, 1}}));
            e.size = e.body->size();
            e.content_type = "text/html; charset=utf-8";
            e.dynamic = true;
            break;
        case 3: r.status = lookup_status::forbidden; break;
        case 4: r.status = lookup_status::bad_request; break;
        case 5: r.status = lookup_status::failed; break;
        default:
            r.status = lookup_status::not_found;
            r.client_message = "not found";
            break;
        }
        last_size = e.size;
        last_body = e.body;
        return r;
    }

    lookup_result api(std::string_view, std::string_view path, std::string_view, std::string_view) override {
        lookup_result r;
        r.status = hash(path) % 2 ? lookup_status::found : lookup_status::not_found;
        r.found.body = std::make_shared<const std::string>("{\"error\":\"x\"}");
        r.found.size = r.found.body->size();
        r.found.content_type = "application/json";
        r.found.dynamic = true;
        last_size = r.found.size;
        last_body = r.found.body;
        return r;
    }
};

// The head pxed writes: a status line, fields, an empty line; every line
// ends in CRLF and nothing else breaks a line.
void check_head(const response_plan& p) {
    const std::string& h = p.head;
    require(h.compare(0, 9, "HTTP/1.1 ") == 0);
    require(h.size() >= 13 && h.substr(9, 3) == std::to_string(p.status));
    require(h.size() >= 4 && h.compare(h.size() - 4, 4, "\r\n\r\n") == 0);
    require(h.find("\r\n\r\n") == h.size() - 4);
    for (std::size_t i = 0; i < h.size(); ++i) {
        require(h[i] != '\0');
        if (h[i] == '\n') require(i > 0 && h[i - 1] == '\r');
        if (h[i] == '\r') require(i + 1 < h.size() && h[i + 1] == '\n');
    }
}

std::optional<std::uint64_t> content_length(const std::string& head) {
    const auto at = head.find("\r\nContent-Length: ");
    if (at == std::string::npos) return std::nullopt;
    return std::stoull(head.substr(at + 18, head.find("\r\n", at + 18) - at - 18));
}

void fuzz_request(std::string_view bytes) {
    bhttp::request_parser<bhttp::empty_body> parser;
    parser.header_limit(16 * 1024);
    boost::beast::error_code ec;
    parser.put(boost::asio::const_buffer(bytes.data(), bytes.size()), ec);
    if (ec || !parser.is_header_done()) return;

    std::string te;
    const auto head = pxed::net::request_head_of(parser, te);

    fake_resolver files;
    const auto p = decide(head, files, {}, 1700000000);
    check_head(p);
    if (head.has_body) require(!p.keep_alive);
    if (!pxed::http::framing_error(head).empty()) require(p.status == 400 && !p.keep_alive);
    if (p.file_body) {
        require(!p.memory);
        require(p.body_length > 0);
        require(p.body_offset + p.body_length <= files.last_size);
        require(p.body_offset < files.last_size);
    }
    if (p.memory) require(p.body_offset + p.body_length <= p.memory->size());
    const bool has_body = p.file_body || p.memory;
    if (has_body) {
        const auto length = content_length(p.head);
        require(length && *length == p.body_length);
    }
    if (head.method == "HEAD") require(!has_body);
    if (p.status == 206) require(p.head.find("\r\nContent-Range: bytes ") != std::string::npos);
}

void fuzz_helpers(std::string_view s) {
    const auto t = parse_target(s, 8192);
    if (t.value) {
        require_normalised(t.value->path);
        // What a redirect would say must itself parse back to the same path.
        const auto again = parse_target("/" + percent_encode_path(t.value->path), 1 << 20);
        require(again.value && again.value->path == t.value->path);
    }
    if (const auto d = percent_decode(s)) require(d->size() <= s.size());

    const std::uint64_t size = hash(s) % 5000;
    const auto r = evaluate_range(s, size);
    if (r.outcome == range_outcome::partial) {
        require(r.range.length > 0);
        require(r.range.first + r.range.length <= size);
    }
    if (const auto date = parse_http_date(s)) {
        if (*date >= 0 && *date < 253402300800) require(parse_http_date(format_http_date(*date)) == *date);
    }
    (void)etag_matches(s, "\"1-2\"", hash(s) % 2);
    (void)if_range_allows(s, "\"1-2\"", 1600000000);
    const conditional_headers c{s, s, s, s};
    (void)evaluate_preconditions(c, "\"1-2\"", 1600000000, 1700000000);
    (void)wants_keep_alive(11, s);
    const std::string html = listing_html(s, {{std::string(s), false, 1, 1}});
    // A name can never open a tag of its own.
    require(html.find("<script") == std::string::npos);
    require(html_escape(s).find('<') == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    fuzz_request(bytes);
    fuzz_helpers(bytes);
    return 0;
}
