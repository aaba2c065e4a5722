// Kernel and initrd straight from the install tree: a profile with a tree
// that leaves them out, or names them with tree:PATH, boots the tree's own
// files from its mount in the one namespace (nothing copied). The loader's
// errors when the tree cannot provide them, what `pxed render` shows
// without the tree, and the kernel lines of the rendered boot configs.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pxed/fs/namespace.hpp"
#include "pxed/inventory/load.hpp"
#include "pxed/render/renderer.hpp"
#include "temp_dir.hpp"
#include "tree_fixtures.hpp"

using namespace pxed;
using ::testing::HasSubstr;
namespace stdfs = std::filesystem;

namespace {

const std::string site_yaml = R"(server:
  address: 10.0.0.2
  http: {port: 8080}
  tftp: {root: tftp}
subnets:
  - network: 10.0.0.0/24
    ranges: [10.0.0.100-10.0.0.200]
trees:
  centos7: {path: trees/c7, url: /pub/centos/7/x86_64}
profiles:
  centos7:
    tree: centos7
    append: inst.repo={{tree_url}}
hosts:
  - mac: 52:54:00:aa:bb:01
    ip: 10.0.0.50
    profile: centos7
)";

std::string messages(const inventory::load_result& r) {
    std::string s;
    for (const auto& d : r.diagnostics) s += d.to_string() + "\n";
    return s;
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << "test bug: '" << from << "' not in the site";
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
}

class kernel_from_tree : public ::testing::Test {
protected:
    kernel_from_tree() {
        stdfs::create_directories(dir() / "tftp");
        pxed::testing::write_file(dir() / "tftp/pxelinux.0", "pxe");
    }
    stdfs::path dir() const { return tmp_.path(); }
    inventory::load_result load(const std::string& yaml, bool check_files = true) const {
        inventory::load_options o;
        o.check_files = check_files;
        return inventory::load_string(yaml, "site.yaml", tmp_.path(), o);
    }

    pxed::testing::temp_dir tmp_{"kernel-tree"};
};

}  // namespace

TEST_F(kernel_from_tree, left_out_they_come_from_the_trees_treeinfo_under_its_url) {
    pxed::testing::make_el7_tree(dir() / "trees/c7");
    const auto r = load(site_yaml);
    ASSERT_TRUE(r.model) << messages(r);
    EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
    const auto& p = *r.model->find_profile("centos7");
    EXPECT_EQ(p.kernel, "pub/centos/7/x86_64/images/pxeboot/vmlinuz");
    EXPECT_EQ(p.initrd, "pub/centos/7/x86_64/images/pxeboot/initrd.img");
    EXPECT_TRUE(p.kernel_from_tree);
    EXPECT_TRUE(p.initrd_from_tree);
}

TEST_F(kernel_from_tree, the_boot_configs_and_kernel_url_name_the_trees_files_and_the_namespace_serves_them) {
    pxed::testing::make_el7_tree(dir() / "trees/c7");
    const auto r = load(site_yaml);
    ASSERT_TRUE(r.model) << messages(r);
    const render::renderer rr(r.model, render::template_set::builtin());
    const auto& h = r.model->hosts.front();
    const auto pxe = rr.host_config(render::document_kind::pxelinux, h);
    ASSERT_TRUE(pxe.ok()) << pxe.error;
    EXPECT_THAT(pxe.text, HasSubstr("  kernel pub/centos/7/x86_64/images/pxeboot/vmlinuz\n"));
    EXPECT_THAT(pxe.text, HasSubstr("  append initrd=pub/centos/7/x86_64/images/pxeboot/initrd.img inst.repo="));
    const auto grub = rr.host_config(render::document_kind::grub, h);
    ASSERT_TRUE(grub.ok()) << grub.error;
    EXPECT_THAT(grub.text, HasSubstr("linuxefi /pub/centos/7/x86_64/images/pxeboot/vmlinuz inst.repo="));
    EXPECT_THAT(grub.text, HasSubstr("initrdefi /pub/centos/7/x86_64/images/pxeboot/initrd.img\n"));
    const auto ipxe = rr.host_config(render::document_kind::ipxe, h);
    ASSERT_TRUE(ipxe.ok()) << ipxe.error;
    EXPECT_THAT(ipxe.text, HasSubstr("kernel http://10.0.0.2:8080/pub/centos/7/x86_64/images/pxeboot/vmlinuz "
                                     "initrd=initrd.img inst.repo=http://10.0.0.2:8080/pub/centos/7/x86_64"));
    EXPECT_THAT(ipxe.text, HasSubstr("initrd http://10.0.0.2:8080/pub/centos/7/x86_64/images/pxeboot/initrd.img\n"));

    // The path the configs name is the tree's own file in the namespace
    // TFTP, HTTP and FTP share (app::mounts_for mounts each tree at its url).
    const fs::file_namespace files({{"", r.model->server.tftp.root}, {"pub/centos/7/x86_64", r.model->trees.at("centos7").path}},
                                   nullptr);
    const auto opened = files.open("pub/centos/7/x86_64/images/pxeboot/vmlinuz");
    ASSERT_TRUE(opened);
    ASSERT_TRUE(opened.value().file());
    EXPECT_EQ(opened.value().file()->size, static_cast<std::int64_t>(std::string(pxed::testing::el7_kernel_text).size()));
}

