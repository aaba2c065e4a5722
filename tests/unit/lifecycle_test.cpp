// The host lifecycle tracker (engine/host_lifecycle) with a fake clock and
// predictable tokens: every transition, the policies, and the requests
// that must change nothing.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <numeric>

#include "pxed/engine/host_lifecycle.hpp"
#include "pxed/inventory/load.hpp"

namespace pxed::lifecycle {
namespace {

using store::host_state;
using ::testing::HasSubstr;

constexpr const char* site_yaml = R"(
server: {address: 10.0.0.1, tftp: {root: /srv/tftp}, dhcp: {enabled: false}}
profiles:
  c7: {kernel: c7/vmlinuz, initrd: c7/initrd.img, kickstart: centos7.ks}
  oneshot: {inherits: c7, lifecycle: {install_done: kickstart}}
lifecycle: {install_timeout: 2h}
hosts:
  - {mac: 52:54:00:00:00:01, hostname: web1, profile: c7}
  - {mac: 52:54:00:00:00:02, hostname: web2, profile: oneshot}
  - {mac: 52:54:00:00:00:03, hostname: old1, profile: c7, lifecycle: {new_hosts: installed}}
  - {mac: 52:54:00:00:00:04, hostname: retry1, profile: c7, lifecycle: {on_timeout: install, install_timeout: 30m}}
  - {mac: 52:54:00:00:00:05, hostname: disk1, profile: c7, netboot: false}
)";

std::shared_ptr<const inventory::site> load(const std::string& yaml) {
    inventory::load_options o;
    o.check_files = false;
    auto r = inventory::load_string(yaml, "site.yaml", "/etc/pxed", o);
    for (const auto& d : r.diagnostics) ADD_FAILURE() << d.to_string();
    return r.model;
}

wire::mac_address mac(int n) { return *wire::mac_address::parse("52:54:00:00:00:0" + std::to_string(n)); }

class Lifecycle : public ::testing::Test {
protected:
    void SetUp() override {
        site = load(site_yaml);
        ASSERT_TRUE(site);
        const auto created = t.restore({}, *site, now);
        ASSERT_EQ(created.size(), 5u) << "every host gets a record";
    }
    const store::host_record& rec(int n) const { return *t.find(mac(n)); }
    std::string token(int n) const { return rec(n).token; }

    std::int64_t now = 1'700'000'000;
    int tokens_made = 0;
    tracker t{[this] { return "tok" + std::to_string(++tokens_made) + std::string(29, 'a'); }};
    std::shared_ptr<const inventory::site> site;
};

TEST_F(Lifecycle, NewHostsStartPendingOrAdoptedAsInstalled) {
    EXPECT_EQ(rec(1).state, host_state::pending);
    EXPECT_EQ(rec(1).generation, 1u);
    EXPECT_EQ(rec(1).changed_by, "site.yaml");
    EXPECT_EQ(rec(3).state, host_state::installed) << "lifecycle.new_hosts: installed adopts it";
    EXPECT_EQ(rec(5).state, host_state::installed) << "netboot: false is installed already";
    EXPECT_TRUE(t.status(mac(1))->install);
    EXPECT_FALSE(t.status(mac(3))->install);
    EXPECT_NE(token(1), token(2)) << "each host its own token";
    EXPECT_EQ(t.status(mac(1))->token, token(1));
    EXPECT_EQ(t.status(mac(2))->token, "") << "the one-shot's kickstart names no install-done URL";
    EXPECT_EQ(t.inventory_by_state(), (tracker::state_counts{0, 3, 0, 2, 0})) << "3 pending, 2 installed";
}

TEST_F(Lifecycle, BootConfigStartsTheInstallAndTheCallbackEndsIt) {
    auto c = t.fetched(mac(1), fetch::boot_config, "its pxelinux config", now + 5);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].record.state, host_state::installing);
    EXPECT_EQ(c[0].record.install_started, now + 5);
    EXPECT_THAT(c[0].log, HasSubstr("pending -> installing"));
    EXPECT_TRUE(t.fetched(mac(1), fetch::kickstart, "its kickstart", now + 60).empty())
        << "a callback host's kickstart changes nothing";
    EXPECT_EQ(rec(1).last_seen, now + 60);
    EXPECT_TRUE(t.status(mac(1))->install) << "installing still boots the installer (a reboot mid-install)";

    const auto a = t.install_done(mac(1), token(1), "callback from 10.0.0.11", now + 600);
    ASSERT_EQ(a.result, verdict::done);
    ASSERT_TRUE(a.changed);
    EXPECT_EQ(a.changed->record.state, host_state::installed);
    EXPECT_EQ(a.changed->record.install_done, now + 600);
    EXPECT_EQ(a.changed->record.changed_by, "callback from 10.0.0.11");
    EXPECT_FALSE(t.status(mac(1))->install) << "its next boot is from disk";
    EXPECT_TRUE(t.fetched(mac(1), fetch::boot_config, "its pxelinux config", now + 700).empty())
        << "booting the local-disk config is no new install";
}

