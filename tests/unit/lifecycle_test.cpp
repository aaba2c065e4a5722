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
        const auto created = t.restore({}, site, now);
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
    const auto c = t.reconcile(without, now + 1);
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
    t.reconcile(site, now + 2);
    EXPECT_EQ(rec(1).state, host_state::installed) << "back in site.yaml: no reinstall";
}

TEST_F(Lifecycle, RestoreKeepsWhatTheStoreHad) {
    t.install_done(mac(1), token(1), "x", now);
    tracker again([] { return std::string(32, 'f'); });
    const auto c = again.restore(t.all(), site, now + 100);
    EXPECT_TRUE(c.empty());
    EXPECT_EQ(*again.find(mac(1)), rec(1));
}

TEST_F(Lifecycle, NoBootFileOnlyForInstalledHostsThatAskForIt) {
    const auto quiet = load(std::string(site_yaml) + "  - {mac: 52:54:00:00:00:06, profile: c7, lifecycle: {installed_pxe: none}}\n");
    t.reconcile(quiet, now);
    EXPECT_FALSE(t.no_boot_file(mac(6))) << "pending: it needs its boot file";
    t.mark_installed(mac(6), "x", now);
    EXPECT_TRUE(t.no_boot_file(mac(6)));
    EXPECT_FALSE(t.no_boot_file(mac(1)));
    t.mark_installed(mac(1), "x", now);
    EXPECT_FALSE(t.no_boot_file(mac(1))) << "installed_pxe: answer (the default)";
}

// A reload's swap runs tracker::apply() on the event loop with a plan made
// off it (plan_reload): the plan names the hosts whose records change, and
// apply() visits those only, so 100,000 unchanged hosts cost nothing there.
constexpr const char* reloaded_yaml = R"(
server: {address: 10.0.0.1, tftp: {root: /srv/tftp}, dhcp: {enabled: false}}
profiles:
  c7: {kernel: c7/vmlinuz, initrd: c7/initrd.img, kickstart: centos7.ks}
  oneshot: {inherits: c7, lifecycle: {install_done: kickstart}}
lifecycle: {install_timeout: 2h}
hosts:
  - {mac: 52:54:00:00:00:01, hostname: web1-renamed, profile: c7}
  - {mac: 52:54:00:00:00:02, hostname: web2, profile: oneshot}
  - {mac: 52:54:00:00:00:04, hostname: retry1, profile: c7, lifecycle: {on_timeout: install, install_timeout: 30m}}
  - {mac: 52:54:00:00:00:05, hostname: disk1, profile: c7, netboot: false}
  - {mac: 52:54:00:00:00:06, hostname: new1, profile: c7}
  - {mac: 52:54:00:00:00:07, hostname: new2, profile: oneshot}
)";

TEST_F(Lifecycle, AReloadPlanNamesOnlyTheHostsWhoseRecordsChange) {
    const auto after = load(reloaded_yaml);
    ASSERT_TRUE(after);
    const auto p = plan_reload(site, after);
    std::vector<std::string> touched;
    for (const auto i : p.touched) touched.push_back(after->hosts[i].hostname);
    EXPECT_EQ(touched, (std::vector<std::string>{"web1-renamed", "new1", "new2"}))
        << "renamed and new hosts; web2, retry1 and disk1 are as they were";
    EXPECT_EQ(p.removed, (std::vector<wire::mac_address>{mac(3)}));
    EXPECT_TRUE(plan_reload(site, site).touched.empty()) << "the same site again: nothing to do on the loop";
}

