// libFuzzer target for the dashboard's requests (docs/dashboard.md): method,
// path under ui/, query, Cookie, Origin, X-CSRF-Token and Authorization as
// a hostile browser or script would send them, with one long-lived
// dashboard, lifecycle and boot trace so sessions and state carry across
// inputs. Every JSON answer must parse, no answer may carry the API key or
// an install token, no header field may hold CR or LF, and a signed-in
// session (opened here with the real key) must never be used without its
// CSRF token.
//
// Input: byte 0: method (% 3) and whether the real key or session is used
// (bits 2, 3); byte 1: tick the dashboard (bit 0); the rest: lines
// "path?query", cookie, origin, csrf, authorization (missing lines empty).

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "pxed/app/access_guard.hpp"
#include "pxed/app/dashboard.hpp"
#include "pxed/app/lifecycle_service.hpp"
#include "pxed/app/site_loader.hpp"
#include "pxed/app/trace_service.hpp"

namespace {

using namespace pxed;

constexpr const char* api_key = "0123456789abcdef0123456789abcdef0123456789abcdef";

struct sink final : net::http_stream {
    bool push(std::string_view b) override {
        if (!open_) return false;
        bytes += b.size();
        if (bytes > max_queued) open_ = false;
        return open_;
    }
    bool open() const override { return open_; }
    void close() override { open_ = false; }
    bool open_ = true;
    std::size_t bytes = 0;
};

struct world {
    std::string dir;
    std::shared_ptr<const app::loaded_site> loaded;
    std::unique_ptr<app::lifecycle_service> life;
    std::unique_ptr<app::trace_service> trace;
    app::access_guard guard{guard::failure_limit::settings{1000000, 60, 16}};
    std::unique_ptr<app::dashboard> dash;
    std::string cookie, csrf;
    std::vector<std::shared_ptr<sink>> streams;

    world() {
        char tmpl[] = "/tmp/pxed-dashboard-fuzz-XXXXXX";
        if (!::mkdtemp(tmpl)) std::abort();
        dir = tmpl;
        std::filesystem::create_directories(dir + "/tftp/c7");
        std::filesystem::create_directories(dir + "/state");
        std::ofstream(dir + "/tftp/c7/vmlinuz") << "k";
        std::ofstream(dir + "/tftp/c7/initrd.img") << "i";
        std::ofstream(dir + "/keys") << "ops " << api_key << "\n";
        std::ofstream(dir + "/site.yaml") << R"(server:
  address: 10.0.0.2
  state_dir: state
  tftp: {root: tftp}
  http: {port: 8080}
  dhcp: {enabled: false}
subnets:
  - {network: 10.0.0.0/24, ranges: [10.0.0.100-10.0.0.120]}
profiles:
  c7: {kernel: c7/vmlinuz, initrd: c7/initrd.img, kickstart: centos7.ks}
hosts:
  - {mac: "52:54:00:00:00:01", hostname: web01, profile: c7}
  - {mac: "52:54:00:00:00:02", hostname: db01, ip: 10.0.0.7, profile: c7}
access: {api: {keys_file: keys, read_from: [127.0.0.0/8]}}
)";
        spdlog::set_level(spdlog::level::off);
        auto r = app::load_site(dir + "/site.yaml");
        if (!r.loaded) std::abort();
        life = std::make_unique<app::lifecycle_service>(dir + "/state");
        life->start(r.loaded->site, 1'700'000'000);
        loaded = app::with_status(*r.loaded, life->status_source());
        trace = std::make_unique<app::trace_service>(dir + "/state", trace::limits{}, loaded->site);
        app::dashboard_sources s;
        s.site = [this] { return loaded; };
        s.lifecycle = life.get();
        s.trace = trace.get();
        s.guard = &guard;
        dash = std::make_unique<app::dashboard>(std::move(s));
        // A real session, so that inputs can try to use it without its token.
        const std::string bearer = std::string("Bearer ") + api_key;
        net::http_api_request login{"POST", "ui/api/login", "", "127.0.0.1:1", bearer, 0x7f000001u};
        login.host = "10.0.0.2:8080";
        const auto a = dash->handle(login);
        for (const auto& [n, v] : a.fields)
            if (n == "Set-Cookie") cookie = v.substr(0, v.find(';'));
        csrf = nlohmann::json::parse(a.body).value("csrf", "");
        if (cookie.empty() || csrf.empty()) std::abort();
    }
    ~world() {
        dash.reset();
        trace.reset();
        life.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
};

bool has_secret(const world& w, const std::string& request, const std::string& text) {
    if (text.find(api_key) != std::string::npos && request.find(api_key) == std::string::npos) return true;
    for (const auto& r : w.life->tracker().all())
        if (r.token.size() > 8 && text.find(r.token) != std::string::npos && request.find(r.token) == std::string::npos)
            return true;
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static world w;
    if (size < 2) return 0;
    const std::string rest(reinterpret_cast<const char*>(data) + 2, size - 2);
    std::vector<std::string> lines;
    std::size_t at = 0;
    while (lines.size() < 5) {
        const auto nl = rest.find('\n', at);
        lines.push_back(rest.substr(at, nl == std::string::npos ? std::string::npos : nl - at));
        if (nl == std::string::npos) break;
        at = nl + 1;
    }
    lines.resize(5);
    static const char* const methods[] = {"GET", "HEAD", "POST"};
    const auto q = lines[0].find('?');
    const std::string path = "ui/" + lines[0].substr(0, q);
    const std::string query = q == std::string::npos ? std::string() : lines[0].substr(q + 1);
    std::string cookie = lines[1], csrf = lines[3], authorization = lines[4];
    const bool real_session = data[0] & 4;
    if (real_session) cookie = w.cookie;
    if (data[0] & 8) authorization = std::string("Bearer ") + api_key;
    net::http_api_request r{methods[data[0] % 3], path, query, "127.0.0.1:2", authorization, 0x7f000001u};
    r.cookie = cookie;
    r.origin = lines[2];
    r.host = "10.0.0.2:8080";
    r.csrf_token = csrf;

    const auto before = w.life->tracker().all();
    const auto reply = w.dash->handle(r);
    if (reply.status < 200 || reply.status > 599) std::abort();
    for (const auto& [n, v] : reply.fields)
        for (char c : n + v)
            if (c == '\r' || c == '\n' || c == '\0') std::abort();
    const bool json_answer = reply.content_type == "application/json";
    if (json_answer && nlohmann::json::parse(reply.body, nullptr, false).is_discarded()) std::abort();
    if (has_secret(w, rest, reply.body)) std::abort();
    // The real session without its CSRF token changes no host.
    if (real_session && csrf != w.csrf && r.method == std::string("POST") && path == "ui/api/action")
        if (w.life->tracker().all() != before) std::abort();
    if (reply.stream && w.streams.size() < 8) {
        auto s = std::make_shared<sink>();
        reply.stream(s);
        w.streams.push_back(s);
    }
    if (data[1] & 1) {
        trace::event e;
        e.k = trace::kind::http;
        e.mac = *wire::mac_address::parse(data[1] & 2 ? "52:54:00:00:00:01" : "52:54:00:99:00:01");
        e.what = lines[0];
        w.trace->host_event(std::move(e), 1'700'000'000'000);
        w.dash->tick(1'700'000'000'000 + static_cast<std::int64_t>(size) * 1000);
    }
    return 0;
}