TEST_F(Lifecycle, ReplayedForgedAndMisdirectedCallbacksChangeNothing) {
    t.fetched(mac(1), fetch::kickstart, "its kickstart", now);
    const auto before = rec(1);
    EXPECT_EQ(t.install_done(mac(1), "", "x", now).result, verdict::bad_token);
    EXPECT_EQ(t.install_done(mac(1), token(1) + "0", "x", now).result, verdict::bad_token);
    EXPECT_EQ(t.install_done(mac(1), token(2), "x", now).result, verdict::bad_token) << "another host's token";
    auto a = t.install_done(mac(9), token(1), "x", now);
    EXPECT_EQ(a.result, verdict::unknown_host);
    EXPECT_FALSE(a.changed);
    EXPECT_EQ(rec(1), before);

    ASSERT_EQ(t.install_done(mac(1), token(1), "x", now).result, verdict::done);
    const auto installed = rec(1);
    a = t.install_done(mac(1), token(1), "x", now + 1);
    EXPECT_EQ(a.result, verdict::not_installing) << "a replay of a finished install";
    EXPECT_FALSE(a.changed);
    EXPECT_EQ(rec(1), installed);
}

TEST_F(Lifecycle, ReinstallStartsANewGenerationAndVoidsTheOldToken) {
    t.install_done(mac(1), token(1), "x", now);
    const auto old_token = token(1);
    const auto a = t.reinstall(mac(1), "pxed reinstall (uid 0 pid 1)", now + 10);
    ASSERT_EQ(a.result, verdict::done);
    EXPECT_EQ(rec(1).state, host_state::pending);
    EXPECT_EQ(rec(1).generation, 2u);
    EXPECT_NE(token(1), old_token);
    EXPECT_EQ(rec(1).install_done, 0);
    EXPECT_THAT(a.changed->log, HasSubstr("installed -> pending (generation 2)"));
    EXPECT_EQ(t.install_done(mac(1), old_token, "x", now + 20).result, verdict::bad_token)
        << "the first install's callback cannot end the second";
    EXPECT_EQ(t.install_done(mac(1), token(1), "x", now + 30).result, verdict::done);
    EXPECT_EQ(t.reinstall(mac(9), "x", now).result, verdict::unknown_host);
}

TEST_F(Lifecycle, ReinstallAndCallbackRacingForOneHostEndCleanly) {
    t.fetched(mac(1), fetch::kickstart, "its kickstart", now);
    const auto callback_token = token(1);
    // The reinstall first: the callback that was on its way is refused.
    t.reinstall(mac(1), "admin", now + 1);
    EXPECT_EQ(t.install_done(mac(1), callback_token, "x", now + 1).result, verdict::bad_token);
    EXPECT_EQ(rec(1).state, host_state::pending);
    // The callback first: the reinstall then starts generation 3.
    t.fetched(mac(1), fetch::kickstart, "its kickstart", now + 2);
    EXPECT_EQ(t.install_done(mac(1), token(1), "x", now + 3).result, verdict::done);
    EXPECT_EQ(t.reinstall(mac(1), "admin", now + 3).result, verdict::done);
    EXPECT_EQ(rec(1).state, host_state::pending);
    EXPECT_EQ(rec(1).generation, 3u);
}

TEST_F(Lifecycle, OneShotEndsTheInstallWhenTheKickstartIsFetched) {
    auto c = t.fetched(mac(2), fetch::boot_config, "its GRUB config", now);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(rec(2).state, host_state::installing);
    c = t.fetched(mac(2), fetch::kickstart, "its kickstart", now + 30);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].record.state, host_state::installed);
    EXPECT_EQ(c[0].record.changed_by, "lifecycle.install_done: kickstart");
    EXPECT_FALSE(t.status(mac(2))->install);
    // Straight from pending, as when the firmware's config fetch was missed.
    t.reinstall(mac(2), "admin", now + 40);
    c = t.fetched(mac(2), fetch::kickstart, "its kickstart", now + 50);
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c[1].record.state, host_state::installed);
}

