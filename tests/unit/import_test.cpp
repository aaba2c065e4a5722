// pxed import's logic without the binary: the entries chosen for each kind
// of tree, and the textual insertion into site.yaml (where the entries go,
// what is kept, what is refused). import_test.sh runs the real command.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pxed/app/import.hpp"
#include "temp_dir.hpp"
#include "tree_fixtures.hpp"

using namespace pxed;
using ::testing::HasSubstr;
namespace stdfs = std::filesystem;

namespace {

app::import_plan el7_plan() {
    app::import_plan p;
    p.name = "centos7";
    p.path = "/srv/c7";
    p.url = "/pub/centos/7/x86_64";
    p.tree.kernel = "images/pxeboot/vmlinuz";
    p.tree.initrd = "images/pxeboot/initrd.img";
    p.label = "CentOS 7.9.2009 x86_64";
    p.append = "inst.repo={{tree_url}} inst.ks={{kickstart_url}}";
    p.kickstart = "centos7.ks";
    return p;
}

std::string inserted(const std::string& text) {
    const auto r = app::insert_into_site(text, el7_plan());
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? r.value() : std::string();
}

}  // namespace

TEST(import_plan, el7_el6_debian_ubuntu_get_their_familys_arguments) {
    pxed::testing::temp_dir tmp("import");
    const stdfs::path d = tmp.path();
    pxed::testing::make_el7_tree(d / "el7");
    pxed::testing::make_el6_tree(d / "el6");
    pxed::testing::make_debian_netboot(d / "deb");
    pxed::testing::make_ubuntu_live(d / "ubu");
    const auto el7 = app::plan_import((d / "el7").string(), {});
    ASSERT_TRUE(el7) << el7.error();
    EXPECT_EQ(el7.value().name, "centos7");
    EXPECT_EQ(el7.value().url, "/pub/centos/7.9/x86_64") << "the release from .discinfo";
    EXPECT_EQ(el7.value().append, "inst.repo={{tree_url}} inst.ks={{kickstart_url}}");
    const auto el6 = app::plan_import((d / "el6").string() + "/", {});
    ASSERT_TRUE(el6) << el6.error();
    EXPECT_EQ(el6.value().path, (d / "el6").string()) << "no trailing slash";
    EXPECT_EQ(el6.value().append, "ks={{kickstart_url}} ksdevice=bootif");
    EXPECT_EQ(el6.value().kickstart, "centos6.ks");
    const auto deb = app::plan_import((d / "deb").string(), {});
    ASSERT_TRUE(deb) << deb.error();
    EXPECT_EQ(deb.value().name, "debian12");
    EXPECT_EQ(deb.value().url, "/pub/debian/12/amd64");
    EXPECT_EQ(deb.value().kickstart, "debian12.preseed");
    const auto ubu = app::plan_import((d / "ubu").string(), {});
    ASSERT_TRUE(ubu) << ubu.error();
    EXPECT_EQ(ubu.value().name, "ubuntu2404");
    EXPECT_EQ(ubu.value().append, "autoinstall ds=nocloud-net;s={{nocloud_url}}");
    EXPECT_EQ(ubu.value().kickstart, "ubuntu-autoinstall.yaml");
}

TEST(import_plan, names_rhel_and_other_architectures) {
    pxed::testing::temp_dir tmp("import");
    const stdfs::path d = tmp.path();
    pxed::testing::write_file(d / ".treeinfo",
                              "[release]\nname = Red Hat Enterprise Linux\nversion = 9.4\n[tree]\narch = aarch64\n"
                              "[images-aarch64]\nkernel = images/pxeboot/vmlinuz\ninitrd = images/pxeboot/initrd.img\n");
    pxed::testing::write_file(d / "images/pxeboot/vmlinuz", "k");
    pxed::testing::write_file(d / "images/pxeboot/initrd.img", "i");
    const auto r = app::plan_import(d.string(), {});
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r.value().name, "rhel9-aarch64");
    EXPECT_EQ(r.value().url, "/pub/rhel/9.4/aarch64");
    EXPECT_EQ(r.value().label, "Red Hat Enterprise Linux 9.4 aarch64");
}

