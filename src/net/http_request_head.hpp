#pragma once
/// What the HTTP decision function (engine/http_exchange) needs from a
/// request Beast has parsed. Header-only and Beast-bound, so it is private
/// to net/ (not under include/: Beast must not reach includers); the
/// server and the HTTP fuzzer read a request the same way.

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>

#include <string>
#include <string_view>

#include "pxed/engine/http_exchange.hpp"

namespace pxed::net {

/// The head of the request in `parser`, which must have its header done.
/// The views point into the parser's buffer.
/// `te_storage` keeps the joined Transfer-Encoding fields the head points to.
template <class Body, class Allocator>
http::request_head request_head_of(const boost::beast::http::request_parser<Body, Allocator>& parser,
                                   std::string& te_storage) {
    namespace bhttp = boost::beast::http;
    const auto sv = [](boost::beast::string_view s) { return std::string_view(s.data(), s.size()); };
    const auto& req = parser.get();
    http::request_head head;
    head.method = sv(req.method_string());
    head.target = sv(req.target());
    head.version = req.version();
    head.has_host = req.find(bhttp::field::host) != req.end();
    head.connection = sv(req[bhttp::field::connection]);
    head.if_match = sv(req[bhttp::field::if_match]);
    head.if_none_match = sv(req[bhttp::field::if_none_match]);
    head.if_modified_since = sv(req[bhttp::field::if_modified_since]);
    head.if_unmodified_since = sv(req[bhttp::field::if_unmodified_since]);
    head.range = sv(req[bhttp::field::range]);
    head.if_range = sv(req[bhttp::field::if_range]);
    head.authorization = sv(req[bhttp::field::authorization]);
    head.cookie = sv(req[bhttp::field::cookie]);
    head.origin = sv(req[bhttp::field::origin]);
    head.host = sv(req[bhttp::field::host]);
    head.csrf_token = sv(req["X-CSRF-Token"]);
    head.has_body = !parser.is_done();
    // Every field: "Transfer-Encoding: chunked" then "Transfer-Encoding:
    // gzip" is a gzip body of unknown length (RFC 9110 section 5.3).
    te_storage.clear();
    const auto te = req.equal_range(bhttp::field::transfer_encoding);
    for (auto it = te.first; it != te.second; ++it) {
        if (!te_storage.empty()) te_storage += ", ";
        te_storage += sv(it->value());
    }
    head.transfer_encoding = te_storage;
    head.has_content_length = req.find(bhttp::field::content_length) != req.end();
    return head;
}

}  // namespace pxed::net