TEST_F(kernel_from_tree, tree_prefix_names_a_file_inside_the_tree) {
    pxed::testing::make_debian_netboot(dir() / "trees/c7");
    const auto yaml = replaced(site_yaml, "    append:",
                               "    kernel: tree:debian-installer/amd64/linux\n    initrd: c7/initrd.img\n    append:");
    pxed::testing::write_file(dir() / "tftp/c7/initrd.img", "initrd");
    const auto r = load(yaml);
    ASSERT_TRUE(r.model) << messages(r);
    const auto& p = *r.model->find_profile("centos7");
    EXPECT_EQ(p.kernel, "pub/centos/7/x86_64/debian-installer/amd64/linux");
    EXPECT_TRUE(p.kernel_from_tree);
    EXPECT_EQ(p.initrd, "c7/initrd.img") << "a plain path stays in the TFTP root";
    EXPECT_FALSE(p.initrd_from_tree);
}

TEST_F(kernel_from_tree, a_named_file_missing_from_the_tree_is_an_error_on_its_line) {
    pxed::testing::make_el7_tree(dir() / "trees/c7");
    const auto r = load(replaced(site_yaml, "    append:", "    kernel: tree:images/pxeboot/vmlinuz-5\n    append:"));
    EXPECT_FALSE(r.model);
    EXPECT_THAT(messages(r), HasSubstr("site.yaml:13:13: error: profile 'centos7': kernel 'tree:images/pxeboot/vmlinuz-5' "
                                       "is not in tree 'centos7' (no " +
                                       (dir() / "trees/c7").string() + "/images/pxeboot/vmlinuz-5)"));
}

TEST_F(kernel_from_tree, tree_prefix_without_a_tree_and_escapes_are_errors) {
    pxed::testing::make_el7_tree(dir() / "trees/c7");
    const auto no_tree = load(replaced(site_yaml, "    tree: centos7\n", "    kernel: tree:images/pxeboot/vmlinuz\n"
                                                                       "    initrd: tree:images/pxeboot/initrd.img\n"));
    EXPECT_FALSE(no_tree.model);
    EXPECT_THAT(messages(no_tree), HasSubstr("site.yaml:12:13: error: profile 'centos7': kernel "
                                             "'tree:images/pxeboot/vmlinuz' is inside a tree, but the profile has no "
                                             "tree: add tree: NAME"));
    const auto escape = load(replaced(site_yaml, "    append:", "    kernel: tree:../../etc/passwd\n    append:"));
    EXPECT_FALSE(escape.model);
    EXPECT_THAT(messages(escape), HasSubstr("must be tree: and a relative path inside the tree"));
}

