// The JSON API and the explanations for missing kickstarts, on a site
// loaded from YAML. The JSON is checked by parsing it back.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <sstream>

#include <filesystem>
#include <fstream>

#include "pxed/app/access_guard.hpp"
#include "pxed/app/api.hpp"
#include "pxed/app/lifecycle_service.hpp"
#include "pxed/inventory/load.hpp"

namespace pxed::app {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* site_yaml = R"(
server:
  address: 10.0.0.1
  http: {port: 8080}
  tftp: {root: /srv/tftp}
  dhcp: {enabled: false}
subnets:
  - {network: 10.0.0.0/24, ranges: [10.0.0.100-10.0.0.200]}
boot: {grub_dir: grub2}
trees:
  c7: {path: /srv/c7, url: /pub/centos/7}
profiles:
  c7: {kernel: c7/vmlinuz, initrd: c7/initrd.img, tree: c7, kickstart: centos7.ks}
  bare: {kernel: c7/vmlinuz, initrd: c7/initrd.img}
hosts:
  - {mac: 52:54:00:12:34:56, hostname: web1, ip: 10.0.0.10, profile: c7}
  - {mac: 52:54:00:12:34:57, hostname: db1, profile: bare}
  - {mac: 52:54:00:12:34:58, netboot: false}
)";

class HttpApi : public ::testing::Test {
protected:
    void SetUp() override {
        inventory::load_options o;
        o.check_files = false;
        auto r = inventory::load_string(site_yaml, "site.yaml", "/tmp", o);
        for (const auto& d : r.diagnostics) ADD_FAILURE() << d.to_string();
        ASSERT_TRUE(r.model);
        site = r.model;
    }

    json get_json(const api& a, std::string_view path, unsigned expected_status) {
        const auto reply = a.handle(path, "");
        EXPECT_EQ(reply.status, expected_status) << path;
        EXPECT_EQ(reply.content_type, "application/json");
        auto parsed = json::parse(reply.body, nullptr, false);
        EXPECT_FALSE(parsed.is_discarded()) << reply.body;
        return parsed;
    }

    std::shared_ptr<const inventory::site> site;
};

TEST_F(HttpApi, ListsEveryHostWithItsUrls) {
    const api a([this] { return site; });
    const auto hosts = get_json(a, "api/v1/hosts", 200);
    ASSERT_TRUE(hosts.is_array());
    ASSERT_EQ(hosts.size(), 3u);
    const auto& web = hosts[0];
    EXPECT_EQ(web["mac"], "52:54:00:12:34:56");
    EXPECT_EQ(web["hostname"], "web1");
    EXPECT_EQ(web["ip"], "10.0.0.10");
    EXPECT_EQ(web["profile"], "c7");
    EXPECT_EQ(web["netboot"], true);
    EXPECT_EQ(web["urls"]["kickstart"], "http://10.0.0.1:8080/ks/52-54-00-12-34-56.ks");
    EXPECT_EQ(web["urls"]["ipxe"], "http://10.0.0.1:8080/ipxe/52-54-00-12-34-56");
    EXPECT_EQ(web["urls"]["pxelinux"], "http://10.0.0.1:8080/pxelinux.cfg/01-52-54-00-12-34-56");
    EXPECT_EQ(web["urls"]["grub"], "http://10.0.0.1:8080/grub2/grub.cfg-01-52-54-00-12-34-56");
    EXPECT_EQ(web["defined_at"], "site.yaml:16");
    EXPECT_TRUE(hosts[1]["urls"]["kickstart"].is_null());  // profile without a kickstart
    EXPECT_TRUE(hosts[1]["ip"].is_null());
    EXPECT_TRUE(hosts[2]["hostname"].is_null());
    EXPECT_EQ(hosts[2]["netboot"], false);
}

