// pxed check's tree findings: a directory that is not a tree, a tree whose
// own kernel does not match its .treeinfo, a profile's copied kernel that is
// not the tree's (by content, by size, by the .treeinfo sha256), a tree
// URL nobody serves. Synthetic trees from tree_fixtures.hpp.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pxed/doctor/trees.hpp"
#include "pxed/inventory/load.hpp"
#include "temp_dir.hpp"
#include "tree_fixtures.hpp"

using namespace pxed;
using ::testing::HasSubstr;
namespace stdfs = std::filesystem;

namespace {

const std::string site_yaml = R"(server:
  address: 10.0.0.2
  tftp: {root: tftp}
subnets:
  - network: 10.0.0.0/24
    ranges: [10.0.0.100-10.0.0.200]
trees:
  centos7: {path: trees/c7, url: /pub/centos/7/x86_64}
profiles:
  centos7:
    tree: centos7
    kernel: centos7/vmlinuz
    initrd: centos7/initrd.img
)";

std::string text(const std::vector<doctor::finding>& fs) {
    std::string s;
    for (const auto& f : fs)
        s += f.where.file + ":" + std::to_string(f.where.line) + ": " + f.topic + ": " + f.message + " | " + f.fix + "\n";
    return s;
}

class doctor_trees : public ::testing::Test {
protected:
    doctor_trees() {
        pxed::testing::write_file(dir() / "tftp/pxelinux.0", "pxe");
        pxed::testing::make_el7_tree(dir() / "trees/c7");
        copy("images/pxeboot/vmlinuz", "centos7/vmlinuz");
        copy("images/pxeboot/initrd.img", "centos7/initrd.img");
    }
    stdfs::path dir() const { return tmp_.path(); }
    void copy(const std::string& from, const std::string& to) const {
        stdfs::create_directories((dir() / "tftp" / to).parent_path());
        stdfs::copy_file(dir() / "trees/c7" / from, dir() / "tftp" / to, stdfs::copy_options::overwrite_existing);
    }
    std::vector<doctor::finding> check(const std::string& yaml = site_yaml) const {
        const auto r = inventory::load_string(yaml, "site.yaml", tmp_.path(), {});
        std::string msgs;
        for (const auto& d : r.diagnostics) msgs += d.to_string() + "\n";
        EXPECT_TRUE(r.model) << msgs;
        return r.model ? doctor::check_trees(*r.model) : std::vector<doctor::finding>{};
    }

    pxed::testing::temp_dir tmp_{"doctor-trees"};
};

}  // namespace

TEST(doctor_sha256, of_a_file) {
    pxed::testing::temp_dir tmp("sha");
    pxed::testing::write_file(stdfs::path(tmp.path()) / "k", pxed::testing::el7_kernel_text);
    EXPECT_EQ(doctor::sha256_of_file(tmp.path() + "/k"), pxed::testing::el7_kernel_sha256);
    EXPECT_EQ(doctor::sha256_of_file(tmp.path() + "/none"), "");
}

TEST_F(doctor_trees, copies_identical_to_the_tree_are_fine) {
    EXPECT_EQ(text(check()), "");
}

TEST_F(doctor_trees, a_kernel_from_another_release_is_named_with_the_fix) {
    pxed::testing::write_file(dir() / "tftp/centos7/vmlinuz", "kernel of centos8\n");
    EXPECT_EQ(text(check()),
              "site.yaml:10: kernel: profiles.centos7.kernel centos7/vmlinuz is not the kernel of tree centos7 (its "
              "content differs from the tree's images/pxeboot/vmlinuz) | copy it again from " +
                  (dir() / "trees/c7").string() + "/images/pxeboot/ or omit kernel: to serve the tree's own\n");
}

TEST_F(doctor_trees, a_copy_of_another_size_says_both_sizes) {
    pxed::testing::write_file(dir() / "tftp/centos7/initrd.img", "initrd of centos 6.10\n");
    EXPECT_THAT(text(check()), HasSubstr("profiles.centos7.initrd centos7/initrd.img is not the initrd of tree centos7 "
                                         "(it is 22 bytes, the tree's images/pxeboot/initrd.img 18)"));
}