TEST(import_plan, refuses_what_cannot_boot_and_bad_names_or_urls) {
    pxed::testing::temp_dir tmp("import");
    const stdfs::path d = tmp.path();
    pxed::testing::write_file(d / "repo/repodata/repomd.xml", "<repomd/>");
    const auto bare = app::plan_import((d / "repo").string(), {});
    ASSERT_FALSE(bare);
    EXPECT_EQ(bare.error(), (d / "repo").string() +
                                " is a el tree (repodata/repomd.xml) with no kernel to boot: looked for "
                                "images/pxeboot/vmlinuz; import the DVD or a tree with its boot images");
    pxed::testing::make_el7_tree(d / "el7");
    EXPECT_THAT(app::plan_import((d / "el7").string(), {"a b", ""}).error(), HasSubstr("'a b' cannot be a tree"));
    EXPECT_THAT(app::plan_import((d / "el7").string(), {"", "pub/x"}).error(), HasSubstr("must be an absolute URL path"));
    EXPECT_THAT(app::plan_import((d / "el7").string(), {"", "/pub/../etc"}).error(), HasSubstr("must be an absolute"));
    EXPECT_THAT(app::plan_import((d / "nothing").string(), {}).error(), HasSubstr("is not an install tree"));
}

TEST(import_insert, goes_after_the_last_indented_line_keeping_the_comments_before_the_next_section) {
    const std::string site = "server: {address: 10.0.0.2}\n"
                             "trees:  # the DVDs\n"
                             "  c6: {path: /srv/c6, url: /pub/c6}\n"
                             "  # c5 retired\n"
                             "\n"
                             "# Profiles\n"
                             "profiles:\n"
                             "  c6:\n"
                             "    kernel: c6/vmlinuz   # copied\n"
                             "    initrd: c6/initrd.img\n"
                             "hosts: []\n";
    EXPECT_EQ(inserted(site), "server: {address: 10.0.0.2}\n"
                              "trees:  # the DVDs\n"
                              "  c6: {path: /srv/c6, url: /pub/c6}\n"
                              "  # c5 retired\n"
                              "  centos7:\n"
                              "    path: /srv/c7\n"
                              "    url: /pub/centos/7/x86_64\n"
                              "    protocol: http\n"
                              "\n"
                              "# Profiles\n"
                              "profiles:\n"
                              "  c6:\n"
                              "    kernel: c6/vmlinuz   # copied\n"
                              "    initrd: c6/initrd.img\n"
                              "  centos7:\n"
                              "    label: CentOS 7.9.2009 x86_64\n"
                              "    tree: centos7\n"
                              "    # kernel and initrd: the tree's images/pxeboot/vmlinuz and images/pxeboot/initrd.img\n"
                              "    append: 'inst.repo={{tree_url}} inst.ks={{kickstart_url}}'\n"
                              "    kickstart: centos7.ks\n"
                              "hosts: []\n");
}

TEST(import_insert, an_empty_section_a_four_space_file_and_no_final_newline) {
    EXPECT_THAT(inserted("trees:\nprofiles:\n    c6:\n        kernel: k\n        initrd: i"),
                HasSubstr("trees:\n  centos7:\n    path: /srv/c7\n"));
    EXPECT_THAT(inserted("trees:\nprofiles:\n    c6:\n        kernel: k\n        initrd: i"),
                HasSubstr("        initrd: i\n    centos7:\n        label: CentOS 7.9.2009 x86_64\n"));
}

TEST(import_insert, creates_missing_sections_at_the_end) {
    EXPECT_EQ(inserted("server: {address: 10.0.0.2}"),
              "server: {address: 10.0.0.2}\ntrees:\n  centos7:\n    path: /srv/c7\n    url: /pub/centos/7/x86_64\n"
              "    protocol: http\nprofiles:\n  centos7:\n    label: CentOS 7.9.2009 x86_64\n    tree: centos7\n"
              "    # kernel and initrd: the tree's images/pxeboot/vmlinuz and images/pxeboot/initrd.img\n"
              "    append: 'inst.repo={{tree_url}} inst.ks={{kickstart_url}}'\n    kickstart: centos7.ks\n");
}

TEST(import_insert, refuses_a_taken_name_and_a_flow_style_section) {
    const auto taken = app::insert_into_site("trees:\n  'centos7': {path: /x, url: /y}\n", el7_plan());
    ASSERT_FALSE(taken);
    EXPECT_EQ(taken.error().message, "site.yaml:2: trees.centos7 is already there; choose another name with --name");
    const auto in_profiles = app::insert_into_site("trees:\nprofiles:\n  centos7:\n    kernel: k\n", el7_plan());
    ASSERT_FALSE(in_profiles);
    EXPECT_EQ(in_profiles.error().message, "site.yaml:3: profiles.centos7 is already there; choose another name with --name");
    EXPECT_TRUE(app::insert_into_site("trees:\n  centos7x: {path: /x, url: /y}\n    centos7: {}\n", el7_plan()))
        << "only keys at the entries' indentation are names";
    const auto flow = app::insert_into_site("trees: {c6: {path: /x, url: /y}}\n", el7_plan());
    ASSERT_FALSE(flow);
    EXPECT_THAT(flow.error().message, HasSubstr("site.yaml:1: trees: is written on one line (flow style)"));
}