TEST_F(Lifecycle, ApplyingAPlanDoesWhatReconcilingDoes) {
    t.fetched(mac(1), fetch::boot_config, "its pxelinux config", now + 1);
    int twin_tokens = 0;
    tracker twin{[&twin_tokens] { return "tok" + std::to_string(++twin_tokens) + std::string(29, 'a'); }};
    twin.restore(t.all(), site, now);
    twin.reconcile(site, now);
    twin_tokens = tokens_made;  // both draw the same tokens from here on

    const auto after = load(reloaded_yaml);
    const auto applied = t.apply(plan_reload(site, after), now + 10);
    const auto reconciled = twin.reconcile(after, now + 10);
    ASSERT_EQ(applied.size(), reconciled.size());
    for (std::size_t i = 0; i < applied.size(); ++i) {
        EXPECT_EQ(applied[i].record, reconciled[i].record);
        EXPECT_EQ(applied[i].log, reconciled[i].log);
    }
    EXPECT_EQ(t.all(), twin.all());
    EXPECT_EQ(t.inventory_by_state(), twin.inventory_by_state());
    for (int n = 1; n <= 7; ++n) {
        EXPECT_EQ(t.in_inventory(mac(n)), twin.in_inventory(mac(n))) << n;
        EXPECT_EQ(t.status(mac(n)).has_value(), twin.status(mac(n)).has_value()) << n;
        if (t.status(mac(n)) && twin.status(mac(n))) {
            EXPECT_EQ(t.status(mac(n))->install, twin.status(mac(n))->install) << n;
            EXPECT_EQ(t.status(mac(n))->token, twin.status(mac(n))->token) << n;
        }
    }
    EXPECT_EQ(t.site(), after);
    EXPECT_EQ(rec(1).hostname, "web1-renamed");
    EXPECT_EQ(rec(1).state, host_state::installing) << "a rename keeps the install under way";
    EXPECT_FALSE(t.in_inventory(mac(3)));
    EXPECT_EQ(t.reinstall(mac(3), "x", now).result, verdict::unknown_host);
    EXPECT_EQ(rec(6).state, host_state::pending);
    EXPECT_EQ(t.inventory_by_state(), (tracker::state_counts{0, 4, 1, 1, 0})) << "old1 left; new1 and new2 pending";
}

TEST_F(Lifecycle, ApplyVisitsOnlyTheHostsThePlanNames) {
    const auto after = load(reloaded_yaml);
    auto p = plan_reload(site, after);
    // Leave new2 out of the plan: a tracker that walked every host of the
    // new site would give it a record anyway.
    ASSERT_EQ(after->hosts[p.touched.back()].hostname, "new2");
    p.touched.pop_back();
    const auto c = t.apply(p, now + 10);
    EXPECT_EQ(c.size(), 2u) << "web1's new name and new1's record, nothing else";
    EXPECT_EQ(t.find(mac(7)), nullptr);
    EXPECT_EQ(tokens_made, 6) << "five at start, one for new1";
}

TEST_F(Lifecycle, APlanMadeAgainstAnotherSiteFallsBackToReconciling) {
    const auto after = load(reloaded_yaml);
    auto p = plan_reload(load(site_yaml), after);  // same text, another object: not the tracker's site
    p.touched.clear();
    const auto c = t.apply(p, now + 10);
    EXPECT_EQ(c.size(), 3u) << "every change found by walking the site";
    EXPECT_NE(t.find(mac(7)), nullptr);
}

TEST_F(Lifecycle, PoliciesFollowTheNewSiteWithoutTouchingItsHosts) {
    // The same hosts; the top-level install_timeout and the c7 profile's
    // install_done change, which no host's record shows.
    std::string yaml = site_yaml;
    yaml.replace(yaml.find("install_timeout: 2h"), 19, "install_timeout: 1h");
    yaml.replace(yaml.find("kickstart: centos7.ks}"), 22, "kickstart: centos7.ks, lifecycle: {install_done: kickstart}}");
    const auto after = load(yaml);
    ASSERT_TRUE(after);
    const auto p = plan_reload(site, after);
    EXPECT_TRUE(p.touched.empty());
    EXPECT_TRUE(t.apply(p, now).empty());
    t.fetched(mac(1), fetch::boot_config, "its pxelinux config", now);
    ASSERT_EQ(t.expire(now + 3600).size(), 1u) << "the new site's install_timeout: 1h";
    t.reinstall(mac(1), "admin", now + 3600);
    const auto c = t.fetched(mac(1), fetch::kickstart, "its kickstart", now + 3601);
    ASSERT_EQ(c.size(), 2u) << "the profile's new one-shot policy";
    EXPECT_EQ(c[1].record.state, host_state::installed);
}

}  // namespace
}  // namespace pxed::lifecycle
