#include "pxed/engine/http_exchange.hpp"

#include <algorithm>

#include "pxed/engine/http_target.hpp"
#include "pxed/engine/http_validators.hpp"
#include "pxed/wire/text.hpp"

namespace pxed::http {
namespace {

// A time's HTTP-date, formatted again only when the time changes.
struct date_text {
    std::int64_t time = -1;
    std::string text;
    const std::string& of(std::int64_t t) {
        if (t != time) {
            text = format_http_date(t);
            time = t;
        }
        return text;
    }
};

constexpr std::string_view text_plain = "text/plain; charset=utf-8";

using wire::iequals;

// Header values pxed writes come from its own code, the file namespace and
// the site; a CR or LF among them must still never split the head.
void append_field(std::string& head, std::string_view name, std::string_view value) {
    head.append(name.data(), name.size());
    head += ": ";
    for (const char c : value) head += (c == '\r' || c == '\n' || c == '\0') ? ' ' : c;
    head += "\r\n";
}

void append_field(std::string& head, std::string_view name, std::uint64_t value) {
    append_field(head, name, std::to_string(value));
}

bool safe_field_text(std::string_view s) {
    for (char c : s)
        if (c == '\r' || c == '\n' || c == '\0') return false;
    return true;
}

void append_extra_fields(std::string& head, const entity& e) {
    for (const auto& [name, value] : e.fields)
        if (!name.empty() && safe_field_text(name) && safe_field_text(value)) append_field(head, name, value);
}

std::string start_head(unsigned status, std::int64_t now, std::string_view server_name) {
    std::string head;
    head.reserve(320);
    head += "HTTP/1.1 ";
    head += std::to_string(status);
    head += ' ';
    const auto phrase = reason_phrase(status);
    head.append(phrase.data(), phrase.size());
    head += "\r\n";
    append_field(head, "Server", server_name);
    // One Date per second is enough: formatting it per request shows up
    // in a profile of many small requests.
    thread_local date_text date;
    append_field(head, "Date", date.of(now));
    return head;
}

void end_head(std::string& head, bool keep_alive, unsigned version) {
    if (!keep_alive)
        append_field(head, "Connection", "close");
    else if (version < 11)
        append_field(head, "Connection", "keep-alive");
    head += "\r\n";
}

// A short text body for a refusal: the status, and a line for a person.
response_plan refusal(unsigned status, std::string_view client_message, std::string log_reason, bool head_only,
                      bool keep_alive, unsigned version, std::int64_t now, std::string_view server_name,
                      std::string_view extra_name = {}, std::string_view extra_value = {}) {
    response_plan p;
    p.status = status;
    p.keep_alive = keep_alive;
    p.log_reason = std::move(log_reason);
    auto body = std::make_shared<std::string>(std::to_string(status) + " " + std::string(reason_phrase(status)));
    if (!client_message.empty()) {
        *body += ": ";
        body->append(client_message.data(), client_message.size());
    }
    *body += "\n";
    p.head = start_head(status, now, server_name);
    append_field(p.head, "Content-Type", text_plain);
    append_field(p.head, "Content-Length", body->size());
    if (!extra_name.empty()) append_field(p.head, extra_name, extra_value);
    end_head(p.head, keep_alive, version);
    if (!head_only) {
        p.body_length = body->size();
        p.memory = std::move(body);
    }
    return p;
}

response_plan custom_refusal(unsigned status, const entity& e, std::string log_reason, bool head_only,
                             bool keep_alive, unsigned version, std::int64_t now, std::string_view server_name) {
    response_plan p;
    p.status = status;
    p.keep_alive = keep_alive;
    p.log_reason = std::move(log_reason);
    p.head = start_head(status, now, server_name);
    append_field(p.head, "Content-Type", e.content_type.empty() ? text_plain : std::string_view(e.content_type));
    append_field(p.head, "Content-Length", e.body->size());
    append_field(p.head, "Cache-Control", e.cache_control.empty() ? std::string_view("no-cache") : e.cache_control);
    append_extra_fields(p.head, e);
    // RFC 9110 section 15.5.2: a 401 names the scheme it wants (the API's keys).
    if (status == 401) append_field(p.head, "WWW-Authenticate", "Bearer realm=\"pxed\"");
    // RFC 6585 section 4: how long a locked-out client should wait.
    if (status == 429) append_field(p.head, "Retry-After", "60");
    end_head(p.head, keep_alive, version);
    if (!head_only && !e.body->empty()) {
        p.memory = e.body;
        p.body_length = e.body->size();
    }
    return p;
}

unsigned status_of(lookup_status s) {
    switch (s) {
    case lookup_status::found: return 200;
    case lookup_status::directory: return 301;
    case lookup_status::not_found: return 404;
    case lookup_status::forbidden: return 403;
    case lookup_status::bad_request: return 400;
    case lookup_status::failed: break;
    }
    return 500;
}

bool is_known_method(std::string_view m) {
    for (std::string_view known : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"})
        if (m == known) return true;
    return false;
}

// /metrics (Prometheus) is answered by the API handler too: the same
// access rule for reads, and no file of that name can shadow it.
// The dashboard (ui/...) too: its pages, data and stream.
bool is_api(std::string_view path) {
    return path == "api/v1" || path.substr(0, 7) == "api/v1/" || path == "metrics" || path == "ui" ||
           path.substr(0, 3) == "ui/";
}


response_plan serve_entity(const request_head& req, const entity& e, bool head_only, bool keep_alive,
                           std::int64_t now, std::string_view server_name) {
    if (e.stream) {
        // Server-Sent Events: no length, no validators, no ranges; the
        // stream ends when the connection does.
        response_plan p;
        p.status = 200;
        p.head = start_head(200, now, server_name);
        append_field(p.head, "Content-Type", e.content_type.empty() ? "text/event-stream" : e.content_type);
        append_field(p.head, "Cache-Control", e.cache_control.empty() ? std::string_view("no-store") : e.cache_control);
        append_extra_fields(p.head, e);
        end_head(p.head, false, req.version);
        p.stream = !head_only;
        if (p.stream && e.body && !e.body->empty()) {
            p.memory = e.body;
            p.body_length = e.body->size();
        }
        return p;
    }
    const std::uint64_t size = e.body ? e.body->size() : e.size;
    const bool validators = !e.etag.empty();
    const std::int64_t last_modified = std::min(e.mtime, now);  // never in the future (RFC 9110 section 8.8.2.1)

    auto validator_fields = [&](std::string& head) {
        if (e.mtime != 0) {
            // The same file or document again (a storm fetching kickstarts
            // rendered at one moment): its date formatted once.
            thread_local date_text modified;
            append_field(head, "Last-Modified", modified.of(last_modified));
        }
        if (validators) append_field(head, "ETag", e.etag);
    };

    if (validators) {
        const conditional_headers cond{req.if_match, req.if_none_match, req.if_modified_since,
                                       req.if_unmodified_since};
        switch (evaluate_preconditions(cond, e.etag, e.mtime, now)) {
        case precondition::proceed: break;
        case precondition::not_modified: {
            response_plan p;
            p.status = 304;
            p.keep_alive = keep_alive;
            p.head = start_head(304, now, server_name);
            validator_fields(p.head);
            end_head(p.head, keep_alive, req.version);
            return p;
        }
        case precondition::failed:
            return refusal(412, "the representation does not match the request's preconditions",
                           "precondition failed", head_only, keep_alive, req.version, now, server_name);
        }
    }

    unsigned status = 200;
    byte_range range{0, size};
    if (validators && !req.range.empty() && if_range_allows(req.if_range, e.etag, e.mtime)) {
        const auto r = evaluate_range(req.range, size);
        if (r.outcome == range_outcome::unsatisfiable) {
            return refusal(416, "range not satisfiable", "range not satisfiable", head_only, keep_alive, req.version,
                           now, server_name, "Content-Range", "bytes */" + std::to_string(size));
        }
        if (r.outcome == range_outcome::partial) {
            status = 206;
            range = r.range;
        }
    }

    response_plan p;
    p.status = status;
    p.keep_alive = keep_alive;
    p.head = start_head(status, now, server_name);
    append_field(p.head, "Content-Type", e.content_type.empty() ? "application/octet-stream" : e.content_type);
    append_field(p.head, "Content-Length", range.length);
    validator_fields(p.head);
    if (validators) append_field(p.head, "Accept-Ranges", "bytes");
    if (status == 206) {
        append_field(p.head, "Content-Range",
                     "bytes " + std::to_string(range.first) + "-" + std::to_string(range.first + range.length - 1) +
                         "/" + std::to_string(size));
    }
    if (!e.cache_control.empty())
        append_field(p.head, "Cache-Control", e.cache_control);
    else if (e.dynamic)
        append_field(p.head, "Cache-Control", "no-cache");
    append_extra_fields(p.head, e);
    end_head(p.head, keep_alive, req.version);
    if (!head_only && range.length > 0) {
        p.body_offset = range.first;
        p.body_length = range.length;
        p.memory = e.body;
        p.file_body = !e.body;
    }
    return p;
}

}  // namespace

std::string_view reason_phrase(unsigned status) {
    switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 421: return "Misdirected Request";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

bool wants_keep_alive(unsigned version, std::string_view connection) {
    bool keep = version >= 11;
    std::string_view rest = connection;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::string_view token = rest.substr(0, comma);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
        if (iequals(token, "close")) return false;
        if (iequals(token, "keep-alive")) keep = true;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return keep;
}

response_plan error_plan(unsigned status, std::string_view message, std::int64_t now, std::string_view server_name) {
    return refusal(status, message, std::string(message), false, false, 11, now, server_name);
}

std::string_view framing_error(const request_head& req) {
    if (req.transfer_encoding.empty()) return {};
    // RFC 9112 section 6.1: a sender must not send both; section 6.3 item 3:
    // a server may reject it, and must close the connection either way.
    if (req.has_content_length) return "Transfer-Encoding together with Content-Length";
    // Section 6.3 item 4: in a request, a last coding other than chunked
    // leaves the body's length unknown; 400 and close.
    std::string_view last = req.transfer_encoding;
    if (const auto comma = last.rfind(','); comma != std::string_view::npos) last.remove_prefix(comma + 1);
    while (!last.empty() && (last.front() == ' ' || last.front() == '\t')) last.remove_prefix(1);
    while (!last.empty() && (last.back() == ' ' || last.back() == '\t')) last.remove_suffix(1);
    if (!iequals(last, "chunked")) return "Transfer-Encoding without chunked as its last coding";
    return {};
}

response_plan decide(const request_head& req, resolver& files, const exchange_limits& limits, std::int64_t now) {
    const auto name = limits.server_name;
    if (const auto bad = framing_error(req); !bad.empty()) {
        // Whatever follows the head could be taken for a second request.
        return refusal(400, "ambiguous request framing", std::string(bad), false, false, 11, now, name);
    }
    // A body pxed will not read would be taken for the next request.
    bool keep_alive = !req.has_body && wants_keep_alive(req.version, req.connection);

    if (req.version / 10 != 1) {
        return refusal(505, "only HTTP/1.0 and HTTP/1.1 are served", "unsupported HTTP version", false, false, 11,
                       now, name);
    }
    const bool head_only = req.method == "HEAD";
    const bool post = req.method == "POST";
    if (!head_only && !post && req.method != "GET") {
        // Files are read-only: GET and HEAD, and POST for the API.
        const unsigned status = is_known_method(req.method) ? 405 : 501;
        return refusal(status, "pxed serves GET and HEAD only", "method not allowed", false, keep_alive, req.version,
                       now, name, "Allow", "GET, HEAD");
    }
    if (req.version >= 11 && !req.has_host) {
        return refusal(400, "HTTP/1.1 request without Host", "no Host field", head_only, false, req.version, now,
                       name);
    }
    const auto t = parse_target(req.target, limits.max_target);
    if (!t.value) {
        // A malformed target is a broken or hostile client: answer and close.
        const bool keep = keep_alive && t.status == 403;
        return refusal(t.status, t.status == 403 ? "outside the served roots" : "bad request-target", t.reason,
                       head_only, keep, req.version, now, name);
    }
    const auto& target = *t.value;
    const bool api = is_api(target.path);
    if (post && !api) {
        return refusal(405, "files are served with GET and HEAD", "method not allowed", false, keep_alive, req.version,
                       now, name, "Allow", "GET, HEAD");
    }

    if (api && target.path == "ui" && !target.trailing_slash) {
        // The dashboard's page names its files relative to /ui/.
        return refusal(301, "see /ui/", "the dashboard is at /ui/", head_only, keep_alive, req.version, now, name,
                       "Location", "/ui/");
    }
    lookup_result found = api ? files.api(req.method, target.path, target.query, req.authorization)
                              : files.file(target.path, target.trailing_slash, target.query);
    if (found.status != lookup_status::found && found.status != lookup_status::directory && found.found.body) {
        // A refusal with a body of its own (the API's JSON errors).
        return custom_refusal(found.status_code ? found.status_code : status_of(found.status), found.found,
                              found.log_reason, head_only,
                              keep_alive && found.status != lookup_status::bad_request, req.version, now, name);
    }
    switch (found.status) {
    case lookup_status::found:
        return serve_entity(req, found.found, head_only, keep_alive, now, name);
    case lookup_status::directory: {
        // Relative links in a listing need the trailing slash, as with
        // every web server; the Location is rebuilt from the normalised
        // path, so "//evil.example/" can never become an open redirect.
        const std::string location = "/" + percent_encode_path(target.path) + "/";
        return refusal(301, "see " + location, "directory without a trailing slash", head_only, keep_alive,
                       req.version, now, name, "Location", location);
    }
    case lookup_status::not_found:
        return refusal(404, found.client_message, found.log_reason, head_only, keep_alive, req.version, now, name);
    case lookup_status::forbidden:
        return refusal(403, found.client_message, found.log_reason, head_only, keep_alive, req.version, now, name);
    case lookup_status::bad_request:
        return refusal(400, found.client_message, found.log_reason, head_only, false, req.version, now, name);
    case lookup_status::failed: break;
    }
    return refusal(500, found.client_message, found.log_reason, head_only, keep_alive, req.version, now, name);
}

}  // namespace pxed::http