TEST_F(HttpApi, OneHostByAnySpellingOrName) {
    const api a([this] { return site; });
    for (const char* key : {"52:54:00:12:34:56", "52-54-00-12-34-56", "525400123456", "52:54:00:12:34:56", "web1"}) {
        const auto h = get_json(a, std::string("api/v1/hosts/") + key, 200);
        EXPECT_EQ(h["mac"], "52:54:00:12:34:56") << key;
    }
    const auto missing = get_json(a, "api/v1/hosts/52:54:00:99:99:99", 404);
    EXPECT_THAT(missing["error"].get<std::string>(), HasSubstr("52:54:00:99:99:99"));
    get_json(a, "api/v1/hosts/web1/extra", 404);
    get_json(a, "api/v1/nothing", 404);
}

TEST_F(HttpApi, LeasesComeFromTheCallback) {
    const api none([this] { return site; });
    EXPECT_EQ(get_json(none, "api/v1/leases", 200), json::array());
    const api some([this] { return site; }, [] { return R"([{"mac":"52:54:00:12:34:56","ip":"10.0.0.50"}])"; });
    const auto leases = get_json(some, "api/v1/leases", 200);
    ASSERT_EQ(leases.size(), 1u);
    EXPECT_EQ(leases[0]["ip"], "10.0.0.50");
    const api broken([this] { return site; }, [] { return std::string("[{oops"); });
    get_json(broken, "api/v1/leases", 500);
    const api throwing([this] { return site; }, []() -> std::string { throw std::runtime_error("store locked"); });
    EXPECT_EQ(get_json(throwing, "api/v1/leases", 500)["error"], "store locked");
}

TEST_F(HttpApi, Index) {
    const api a([this] { return site; });
    const auto index = get_json(a, "api/v1", 200);
    EXPECT_EQ(index["endpoints"].size(), 6u);
}

TEST_F(HttpApi, ExplainsMissingKickstarts) {
    EXPECT_EQ(explain_missing_document(*site, "ks/52-54-00-99-99-99.ks"),
              "no kickstart: no host with MAC 52:54:00:99:99:99 in the inventory");
    EXPECT_EQ(explain_missing_document(*site, "ks/nobody.ks"), "no kickstart: no host named \"nobody\" in the inventory");
    EXPECT_THAT(explain_missing_document(*site, "ks/db1.ks"), HasSubstr("profile \"bare\" has no kickstart template"));
    EXPECT_THAT(explain_missing_document(*site, "ks/profiles/bare.ks"), HasSubstr("no profile \"bare\""));
    // Routine probes and other files are not explained (and not warned about).
    EXPECT_EQ(explain_missing_document(*site, "pxelinux.cfg/01-52-54-00-99-99-99"), "");
    EXPECT_EQ(explain_missing_document(*site, "pub/centos/7/nope.rpm"), "");
}

