// libFuzzer target for what reaches the host lifecycle from outside: the
// JSON API's requests (method, path, query, as an installer's callback or a
// stranger would send them) and the control socket's request lines. One
// long-lived lifecycle over a scratch host database, so state from earlier
// inputs is exercised too. Every answer must be one JSON value, and no
// answer may ever carry a host's install token.
//
// Input: first byte picks the kind (even: HTTP API, odd: control line);
// for the API, the second byte picks the method and the rest is
// "path?query" after "api/v1/".

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "pxed/app/access_guard.hpp"
#include "pxed/app/api.hpp"
#include "pxed/app/lifecycle_service.hpp"
#include "pxed/inventory/load.hpp"

namespace {

using namespace pxed;

constexpr const char* api_key = "0123456789abcdef0123456789abcdef0123456789abcdef";

struct world {
    std::shared_ptr<const inventory::site> site;
    std::unique_ptr<app::lifecycle_service> life;
    app::access_guard guard;
    std::unique_ptr<app::api> api;

    world() {
        char tmpl[] = "/tmp/pxed-api-fuzz-XXXXXX";
        if (!::mkdtemp(tmpl)) std::abort();
        dir = tmpl;
        std::ofstream(dir + "/keys") << "ops " << api_key << "\n";
        inventory::load_options o;
        o.check_files = false;
        auto r = inventory::load_string(R"(server:
  address: 10.0.0.2
  tftp: {root: /srv/tftp}
  http: {port: 8080}
  dhcp: {enabled: false}
profiles:
  c7: {kernel: vmlinuz, initrd: initrd.img, kickstart: centos7.ks}
  once: {inherits: c7, lifecycle: {install_done: kickstart}}
hosts:
  - {mac: "52:54:00:00:00:01", hostname: web01, profile: c7}
  - {mac: "52:54:00:00:00:02", hostname: db01, profile: once}
  - {mac: "52:54:00:00:00:03", profile: c7, netboot: false}
access: {api: {keys_file: keys}}
)",
                                        "fuzz.yaml", dir, o);
        if (!r.model) std::abort();
        site = r.model;
        spdlog::set_level(spdlog::level::off);  // refusals are logged; millions of them here
        life = std::make_unique<app::lifecycle_service>(dir);
        life->start(site, 1'700'000'000);
        api = std::make_unique<app::api>([this] { return site; }, [] { return std::string("[]"); }, life.get(),
                                         &guard);
    }
    ~world() {
        api.reset();
        life.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    std::string dir;
};

// A token may come back only if the request itself carried it (an unknown
// word is echoed, escaped, in the refusal: "\xda8274..." can complete a
// token that starts with "a8274...", or two digits of one); pxed must never be the one to reveal it.
// An escape ("\x17") can add two hex digits at either end of what the
// request said: a secret the request carried all but two digits of counts
// as the request's own.
bool said_by(const std::string& request, const std::string& secret) {
    return request.find(secret.substr(2)) != std::string::npos ||
           request.find(secret.substr(0, secret.size() - 2)) != std::string::npos;
}

void check_answer(const world& w, const std::string& request, const std::string& body) {
    if (nlohmann::json::parse(body, nullptr, false).is_discarded()) std::abort();
    // An API key is never revealed: it may come back only inside what the
    // request itself said (an unknown host name is echoed, escaped).
    if (body.find(api_key) != std::string::npos && !said_by(request, api_key)) std::abort();
    for (const auto& r : w.life->tracker().all())
        if (r.token.size() > 2 && body.find(r.token) != std::string::npos && !said_by(request, r.token)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static world w;
    if (size < 2) return 0;
    const std::string rest(reinterpret_cast<const char*>(data) + 2, size - 2);
    if (data[0] & 1) {
        check_answer(w, rest, w.api->control(rest, "uid 0 pid 1"));
        return 0;
    }
    // The second byte: method (% 3), peer (bit 2: inside access.api.read_from
    // or not), Authorization (bit 3: the real key; else what follows a
    // newline in the input, if any).
    static const char* const methods[] = {"GET", "HEAD", "POST"};
    std::string target = rest, authorization;
    if (const auto nl = rest.find('\n'); nl != std::string::npos) {
        target = rest.substr(0, nl);
        authorization = rest.substr(nl + 1);
    }
    if (data[1] & 8) authorization = std::string("Bearer ") + api_key;
    const bool local = data[1] & 4;
    const auto q = target.find('?');
    const std::string path = "api/v1/" + target.substr(0, q);
    const std::string query = q == std::string::npos ? std::string() : target.substr(q + 1);
    const auto reply = w.api->handle(net::http_api_request{methods[data[1] % 3], path, query,
                                                           local ? "127.0.0.1:40000" : "10.0.0.9:40000", authorization,
                                                           local ? 0x7f000001u : 0x0a000009u});
    check_answer(w, rest, reply.body);
    if (reply.status < 200 || reply.status > 599) std::abort();
    return 0;
}
