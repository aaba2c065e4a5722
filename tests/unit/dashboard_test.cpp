// The dashboard's endpoints at the HTTP level (docs/dashboard.md): who may
// read, the page's headers, signing in, CSRF and Origin, bulk confirmation,
// masked documents, and what the live stream pushes.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "pxed/app/access_guard.hpp"
#include "pxed/app/dashboard.hpp"
#include "pxed/app/lifecycle_service.hpp"
#include "pxed/app/site_loader.hpp"
#include "pxed/app/trace_service.hpp"
#include "pxed/net/transfer_board.hpp"
#include "temp_dir.hpp"

namespace pxed::app {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string alice = std::string(40, 'a');

std::string site_yaml(const std::string& extra_server = "", bool keys = true) {
    return std::string(R"(
server:
  address: 10.0.0.1
  state_dir: state
  templates: templates
  http: {port: 8080}
  tftp: {root: tftp}
  dhcp: {enabled: false}
)") + extra_server + R"(
subnets:
  - {network: 10.0.0.0/24, ranges: [10.0.0.100-10.0.0.199]}
profiles:
  c7:
    kernel: c7/vmlinuz
    initrd: c7/initrd.img
    kickstart: masked.ks
    secrets: {rootpw_hash: {file: rootpw.hash}}
hosts:
  - {mac: 52:54:00:12:34:56, hostname: web1, ip: 10.0.0.10, profile: c7}
  - {mac: 52:54:00:12:34:57, hostname: db1, profile: c7}
  - {mac: 52:54:00:12:34:58, hostname: app1, profile: c7}
access:
  api: {read_from: [10.0.0.0/24, 127.0.0.1])" +
           std::string(keys ? ", keys_file: keys" : "") + "}\n";
}

// What a stream's reader got, for the tests.
class captured_stream final : public net::http_stream {
public:
    bool push(std::string_view bytes) override {
        if (!open_) return false;
        got += bytes;
        return true;
    }
    bool open() const override { return open_; }
    void close() override { open_ = false; }
    std::string got;
    bool open_ = true;
};

class Dashboard : public ::testing::Test {
protected:
    void SetUp() override { load(site_yaml()); }

    void load(const std::string& yaml, const std::string& keys = "alice " + alice + "\n") {
        std::filesystem::create_directories(dir + "/templates/kickstart");
        std::filesystem::create_directories(dir + "/tftp/c7");
        std::ofstream(dir + "/tftp/c7/vmlinuz") << "kernel";
        std::ofstream(dir + "/tftp/c7/initrd.img") << "initrd";
        std::ofstream(dir + "/templates/kickstart/masked.ks")
            << "url --url=http://mirror:mirrorpw@10.0.0.1/c7\nrootpw --iscrypted {{#secrets.rootpw_hash}}{{secrets.rootpw_hash}}{{/secrets.rootpw_hash}}\n"
               "user --name=ops --password=plain-text-pw\n# ks {{kickstart_url}}\n# done {{#install_done_url}}{{install_done_url}}{{/install_done_url}}\n";
        std::ofstream(dir + "/rootpw.hash") << "$6$saltsalt$hashvaluehashvalue\n";
        std::ofstream(dir + "/keys") << keys;
        std::ofstream(dir + "/site.yaml") << yaml;
        auto r = load_site(dir + "/site.yaml");
        for (const auto& d : r.diagnostics)
            if (d.level == inventory::severity::error) ADD_FAILURE() << d.to_string();
        ASSERT_TRUE(r.loaded);
        if (!life) {
            std::filesystem::create_directories(dir + "/state-db");
            life = std::make_unique<lifecycle_service>(dir + "/state-db");
            life->start(r.loaded->site, 1'700'000'000);
        }
        loaded = with_status(*r.loaded, life->status_source());
    }

    std::unique_ptr<dashboard> make(const net::transfer_board* board = nullptr, trace_service* trace = nullptr) {
        std::filesystem::create_directories(dir + "/state-db");
        dashboard_sources s;
        s.site = [this] { return loaded; };
        s.lifecycle = life.get();
        s.guard = &guard;
        s.leases = [this] { return leases; };
        s.transfers = board;
        s.trace = trace;
        s.status = [] {
            dashboard_status st;
            st.version = "pxed test";
            st.services.push_back({"http", true, "10.0.0.1:8080", "1 connection(s)"});
            return st;
        };
        return std::make_unique<dashboard>(std::move(s));
    }

    struct request {
        std::string method = "GET";
        std::string path{};
        std::string query{};
        std::string peer = "10.0.0.5:40000";
        std::uint32_t ip = 0x0a000005u;
        std::string authorization{}, cookie{}, origin{}, csrf{};
        std::string host = "10.0.0.1:8080";
    };
    net::http_api_reply call(dashboard& d, const request& r) {
        net::http_api_request q{r.method, r.path, r.query, r.peer, r.authorization, r.ip};
        q.cookie = r.cookie;
        q.origin = r.origin;
        q.host = r.host;
        q.csrf_token = r.csrf;
        return d.handle(q);
    }
    net::http_api_reply get(dashboard& d, const std::string& path) { return call(d, {"GET", path}); }

    static std::string field(const net::http_api_reply& r, const std::string& name) {
        for (const auto& [n, v] : r.fields)
            if (n == name) return v;
        return {};
    }

    // Signs in as alice: the cookie and the CSRF token.
    std::pair<std::string, std::string> sign_in(dashboard& d) { return sign_in_with(d, alice); }
    std::pair<std::string, std::string> sign_in_with(dashboard& d, const std::string& key) {
        request r{"POST", "ui/api/login"};
        r.authorization = "Bearer " + key;
        const auto a = call(d, r);
        EXPECT_EQ(a.status, 200u) << a.body;
        const auto cookie = field(a, "Set-Cookie");
        return {cookie.substr(0, cookie.find(';')), json::parse(a.body).value("csrf", "")};
    }

    net::http_api_reply act(dashboard& d, const std::string& query, const std::pair<std::string, std::string>& s) {
        request r{"POST", "ui/api/action", query};
        r.cookie = s.first;
        r.csrf = s.second;
        return call(d, r);
    }

    const store::host_record& record(const char* mac) { return *life->tracker().find(*wire::mac_address::parse(mac)); }

    pxed::testing::temp_dir tmp{"dashboard-test"};
    const std::string dir = tmp.path();
    std::shared_ptr<const loaded_site> loaded;
    std::unique_ptr<lifecycle_service> life;
    access_guard guard{guard::failure_limit::settings{5, 60, 16}};
    std::vector<store::lease> leases;
};

TEST_F(Dashboard, ThePageAndItsFilesCarryTheSecurityHeadersAndRevalidate) {
    auto d = make();
    for (const auto& [path, type] : {std::pair<std::string, std::string>{"ui", "text/html; charset=utf-8"},
                                     {"ui/dashboard.js", "text/javascript; charset=utf-8"},
                                     {"ui/dashboard.css", "text/css; charset=utf-8"}}) {
        const auto r = get(*d, path);
        EXPECT_EQ(r.status, 200u) << path;
        EXPECT_EQ(r.content_type, type) << path;
        EXPECT_FALSE(r.body.empty()) << path;
        EXPECT_THAT(r.etag, ::testing::StartsWith("\"")) << path;
        EXPECT_EQ(r.cache_control, "no-cache") << path;
        EXPECT_THAT(field(r, "Content-Security-Policy"), HasSubstr("script-src 'self'")) << path;
        EXPECT_THAT(field(r, "Content-Security-Policy"), HasSubstr("frame-ancestors 'none'")) << path;
        EXPECT_EQ(field(r, "X-Content-Type-Options"), "nosniff");
        EXPECT_EQ(field(r, "Referrer-Policy"), "no-referrer");
    }
    // The page runs no inline script: the policy would block it.
    EXPECT_THAT(get(*d, "ui").body, Not(HasSubstr("<script>")));
    const auto missing = get(*d, "ui/secret.txt");
    EXPECT_EQ(missing.status, 404u);
    EXPECT_FALSE(field(missing, "Content-Security-Policy").empty()) << "refusals are hardened too";
    // Data is never cached.
    EXPECT_EQ(get(*d, "ui/api/hosts").cache_control, "no-store");
    EXPECT_EQ(get(*d, "ui/api/session").cache_control, "no-store");
}

TEST_F(Dashboard, ReadsFollowTheApisAllowListAndTheSwitch) {
    auto d = make();
    request outsider{"GET", "ui"};
    outsider.peer = "192.168.7.7:1";
    outsider.ip = 0xc0a80707u;
    const auto r = call(*d, outsider);
    EXPECT_EQ(r.status, 403u);
    EXPECT_THAT(r.body, HasSubstr("access.api.read_from"));
    outsider.path = "ui/api/hosts";
    EXPECT_EQ(call(*d, outsider).status, 403u);
    outsider.method = "POST";
    outsider.path = "ui/api/login";
    outsider.authorization = "Bearer " + alice;
    EXPECT_EQ(call(*d, outsider).status, 403u) << "no sign-in from outside the allow list, even with the key";

    load(site_yaml("  dashboard: {enabled: false}\n"));
    EXPECT_EQ(get(*d, "ui").status, 404u);
    EXPECT_THAT(get(*d, "ui/api/hosts").body, HasSubstr("server.dashboard.enabled"));
}

TEST_F(Dashboard, ANameThatIsNotThisServersIsRefusedEvenFromTheAllowList) {
    // DNS rebinding: a page of evil.example points its own name at pxed's
    // address; the admin's browser, inside read_from, then asks with
    // "Host: evil.example". Its reads and its sign-in are refused.
    auto d = make();
    request r{"GET", "ui/api/hosts"};
    r.host = "evil.example";
    auto a = call(*d, r);
    EXPECT_EQ(a.status, 421u);
    EXPECT_THAT(a.body, HasSubstr("access.api.host_names"));
    EXPECT_THAT(a.body, Not(HasSubstr("web1")));
    r.host = "evil.example:8080";
    EXPECT_EQ(call(*d, r).status, 421u);
    r.path = "ui";
    EXPECT_EQ(call(*d, r).status, 421u) << "the page too";
    r.method = "POST";
    r.path = "ui/api/login";
    r.authorization = "Bearer " + alice;
    EXPECT_EQ(call(*d, r).status, 421u);
    // Addresses, localhost and the names the site lists are this server's.
    for (const char* ok : {"10.0.0.1:8080", "127.0.0.1", "localhost:8080", "[::1]:8080", ""}) {
        request g{"GET", "ui/api/hosts"};
        g.host = ok;
        EXPECT_EQ(call(*d, g).status, 200u) << ok;
    }
    auto yaml = site_yaml();
    const std::string read_from = "read_from: [10.0.0.0/24, 127.0.0.1]";
    yaml.replace(yaml.find(read_from), read_from.size(), read_from + ", host_names: [pxe01.example.com]");
    load(yaml);
    request named{"GET", "ui/api/hosts"};
    named.host = "PXE01.example.com.:80";
    EXPECT_EQ(call(*d, named).status, 200u);
    named.host = "pxe01.example.com.evil.example";
    EXPECT_EQ(call(*d, named).status, 421u);
}

TEST_F(Dashboard, RowsCarryStateAndLease) {
    store::lease l;
    l.ip = *wire::ipv4_address::parse("10.0.0.150");
    l.mac = wire::mac_address::parse("52:54:00:12:34:57");
    l.state = store::lease_state::bound;
    l.ends = 4'000'000'000;
    leases.push_back(l);
    auto d = make();
    const auto r = get(*d, "ui/api/hosts");
    ASSERT_EQ(r.status, 200u);
    const auto j = json::parse(r.body);
    ASSERT_EQ(j["hosts"].size(), 3u);
    const auto& web = j["hosts"][0];
    EXPECT_EQ(web["hostname"], "web1");
    EXPECT_EQ(web["state"], "pending");
    EXPECT_EQ(web["ip"], "10.0.0.10");
    EXPECT_EQ(web["stage"], "none");
    EXPECT_TRUE(web.contains("v"));
    const auto& db = j["hosts"][1];
    EXPECT_EQ(db["ip"], "10.0.0.150") << "no reservation: the lease's address";
    EXPECT_EQ(db["lease"]["state"], "bound");

    const auto site = json::parse(get(*d, "ui/api/site").body);
    ASSERT_EQ(site["subnets"].size(), 1u);
    EXPECT_EQ(site["subnets"][0]["size"], 100);
    EXPECT_EQ(site["subnets"][0]["used"], 1);
    EXPECT_EQ(site["config"]["hosts"], 3);
    EXPECT_EQ(site["services"][0]["name"], "http");
}

TEST_F(Dashboard, ClientTextInTheLastEventIsValidJsonWhateverItHolds) {
    std::filesystem::create_directories(dir + "/trace");
    trace_service trace(dir + "/trace", {}, loaded->site);
    auto d = make(nullptr, &trace);
    trace::event e;
    e.k = trace::kind::tftp;
    e.mac = *wire::mac_address::parse("52:54:00:12:34:57");
    e.ok = false;
    e.what = std::string("a\"b\\c\n\x01<img src=x onerror=alert(1)>\xff\xfe");
    e.outcome = "not found";
    trace.host_event(e, 1'700'000'000'000);
    const auto body = get(*d, "ui/api/hosts").body;
    const auto j = json::parse(body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << body;
    const auto text = j["hosts"][1]["last_event"]["text"].get<std::string>();
    EXPECT_THAT(text, HasSubstr("a\"b\\c\n\x01<img src=x onerror=alert(1)>"));
    EXPECT_THAT(text, HasSubstr("not found"));
    EXPECT_EQ(j["hosts"][1]["last_event"]["ok"], false);
    EXPECT_EQ(j["hosts"][1]["last_event"]["kind"], "tftp");
    EXPECT_EQ(j["hosts"][1]["stage"], "none") << "a refused file is no stage reached";
    EXPECT_TRUE(j["hosts"][0]["last_event"].is_object()) << "web1: its lifecycle record's last event";
}

TEST_F(Dashboard, HostsComeAPageAtATime) {
    auto d = make();
    request r{"GET", "ui/api/hosts", "count=2"};
    auto j = json::parse(call(*d, r).body);
    EXPECT_EQ(j["total"], 3);
    EXPECT_EQ(j["hosts"].size(), 2u);
    EXPECT_EQ(j["next"], 2);
    EXPECT_TRUE(j.contains("unknown"));
    r.query = "from=2&count=2";
    j = json::parse(call(*d, r).body);
    ASSERT_EQ(j["hosts"].size(), 1u);
    EXPECT_EQ(j["hosts"][0]["hostname"], "app1");
    EXPECT_TRUE(j["next"].is_null());
    EXPECT_FALSE(j.contains("unknown")) << "once, with the first page";
    r.query = "from=99";
    EXPECT_TRUE(json::parse(call(*d, r).body)["hosts"].empty());
    r.query = "from=-1";
    EXPECT_EQ(call(*d, r).status, 400u);
    r.query = "count=99999999999";
    EXPECT_EQ(call(*d, r).status, 400u);
}

TEST_F(Dashboard, SigningInNeedsAKeyAndWrongOnesCountTowardsTheLockout) {
    auto d = make();
    request r{"POST", "ui/api/login"};
    EXPECT_EQ(call(*d, r).status, 401u) << "no key";
    r.authorization = "Bearer " + std::string(40, 'b');
    for (int i = 0; i < 5; ++i) EXPECT_EQ(call(*d, r).status, 401u);
    r.authorization = "Bearer " + alice;
    EXPECT_EQ(call(*d, r).status, 429u) << "locked out: not even the right key is looked at";
    r.peer = "10.0.0.6:1";
    r.ip = 0x0a000006u;
    r.origin = "http://evil.example";
    EXPECT_EQ(call(*d, r).status, 403u) << "a sign-in from another site's page";
    r.origin = "http://10.0.0.1:8080";
    const auto ok = call(*d, r);
    ASSERT_EQ(ok.status, 200u) << ok.body;
    const auto cookie = field(ok, "Set-Cookie");
    EXPECT_THAT(cookie, HasSubstr("pxed_session="));
    EXPECT_THAT(cookie, HasSubstr("HttpOnly"));
    EXPECT_THAT(cookie, HasSubstr("SameSite=Strict"));
    EXPECT_THAT(cookie, HasSubstr("Path=/ui/"));
    EXPECT_THAT(ok.body, Not(HasSubstr(alice))) << "the key never comes back";
    EXPECT_EQ(json::parse(ok.body)["key"], "alice");
    // The session answers with the CSRF token only to the cookie's holder.
    request s{"GET", "ui/api/session"};
    EXPECT_EQ(json::parse(call(*d, s).body)["signed_in"], false);
    s.cookie = "x=1; " + cookie.substr(0, cookie.find(';'));
    const auto in = json::parse(call(*d, s).body);
    EXPECT_EQ(in["signed_in"], true);
    EXPECT_EQ(in["csrf"], json::parse(ok.body)["csrf"]);
    // A forged cookie: the right number, another secret.
    auto forged = s.cookie;
    forged.back() = forged.back() == '0' ? '1' : '0';
    s.cookie = forged;
    EXPECT_EQ(json::parse(call(*d, s).body)["signed_in"], false);
}

TEST_F(Dashboard, SigningInWithoutAKeysFileIsRefused) {
    load(site_yaml("", false));
    auto d = make();
    request r{"POST", "ui/api/login"};
    r.authorization = "Bearer " + alice;
    const auto a = call(*d, r);
    EXPECT_EQ(a.status, 403u);
    EXPECT_THAT(a.body, HasSubstr("keys_file"));
    EXPECT_EQ(json::parse(get(*d, "ui/api/session").body)["keys_configured"], false);
}

TEST_F(Dashboard, ActionsNeedASessionItsCsrfTokenAndThisOrigin) {
    auto d = make();
    const auto before = record("52:54:00:12:34:56").generation;
    request r{"POST", "ui/api/action", "do=reinstall&hosts=52:54:00:12:34:56"};
    EXPECT_EQ(call(*d, r).status, 401u) << "not signed in";
    r.authorization = "Bearer " + alice;
    EXPECT_EQ(call(*d, r).status, 401u) << "the key alone is not a session";
    const auto s = sign_in(*d);
    r.authorization.clear();
    r.cookie = s.first;
    EXPECT_EQ(call(*d, r).status, 403u) << "the cookie alone: a cross-site form could send it";
    r.csrf = std::string(64, '0');
    EXPECT_EQ(call(*d, r).status, 403u) << "a wrong CSRF token";
    r.csrf = s.second;
    r.origin = "http://evil.example";
    EXPECT_EQ(call(*d, r).status, 403u) << "another site's page";
    EXPECT_EQ(record("52:54:00:12:34:56").generation, before) << "nothing changed so far";

    r.origin = "http://10.0.0.1:8080";
    const auto ok = call(*d, r);
    ASSERT_EQ(ok.status, 200u) << ok.body;
    EXPECT_EQ(record("52:54:00:12:34:56").generation, before + 1);
    EXPECT_THAT(record("52:54:00:12:34:56").changed_by, HasSubstr("API key 'alice' from 10.0.0.5 (dashboard)"));
    EXPECT_EQ(json::parse(ok.body)["results"][0]["state"], "pending");

    // Sign out: the session is gone.
    request out{"POST", "ui/api/logout"};
    out.cookie = s.first;
    out.csrf = s.second;
    EXPECT_EQ(call(*d, out).status, 200u);
    EXPECT_EQ(call(*d, r).status, 401u);
}

TEST_F(Dashboard, BulkActionsStateTheirCountAndAreAllOrNothing) {
    auto d = make();
    const auto s = sign_in(*d);
    const auto g1 = record("52:54:00:12:34:56").generation, g2 = record("52:54:00:12:34:57").generation;
    auto r = act(*d, "do=mark-installed&hosts=52:54:00:12:34:56,52%3A54%3A00%3A12%3A34%3A57", s);
    EXPECT_EQ(r.status, 400u) << "no confirm=";
    EXPECT_THAT(r.body, HasSubstr("confirm=2"));
    r = act(*d, "do=mark-installed&hosts=52:54:00:12:34:56,52:54:00:12:34:57&confirm=3", s);
    EXPECT_EQ(r.status, 400u) << "a count that is not the selection's";
    r = act(*d, "do=reinstall&hosts=52:54:00:12:34:56,52:54:00:99:99:99&confirm=2", s);
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(record("52:54:00:12:34:56").generation, g1) << "one unknown host: nothing changed";
    r = act(*d, "do=shutdown&hosts=52:54:00:12:34:56", s);
    EXPECT_EQ(r.status, 400u);
    r = act(*d, "do=mark-installed&hosts=52:54:00:12:34:56,52%3A54%3A00%3A12%3A34%3A57&confirm=2", s);
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(store::to_string(record("52:54:00:12:34:56").state), std::string("installed"));
    EXPECT_EQ(store::to_string(record("52:54:00:12:34:57").state), std::string("installed"));
    EXPECT_EQ(record("52:54:00:12:34:57").generation, g2);
    EXPECT_EQ(act(*d, "do=reinstall&hosts=52:54:00:12:34:56", {s.first, ""}).status, 403u);
}

TEST_F(Dashboard, ASessionEndsWhenItsKeyLeavesTheKeysFile) {
    auto d = make();
    const auto s = sign_in(*d);
    EXPECT_EQ(act(*d, "do=reinstall&hosts=web1", s).status, 404u) << "hosts= takes MACs";
    load(site_yaml(), "alice " + alice + "\nbob " + std::string(40, 'c') + "\n");
    EXPECT_EQ(act(*d, "do=reinstall&hosts=52:54:00:12:34:56", s).status, 200u) << "another key added: still in";
    load(site_yaml(), "alice " + std::string(40, 'd') + "\n");
    EXPECT_EQ(act(*d, "do=reinstall&hosts=52:54:00:12:34:56", s).status, 401u) << "alice's key replaced";
    const auto again = sign_in_with(*d, std::string(40, 'd'));
    load(site_yaml(), "bob " + std::string(40, 'c') + "\n");
    EXPECT_EQ(act(*d, "do=reinstall&hosts=52:54:00:12:34:56", again).status, 401u) << "alice gone";
}

TEST_F(Dashboard, TheHostPageShowsTheDocumentsWithEverySecretMasked) {
    auto d = make();
    const auto r = get(*d, "ui/api/hosts/web1");
    ASSERT_EQ(r.status, 200u) << r.body;
    const auto j = json::parse(r.body);
    EXPECT_EQ(j["host"]["mac"], "52:54:00:12:34:56");
    EXPECT_EQ(j["lifecycle"]["state"], "pending");
    ASSERT_TRUE(j["documents"].is_array());
    std::string ks;
    for (const auto& doc : j["documents"])
        if (doc["kind"] == "kickstart") ks = doc.value("body", doc.value("error", std::string("?")));
    ASSERT_FALSE(ks.empty());
    const auto token = record("52:54:00:12:34:56").token;
    ASSERT_FALSE(token.empty());
    EXPECT_THAT(r.body, Not(HasSubstr(token))) << "the install token";
    EXPECT_THAT(r.body, Not(HasSubstr("hashvaluehashvalue"))) << "a secret of the profile";
    EXPECT_THAT(r.body, Not(HasSubstr("plain-text-pw"))) << "a password written in the template itself";
    EXPECT_THAT(r.body, Not(HasSubstr("mirrorpw"))) << "a password in a URL";
    EXPECT_THAT(ks, HasSubstr("rootpw --iscrypted ********"));
    EXPECT_THAT(ks, HasSubstr("--password=********"));
    EXPECT_THAT(ks, HasSubstr("token=********"));
    EXPECT_EQ(get(*d, "ui/api/hosts/52:54:00:99:99:99").status, 404u);
    EXPECT_EQ(get(*d, "ui/api/hosts/nosuch").status, 404u);
}

TEST_F(Dashboard, MaskingCoversPasswordLinesAndUrls) {
    const auto m = dashboard::mask(
        "rootpw --plaintext hunter22\nurl --url=ftp://user:pw123@10.0.0.1/x\n"
        "bootloader --location=mbr --password=grubpw\nd-i passwd/root-password password rootsecret\n"
        "keep this line; token=TOKEN123456\n",
        {"TOKEN123456"});
    EXPECT_THAT(m, Not(HasSubstr("hunter22")));
    EXPECT_THAT(m, Not(HasSubstr("pw123")));
    EXPECT_THAT(m, Not(HasSubstr("grubpw")));
    EXPECT_THAT(m, Not(HasSubstr("rootsecret")));
    EXPECT_THAT(m, Not(HasSubstr("TOKEN123456")));
    EXPECT_THAT(m, HasSubstr("rootpw --plaintext ********"));
    EXPECT_THAT(m, HasSubstr("ftp://user:********@10.0.0.1/x"));
    EXPECT_THAT(m, HasSubstr("keep this line"));
}

TEST_F(Dashboard, TheStreamPushesOnlyWhatChangedAndIsCapped) {
    auto d = make();
    std::vector<std::shared_ptr<captured_stream>> opened;
    auto open = [&](const std::string& peer, std::uint32_t ip) {
        request r{"GET", "ui/api/stream"};
        r.peer = peer;
        r.ip = ip;
        auto reply = call(*d, r);
        if (reply.status == 200 && reply.stream) {
            EXPECT_THAT(reply.content_type, HasSubstr("text/event-stream"));
            auto s = std::make_shared<captured_stream>();
            reply.stream(s);
            opened.push_back(s);
        }
        return reply.status;
    };
    EXPECT_EQ(open("10.0.0.5:1", 0x0a000005u), 200u);
    const auto s = sign_in(*d);
    d->tick(1'000'000'000'000);  // the first tick pushes every row again (a full look), but nothing changed
    d->tick(1'000'000'001'000);
    EXPECT_THAT(opened[0]->got, Not(HasSubstr("event: hosts"))) << opened[0]->got;

    const auto before = json::parse(get(*d, "ui/api/hosts").body)["hosts"][1]["v"].get<std::uint64_t>();
    ASSERT_EQ(act(*d, "do=reinstall&hosts=52:54:00:12:34:57", s).status, 200u);
    d->tick(1'000'000'002'000);
    const auto& got = opened[0]->got;
    ASSERT_THAT(got, HasSubstr("event: hosts\ndata: "));
    const auto data = got.substr(got.find("event: hosts\ndata: ") + 19);
    const auto j = json::parse(data.substr(0, data.find('\n')));
    ASSERT_EQ(j["hosts"].size(), 1u) << "only the row that changed";
    EXPECT_EQ(j["hosts"][0]["mac"], "52:54:00:12:34:57");
    EXPECT_GT(j["hosts"][0]["v"].get<std::uint64_t>(), before) << "a pushed row replaces the snapshot's older one";
    EXPECT_EQ(j["hosts"][0]["state"], "pending");
    const auto size = got.size();
    d->tick(1'000'000'003'000);
    EXPECT_EQ(opened[0]->got.size(), size) << "nothing new, nothing pushed";

    // At most four from one client (server.dashboard.max_streams_per_client).
    for (int i = 0; i < 3; ++i) EXPECT_EQ(open("10.0.0.5:" + std::to_string(2 + i), 0x0a000005u), 200u);
    EXPECT_EQ(open("10.0.0.5:9", 0x0a000005u), 503u);
    EXPECT_EQ(open("10.0.0.7:9", 0x0a000007u), 200u) << "another client still gets one";
    opened[1]->open_ = false;  // one reader went away: its slot is free again
    EXPECT_EQ(open("10.0.0.5:10", 0x0a000005u), 200u);
    EXPECT_EQ(d->streams(), 5u);
}

TEST_F(Dashboard, TransfersRunningNowAreListedWithTheirProgress) {
    net::transfer_board board;
    auto d = make(&board);
    {
        auto t = board.add("tftp", 0x0a00000au, "c7/initrd.img", 32 << 20, net::unix_ms_now() - 2000);
        t.sent(8 << 20);
        const auto j = json::parse(get(*d, "ui/api/transfers").body);
        ASSERT_EQ(j["transfers"].size(), 1u);
        const auto& x = j["transfers"][0];
        EXPECT_EQ(x["protocol"], "tftp");
        EXPECT_EQ(x["client"], "10.0.0.10");
        EXPECT_EQ(x["path"], "c7/initrd.img");
        EXPECT_EQ(x["bytes"], 8 << 20);
        EXPECT_EQ(x["size"], 32 << 20);
        EXPECT_GT(x["rate"].get<std::uint64_t>(), 0u);
    }
    EXPECT_TRUE(json::parse(get(*d, "ui/api/transfers").body)["transfers"].empty()) << "ended: off the board";
}

}  // namespace
}  // namespace pxed::app
