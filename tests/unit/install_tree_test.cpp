// Install tree detection: the metadata parsers on text, then probing
// synthetic trees with the real layout (tree_fixtures.hpp).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pxed/inventory/install_tree.hpp"
#include "temp_dir.hpp"
#include "tree_fixtures.hpp"

using namespace pxed;
using namespace pxed::inventory;
using ::testing::HasSubstr;
namespace stdfs = std::filesystem;

TEST(install_tree, parses_a_productmd_treeinfo_with_its_checksums) {
    const auto r = parse_treeinfo(pxed::testing::el7_treeinfo("aa", "bb"));
    ASSERT_TRUE(r) << r.error().message;
    const auto& t = r.value();
    EXPECT_EQ(t.family, "el");
    EXPECT_EQ(t.distro, "CentOS");
    EXPECT_EQ(t.release, "7");
    EXPECT_EQ(t.major, 7);
    EXPECT_EQ(t.arch, "x86_64");
    EXPECT_EQ(t.kernel, "images/pxeboot/vmlinuz");
    EXPECT_EQ(t.initrd, "images/pxeboot/initrd.img");
    EXPECT_EQ(t.checksums.at("images/pxeboot/vmlinuz"), "sha256:aa");
    EXPECT_EQ(t.checksums.at("images/pxeboot/initrd.img"), "sha256:bb");
}

TEST(install_tree, parses_the_pre_productmd_general_section_of_centos_6) {
    const auto r = parse_treeinfo("[general]\nfamily = CentOS\nversion = 6.10\narch = i386\n\n"
                                  "[images-i386]\nkernel = images/pxeboot/vmlinuz\ninitrd = images/pxeboot/initrd.img\n");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r.value().release, "6.10");
    EXPECT_EQ(r.value().major, 6);
    EXPECT_EQ(r.value().arch, "i386");
    EXPECT_EQ(r.value().kernel, "images/pxeboot/vmlinuz");
    EXPECT_TRUE(r.value().checksums.empty());
}

TEST(install_tree, a_broken_treeinfo_says_where_and_what_was_expected) {
    const auto no_bracket = parse_treeinfo("[general\nfamily = CentOS\n");
    ASSERT_FALSE(no_bracket);
    EXPECT_EQ(no_bracket.error().line, 1);
    const auto outside = parse_treeinfo("family = CentOS\n");
    ASSERT_FALSE(outside);
    EXPECT_THAT(outside.error().message, HasSubstr("[section]"));
    const auto no_version = parse_treeinfo("[general]\nfamily = CentOS\narch = x86_64\n");
    ASSERT_FALSE(no_version);
    EXPECT_THAT(no_version.error().message, HasSubstr("version"));
}

TEST(install_tree, parses_discinfo_release_and_arch) {
    const auto r = parse_discinfo("1603733435.495302\n7.9\nx86_64\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r.value().release, "7.9");
    EXPECT_EQ(r.value().arch, "x86_64");
    EXPECT_FALSE(parse_discinfo("1603733435.495302\n"));
    const auto el6 = parse_discinfo("1530288316.160918\nRed Hat Enterprise Linux 6.10\nx86_64\n1\n");
    ASSERT_TRUE(el6) << el6.error().message;
    EXPECT_EQ(el6.value().release, "6.10");
    EXPECT_EQ(el6.value().major, 6);
    EXPECT_EQ(el6.value().distro, "Red Hat Enterprise Linux");
}

TEST(install_tree, parses_debian_and_ubuntu_release_files) {
    const auto d = parse_debian_release("Origin: Debian\nVersion: 12.5\nCodename: bookworm\nArchitectures: all amd64\n");
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ(d.value().family, "debian");
    EXPECT_EQ(d.value().release, "12.5");
    EXPECT_EQ(d.value().major, 12);
    EXPECT_EQ(d.value().codename, "bookworm");
    EXPECT_EQ(d.value().arch, "amd64");
    const auto u = parse_debian_release("Origin: Ubuntu\nVersion: 24.04\nCodename: noble\nArchitectures: amd64 i386\n");
    ASSERT_TRUE(u);
    EXPECT_EQ(u.value().family, "ubuntu");
    EXPECT_EQ(u.value().major, 24);
    const auto other = parse_debian_release("Origin: Devuan\nCodename: daedalus\nArchitectures: amd64\n");
    ASSERT_FALSE(other);
    EXPECT_THAT(other.error().message, HasSubstr("Origin: Debian"));
}

TEST(install_tree, parses_netboot_version_info_and_disk_info) {
    const auto n = parse_netboot_version("Debian version:  12 (bookworm)\nInstaller build: 20230607+deb12u5\n");
    ASSERT_TRUE(n);
    EXPECT_EQ(n.value().release, "12");
    EXPECT_EQ(n.value().codename, "bookworm");
    const auto u = parse_disk_info("Ubuntu-Server 24.04 LTS \"Noble Numbat\" - Release amd64 (20240423)");
    ASSERT_TRUE(u) << u.error().message;
    EXPECT_EQ(u.value().family, "ubuntu");
    EXPECT_EQ(u.value().release, "24.04");
    EXPECT_EQ(u.value().arch, "amd64");
    EXPECT_EQ(u.value().codename, "noble");
    const auto d = parse_disk_info("Debian GNU/Linux 12.5.0 \"Bookworm\" - Official amd64 DVD Binary-1 20240210-11:28");
    ASSERT_TRUE(d);
    EXPECT_EQ(d.value().release, "12.5.0");
    EXPECT_EQ(d.value().major, 12);
    EXPECT_FALSE(parse_disk_info("Fedora 40"));
}

TEST(install_tree, probes_a_centos_7_mirror_and_takes_the_release_from_its_path) {
    pxed::testing::temp_dir tmp("tree");
    const auto dir = stdfs::path(tmp.path()) / "centos/7.9.2009/os/x86_64";
    pxed::testing::make_el7_tree(dir);
    const auto r = probe_install_tree(dir.string());
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r.value().family, "el");
    EXPECT_EQ(r.value().release, "7.9.2009");
    EXPECT_EQ(r.value().major, 7);
    EXPECT_EQ(r.value().kernel, "images/pxeboot/vmlinuz");
    EXPECT_EQ(r.value().checksums.at("images/pxeboot/vmlinuz"), std::string("sha256:") + pxed::testing::el7_kernel_sha256);
}

