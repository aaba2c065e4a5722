// The boot trace (engine/boot_trace): attribution helpers, the book's
// bounds (per host, in all, strangers apart), and reading a boot: the stage
// reached and the hints where it stalled, with a fake clock.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "pxed/engine/boot_trace.hpp"
#include "pxed/engine/dhcp_responder.hpp"
#include "pxed/inventory/load.hpp"

namespace pxed::trace {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

wire::mac_address mac(unsigned n) {
    wire::mac_address::bytes_type b{0x52, 0x54, 0x00, static_cast<std::uint8_t>(n >> 16),
                                     static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
    return wire::mac_address(b);
}

constexpr std::int64_t t0 = 1'800'000'000'000;

event dhcp_in(unsigned host, std::int64_t at, const std::string& what, const std::string& answer, bool firmware = true,
              bool boot_file = true) {
    event e;
    e.k = kind::dhcp;
    e.mac = mac(host);
    e.time_ms = at;
    e.what = what;
    e.outcome = answer;
    e.ok = !answer.empty();
    if (e.ok) e.flags |= flag_answered;
    if (firmware) e.flags |= flag_firmware;
    if (boot_file && e.ok) e.flags |= flag_boot_file;
    if (!e.ok) e.outcome = "not answered";
    return e;
}

event file(unsigned host, std::int64_t at, const std::string& path, bool ok = true, const std::string& outcome = "sent",
           kind k = kind::tftp) {
    event e;
    e.k = k;
    e.mac = mac(host);
    e.time_ms = at;
    e.what = path;
    e.ok = ok;
    e.outcome = ok ? outcome : (outcome == "sent" ? "not found" : outcome);
    e.bytes = 1000;
    return e;
}

std::vector<std::string> hints_of(const std::vector<event>& ev, std::int64_t now, host_facts f = {}) {
    return read(ev, now, f).hints;
}

// ---- attribution helpers ------------------------------------------------

TEST(BootTracePaths, MacsInConfigAndDocumentPathsAreFound) {
    const auto m = *wire::mac_address::parse("52:54:00:12:34:56");
    EXPECT_EQ(mac_in_path("pxelinux.cfg/01-52-54-00-12-34-56"), m);
    EXPECT_EQ(mac_in_path("/pxelinux.cfg/01-52-54-00-12-34-56"), m);
    EXPECT_EQ(mac_in_path("grub.cfg-01-52-54-00-12-34-56"), m);
    EXPECT_EQ(mac_in_path("EFI/BOOT/grub.cfg-01-52-54-00-12-34-56"), m);
    EXPECT_EQ(mac_in_path("ipxe/52:54:00:12:34:56.ipxe"), m);
    EXPECT_EQ(mac_in_path("ks/525400123456.ks"), m);
    EXPECT_FALSE(mac_in_path("pxelinux.cfg/C0A80005"));
    EXPECT_FALSE(mac_in_path("pxelinux.cfg/default"));
    EXPECT_FALSE(mac_in_path("ks/web01.ks")) << "a hostname is resolved by the documents, not here";
    EXPECT_FALSE(mac_in_path("images/01-52-54-00-12-34-56")) << "only where a loader puts a MAC";
    EXPECT_FALSE(mac_in_path("pxelinux.cfg/01-52-54-00-12-34-5"));
}

TEST(BootTracePaths, RolesFollowWhatABootFetches) {
    EXPECT_EQ(role_of("pxelinux.0"), role::boot_loader);
    EXPECT_EQ(role_of("EFI/BOOT/BOOTX64.EFI"), role::boot_loader);
    EXPECT_EQ(role_of("undionly.kpxe"), role::boot_loader);
    EXPECT_EQ(role_of("ldlinux.c32"), role::loader_module);
    EXPECT_EQ(role_of("grub/x86_64-efi/normal.mod"), role::loader_module);
    EXPECT_EQ(role_of("pxelinux.cfg/default"), role::config);
    EXPECT_EQ(role_of("grub.cfg-01-52-54-00-12-34-56"), role::config);
    EXPECT_EQ(role_of("ipxe/boot.ipxe"), role::config);
    EXPECT_EQ(role_of("centos7/vmlinuz"), role::kernel);
    EXPECT_EQ(role_of("pub/centos/7/images/pxeboot/vmlinuz"), role::kernel);
    EXPECT_EQ(role_of("centos7/initrd.img"), role::initrd);
    EXPECT_EQ(role_of("pub/centos/7/x86_64/.treeinfo"), role::installer);
    EXPECT_EQ(role_of("pub/centos/7/x86_64/LiveOS/squashfs.img"), role::installer);
    EXPECT_EQ(role_of("pub/centos/7/x86_64/repodata/repomd.xml"), role::installer);
    EXPECT_EQ(role_of("ks/web01.ks"), role::kickstart);
    EXPECT_EQ(role_of("README"), role::other);
}

TEST(BootTraceDhcp, AnEventSaysWhatCameInAndWhatWasAnswered) {
    inventory::load_options o;
    o.check_files = false;
    auto loaded = inventory::load_string(R"(server:
  address: 10.0.0.2
  tftp: {root: /srv/tftp}
subnets:
  - {network: 10.0.0.0/24, ranges: [10.0.0.100-10.0.0.109]}
trees: {c7: {path: /srv/c7, url: /pub/c7}}
profiles: {c7: {tree: c7, kernel: c7/vmlinuz, initrd: c7/initrd.img}}
menu: {default: c7, unknown_hosts: menu}
)",
                                         "site.yaml", "/etc/pxed", o);
    ASSERT_TRUE(loaded.model);
    dhcp::responder r(loaded.model, std::make_shared<render::renderer>(loaded.model, render::template_set::builtin()));
    dhcp::message m;
    m.set_mac(mac(7));
    m.set_message_type(dhcp::message_type::discover);
    m.set_string(dhcp::option_code::vendor_class_identifier, "PXEClient:Arch:00000:UNDI:002001");
    m.set_u16(dhcp::option_code::client_system_architecture, 0);
    dhcp::arrival a;
    a.ifindex = 2;
    a.ifname = "eth0";
    a.interface_addresses = {wire::ipv4_network(*wire::ipv4_address::parse("10.0.0.2"), 24)};
    const auto o1 = r.handle(m, a, 1'800'000'000);
    const auto e = from_dhcp(m, a, o1);
    EXPECT_EQ(e.mac, mac(7));
    EXPECT_EQ(e.what, "DISCOVER");
    EXPECT_TRUE(e.ok);
    EXPECT_TRUE(e.flags & flag_firmware);
    EXPECT_TRUE(e.flags & flag_boot_file);
    EXPECT_THAT(e.outcome, AllOf(HasSubstr("OFFER 10.0.0.10"), HasSubstr("boot file pxelinux.0")));
    EXPECT_THAT(e.detail, AllOf(HasSubstr("arch bios"), HasSubstr("vendor PXEClient:Arch:00000")));

    // Relayed from an agent not in server.dhcp.relay_agents: not answered,
    // and the trace says why.
    m.giaddr = *wire::ipv4_address::parse("10.77.0.1");
    const auto o2 = r.handle(m, a, 1'800'000'001);
    const auto ignored = from_dhcp(m, a, o2);
    EXPECT_FALSE(ignored.ok);
    EXPECT_EQ(ignored.outcome, "not answered");
    EXPECT_THAT(ignored.detail, HasSubstr("via relay 10.77.0.1"));
    EXPECT_THAT(ignored.detail, HasSubstr(";")) << "the responder's reason follows: " << ignored.detail;

    // iPXE counts as firmware (an iPXE ROM is the NIC's); an installer's
    // DHCP client does not.
    dhcp::message again = m;
    again.giaddr = {};
    again.set_string(dhcp::option_code::user_class, "iPXE");
    EXPECT_TRUE(from_dhcp(again, a, r.handle(again, a, 1'800'000'002)).flags & flag_firmware);
    dhcp::message anaconda;
    anaconda.set_mac(mac(7));
    anaconda.set_message_type(dhcp::message_type::discover);
    anaconda.set_string(dhcp::option_code::vendor_class_identifier, "anaconda-Linux 3.10.0-1160.el7.x86_64 x86_64");
    EXPECT_FALSE(from_dhcp(anaconda, a, r.handle(anaconda, a, 1'800'000'003)).flags & flag_firmware);
}

// ---- the book ----------------------------------------------------------------

TEST(BootTraceBook, EventsAreAttributedKeptInOrderAndNumbered) {
    book b({}, [](const wire::mac_address&) { return true; });
    b.record(file(1, t0, "pxelinux.0"));
    b.record(file(2, t0 + 1, "pxelinux.0"));
    b.record(file(1, t0 + 2, "ldlinux.c32"));
    const auto one = b.of(mac(1));
    ASSERT_EQ(one.size(), 2u);
    EXPECT_EQ(one[0].what, "pxelinux.0");
    EXPECT_EQ(one[1].what, "ldlinux.c32");
    EXPECT_LT(one[0].seq, one[1].seq);
    EXPECT_EQ(b.of(mac(1), one[0].seq).size(), 1u) << "--follow asks for what came after";
    EXPECT_EQ(b.of(mac(2)).size(), 1u);
    EXPECT_TRUE(b.of(mac(3)).empty());
    EXPECT_EQ(b.take_unsaved().size(), 3u);
    EXPECT_TRUE(b.take_unsaved().empty());
}

TEST(BootTraceBook, EachHostKeepsItsNewestEventsWithinItsBound) {
    limits l;
    l.per_host = 5;
    book b(l, [](const wire::mac_address&) { return true; });
    for (int i = 0; i < 12; ++i) b.record(file(1, t0 + i, "f" + std::to_string(i)));
    const auto ev = b.of(mac(1));
    ASSERT_EQ(ev.size(), 5u);
    EXPECT_EQ(ev.front().what, "f7");
    EXPECT_EQ(ev.back().what, "f11");
    EXPECT_EQ(b.size(), 5u);
}

TEST(BootTraceBook, TheTotalBoundDropsTheOldestEventsOfAnyHost) {
    limits l;
    l.per_host = 100;
    l.total = 10;
    book b(l, [](const wire::mac_address&) { return true; });
    for (int i = 0; i < 8; ++i) b.record(file(1, t0 + i, "old" + std::to_string(i)));
    for (int i = 0; i < 8; ++i) b.record(file(2, t0 + 100 + i, "new" + std::to_string(i)));
    EXPECT_EQ(b.size(), 10u);
    EXPECT_EQ(b.of(mac(1)).size(), 2u);
    EXPECT_EQ(b.of(mac(1)).front().what, "old6");
    EXPECT_EQ(b.of(mac(2)).size(), 8u);
    // Churn of one host with both bounds in play stays within them.
    for (int i = 0; i < 10000; ++i) b.record(file(3, t0 + 1000 + i, "x"));
    EXPECT_EQ(b.size(), 10u);
}

TEST(BootTraceBook, AFloodOfMadeUpMacsNeverPushesOutARealHostsHistory) {
    limits l;
    l.per_host = 50;
    l.total = 100;
    l.per_stranger = 3;
    l.strangers = 20;
    const auto real = mac(1);
    book b(l, [real](const wire::mac_address& m) { return m == real; });
    for (int i = 0; i < 30; ++i) b.record(file(1, t0 + i, "f" + std::to_string(i)));
    for (unsigned i = 0; i < 50000; ++i) b.record(dhcp_in(1000 + i, t0 + 100 + i, "DISCOVER", ""));
    EXPECT_EQ(b.of(real).size(), 30u);
    const auto s = b.strangers();
    EXPECT_EQ(s.size(), 20u) << "the strangers seen last";
    EXPECT_EQ(s.front().mac, mac(1000 + 49999));
    EXPECT_LE(b.size(), 30u + 20u * 3u);
    EXPECT_TRUE(b.of(mac(1000)).empty()) << "the first strangers went";
    EXPECT_EQ(b.strangers_seen(), 50000u);
}

TEST(BootTraceBook, StrangersAreMacsThatTriedToBoot) {
    const auto real = mac(1);
    book b({}, [real](const wire::mac_address& m) { return m == real; });
    auto d = dhcp_in(9, t0, "DISCOVER", "OFFER 10.0.0.100, boot file pxelinux.0");
    d.detail = "arch bios, vendor PXEClient:Arch:00000; new client";
    b.record(d);
    b.record(dhcp_in(9, t0 + 5000, "REQUEST", "ACK 10.0.0.100"));
    b.record(file(8, t0, "pxelinux.0"));  // a file only: not listed
    b.record(dhcp_in(1, t0, "DISCOVER", "OFFER 10.0.0.101"));
    const auto s = b.strangers();
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].mac, mac(9));
    EXPECT_EQ(s[0].events, 2u);
    EXPECT_EQ(s[0].first_ms, t0);
    EXPECT_EQ(s[0].last_ms, t0 + 5000);
    EXPECT_EQ(s[0].detail, "arch bios, vendor PXEClient:Arch:00000") << "the request, not the reason";
}

TEST(BootTraceBook, AHostAddedByAReloadLeavesTheStrangers) {
    std::set<wire::mac_address> inventory;
    limits l;
    l.per_stranger = 2;
    book b(l, [&inventory](const wire::mac_address& m) { return inventory.count(m) > 0; });
    for (int i = 0; i < 5; ++i) b.record(dhcp_in(4, t0 + i, "DISCOVER", ""));
    EXPECT_EQ(b.of(mac(4)).size(), 2u);
    inventory.insert(mac(4));
    b.reclassify();
    EXPECT_TRUE(b.strangers().empty());
    for (int i = 0; i < 5; ++i) b.record(dhcp_in(4, t0 + 10 + i, "DISCOVER", ""));
    EXPECT_EQ(b.of(mac(4)).size(), 7u) << "now under the inventory's bound";
}

// A reload's swap names the hosts it added or removed; the book looks at
// those only (a trace of 100,000 hosts is not walked on the event loop).
TEST(BootTraceBook, AReloadMovesOnlyTheHostsItNames) {
    std::set<wire::mac_address> inventory;
    limits l;
    l.per_stranger = 2;
    book b(l, [&inventory](const wire::mac_address& m) { return inventory.count(m) > 0; });
    for (int i = 0; i < 5; ++i) b.record(dhcp_in(4, t0 + i, "DISCOVER", ""));
    for (int i = 0; i < 5; ++i) b.record(dhcp_in(5, t0 + i, "DISCOVER", ""));
    inventory.insert(mac(4));
    inventory.insert(mac(5));
    b.reclassify(std::vector<wire::mac_address>{mac(4)});
    ASSERT_EQ(b.strangers().size(), 1u) << "mac 5 was not named: still a stranger";
    EXPECT_EQ(b.strangers()[0].mac, mac(5));
    for (int i = 0; i < 5; ++i) b.record(dhcp_in(4, t0 + 10 + i, "DISCOVER", ""));
    EXPECT_EQ(b.of(mac(4)).size(), 7u) << "mac 4 is under the inventory's bound";
    inventory.erase(mac(4));
    b.reclassify(std::vector<wire::mac_address>{mac(4), mac(9)});
    EXPECT_EQ(b.of(mac(4)).size(), 2u) << "back among the strangers, cut to their bound";
    EXPECT_EQ(b.strangers().size(), 2u);
}

TEST(BootTraceBook, RestoredEventsKeepTheirNumbersAndNewOnesFollow) {
    book first({}, [](const wire::mac_address&) { return true; });
    first.record(file(1, t0, "pxelinux.0"));
    first.record(file(1, t0 + 1, "ldlinux.c32"));
    first.record(file(2, t0 + 2, "pxelinux.0"));
    const auto saved = first.take_unsaved();

    book again({}, [](const wire::mac_address&) { return true; });
    again.restore(saved);
    EXPECT_TRUE(again.take_unsaved().empty()) << "what came from the store is not written again";
    EXPECT_EQ(again.last_seq(), 3u);
    EXPECT_EQ(again.record(file(1, t0 + 3, "pxelinux.cfg/default")), 4u);
    const auto ev = again.of(mac(1));
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(ev[0].seq, 1u);
    EXPECT_EQ(ev[2].seq, 4u);
}

// ---- reading a boot ----------------------------------------------------------

TEST(BootTraceReading, AFullInstallReachesDone) {
    std::vector<event> ev{dhcp_in(1, t0, "DISCOVER", "OFFER 10.0.0.5, boot file pxelinux.0"),
                          dhcp_in(1, t0 + 100, "REQUEST", "ACK 10.0.0.5, boot file pxelinux.0"),
                          file(1, t0 + 200, "pxelinux.0"),
                          file(1, t0 + 300, "ldlinux.c32"),
                          file(1, t0 + 400, "pxelinux.cfg/01-52-54-00-00-00-01"),
                          file(1, t0 + 500, "c7/vmlinuz"),
                          file(1, t0 + 900, "c7/initrd.img"),
                          dhcp_in(1, t0 + 9000, "DISCOVER", "OFFER 10.0.0.5", false, false),
                          file(1, t0 + 9500, "ks/52:54:00:00:00:01.ks", true, "200", kind::http),
                          file(1, t0 + 9600, "pub/c7/.treeinfo", true, "200", kind::http)};
    auto r = read(ev, t0 + 10000, {});
    EXPECT_EQ(r.reached, stage::kickstart);
    EXPECT_THAT(r.hints, IsEmpty()) << "not stalled yet";
    r = read(ev, t0 + 20 * 60 * 1000, {true, "installing", false});
    EXPECT_THAT(r.hints, ElementsAre(HasSubstr("no install-done callback yet")));
    event done;
    done.k = kind::callback;
    done.mac = mac(1);
    done.time_ms = t0 + 30 * 60 * 1000;
    done.what = "install-done";
    ev.push_back(done);
    r = read(ev, t0 + 90 * 60 * 1000, {true, "installed", false});
    EXPECT_EQ(r.reached, stage::done);
    EXPECT_THAT(r.hints, IsEmpty());
}

TEST(BootTraceReading, ARebootStartsANewAttempt) {
    std::vector<event> ev{dhcp_in(1, t0, "DISCOVER", "OFFER 10.0.0.5, boot file pxelinux.0"),
                          file(1, t0 + 200, "pxelinux.0"),
                          file(1, t0 + 300, "ldlinux.c32"),
                          file(1, t0 + 500, "c7/vmlinuz"),
                          file(1, t0 + 900, "c7/initrd.img"),
                          dhcp_in(1, t0 + 60000, "DISCOVER", "OFFER 10.0.0.5, boot file pxelinux.0")};
    ev[5].seq = 77;
    const auto r = read(ev, t0 + 61000, {});
    EXPECT_EQ(r.reached, stage::dhcp);
    EXPECT_EQ(r.attempt_from, 77u);
    // Retried DISCOVERs within one attempt do not start another.
    std::vector<event> retries{dhcp_in(1, t0, "DISCOVER", ""), dhcp_in(1, t0 + 4000, "DISCOVER", "")};
    retries[0].seq = 1;
    retries[1].seq = 2;
    EXPECT_EQ(read(retries, t0 + 5000, {}).attempt_from, 1u);
}

TEST(BootTraceReading, MissingLdlinuxIsNamed) {
    std::vector<event> ev{dhcp_in(1, t0, "DISCOVER", "OFFER 10.0.0.5, boot file pxelinux.0"),
                          file(1, t0 + 200, "pxelinux.0"), file(1, t0 + 300, "ldlinux.c32", false)};
    const auto r = read(ev, t0 + 400, {});
    EXPECT_EQ(r.reached, stage::boot_loader);
    EXPECT_THAT(r.hints, ElementsAre(AllOf(HasSubstr("fetched pxelinux.0 but never ldlinux.c32"),
                                           HasSubstr("the file is missing"))));
}

TEST(BootTraceReading, PxelinuxThatNeverAskedForLdlinuxIsNamedOnceStalled) {
    std::vector<event> ev{dhcp_in(1, t0, "DISCOVER", "OFFER 10.0.0.5, boot file pxelinux.0"),
                          file(1, t0 + 200, "pxelinux.0")};
    EXPECT_THAT(hints_of(ev, t0 + 1000), IsEmpty()) << "it may still ask";
    EXPECT_THAT(hints_of(ev, t0 + 60000), ElementsAre(HasSubstr("never asked for ldlinux.c32")));
}

TEST(BootTraceReading, DhcpAnsweredButNoFileFollowedPointsAtAnotherServer) {
    std::vector<event> ev{dhcp_in(1, t0, "DISCOVER", "OFFER 10.0.0.5, boot file pxelinux.0 from 10.0.0.2"),
                          dhcp_in(1, t0 + 100, "REQUEST", "ACK 10.0.0.5, boot file pxelinux.0 from 10.0.0.2")};
    EXPECT_THAT(hints_of(ev, t0 + 5000), IsEmpty());
    EXPECT_THAT(hints_of(ev, t0 + 60000), ElementsAre(AllOf(HasSubstr("no TFTP or HTTP request followed"),
                                                           HasSubstr("another DHCP server"))));
}

TEST(BootTraceReading, AnOfferNeverRequestedMeansAnotherOfferWasTaken) {
    std::vector<event> ev{dhcp_in(1, t0, "DISCOVER", "OFFER 10.0.0.5, boot file pxelinux.0")};
    EXPECT_THAT(hints_of(ev, t0 + 60000), ElementsAre(HasSubstr("never REQUESTed")));
    EXPECT_THAT(hints_of(ev, t0 + 60000, {true, "", true}), ElementsAre(HasSubstr("no TFTP or HTTP request followed")))
        << "proxyDHCP: the other server leases; the REQUEST is not ours to see";
}

TEST(BootTraceReading, UnansweredDhcpGivesTheRespondersReason) {
    auto e = dhcp_in(1, t0, "DISCOVER", "");
    e.detail = "via relay 10.77.0.1; relayed packet from 10.77.0.1, not in server.dhcp.relay_agents; ignored";
    EXPECT_THAT(hints_of({e}, t0 + 60000),
                ElementsAre(AllOf(HasSubstr("did not answer"), HasSubstr("not in server.dhcp.relay_agents"))));
}

TEST(BootTraceReading, MissingFilesAreNamedButConfigProbesAreNot) {
    std::vector<event> ev{dhcp_in(1, t0, "DISCOVER", "OFFER 10.0.0.5, boot file pxelinux.0"),
                          file(1, t0 + 200, "pxelinux.0"),
                          file(1, t0 + 300, "ldlinux.c32"),
                          file(1, t0 + 310, "pxelinux.cfg/01-52-54-00-00-00-01", false),
                          file(1, t0 + 320, "pxelinux.cfg/C0A80005", false),
                          file(1, t0 + 330, "pxelinux.cfg/default"),
                          file(1, t0 + 400, "c7/vmlinuz", false)};
    const auto r = read(ev, t0 + 500, {});
    EXPECT_EQ(r.reached, stage::config);
    EXPECT_THAT(r.hints, ElementsAre(AllOf(HasSubstr("c7/vmlinuz was asked for over tftp but is missing"))));
}

TEST(BootTraceReading, EachStallHasItsOwnHint) {
    std::vector<event> ev{dhcp_in(1, t0, "DISCOVER", "OFFER 10.0.0.5, boot file pxelinux.0"),
                          file(1, t0 + 200, "pxelinux.0"), file(1, t0 + 300, "ldlinux.c32"),
                          file(1, t0 + 330, "pxelinux.cfg/default")};
    const auto later = t0 + 120000;
    EXPECT_THAT(hints_of(ev, later), ElementsAre(HasSubstr("no kernel was fetched")));
    EXPECT_THAT(hints_of(ev, later, {true, "installed", false}), ElementsAre(HasSubstr("boots the local disk")));
    ev.push_back(file(1, t0 + 400, "c7/vmlinuz"));
    EXPECT_THAT(hints_of(ev, later), ElementsAre(HasSubstr("no initrd")));
    ev.push_back(file(1, t0 + 500, "c7/initrd.img"));
    EXPECT_THAT(hints_of(ev, later), ElementsAre(HasSubstr("the installer asked for nothing after")));
    ev.push_back(file(1, t0 + 9000, "pub/c7/.treeinfo", true, "200", kind::http));
    EXPECT_THAT(hints_of(ev, later), ElementsAre(HasSubstr("has not fetched its kickstart")));
}

TEST(BootTraceReading, FailedTransfersAndRefusalsAreSaid) {
    auto cut = file(1, t0 + 400, "c7/initrd.img", false, "timed out");
    cut.bytes = 3 * 1024 * 1024;
    event refused;
    refused.k = kind::refused;
    refused.mac = mac(1);
    refused.time_ms = t0 + 500;
    refused.ok = false;
    refused.what = "kickstart";
    refused.detail = "10.0.0.99 is not the address bound to this host";
    std::vector<event> ev{dhcp_in(1, t0, "DISCOVER", "OFFER 10.0.0.5, boot file pxelinux.0"), cut, refused};
    EXPECT_THAT(hints_of(ev, t0 + 600),
                ElementsAre(AllOf(HasSubstr("transfer of c7/initrd.img failed: timed out after 3072 KiB")),
                            AllOf(HasSubstr("a request from this host was refused"), HasSubstr("not the address bound"))));
}

TEST(BootTraceReading, AHostNeverSeenIsSaidSo) {
    EXPECT_THAT(hints_of({}, t0), ElementsAre(HasSubstr("no DHCP request from this host has reached pxed")));
    EXPECT_THAT(hints_of({}, t0, {false, "", false}), IsEmpty());
}

TEST(BootTraceFormat, ALineReadsAtAGlance) {
    auto e = file(1, t0 + 123, "pxelinux.0");
    e.bytes = 42 * 1024;
    e.duration_ms = 35;
    e.client = wire::ipv4_address::parse("10.0.0.5")->value();
    e.detail = "blksize 1468";
    EXPECT_EQ(format_line(e, true), "2027-01-15 08:00:00.123  tftp       pxelinux.0: sent, 42 KiB in 35 ms [10.0.0.5] (blksize 1468)");
    const auto d = dhcp_in(1, t0, "DISCOVER", "");
    EXPECT_EQ(format_line(d, true), "2027-01-15 08:00:00.000  dhcp     ! DISCOVER -> not answered");
}

}  // namespace
}  // namespace pxed::trace

namespace pxed::trace {
namespace {

TEST(BootTraceBook, PackagesFetchedOneAfterAnotherFoldIntoOneEvent) {
    book b({}, [](const wire::mac_address&) { return true; });
    b.record(file(1, t0, "pub/c7/.treeinfo", true, "200", kind::http));
    for (int i = 0; i < 300; ++i) {
        auto e = file(1, t0 + 1000 + i, "pub/c7/Packages/p" + std::to_string(i) + ".rpm", true, "200", kind::http);
        e.duration_ms = 2;
        b.record(e);
    }
    b.record(file(1, t0 + 5000, "pub/c7/Packages/missing.rpm", false, "404 not found", kind::http));
    b.record(file(1, t0 + 6000, "pub/c7/Packages/after.rpm", true, "200", kind::http));
    const auto ev = b.of(mac(1));
    ASSERT_EQ(ev.size(), 4u);
    EXPECT_EQ(ev[1].what, "pub/c7/Packages/*.rpm");
    EXPECT_EQ(ev[1].outcome, "300 packages");
    EXPECT_EQ(ev[1].bytes, 300u * 1000u);
    EXPECT_EQ(ev[1].duration_ms, 600u);
    EXPECT_EQ(ev[1].detail, "last p299.rpm");
    EXPECT_EQ(ev[2].what, "pub/c7/Packages/missing.rpm") << "a failure stands on its own";
    EXPECT_EQ(ev[3].outcome, "1 package");
    // The store gets the folded event again, under its number: one copy
    // per batch, brought up to date while it waits.
    auto unsaved = b.take_unsaved();
    ASSERT_EQ(unsaved.size(), 4u);
    EXPECT_EQ(unsaved[1].seq, ev[1].seq);
    EXPECT_EQ(unsaved[1].outcome, "300 packages");
    EXPECT_EQ(unsaved[1].detail, "last p299.rpm");
    EXPECT_EQ(unsaved[1].bytes, 300u * 1000u);
    // Once a batch is taken, the next fold is queued again.
    b.record(file(1, t0 + 6001, "pub/c7/Packages/after2.rpm", true, "200", kind::http));
    unsaved = b.take_unsaved();
    ASSERT_EQ(unsaved.size(), 1u);
    EXPECT_EQ(unsaved[0].seq, ev[3].seq);
    EXPECT_EQ(unsaved[0].outcome, "2 packages");
}

TEST(BootTraceBook, AnotherInstancesEventsAreAdoptedNumberedHereAndNeverStoredAgain) {
    book b({}, [](const wire::mac_address&) { return true; });
    auto own = dhcp_in(1, t0, "DISCOVER", "OFFER 10.0.0.5");
    own.instance = "a";
    b.record(own);
    auto theirs = file(1, t0 + 100, "pxelinux.0");
    theirs.instance = "b";
    theirs.origin_seq = 77;
    EXPECT_TRUE(b.adopt(theirs));
    // Read twice (a watcher may), or written again with a grown count:
    // put in its place, not added.
    theirs.outcome = "completed";
    EXPECT_FALSE(b.adopt(theirs));
    auto other_instance_same_number = file(1, t0 + 200, "vmlinuz");
    other_instance_same_number.instance = "c";
    other_instance_same_number.origin_seq = 77;
    EXPECT_TRUE(b.adopt(other_instance_same_number));
    const auto ev = b.of(mac(1));
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(ev[1].what, "pxelinux.0");
    EXPECT_EQ(ev[1].outcome, "completed");
    EXPECT_EQ(ev[1].seq, 2u);
    EXPECT_EQ(ev[2].seq, 3u);
    EXPECT_EQ(b.last_seq(), 3u);
    const auto unsaved = b.take_unsaved();
    ASSERT_EQ(unsaved.size(), 1u) << "another instance's events are its to store";
    EXPECT_EQ(unsaved[0].instance, "a");
}

TEST(BootTraceBook, PackagesNeverFoldIntoAnotherInstancesEvent) {
    book b({}, [](const wire::mac_address&) { return true; });
    auto theirs = file(1, t0, "pub/c7/Packages/a.rpm", true, "200", kind::http);
    theirs.flags |= flag_packages;
    theirs.what = "pub/c7/Packages/*.rpm";
    theirs.outcome = "1 package";
    theirs.instance = "b";
    theirs.origin_seq = 5;
    b.adopt(theirs);
    auto mine = file(1, t0 + 10, "pub/c7/Packages/b.rpm", true, "200", kind::http);
    mine.instance = "a";
    b.record(mine);
    const auto ev = b.of(mac(1));
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].outcome, "1 package");
    EXPECT_EQ(ev[1].outcome, "1 package");
    EXPECT_EQ(ev[1].instance, "a");
}

TEST(BootTraceFormat, AnEventOfASharedStoreNamesItsInstance) {
    auto e = file(1, t0, "pxelinux.0");
    e.instance = "pxe-b";
    EXPECT_THAT(format_line(e, true), ::testing::EndsWith(" via pxe-b"));
    e.instance.clear();
    EXPECT_THAT(format_line(e, true), Not(HasSubstr(" via ")));
}

TEST(BootTraceBook, TheSameFetchAgainAndAgainFoldsIntoOneEventAMinute) {
    book b({}, [](const wire::mac_address&) { return true; });
    const auto doc = [](std::int64_t at) {
        event e;
        e.k = kind::document;
        e.mac = mac(1);
        e.time_ms = at;
        e.what = "kickstart";
        e.outcome = "served its kickstart";
        return e;
    };
    const auto get = [](std::int64_t at, const std::string& status = "200") {
        auto e = file(1, at, "ks/52-54-00-00-00-01.ks", true, status, kind::http);
        e.client = 0x0a000005;
        return e;
    };
    for (int i = 0; i < 1000; ++i) {
        b.record(get(t0 + i));
        b.record(doc(t0 + i));
    }
    b.record(get(t0 + 1000, "404 not found"));  // another outcome: its own event
    auto ev = b.of(mac(1));
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(ev[0].outcome, "200 (x1000)");
    EXPECT_EQ(ev[0].bytes, 1000u * 1000u);
    EXPECT_EQ(ev[1].outcome, "served its kickstart (x1000)");
    EXPECT_EQ(ev[2].outcome, "404 not found");
    // The store gets each fold again, under its number (written once a
    // batch by the service).
    // One copy of each per batch, as it stands now: a storm of repeats
    // is not a storm of rows to write.
    const auto unsaved = b.take_unsaved();
    ASSERT_EQ(unsaved.size(), 3u);
    EXPECT_EQ(unsaved[0].seq, ev[0].seq);
    EXPECT_EQ(unsaved[0].outcome, "200 (x1000)");
    EXPECT_EQ(unsaved[1].seq, ev[1].seq);
    EXPECT_EQ(unsaved[1].outcome, "served its kickstart (x1000)");
    EXPECT_EQ(unsaved[2].outcome, "404 not found");
    // A minute on, the same fetch is a new event.
    b.record(doc(t0 + 61'000));
    ev = b.of(mac(1));
    ASSERT_EQ(ev.size(), 4u);
    EXPECT_EQ(ev[3].outcome, "served its kickstart");
    // Another client's request is not this one's repeat.
    auto other = get(t0 + 61'001);
    other.client = 0x0a000006;
    b.record(other);
    EXPECT_EQ(b.of(mac(1)).size(), 5u);
    // A DHCP request in between starts a new attempt: the fetch after it
    // is its own event.
    b.record(dhcp_in(1, t0 + 61'002, "DISCOVER", "OFFER 10.0.0.5"));
    b.record(doc(t0 + 61'003));
    ev = b.of(mac(1));
    ASSERT_EQ(ev.size(), 7u);
    EXPECT_EQ(ev[6].outcome, "served its kickstart");
}

TEST(BootTracePaths, IpxeScriptsWithoutAnExtensionNameTheirHost) {
    EXPECT_EQ(mac_in_path("ipxe/52-54-00-12-34-56"), wire::mac_address::parse("52:54:00:12:34:56"));
}

TEST(BootTraceReading, RefusalsAreNotCalledBrokenTransfers) {
    std::vector<event> ev{dhcp_in(1, t0, "DISCOVER", "OFFER 10.0.0.5, boot file pxelinux.0"),
                          file(1, t0 + 200, "pxelinux.0", false, "refused: server busy (server.tftp.max_transfers)")};
    EXPECT_THAT(hints_of(ev, t0 + 300), ElementsAre(AllOf(HasSubstr("pxed refused pxelinux.0 over tftp"),
                                                          HasSubstr("server busy"))));
}

}  // namespace
}  // namespace pxed::trace

namespace pxed::trace {
namespace {

TEST(BootTraceReading, GrubsOptionalModuleListsAreProbesNotMissingFiles) {
    std::vector<event> ev{dhcp_in(1, t0, "DISCOVER", "OFFER 10.0.0.5, boot file grubx64.efi"),
                          file(1, t0 + 200, "grubx64.efi"), file(1, t0 + 210, "grub/x86_64-efi/command.lst", false),
                          file(1, t0 + 220, "grub/x86_64-efi/fs.lst", false), file(1, t0 + 300, "grub/grub.cfg-01-52-54-00-00-00-01")};
    EXPECT_THAT(hints_of(ev, t0 + 400), IsEmpty());
}

TEST(BootTraceReading, SyslinuxThatGoesOnIsNotToldAboutLdlinux) {
    std::vector<event> ev{dhcp_in(1, t0, "DISCOVER", "OFFER 10.0.0.5, boot file pxelinux.0"),
                          file(1, t0 + 200, "pxelinux.0"), file(1, t0 + 330, "pxelinux.cfg/default")};
    EXPECT_THAT(hints_of(ev, t0 + 120000), ElementsAre(HasSubstr("no kernel was fetched")));
}

TEST(BootTraceReading, AFailedInitrdIsNotBlamedOnTheProfilesPath) {
    std::vector<event> ev{dhcp_in(1, t0, "DISCOVER", "OFFER 10.0.0.5, boot file pxelinux.0"),
                          file(1, t0 + 200, "pxelinux.0"), file(1, t0 + 250, "ldlinux.c32"),
                          file(1, t0 + 330, "pxelinux.cfg/default"), file(1, t0 + 400, "c7/vmlinuz"),
                          file(1, t0 + 900, "c7/initrd.img", false, "timed out")};
    EXPECT_THAT(hints_of(ev, t0 + 120000), ElementsAre(HasSubstr("transfer of c7/initrd.img failed: timed out")));
}

}  // namespace
}  // namespace pxed::trace

namespace pxed::trace {
namespace {

// The responder's arch mismatch (dhcp_arch test) becomes a flag and the end
// of the event's detail, and reading the boot turns it into a hint, once,
// whatever the stage reached.
TEST(BootTraceDhcp, AnArchMismatchIsKeptAndHinted) {
    dhcp::message m;
    m.set_mac(mac(9));
    m.set_message_type(dhcp::message_type::request);
    m.set_string(dhcp::option_code::vendor_class_identifier, "PXEClient:Arch:00011:UNDI:003000");
    m.set_u16(dhcp::option_code::client_system_architecture, 11);
    dhcp::arrival a;
    dhcp::outcome o;
    o.reply = dhcp::reply{};
    o.reply->msg.set_message_type(dhcp::message_type::ack);
    o.reply->msg.yiaddr = *wire::ipv4_address::parse("10.0.0.42");
    o.reply->msg.file = "grubaa64.efi";
    o.arch_mismatch = "its profile 'e2e' is arch x86_64 but its firmware is uefi-arm64 (option 93 arch 11), which cannot "
                      "boot that kernel: give the host an arm64 profile";
    auto e = from_dhcp(m, a, o);
    e.time_ms = t0;
    EXPECT_TRUE(e.flags & flag_arch_mismatch);
    EXPECT_THAT(e.detail, AllOf(HasSubstr("arch uefi-arm64"), HasSubstr("; arch mismatch: its profile 'e2e' is arch x86_64")));
    auto again = e;
    again.time_ms = t0 + 100;
    const auto hints = hints_of({e, again, file(9, t0 + 2000, "grubaa64.efi")}, t0 + 5000);
    ASSERT_EQ(hints.size(), 1u) << ::testing::PrintToString(hints);
    EXPECT_EQ(hints[0], "pxed answered its firmware with a boot for the wrong CPU: its profile 'e2e' is arch x86_64 but "
                        "its firmware is uefi-arm64 (option 93 arch 11), which cannot boot that kernel: give the host an "
                        "arm64 profile");
    o.arch_mismatch.clear();
    const auto fine = from_dhcp(m, a, o);
    EXPECT_FALSE(fine.flags & flag_arch_mismatch);
    EXPECT_THAT(fine.detail, ::testing::Not(HasSubstr("mismatch")));
}

}  // namespace
}  // namespace pxed::trace