TEST_F(Lifecycle, AnInstallPastItsTimeoutFailsAndBootsPerPolicy) {
    t.fetched(mac(1), fetch::boot_config, "its pxelinux config", now);
    t.fetched(mac(4), fetch::boot_config, "its pxelinux config", now);
    EXPECT_TRUE(t.expire(now + 30 * 60 - 1).empty());
    auto c = t.expire(now + 30 * 60);
    ASSERT_EQ(c.size(), 1u) << "retry1 has 30m";
    EXPECT_EQ(c[0].record.mac, mac(4));
    EXPECT_EQ(c[0].record.state, host_state::failed);
    EXPECT_THAT(c[0].log, HasSubstr("next boot: the installer again"));
    EXPECT_TRUE(t.status(mac(4))->install) << "on_timeout: install";
    c = t.expire(now + 2 * 3600);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].record.mac, mac(1));
    EXPECT_FALSE(t.status(mac(1))->install) << "on_timeout: local (the default)";
    EXPECT_TRUE(t.expire(now + 10 * 3600).empty()) << "failed once, not again";
    // A failed host that boots the installer again is installing again.
    c = t.fetched(mac(4), fetch::boot_config, "its pxelinux config", now + 3 * 3600);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].record.state, host_state::installing);
    // A late callback is the truth: the install did finish.
    EXPECT_EQ(t.install_done(mac(1), token(1), "x", now + 3 * 3600).result, verdict::done);
    EXPECT_EQ(rec(1).state, host_state::installed);
}

TEST_F(Lifecycle, NetbootFalseHostsNeverStartAnInstall) {
    t.reinstall(mac(5), "admin", now);
    EXPECT_EQ(rec(5).state, host_state::pending);
    EXPECT_TRUE(t.fetched(mac(5), fetch::boot_config, "its pxelinux config", now + 1).empty());
    EXPECT_EQ(rec(5).state, host_state::pending);
}

TEST_F(Lifecycle, MarkInstalled) {
    const auto a = t.mark_installed(mac(1), "pxed mark-installed (uid 0)", now);
    EXPECT_EQ(a.result, verdict::done);
    EXPECT_EQ(rec(1).state, host_state::installed);
    EXPECT_EQ(t.mark_installed(mac(1), "x", now).result, verdict::unchanged);
    EXPECT_EQ(t.mark_installed(mac(9), "x", now).result, verdict::unknown_host);
}

TEST_F(Lifecycle, ARemovedHostKeepsItsHistoryAndComesBackAsItWas) {
    t.install_done(mac(1), token(1), "x", now);
    const auto without = load(R"(
server: {address: 10.0.0.1, tftp: {root: /srv/tftp}, dhcp: {enabled: false}}
profiles:
  c7: {kernel: c7/vmlinuz, initrd: c7/initrd.img, kickstart: centos7.ks}
hosts:
  - {mac: 52:54:00:00:00:02, hostname: web2-renamed, profile: c7}
)");
    const auto c = t.reconcile(*without, now + 1);
    ASSERT_EQ(c.size(), 1u) << "web2's new name is written";
    EXPECT_EQ(c[0].record.hostname, "web2-renamed");
    EXPECT_TRUE(c[0].log.empty());
    EXPECT_FALSE(t.in_inventory(mac(1)));
    ASSERT_NE(t.find(mac(1)), nullptr);
    EXPECT_EQ(t.find(mac(1))->state, host_state::installed);
    EXPECT_EQ(t.reinstall(mac(1), "x", now).result, verdict::unknown_host) << "not in site.yaml: not ours to install";
    EXPECT_EQ(t.install_done(mac(1), token(1), "x", now).result, verdict::unknown_host);
    EXPECT_EQ(t.all().size(), 5u);
    const auto counts = t.inventory_by_state();
    EXPECT_EQ(std::accumulate(counts.begin(), counts.end(), std::size_t{0}), 1u) << "only web2 is in site.yaml";
    t.reconcile(*site, now + 2);
    EXPECT_EQ(rec(1).state, host_state::installed) << "back in site.yaml: no reinstall";
}

TEST_F(Lifecycle, RestoreKeepsWhatTheStoreHad) {
    t.install_done(mac(1), token(1), "x", now);
    tracker again([] { return std::string(32, 'f'); });
    const auto c = again.restore(t.all(), *site, now + 100);
    EXPECT_TRUE(c.empty());
    EXPECT_EQ(*again.find(mac(1)), rec(1));
}

TEST_F(Lifecycle, NoBootFileOnlyForInstalledHostsThatAskForIt) {
    const auto quiet = load(std::string(site_yaml) + "  - {mac: 52:54:00:00:00:06, profile: c7, lifecycle: {installed_pxe: none}}\n");
    t.reconcile(*quiet, now);
    EXPECT_FALSE(t.no_boot_file(mac(6))) << "pending: it needs its boot file";
    t.mark_installed(mac(6), "x", now);
    EXPECT_TRUE(t.no_boot_file(mac(6)));
    EXPECT_FALSE(t.no_boot_file(mac(1)));
    t.mark_installed(mac(1), "x", now);
    EXPECT_FALSE(t.no_boot_file(mac(1))) << "installed_pxe: answer (the default)";
}

}  // namespace
}  // namespace pxed::lifecycle