TEST(install_tree, probes_a_centos_6_dvd) {
    pxed::testing::temp_dir tmp("tree");
    pxed::testing::make_el6_tree(tmp.path());
    const auto r = probe_install_tree(tmp.path());
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r.value().release, "6.10");
    EXPECT_EQ(r.value().major, 6);
    EXPECT_EQ(r.value().initrd, "images/pxeboot/initrd.img");
}

TEST(install_tree, probes_a_bare_el_repository_without_boot_images) {
    pxed::testing::temp_dir tmp("tree");
    pxed::testing::write_file(stdfs::path(tmp.path()) / "repodata/repomd.xml", "<repomd/>");
    const auto r = probe_install_tree(tmp.path());
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r.value().family, "el");
    EXPECT_EQ(r.value().kernel, "");
}

TEST(install_tree, probes_a_debian_netboot_tarball) {
    pxed::testing::temp_dir tmp("tree");
    pxed::testing::make_debian_netboot(tmp.path());
    const auto r = probe_install_tree(tmp.path());
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r.value().family, "debian");
    EXPECT_EQ(r.value().release, "12");
    EXPECT_EQ(r.value().codename, "bookworm");
    EXPECT_EQ(r.value().arch, "amd64");
    EXPECT_EQ(r.value().kernel, "debian-installer/amd64/linux");
    EXPECT_EQ(r.value().initrd, "debian-installer/amd64/initrd.gz");
}

TEST(install_tree, probes_a_debian_dvd) {
    pxed::testing::temp_dir tmp("tree");
    pxed::testing::make_debian_dvd(tmp.path());
    const auto r = probe_install_tree(tmp.path());
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r.value().family, "debian");
    EXPECT_EQ(r.value().major, 12);
    EXPECT_EQ(r.value().codename, "bookworm");
    EXPECT_EQ(r.value().kernel, "install.amd/vmlinuz");
    EXPECT_EQ(r.value().initrd, "install.amd/initrd.gz");
}

TEST(install_tree, probes_a_debian_mirror_and_prefers_its_netboot_images) {
    pxed::testing::temp_dir tmp("tree");
    const stdfs::path dir = tmp.path();
    pxed::testing::write_file(dir / "dists/bookworm/Release",
                        "Origin: Debian\nVersion: 12.5\nCodename: bookworm\nArchitectures: amd64 arm64\n");
    const std::string netboot = "dists/bookworm/main/installer-amd64/current/images/netboot/debian-installer/amd64/";
    pxed::testing::write_file(dir / (netboot + "linux"), "k");
    pxed::testing::write_file(dir / (netboot + "initrd.gz"), "i");
    const auto r = probe_install_tree(dir.string());
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r.value().kernel, netboot + "linux");
    EXPECT_EQ(r.value().initrd, netboot + "initrd.gz");
}

TEST(install_tree, probes_an_ubuntu_live_server_iso) {
    pxed::testing::temp_dir tmp("tree");
    pxed::testing::make_ubuntu_live(tmp.path());
    const auto r = probe_install_tree(tmp.path());
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r.value().family, "ubuntu");
    EXPECT_EQ(r.value().release, "24.04");
    EXPECT_EQ(r.value().major, 24);
    EXPECT_EQ(r.value().arch, "amd64");
    EXPECT_EQ(r.value().kernel, "casper/vmlinuz");
    EXPECT_EQ(r.value().initrd, "casper/initrd");
}

TEST(install_tree, refuses_a_directory_that_is_not_a_tree_saying_what_it_looked_for) {
    pxed::testing::temp_dir tmp("tree");
    pxed::testing::write_file(stdfs::path(tmp.path()) / "README", "hello");
    const auto r = probe_install_tree(tmp.path());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), tmp.path() +
                             " is not an install tree: no .treeinfo, no .discinfo, no repodata/repomd.xml, no "
                             "dists/*/Release, no casper/, no debian-installer/");
    EXPECT_THAT(probe_install_tree(tmp.path() + "/nowhere").error(), HasSubstr("not a directory"));
}

TEST(install_tree, a_broken_treeinfo_on_disk_names_file_and_line) {
    pxed::testing::temp_dir tmp("tree");
    pxed::testing::write_file(stdfs::path(tmp.path()) / ".treeinfo", "[general]\nfamily CentOS\n");
    const auto r = probe_install_tree(tmp.path());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), tmp.path() + "/.treeinfo:2 is not valid: expected 'key = value' inside a [section]");
}