TEST_F(kernel_from_tree, a_directory_that_is_not_a_tree_is_named_on_the_profiles_line) {
    stdfs::create_directories(dir() / "trees/c7");
    const auto r = load(site_yaml);
    EXPECT_FALSE(r.model);
    EXPECT_THAT(messages(r), HasSubstr("site.yaml:11:3: error: profile 'centos7' gives no kernel or initrd and takes it from tree "
                                       "'centos7', but " +
                                       (dir() / "trees/c7").string() +
                                       " is not an install tree: no .treeinfo, no .discinfo"));
    EXPECT_THAT(messages(r), HasSubstr("fix trees.centos7.path or add kernel:"));
    EXPECT_THAT(messages(r), ::testing::Not(HasSubstr("gives no initrd"))) << "one error for both";
}

TEST_F(kernel_from_tree, a_bare_repository_has_no_kernel_to_give) {
    pxed::testing::write_file(dir() / "trees/c7/repodata/repomd.xml", "<repomd/>");
    const auto r = load(site_yaml);
    EXPECT_FALSE(r.model);
    EXPECT_THAT(messages(r), HasSubstr("site.yaml:11:3: error: profile 'centos7' gives no kernel and tree 'centos7' (" +
                                       (dir() / "trees/c7").string() +
                                       ") has none: repodata/repomd.xml names no kernel and there is no "
                                       "images/pxeboot/vmlinuz; add kernel: (a path in the TFTP root or tree:PATH)"));
}

TEST_F(kernel_from_tree, a_treeinfo_kernel_missing_on_disk_is_an_error) {
    pxed::testing::make_el7_tree(dir() / "trees/c7");
    stdfs::remove(dir() / "trees/c7/images/pxeboot/initrd.img");
    const auto r = load(site_yaml);
    EXPECT_FALSE(r.model);
    EXPECT_THAT(messages(r), HasSubstr("has none: .treeinfo names images/pxeboot/initrd.img but it is not there"));
}

TEST_F(kernel_from_tree, render_without_the_tree_shows_el_places_with_a_warning) {
    const auto r = load(site_yaml, false);
    ASSERT_TRUE(r.model) << messages(r);
    EXPECT_EQ(r.model->find_profile("centos7")->kernel, "pub/centos/7/x86_64/images/pxeboot/vmlinuz");
    EXPECT_EQ(r.model->find_profile("centos7")->initrd, "pub/centos/7/x86_64/images/pxeboot/initrd.img");
    EXPECT_THAT(messages(r), HasSubstr("site.yaml:11:3: warning: profile 'centos7': tree 'centos7' (" +
                                       (dir() / "trees/c7").string() +
                                       ") is not on this machine, so its kernel and initrd are shown as images/pxeboot/vmlinuz and initrd.img"));
}

TEST_F(kernel_from_tree, render_with_the_tree_on_disk_shows_its_real_files) {
    pxed::testing::make_ubuntu_live(dir() / "trees/c7");
    const auto r = load(site_yaml, false);
    ASSERT_TRUE(r.model) << messages(r);
    EXPECT_TRUE(r.diagnostics.empty()) << messages(r);
    EXPECT_EQ(r.model->find_profile("centos7")->kernel, "pub/centos/7/x86_64/casper/vmlinuz");
    EXPECT_EQ(r.model->find_profile("centos7")->initrd, "pub/centos/7/x86_64/casper/initrd");
}

TEST_F(kernel_from_tree, a_child_profile_with_another_tree_takes_that_trees_kernel) {
    pxed::testing::make_el7_tree(dir() / "trees/c7");
    pxed::testing::make_el6_tree(dir() / "trees/c6");
    const auto yaml = replaced(replaced(site_yaml, "  centos7: {path: trees/c7, url: /pub/centos/7/x86_64}\n",
                                        "  centos7: {path: trees/c7, url: /pub/centos/7/x86_64}\n"
                                        "  centos6: {path: trees/c6, url: /pub/centos/6}\n"),
                               "hosts:", "  centos6:\n    inherits: centos7\n    tree: centos6\nhosts:");
    const auto r = load(yaml);
    ASSERT_TRUE(r.model) << messages(r);
    EXPECT_EQ(r.model->find_profile("centos6")->kernel, "pub/centos/6/images/pxeboot/vmlinuz");
    EXPECT_EQ(r.model->find_profile("centos7")->kernel, "pub/centos/7/x86_64/images/pxeboot/vmlinuz");
}
