// describe_changes(): the line `pxed reload` prints and the daemon logs
// when a reload is taken.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "pxed/app/site_loader.hpp"
#include "pxed/inventory/load.hpp"

namespace pxed::app {
namespace {

std::shared_ptr<const inventory::site> site_with(const std::string& profiles_and_hosts, const std::string& trees = "") {
    inventory::load_options o;
    o.check_files = false;
    const std::string yaml = "server: {address: 10.0.0.1, tftp: {root: /srv/tftp}, dhcp: {enabled: false}}\n"
                             "subnets:\n  - {network: 10.0.0.0/24, ranges: [10.0.0.100-10.0.0.200]}\n"
                             "boot: {bios: pxelinux.0}\n" +
                             trees + profiles_and_hosts;
    auto r = inventory::load_string(yaml, "site.yaml", "/tmp", o);
    for (const auto& d : r.diagnostics) ADD_FAILURE() << d.to_string();
    return r.model;
}

const std::string two_profiles = "profiles:\n  a: {kernel: k, initrd: i}\n  b: {kernel: k, initrd: i}\n";

// boot.secure_boot: shim at uefi-x64 and GRUB as grubx64.efi beside it,
// each a file mount of the namespace (nothing copied into the TFTP root).
TEST(mounts_for, secure_boot_mounts_shim_and_grub_as_single_files) {
    inventory::load_options o;
    o.check_files = false;
    const auto r = inventory::load_string(
        "server: {address: 10.0.0.1, tftp: {root: /srv/tftp}, dhcp: {enabled: false}}\n"
        "boot: {uefi-x64: efi/shim.efi, secure_boot: {shim: /opt/sb/shim.signed, grub: /opt/sb/grub.signed}}\n",
        "site.yaml", "/tmp", o);
    ASSERT_TRUE(r.model);
    const auto m = mounts_for(*r.model);
    ASSERT_EQ(m.size(), 3u);
    EXPECT_EQ(m[1].prefix, "efi/shim.efi");
    EXPECT_EQ(m[1].root, "/opt/sb/shim.signed");
    EXPECT_TRUE(m[1].file);
    EXPECT_EQ(m[2].prefix, "efi/grubx64.efi");
    EXPECT_EQ(m[2].root, "/opt/sb/grub.signed");
    EXPECT_TRUE(m[2].file);
    EXPECT_FALSE(m[0].file);
    EXPECT_EQ(mounts_for(*site_with("")).size(), 1u) << "off: no file mounts";
}

TEST(describe_changes, names_what_was_added_removed_and_changed) {
    const auto before = site_with(two_profiles + "hosts:\n"
                                                 "  - {mac: 52:54:00:00:00:01, hostname: web1, profile: a}\n"
                                                 "  - {mac: 52:54:00:00:00:02, hostname: db1, profile: a}\n"
                                                 "  - {mac: 52:54:00:00:00:03, hostname: db2, profile: a}\n");
    ASSERT_TRUE(before);
    EXPECT_EQ(describe_changes(*before, *before), "");

    const auto after = site_with("profiles:\n  a: {kernel: k, initrd: i}\n  c: {kernel: k, initrd: i}\n"
                                 "hosts:\n"
                                 "  - {mac: 52:54:00:00:00:01, hostname: web1, profile: c}\n"  // changed
                                 "  - {mac: 52:54:00:00:00:03, hostname: db2, profile: a}\n"   // same
                                 "  - {mac: 52:54:00:00:00:04, profile: a}\n",                 // added, no name
                                 "trees:\n  c7: {path: /srv/c7, url: /pub/c7}\n");
    ASSERT_TRUE(after);
    EXPECT_EQ(describe_changes(*before, *after),
              "hosts +52:54:00:00:00:04 -db1, 1 changed; profiles +c -b; trees +c7");
    EXPECT_EQ(describe_changes(*after, *before),
              "hosts +db1 -52:54:00:00:00:04, 1 changed; profiles +b -c; trees -c7");
}

TEST(describe_changes, a_long_list_is_cut_to_five_names) {
    std::string hosts = "hosts:\n";
    for (int i = 1; i <= 8; ++i)
        hosts += "  - {mac: 52:54:00:00:01:0" + std::to_string(i) + ", hostname: n" + std::to_string(i) + ", profile: a}\n";
    const auto before = site_with(two_profiles);
    const auto after = site_with(two_profiles + hosts);
    ASSERT_TRUE(before && after);
    EXPECT_EQ(describe_changes(*before, *after), "hosts +n1 +n2 +n3 +n4 +n5 (3 more)");
}

}  // namespace
}  // namespace pxed::app

namespace pxed::app {
namespace {

// The checker lists each directory once instead of looking up each of a
// site's document paths: a hand-written file in the TFTP root (and in a
// directory of it) that a rendered document hides is still named.
TEST(load_site, names_each_real_file_a_rendered_document_shadows) {
    namespace stdfs = std::filesystem;
    const auto dir = stdfs::path(::testing::TempDir()) / ("pxed_shadow_" + std::to_string(::getpid()));
    stdfs::remove_all(dir);
    stdfs::create_directories(dir / "tftp" / "pxelinux.cfg");
    for (const char* f : {"pxelinux.0", "vmlinuz", "initrd.img", "grub.cfg-01-52-54-00-00-00-01",
                          "pxelinux.cfg/01-52-54-00-00-00-01", "pxelinux.cfg/01-52-54-00-00-00-09"})
        std::ofstream(dir / "tftp" / f) << "x";
    std::ofstream(dir / "site.yaml") << "server: {address: 127.0.0.1, tftp: {root: " << (dir / "tftp").string()
                                     << "}, dhcp: {enabled: false}}\nprofiles:\n  p: {kernel: vmlinuz, initrd: "
                                        "initrd.img}\nhosts:\n  - {mac: 52:54:00:00:00:01, profile: p}\n";
    const auto r = load_site((dir / "site.yaml").string());
    std::set<std::string> named;
    for (const auto& d : r.diagnostics) {
        const auto end = d.message.find("' exists in the TFTP root but pxed serves its rendered version");
        if (end != std::string::npos && d.message[0] == '\'') named.insert(d.message.substr(1, end - 1));
    }
    EXPECT_EQ(named, (std::set<std::string>{"grub.cfg-01-52-54-00-00-00-01", "pxelinux.cfg/01-52-54-00-00-00-01"}));
    stdfs::remove_all(dir);
}

}  // namespace
}  // namespace pxed::app
