#include "pxed/engine/http_target.hpp"

#include "pxed/wire/text.hpp"

namespace pxed::http {
namespace {

target_result refuse(unsigned status, std::string reason) {
    target_result r;
    r.status = status;
    r.reason = std::move(reason);
    return r;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out += in[i];
            continue;
        }
        if (in.size() - i < 3) return std::nullopt;
        const int hi = wire::hex_value(in[i + 1]);
        const int lo = wire::hex_value(in[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

std::string percent_encode_path(std::string_view path) {
    std::string out;
    out.reserve(path.size());
    for (const char ch : path) {
        const auto c = static_cast<unsigned char>(ch);
        const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                                c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
        if (unreserved) {
            out += ch;
        } else {
            out += '%';
            out += wire::hex_digit_upper(c >> 4);
            out += wire::hex_digit_upper(c);
        }
    }
    return out;
}

target_result parse_target(std::string_view raw, std::size_t max_length) {
    if (raw.size() > max_length) return refuse(414, "request-target longer than " + std::to_string(max_length) + " bytes");
    if (raw.empty()) return refuse(400, "empty request-target");

    // absolute-form: a server must accept it (RFC 9112 section 3.2.2) even
    // though only proxies are sent it. The authority is ignored: pxed serves
    // one site whatever the client calls it.
    std::string_view rest = raw;
    for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
        if (wire::iequals(rest.substr(0, scheme.size()), scheme)) {
            rest.remove_prefix(scheme.size());
            const auto slash = rest.find_first_of("/?#");
            if (slash == std::string_view::npos || rest[slash] != '/') {
                rest = "/";
            } else {
                rest.remove_prefix(slash);
            }
            break;
        }
    }
    if (rest.front() != '/') {
        // "*" (asterisk-form) belongs to OPTIONS, "host:port" (authority-form)
        // to CONNECT; neither names a file.
        return refuse(400, "request-target is not an absolute path");
    }

    target t;
    std::string_view path = rest;
    const auto q = path.find('?');
    if (q != std::string_view::npos) {
        t.query = std::string(path.substr(q + 1));
        path = path.substr(0, q);
    }
    // Clients do not send fragments; one that does gets it dropped, as
    // browsers would have done.
    const auto hash = path.find('#');
    if (hash != std::string_view::npos) path = path.substr(0, hash);

    // Decode component by component so a separator hidden in an escape
    // stays distinguishable from a real one.
    std::string normalised;
    std::size_t pos = 0;
    bool trailing = true;  // "/" itself
    while (pos <= path.size()) {
        std::size_t end = path.find_first_of("/\\", pos);
        if (end == std::string_view::npos) end = path.size();
        const std::string_view raw_component = path.substr(pos, end - pos);
        pos = end + 1;
        if (raw_component.empty()) {
            trailing = true;
            continue;
        }
        auto decoded = percent_decode(raw_component);
        if (!decoded) return refuse(400, "malformed percent-encoding");
        for (const char ch : *decoded) {
            const auto c = static_cast<unsigned char>(ch);
            if (c == 0) return refuse(400, "NUL byte in the path");
            if (c < 0x20 || c == 0x7f) return refuse(400, "control character in the path");
            // "%2F" and "%5C" would become separators once decoded: a way to
            // slip "..%2F" past a check made on the raw form. No file name
            // under a served root contains either.
            if (c == '/' || c == '\\') return refuse(400, "encoded path separator");
        }
        trailing = false;
        if (*decoded == ".") {
            trailing = true;
            continue;
        }
        // Refused rather than resolved, as the namespace does: clients
        // resolve dot-segments before sending (RFC 3986 section 5.2.4), so
        // one that arrives is an attempt to climb out of the roots.
        if (*decoded == "..") return refuse(403, "\"..\" component");
        if (!normalised.empty()) normalised += '/';
        normalised += *decoded;
    }
    t.path = std::move(normalised);
    t.trailing_slash = trailing;
    target_result r;
    r.value = std::move(t);
    return r;
}

}  // namespace pxed::http
