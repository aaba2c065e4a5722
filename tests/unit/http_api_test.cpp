// The JSON API and the explanations for missing kickstarts, on a site
// loaded from YAML. The JSON is checked by parsing it back.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "pxed/app/api.hpp"
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
    EXPECT_EQ(index["endpoints"].size(), 4u);
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

}  // namespace
}  // namespace pxed::app