// The API with the host lifecycle behind it: the install-done callback, the
// refused mutations, and the control socket's commands.
class HttpApiLifecycle : public HttpApi {
protected:
    void SetUp() override {
        HttpApi::SetUp();
        char tmpl[] = "/tmp/pxed-api-XXXXXX";
        dir = mkdtemp(tmpl);
        life = std::make_unique<lifecycle_service>(dir);
        life->start(site, 1'700'000'000);
    }
    void TearDown() override {
        life.reset();
        std::filesystem::remove_all(dir);
    }
    net::http_api_reply post(const api& a, const std::string& path, const std::string& query = "",
                             const std::string& authorization = "") {
        return a.handle(net::http_api_request{"POST", path, query, "10.0.0.10:40000", authorization, 0x0a00000au});
    }
    std::string token_of(const char* mac) { return life->tracker().find(*wire::mac_address::parse(mac))->token; }

    std::string dir;
    std::unique_ptr<lifecycle_service> life;
};

TEST_F(HttpApiLifecycle, CallbackNeedsTheHostsTokenAndPost) {
    const api a([this] { return site; }, {}, life.get());
    const auto good = "token=" + token_of("52:54:00:12:34:56");
    EXPECT_EQ(a.handle(net::http_api_request{"GET", "api/v1/hosts/web1/install-done", good, "127.0.0.1:1", {},
                                             0x7f000001u})
                  .status,
              405u);
    const auto none = post(a, "api/v1/hosts/web1/install-done");
    EXPECT_EQ(none.status, 403u) << "no token";
    const auto wrong = post(a, "api/v1/hosts/web1/install-done", "token=" + token_of("52:54:00:12:34:57"));
    EXPECT_EQ(wrong.status, 403u);
    const auto other = post(a, "api/v1/hosts/52:54:00:99:99:99/install-done", good);
    EXPECT_EQ(other.status, 403u);
    const auto named = post(a, "api/v1/hosts/nosuchname/install-done", "token=00");
    // Word for word the same: a caller learns no MACs, no hostnames, and
    // not which MAC a hostname has.
    EXPECT_EQ(none.body, wrong.body);
    EXPECT_EQ(other.body, wrong.body);
    EXPECT_EQ(named.body, wrong.body);
    EXPECT_EQ(wrong.body.find("52:54:00"), std::string::npos);
    EXPECT_EQ(get_json(a, "api/v1/hosts/web1", 200)["state"], "pending") << "nothing changed so far";

    const auto done = post(a, "api/v1/hosts/52-54-00-12-34-56/install-done", "x=1&" + good);
    ASSERT_EQ(done.status, 200u) << done.body;
    const auto j = json::parse(done.body);
    EXPECT_EQ(j["state"], "installed");
    EXPECT_EQ(j["changed_by"], "callback from 10.0.0.10");
    EXPECT_EQ(done.body.find(token_of("52:54:00:12:34:56")), std::string::npos) << "the token is never echoed";
    EXPECT_EQ(post(a, "api/v1/hosts/web1/install-done", good).status, 409u) << "a replay";

    const auto host = get_json(a, "api/v1/hosts/web1", 200);
    EXPECT_EQ(host["state"], "installed");
    EXPECT_EQ(host["generation"], 1);
    EXPECT_FALSE(host.contains("token"));
    EXPECT_EQ(get_json(a, "api/v1/hosts", 200)[0]["state"], "installed");
}

TEST_F(HttpApiLifecycle, MutationsOverHttpAreRefusedWithoutAnApiKey) {
    const api a([this] { return site; }, {}, life.get());
    for (const char* action : {"reinstall", "mark-installed"}) {
        const auto r = post(a, std::string("api/v1/hosts/web1/") + action);
        EXPECT_EQ(r.status, 403u) << action;
        EXPECT_THAT(r.body, HasSubstr("no API key is configured"));
    }
    EXPECT_EQ(get_json(a, "api/v1/hosts/web1", 200)["state"], "pending");
    EXPECT_EQ(post(a, "api/v1/hosts").status, 405u);
    EXPECT_EQ(post(a, "api/v1/hosts/web1/shutdown").status, 404u);
}

// A site with API keys: access.api.keys_file, written next to the lifecycle.
class HttpApiKeys : public HttpApiLifecycle {
protected:
    void SetUp() override {
        HttpApiLifecycle::SetUp();
        std::ofstream(dir + "/keys") << "# operators\nalice " << alice << "\nci-bot " << bot << "\n# ci-bot: the pipeline\n";
        inventory::load_options o;
        o.check_files = false;
        auto r = inventory::load_string(std::string(site_yaml) + "access:\n  api: {keys_file: keys, read_from: [10.0.0.0/24, 127.0.0.1]}\n",
                                        "site.yaml", dir, o);
        ASSERT_TRUE(r.model);
        site = r.model;
        ASSERT_EQ(site->access.api_keys.size(), 2u);
    }
    const std::string alice = std::string(64, 'a');
    const std::string bot = "0123456789abcdef0123456789abcdef";
};

TEST_F(HttpApiKeys, MutationsNeedAKeyAndTheLogNamesIt) {
    access_guard guard;
    const api a([this] { return site; }, {}, life.get(), &guard);
    auto r = post(a, "api/v1/hosts/web1/reinstall");
    EXPECT_EQ(r.status, 401u) << "no key";
    r = post(a, "api/v1/hosts/web1/reinstall", "", "Bearer " + std::string(64, 'b'));
    EXPECT_EQ(r.status, 401u) << "a wrong key";
    r = post(a, "api/v1/hosts/web1/reinstall", "", "Bearer " + alice.substr(1));
    EXPECT_EQ(r.status, 401u) << "nearly alice's";
    r = post(a, "api/v1/hosts/web1/reinstall", "", alice);
    EXPECT_EQ(r.status, 401u) << "not a bearer";
    r = post(a, "api/v1/hosts/nosuchhost/reinstall", "", "Bearer " + std::string(64, 'c'));
    EXPECT_EQ(r.status, 401u) << "the key first: a stranger learns no host names";
    EXPECT_EQ(get_json(a, "api/v1/hosts/web1", 200)["generation"], 1) << "nothing changed";

    r = post(a, "api/v1/hosts/web1/reinstall", "", "Bearer " + alice);
    ASSERT_EQ(r.status, 200u) << r.body;
    auto j = json::parse(r.body);
    EXPECT_EQ(j["generation"], 2);
    EXPECT_EQ(j["changed_by"], "API key 'alice' from 10.0.0.10");
    r = post(a, "api/v1/hosts/52-54-00-12-34-56/mark-installed", "", "Bearer " + bot);
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(json::parse(r.body)["changed_by"], "API key 'ci-bot' from 10.0.0.10");
    EXPECT_EQ(r.body.find(bot), std::string::npos) << "a key is never echoed";
    EXPECT_EQ(post(a, "api/v1/hosts/nosuchhost/reinstall", "", "Bearer " + bot).status, 404u);
}

TEST_F(HttpApiKeys, WrongKeysLockTheClientOutThenEvenTheRightOneWaits) {
    access_guard guard(guard::failure_limit::settings{3, 60, 16});
    const api a([this] { return site; }, {}, life.get(), &guard);
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(post(a, "api/v1/hosts/web1/reinstall", "", "Bearer guess" + std::to_string(i)).status, 401u);
    EXPECT_EQ(post(a, "api/v1/hosts/web1/reinstall", "", "Bearer " + alice).status, 429u);
    EXPECT_EQ(post(a, "api/v1/hosts/web1/install-done", "token=" + token_of("52:54:00:12:34:56")).status, 429u)
        << "tokens wait too";
    EXPECT_EQ(get_json(a, "api/v1/hosts/web1", 200)["generation"], 1);
    // Another client is not affected.
    const auto other = a.handle(net::http_api_request{"POST", "api/v1/hosts/web1/reinstall", "", "10.0.0.11:1",
                                                      "Bearer " + alice, 0x0a00000bu});
    EXPECT_EQ(other.status, 200u) << other.body;
}

TEST_F(HttpApiLifecycle, ForgedTftpRefusalsCannotLockAHostOutOfItsCallback) {
    // UDP sources are forged at will: refusals over TFTP in a host's name
    // must not lock that host out of its own install-done callback.
    access_guard guard;
    const api a([this] { return site; }, {}, life.get(), &guard);
    const fs::client forged{0x0a00000au, {}, "tftp"};  // 10.0.0.10, as post() sends from
    for (int i = 0; i < 100; ++i) guard.refused(forged, "pxelinux.cfg/01-... to 10.0.0.10: not its address");
    EXPECT_FALSE(guard.locked_out(fs::client{0x0a00000au, {}, "http"}));
    const auto done = post(a, "api/v1/hosts/web1/install-done", "token=" + token_of("52:54:00:12:34:56"));
    EXPECT_EQ(done.status, 200u) << done.body;
    // Over TCP the address is the client's own: there refusals do count.
    for (int i = 0; i < 10; ++i) guard.refused(fs::client{0x0a00000au, {}, "http"}, "ks/x.ks: no token");
    EXPECT_TRUE(guard.locked_out(fs::client{0x0a00000au, {}, "http"}));
}

TEST(AccessGuard, RefusalLinesAreLimitedWhateverTheNumberOfClients) {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
    const auto before = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
    access_guard guard;
    for (std::uint32_t i = 0; i < 5000; ++i) guard.refused(fs::client{0x0b000000u + i, {}, "http"}, "ks/x.ks: no token");
    spdlog::set_default_logger(before);
    const auto text = out.str();
    const auto lines = std::count(text.begin(), text.end(), '\n');
    // 20 a second (the loop may straddle a second or two), plus the count of the rest.
    EXPECT_LE(lines, 70) << text.substr(0, 2000);
    EXPECT_GE(lines, 20);
}

TEST_F(HttpApiKeys, ReadsOnlyFromTheAllowedNetworks) {
    const api a([this] { return site; }, {}, life.get());
    auto from = [&](std::uint32_t ip) {
        return a.handle(net::http_api_request{"GET", "api/v1/hosts", "", "x:1", {}, ip}).status;
    };
    EXPECT_EQ(from(0x0a000005u), 200u);
    EXPECT_EQ(from(0x0a000105u), 403u) << "10.0.1.5 is outside 10.0.0.0/24";
    EXPECT_EQ(from(0x7f000002u), 403u) << "read_from replaces the loopback default (127.0.0.0/8)";
    EXPECT_EQ(a.handle(net::http_api_request{"GET", "api/v1/hosts", "", "x:1", {}, std::nullopt}).status, 403u);
}

TEST_F(HttpApiKeys, ReadsByANameThatIsNotThisServersAreRefused) {
    // DNS rebinding: a browser inside read_from, on a page whose own name
    // now points at pxed, reads with that name in Host.
    api a([this] { return site; }, {}, life.get());
    a.set_metrics([] { return std::string("# HELP x X.\n# TYPE x gauge\nx 1\n"); });
    auto get = [&](std::string_view path, std::string_view host, std::string_view method = "GET") {
        net::http_api_request q{method, path, "", "x:1", {}, 0x0a000005u};
        q.host = host;
        return a.handle(q);
    };
    const auto refused = get("api/v1/hosts", "attacker.example");
    EXPECT_EQ(refused.status, 421u);
    EXPECT_THAT(refused.body, HasSubstr("access.api.host_names"));
    EXPECT_EQ(get("metrics", "attacker.example:80").status, 421u);
    EXPECT_EQ(get("api/v1/hosts", "10.0.0.1:80").status, 200u);
    EXPECT_EQ(get("api/v1/hosts", "localhost").status, 200u);
    EXPECT_EQ(get("api/v1/hosts", "").status, 200u) << "no Host: not a browser";
    EXPECT_EQ(get("metrics", "10.0.0.1").status, 200u);
    // The install-done callback carries its own proof (the token): a name
    // does not matter there.
    EXPECT_NE(get("api/v1/hosts/52:54:00:00:00:01/install-done", "attacker.example", "POST").status, 421u);
}

TEST(HostAllowed, AddressesLocalhostTheMachinesAndTheListedNames) {
    const std::vector<std::string> names{"pxe01.example.com", "PXE.lab"};
    for (const char* ok : {"", "10.0.0.1", "10.0.0.1:8080", "[::1]", "[fe80::1]:80", "localhost", "LOCALHOST:80",
                           "ui.localhost", "pxe01.example.com", "Pxe01.Example.Com.", "pxe.lab:8080", "pxe02",
                           "pxe02.site.example", "pxe02.site.example.:80"})
        EXPECT_TRUE(host_allowed(ok, names, "pxe02.site.example")) << ok;
    for (const char* bad : {"evil.example", "evil.example:80", "pxe01.example.com.evil.example", "localhost.evil",
                            "10.0.0.1.evil.example", "pxe01.example.com:http", "pxe01.example.com:", ":80", "pxe03",
                            "notlocalhost", "pxe02.evil.example"})
        EXPECT_FALSE(host_allowed(bad, names, "pxe02.site.example")) << bad;
    EXPECT_FALSE(host_allowed("pxe02", {}, "")) << "no machine name known: only what is listed";
}

TEST_F(HttpApiKeys, MetricsFollowTheApisReadRule) {
    api a([this] { return site; }, {}, life.get());
    auto get = [&](std::uint32_t ip, std::string_view method = "GET") {
        return a.handle(net::http_api_request{method, "metrics", "", "x:1", {}, ip});
    };
    EXPECT_EQ(get(0x0a000005u).status, 404u) << "no registry given: metrics are off";
    a.set_metrics([] { return std::string("# HELP x X.\n# TYPE x gauge\nx 1\n"); });
    const auto ok = get(0x0a000005u);
    EXPECT_EQ(ok.status, 200u);
    EXPECT_EQ(ok.content_type, "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(ok.body, "# HELP x X.\n# TYPE x gauge\nx 1\n");
    EXPECT_EQ(get(0x0a000105u).status, 403u) << "10.0.1.5 is outside access.api.read_from";
    EXPECT_EQ(get(0x0a000005u, "POST").status, 405u);
}

TEST_F(HttpApi, VariablesShowOnlyWhenAskedAndSecretsNever) {
    inventory::load_options o;
    o.check_files = false;
    const std::string yaml = std::string(site_yaml) +
                             "access: {api: {show_variables: true}}\n";
    std::string with_vars = yaml;
    with_vars.replace(with_vars.find("hostname: web1,"), 15,
                      "hostname: web1, vars: {disk: vdb}, secrets: {rootpw_hash: s3cr3tHASH},");
    auto r = inventory::load_string(with_vars, "site.yaml", "/tmp", o);
    ASSERT_TRUE(r.model);
    const auto shown = r.model;
    const api a([&] { return shown; });
    const auto reply = a.handle("api/v1/hosts/web1", "");
    EXPECT_EQ(json::parse(reply.body)["vars"]["disk"], "vdb");
    EXPECT_EQ(reply.body.find("s3cr3tHASH"), std::string::npos);
    const api hidden([this] { return site; });
    EXPECT_FALSE(json::parse(hidden.handle("api/v1/hosts/web1", "").body).contains("vars"));
}

TEST_F(HttpApiLifecycle, ControlCommandsChangeAllNamedHostsOrNone) {
    const api a([this] { return site; }, {}, life.get());
    auto j = json::parse(a.control("reinstall web1 nosuchhost", "uid 0 pid 1"));
    EXPECT_FALSE(j["ok"]);
    EXPECT_THAT(j["message"].get<std::string>(), HasSubstr("not in the inventory: nosuchhost; nothing changed"));
    EXPECT_EQ(life->tracker().find(*wire::mac_address::parse("52:54:00:12:34:56"))->generation, 1u);

    j = json::parse(a.control("reinstall web1 52-54-00-12-34-57", "uid 0 pid 1"));
    EXPECT_TRUE(j["ok"]) << j.dump();
    ASSERT_EQ(j["results"].size(), 2u);
    EXPECT_EQ(j["results"][0]["generation"], 2);
    EXPECT_EQ(life->tracker().find(*wire::mac_address::parse("52:54:00:12:34:56"))->changed_by,
              "pxed reinstall (uid 0 pid 1)");

    j = json::parse(a.control("mark-installed --profile c7", "uid 0 pid 1"));
    EXPECT_TRUE(j["ok"]);
    EXPECT_EQ(j["results"].size(), 1u) << "web1 is the only c7 host";
    j = json::parse(a.control("hosts", "uid 0 pid 1"));
    ASSERT_EQ(j["hosts"].size(), 3u);
    EXPECT_EQ(j["hosts"][0]["state"], "installed");
    EXPECT_EQ(j["hosts"][1]["state"], "pending");
    EXPECT_EQ(j["hosts"][2]["state"], "installed") << "netboot: false";
    EXPECT_THAT(hosts_table(a.control("hosts", "x"), 1'700'000'000), HasSubstr("52:54:00:12:34:56  web1"));

    for (const char* bad : {"", "format-disks", "reinstall", "reinstall --profile", "reinstall --profile nope"})
        EXPECT_FALSE(json::parse(a.control(bad, "x"))["ok"]) << bad;
    bool ok = true;
    EXPECT_THAT(control_summary(a.control("reinstall --all", "x"), ok), HasSubstr("will install"));
    EXPECT_TRUE(ok);
}

}  // namespace
}  // namespace pxed::app