TEST_F(doctor_trees, without_the_trees_own_kernel_the_treeinfo_sha256_decides) {
    // A tree copied without images/ (a reposync'd mirror with .treeinfo).
    stdfs::remove(dir() / "trees/c7/images/pxeboot/vmlinuz");
    pxed::testing::write_file(dir() / "tftp/centos7/vmlinuz", "kernel of centos8\n");
    const auto found = text(check());
    EXPECT_THAT(found, HasSubstr("site.yaml:10: kernel: profiles.centos7.kernel centos7/vmlinuz is not the kernel of "
                                 "tree centos7 (sha256 differs from .treeinfo's images/pxeboot/vmlinuz) | copy it "
                                 "again from " +
                                 (dir() / "trees/c7").string() +
                                 "/images/pxeboot/ or omit kernel: to serve the tree's own"));
    EXPECT_THAT(found, HasSubstr("site.yaml:8: tree: trees.centos7: .treeinfo names images/pxeboot/vmlinuz but"))
        << "the tree itself is incomplete";
    copy("images/pxeboot/initrd.img", "centos7/initrd.img");
    pxed::testing::write_file(dir() / "tftp/centos7/vmlinuz", pxed::testing::el7_kernel_text);
    EXPECT_THAT(text(check()), ::testing::Not(HasSubstr("kernel: profiles"))) << "the right copy matches the checksum";
}

TEST_F(doctor_trees, a_tree_whose_kernel_does_not_match_its_treeinfo_is_damaged) {
    pxed::testing::write_file(dir() / "trees/c7/images/pxeboot/vmlinuz", "kernel of centos8\n");
    copy("images/pxeboot/vmlinuz", "centos7/vmlinuz");
    EXPECT_EQ(text(check()), "site.yaml:8: tree: trees.centos7: " + (dir() / "trees/c7").string() +
                                 "/images/pxeboot/vmlinuz does not match its sha256 in .treeinfo (a damaged or mixed "
                                 "copy of the tree) | copy the tree again from the DVD or mirror (rsync -c), or mount "
                                 "the ISO at " +
                                 (dir() / "trees/c7").string() + "\n");
}

TEST_F(doctor_trees, a_directory_that_is_not_a_tree) {
    stdfs::remove_all(dir() / "trees/c7");
    stdfs::create_directories(dir() / "trees/c7/Packages");
    EXPECT_EQ(text(check()), "site.yaml:8: tree: trees.centos7: " + (dir() / "trees/c7").string() +
                                 " is not an install tree: no .treeinfo, no .discinfo, no repodata/repomd.xml, no "
                                 "dists/*/Release, no casper/, no debian-installer/ | point trees.centos7.path at the "
                                 "tree's top directory (where .treeinfo, dists/ or casper/ is), or mount the DVD or ISO "
                                 "there\n");
}

TEST_F(doctor_trees, kernels_served_from_the_tree_are_not_compared_with_anything) {
    auto yaml = site_yaml;
    yaml.replace(yaml.find("    kernel: centos7/vmlinuz\n"), 28, "");
    pxed::testing::write_file(dir() / "tftp/centos7/initrd.img", "stale\n");
    const auto found = text(check(yaml));
    EXPECT_THAT(found, HasSubstr("profiles.centos7.initrd centos7/initrd.img is not the initrd"));
    EXPECT_THAT(found, ::testing::Not(HasSubstr(".kernel")));
}

TEST_F(doctor_trees, a_tree_url_that_hides_part_of_the_tftp_root_or_another_tree) {
    pxed::testing::write_file(dir() / "tftp/pub/centos/7/x86_64/README", "old copy");
    pxed::testing::make_el6_tree(dir() / "trees/c6");
    auto yaml = site_yaml;
    yaml.replace(yaml.find("profiles:"), 9, "  centos7-extras: {path: trees/c6, url: /pub/centos/7/x86_64/extras}\nprofiles:");
    const auto found = text(check(yaml));
    EXPECT_THAT(found, HasSubstr("site.yaml:8: tree: trees.centos7 is served at /pub/centos/7/x86_64, which hides " +
                                 (dir() / "tftp/pub/centos/7/x86_64").string() + " of the TFTP root"));
    EXPECT_THAT(found, HasSubstr("site.yaml:9: tree: trees.centos7-extras is served at /pub/centos/7/x86_64/extras, "
                                 "inside tree centos7's /pub/centos/7/x86_64: that tree's extras is hidden"));
}
