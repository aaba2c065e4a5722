// Renders config/site.example.yaml (the classic CentOS 6 + 7 recipe) and
// tests/golden/families.yaml (CentOS 6/7, Debian 12 preseed, Ubuntu
// autoinstall over NoCloud) and compares every document with the
// checked-in copy under tests/golden/site.example/ and families/. After an
// intended change to a template, run
//   PXED_UPDATE_GOLDEN=1 ctest -L golden
// and review the diff of tests/golden/ like any other change.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "pxed/inventory/load.hpp"
#include "pxed/render/documents.hpp"

using namespace pxed;
namespace stdfs = std::filesystem;

namespace {

std::string read_file(const stdfs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

// `yaml` rendered under `name` (it appears in the generated files' headers)
// against the files under `golden`.
static void check_golden(const stdfs::path& yaml, const std::string& name, const stdfs::path& golden) {
    const bool update = std::getenv("PXED_UPDATE_GOLDEN") != nullptr;

    inventory::load_options options;
    options.check_files = false;   // the example's /var/lib/tftpboot is not on this machine
    options.read_secrets = false;  // nor its /etc/pxed/secrets: shown as <secret NAME>, as pxed render does
    // Loaded under a fixed name: it appears in the generated files' headers.
    const auto r = inventory::load_string(read_file(yaml), name, yaml.parent_path().string(), options);
    ASSERT_TRUE(r.model);
    EXPECT_TRUE(r.diagnostics.empty());
    auto rend = std::make_shared<const render::renderer>(r.model, render::template_set::builtin());
    const auto problems = rend->check();
    EXPECT_TRUE(problems.empty()) << problems.front().to_string();
    std::vector<inventory::diagnostic> diags;
    const auto files = render::documents(rend).render_all(diags);
    EXPECT_TRUE(diags.empty());
    ASSERT_GE(files.size(), 10u);

    std::set<std::string> rendered;
    for (const auto& f : files) {
        rendered.insert(f.path);
        const auto path = golden / f.path;
        if (update) {
            stdfs::create_directories(path.parent_path());
            std::ofstream(path, std::ios::binary) << f.text;
            continue;
        }
        ASSERT_TRUE(stdfs::exists(path)) << f.path << " is rendered but not checked in (PXED_UPDATE_GOLDEN=1 to add)";
        EXPECT_EQ(f.text, read_file(path)) << "rendered " << f.path << " differs from " << path;
    }
    if (update) GTEST_SKIP() << "golden files rewritten; review `git diff tests/golden`";
    for (const auto& entry : stdfs::recursive_directory_iterator(golden)) {
        if (!entry.is_regular_file()) continue;
        const auto rel = entry.path().lexically_relative(golden).generic_string();
        EXPECT_TRUE(rendered.count(rel)) << rel << " is checked in but no longer rendered";
    }
}

TEST(golden, site_example_renders_exactly_as_checked_in) {
    const stdfs::path source = PXED_SOURCE_DIR;
    check_golden(source / "config/site.example.yaml", "site.example.yaml", source / "tests/golden/site.example");
}

TEST(golden, centos_debian_and_ubuntu_side_by_side_render_exactly_as_checked_in) {
    const stdfs::path source = PXED_SOURCE_DIR;
    check_golden(source / "tests/golden/families.yaml", "families.yaml", source / "tests/golden/families");
}
