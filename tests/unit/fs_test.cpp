#include "pxed/fs/namespace.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <ftw.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = pxed::fs;

namespace {

// Stands in for the renderer: documents keyed by normalised path, and a
// record of every path asked for so tests can check what the namespace hands over.
class fake_documents : public fs::document_source {
public:
    void add(const std::string& path, const std::string& body, std::int64_t mtime) {
        docs_[path] = fs::document{std::make_shared<const std::string>(body), "text/plain", mtime};
    }

    std::optional<fs::document> find(std::string_view path) const override {
        record(path);
        const auto it = docs_.find(path);
        if (it == docs_.end()) return std::nullopt;
        return it->second;
    }

    std::vector<std::string> list(std::string_view dir) const override {
        record(dir);
        std::set<std::string> names;
        const std::string prefix = dir.empty() ? std::string() : std::string(dir) + "/";
        for (const auto& kv : docs_) {
            if (kv.first.compare(0, prefix.size(), prefix) != 0) continue;
            const std::string rest = kv.first.substr(prefix.size());
            const auto slash = rest.find('/');
            names.insert(slash == std::string::npos ? rest : rest.substr(0, slash + 1));
        }
        return {names.begin(), names.end()};
    }

    std::vector<std::string> queries() const {
        std::lock_guard<std::mutex> lock(mu_);
        return queries_;
    }

    void opened(std::string_view path) const override {
        std::lock_guard<std::mutex> lock(mu_);
        opened_.emplace_back(path);
    }
    std::vector<std::string> opened_paths() const {
        std::lock_guard<std::mutex> lock(mu_);
        return opened_;
    }

private:
    mutable std::vector<std::string> opened_;
    void record(std::string_view path) const {
        std::lock_guard<std::mutex> lock(mu_);
        queries_.emplace_back(path);
    }

    std::map<std::string, fs::document, std::less<>> docs_;
    mutable std::mutex mu_;
    mutable std::vector<std::string> queries_;
};

void write_file(const std::string& path, const std::string& body) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << path;
    ASSERT_EQ(::write(fd, body.data(), body.size()), static_cast<ssize_t>(body.size()));
    ::close(fd);
}

void make_dir(const std::string& path) { ASSERT_EQ(::mkdir(path.c_str(), 0755), 0) << path; }

void make_link(const std::string& target, const std::string& path) {
    ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0) << path;
}

std::string read_all(int fd) {
    std::string out;
    char buf[4096];
    for (off_t off = 0;;) {
        const ssize_t n = ::pread(fd, buf, sizeof buf, off);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
        off += n;
    }
    return out;
}

std::vector<std::string> names_of(const std::vector<fs::dir_entry>& entries) {
    std::vector<std::string> names;
    for (const auto& e : entries) names.push_back(e.name);
    return names;
}

const fs::dir_entry* entry_named(const std::vector<fs::dir_entry>& entries, const std::string& name) {
    for (const auto& e : entries) {
        if (e.name == name) return &e;
    }
    return nullptr;
}

int remove_one(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }

std::int64_t mtime_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mtime;
}

const char* const host_cfg = "pxelinux.cfg/01-52-54-00-12-34-56";

class fs_namespace : public ::testing::Test {
protected:
    void SetUp() override {
        std::string templ = ::testing::TempDir() + "pxed_fs_XXXXXX";
        ASSERT_NE(::mkdtemp(&templ[0]), nullptr);
        tmp_ = templ;
        char* real = ::realpath(tmp_.c_str(), nullptr);
        ASSERT_NE(real, nullptr);
        real_tmp_ = real;
        std::free(real);

        const std::string t = tmp_ + "/tftp";
        make_dir(t);
        write_file(t + "/pxelinux.0", "PXELINUX");
        make_dir(t + "/pxelinux.cfg");
        write_file(t + "/pxelinux.cfg/default", "stale hand-written default");
        write_file(t + "/pxelinux.cfg/local", "LOCALBOOT 0");
        make_dir(t + "/boot");
        make_dir(t + "/boot/x86");
        write_file(t + "/boot/x86/wdsnbp.com", "WDS");
        make_dir(t + "/images");
        write_file(t + "/images/vmlinuz", "tftp kernel");
        make_link("../../outside/secret", t + "/images/up");
        make_link("../../outside", t + "/images/updir");
        make_link("images/vmlinuz", t + "/link_inside");
        make_link(tmp_ + "/tftp/pxelinux.0", t + "/abs_inside");
        make_link("images", t + "/dir_link");
        make_link("/etc/passwd", t + "/passwd");
        make_link("/", t + "/rootdir");
        make_link("chain2", t + "/chain1");
        make_link("chain3", t + "/chain2");
        make_link(tmp_ + "/outside/secret", t + "/chain3");
        make_link("loop", t + "/loop");
        make_link("nowhere", t + "/dangling");
        ASSERT_EQ(::mkfifo((t + "/fifo").c_str(), 0644), 0);
        write_file(t + "/unreadable", "hidden");
        ASSERT_EQ(::chmod((t + "/unreadable").c_str(), 0), 0);
        make_dir(t + "/%2e%2e");
        write_file(t + "/%2e%2e/x", "literal");
        make_dir(t + "/pub");
        write_file(t + "/pub/readme.txt", "pub readme");
        make_dir(t + "/pub/centos");
        make_dir(t + "/pub/centos/7");
        make_dir(t + "/pub/centos/7/x86_64foo");
        write_file(t + "/pub/centos/7/x86_64foo/marker", "top mount");

        make_dir(tmp_ + "/outside");
        write_file(tmp_ + "/outside/secret", "SECRET");

        const std::string c = tmp_ + "/centos";
        make_dir(c);
        make_dir(c + "/images");
        make_dir(c + "/images/pxeboot");
        write_file(c + "/images/pxeboot/vmlinuz", "centos kernel");
        make_link("images", c + "/LiveOS");
        make_dir(c + "/repodata");
        write_file(c + "/repodata/repomd.xml", "<repomd/>");
        // Lands inside another mount's root, but outside its own.
        make_link("../tftp/pxelinux.0", c + "/escape");
        make_link("centos", tmp_ + "/centos_link");

        docs_ = std::make_shared<fake_documents>();
        docs_->add("pxelinux.cfg/default", "rendered default", 1000);
        docs_->add(host_cfg, "rendered host", 2000);
        docs_->add("boot.ipxe", "#!ipxe", 3000);
        docs_->add("grub/grub.cfg-01-52-54-00-12-34-56", "rendered grub", 4000);
    }

    void TearDown() override {
        if (!tmp_.empty()) ::nftw(tmp_.c_str(), remove_one, 16, FTW_DEPTH | FTW_PHYS);
    }

    fs::file_namespace standard() const {
        return fs::file_namespace({{"", tmp_ + "/tftp"}, {"pub/centos/7/x86_64", tmp_ + "/centos"}}, docs_);
    }

    // Every error is checked the same way: the code, a message for the
    // operator, and no server-side path in that message.
    template <typename T>
    void expect_error(const fs::result<T>& r, fs::errc code, const std::string& what) {
        ASSERT_FALSE(r.has_value()) << what;
        EXPECT_EQ(r.error().code, code) << what << ": " << r.error().message;
        EXPECT_FALSE(r.error().message.empty()) << what;
        EXPECT_EQ(r.error().message.find(tmp_), std::string::npos) << what << ": " << r.error().message;
        EXPECT_EQ(r.error().message.find(real_tmp_), std::string::npos) << what << ": " << r.error().message;
    }

    std::string contents(const fs::file_namespace& ns, const std::string& request) {
        auto r = ns.open(request);
        if (!r) return "<" + r.error().message + ">";
        if (const fs::document* d = r->doc()) return *d->body;
        return read_all(r->file()->fd.get());
    }

    std::string tmp_;
    std::string real_tmp_;
    std::shared_ptr<fake_documents> docs_;
};

// --- normalize ---

TEST(fs_normalize, strips_leading_slashes_and_collapses_empty_and_dot_components) {
    const std::pair<const char*, const char*> cases[] = {
        {"pxelinux.0", "pxelinux.0"},
        {"/pxelinux.0", "pxelinux.0"},
        {"//a//b/./c/", "a/b/c"},
        {"./a/.", "a"},
        {"", ""},
        {"/", ""},
        {"./", ""},
        {"...", "..."},  // a legal file name, not a parent reference
        {"%2e%2e/x", "%2e%2e/x"},
    };
    for (const auto& c : cases) {
        const auto r = fs::file_namespace::normalize(c.first);
        ASSERT_TRUE(r) << c.first << ": " << r.error().message;
        EXPECT_EQ(*r, c.second) << c.first;
    }
}

TEST(fs_normalize, treats_backslash_as_a_separator_for_windows_pxe_clients) {
    const auto r = fs::file_namespace::normalize("\\boot\\x86\\.\\wdsnbp.com");
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, "boot/x86/wdsnbp.com");
}

TEST(fs_normalize, refuses_every_dot_dot_component_as_access_denied) {
    for (const char* request : {"..", "../x", "a/../../x", "/../../etc/passwd", "..\\..\\x", "./../x", "a/b/..",
                                "a\\..\\b", "a/./../b"}) {
        const auto r = fs::file_namespace::normalize(request);
        ASSERT_FALSE(r) << request;
        EXPECT_EQ(r.error().code, fs::errc::access_denied) << request;
    }
}

TEST(fs_normalize, refuses_nul_and_control_characters_as_invalid) {
    const std::string requests[] = {
        std::string("pxelinux.0\0.txt", 15), std::string("\0", 1), "a\x01" "b", "a\nb", "a\rb", "a\tb", "a\x1b[31mb",
        "a\x7f" "b",
    };
    for (const auto& request : requests) {
        const auto r = fs::file_namespace::normalize(request);
        ASSERT_FALSE(r) << *r;
        EXPECT_EQ(r.error().code, fs::errc::invalid_path);
        // The raw bytes must not reach the log line.
        for (char ch : r.error().message) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f);
    }
}

TEST(fs_normalize, accepts_utf8_names) {
    const auto r = fs::file_namespace::normalize("caf\xc3\xa9/r\xc3\xa9sum\xc3\xa9.txt");
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, "caf\xc3\xa9/r\xc3\xa9sum\xc3\xa9.txt");
}

TEST(fs_normalize, enforces_the_path_and_component_length_limits) {
    std::string path;
    while (path.size() < fs::file_namespace::max_path_length) path += "abcdefg/";
    path.resize(fs::file_namespace::max_path_length);
    EXPECT_TRUE(fs::file_namespace::normalize(path));
    const auto too_long = fs::file_namespace::normalize(path + "x");
    ASSERT_FALSE(too_long);
    EXPECT_EQ(too_long.error().code, fs::errc::invalid_path);

    const std::string component(fs::file_namespace::max_component_length, 'c');
    EXPECT_TRUE(fs::file_namespace::normalize("dir/" + component));
    const auto long_component = fs::file_namespace::normalize("dir/" + component + "c");
    ASSERT_FALSE(long_component);
    EXPECT_EQ(long_component.error().code, fs::errc::invalid_path);
}

// --- lookups ---

TEST_F(fs_namespace, serves_a_plain_file_from_the_top_mount_with_size_and_mtime) {
    const auto ns = standard();
    auto r = ns.open("pxelinux.0");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->path, "pxelinux.0");
    ASSERT_NE(r->file(), nullptr);
    EXPECT_EQ(read_all(r->file()->fd.get()), "PXELINUX");
    EXPECT_EQ(r->file()->size, 8);
    EXPECT_EQ(r->file()->mtime, mtime_of(tmp_ + "/tftp/pxelinux.0"));
    EXPECT_EQ(::fcntl(r->file()->fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);

    const auto s = ns.stat("/pxelinux.0");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->kind, fs::node_kind::file);
    EXPECT_EQ(s->size, 8);
    EXPECT_EQ(s->path, "pxelinux.0");
}

TEST_F(fs_namespace, closes_the_file_when_the_opened_result_goes_away) {
    const auto ns = standard();
    int fd = -1;
    {
        auto r = ns.open("pxelinux.0");
        ASSERT_TRUE(r);
        fd = r->file()->fd.get();
        ASSERT_GE(::fcntl(fd, F_GETFD), 0);
    }
    EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
    EXPECT_EQ(errno, EBADF);
}

TEST_F(fs_namespace, serves_a_file_from_a_deeper_mount) {
    const auto ns = standard();
    EXPECT_EQ(contents(ns, "pub/centos/7/x86_64/images/pxeboot/vmlinuz"), "centos kernel");
    EXPECT_EQ(contents(ns, "/pub/centos/7/x86_64/repodata/repomd.xml"), "<repomd/>");
}

TEST_F(fs_namespace, picks_the_longest_matching_prefix_whatever_the_mount_order) {
    make_dir(tmp_ + "/pubroot");
    write_file(tmp_ + "/pubroot/readme", "pub mount");
    make_dir(tmp_ + "/pubroot/centos");
    make_dir(tmp_ + "/pubroot/centos/7");
    make_dir(tmp_ + "/pubroot/centos/7/x86_64");
    write_file(tmp_ + "/pubroot/centos/7/x86_64/repodata", "WRONG: shadowed by the deeper mount");
    const fs::file_namespace ns({{"", tmp_ + "/tftp"}, {"pub", tmp_ + "/pubroot"},
                                 {"pub/centos/7/x86_64", tmp_ + "/centos"}},
                                nullptr);
    EXPECT_EQ(contents(ns, "pub/readme"), "pub mount");
    EXPECT_EQ(contents(ns, "pub/centos/7/x86_64/repodata/repomd.xml"), "<repomd/>");
    EXPECT_EQ(contents(ns, "pxelinux.0"), "PXELINUX");
    expect_error(ns.open("pub/readme.txt"), fs::errc::not_found, "top root's pub is shadowed by the pub mount");
}

TEST_F(fs_namespace, matches_mount_prefixes_by_whole_components_only) {
    const auto ns = standard();
    EXPECT_EQ(contents(ns, "pub/centos/7/x86_64foo/marker"), "top mount");
    expect_error(ns.open("pub/centos/7/x86_64foo/images/pxeboot/vmlinuz"), fs::errc::not_found, "x86_64foo");
}

TEST_F(fs_namespace, normalises_mount_prefixes_given_with_slashes) {
    const fs::file_namespace ns({{"/pub/centos/7/x86_64/", tmp_ + "/centos"}}, nullptr);
    EXPECT_EQ(contents(ns, "pub/centos/7/x86_64/images/pxeboot/vmlinuz"), "centos kernel");
}

TEST_F(fs_namespace, treats_a_leading_slash_as_relative_so_etc_passwd_is_not_found) {
    const auto ns = standard();
    expect_error(ns.open("/etc/passwd"), fs::errc::not_found, "/etc/passwd");
    expect_error(ns.stat("/etc/passwd"), fs::errc::not_found, "/etc/passwd");
}

TEST_F(fs_namespace, serves_backslash_paths_from_windows_pxe_clients) {
    const auto ns = standard();
    EXPECT_EQ(contents(ns, "boot\\x86\\wdsnbp.com"), "WDS");
    EXPECT_EQ(contents(ns, "\\boot\\x86\\wdsnbp.com"), "WDS");
}

TEST_F(fs_namespace, takes_percent_encoded_dots_literally) {
    const auto ns = standard();
    EXPECT_EQ(contents(ns, "%2e%2e/x"), "literal");
    expect_error(ns.open("%2e%2e/%2e%2e/outside/secret"), fs::errc::not_found, "%2e%2e twice");
}

TEST_F(fs_namespace, reports_missing_files_as_not_found) {
    const auto ns = standard();
    expect_error(ns.open("nope"), fs::errc::not_found, "nope");
    expect_error(ns.open("pxelinux.0/child"), fs::errc::not_found, "child of a file");
    expect_error(ns.open("dangling"), fs::errc::not_found, "dangling symlink");
    expect_error(ns.list("nope"), fs::errc::not_found, "list nope");
}

// --- documents ---

TEST_F(fs_namespace, serves_a_rendered_document_over_a_stale_real_file) {
    const auto ns = standard();
    auto r = ns.open("pxelinux.cfg/default");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_NE(r->doc(), nullptr);
    EXPECT_EQ(*r->doc()->body, "rendered default");

    const auto s = ns.stat("pxelinux.cfg/default");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->kind, fs::node_kind::document);
    EXPECT_EQ(s->size, 16);
    EXPECT_EQ(s->mtime, 1000);
    EXPECT_EQ(s->content_type, "text/plain");
}

TEST_F(fs_namespace, tells_the_config_checker_which_real_files_documents_shadow) {
    const auto ns = standard();
    EXPECT_TRUE(ns.real_file_exists("pxelinux.cfg/default"));
    EXPECT_FALSE(ns.real_file_exists(host_cfg));
    EXPECT_FALSE(ns.real_file_exists("pxelinux.cfg"));
    EXPECT_FALSE(ns.real_file_exists("passwd"));
    EXPECT_FALSE(ns.real_file_exists("../tftp/pxelinux.0"));
    // The checker looks at each directory once before its files.
    EXPECT_TRUE(ns.real_directory_exists("pxelinux.cfg"));
    EXPECT_FALSE(ns.real_directory_exists("pxelinux.cfg/default"));
    EXPECT_FALSE(ns.real_directory_exists("ks"));
    EXPECT_FALSE(ns.real_directory_exists("../tftp"));
}

TEST_F(fs_namespace, hands_the_document_source_only_normalised_paths) {
    const auto ns = standard();
    EXPECT_EQ(contents(ns, "//pxelinux.cfg/.//01-52-54-00-12-34-56"), "rendered host");
    EXPECT_EQ(contents(ns, "\\pxelinux.cfg\\01-52-54-00-12-34-56"), "rendered host");
    ns.list("/pxelinux.cfg/");
    const auto queries = docs_->queries();
    ASSERT_FALSE(queries.empty());
    for (const auto& q : queries) {
        ASSERT_FALSE(q.empty());
        EXPECT_NE(q.front(), '/') << q;
        EXPECT_EQ(q.find("//"), std::string::npos) << q;
        EXPECT_EQ(q.find('\\'), std::string::npos) << q;
        EXPECT_EQ(q.find("./"), std::string::npos) << q;
        EXPECT_NE(q.back(), '/') << q;
    }
}

TEST_F(fs_namespace, never_asks_the_document_source_about_refused_paths) {
    const auto ns = standard();
    ns.open("../pxelinux.cfg/default");
    ns.open(std::string("boot.ipxe\0x", 11));
    EXPECT_TRUE(docs_->queries().empty());
}

TEST_F(fs_namespace, works_without_a_document_source) {
    const fs::file_namespace ns({{"", tmp_ + "/tftp"}}, nullptr);
    EXPECT_EQ(contents(ns, "pxelinux.cfg/default"), "stale hand-written default");
    expect_error(ns.open("boot.ipxe"), fs::errc::not_found, "boot.ipxe");
}

// --- confinement ---

TEST_F(fs_namespace, refuses_every_escape_by_name_with_access_denied) {
    const auto ns = standard();
    const char* escapes[] = {
        "../x",
        "a/../../x",
        "/../../etc/passwd",
        "..\\..\\x",
        "./../x",
        "pub/centos/7/x86_64/../../../../outside/secret",
        "loop",                                // never resolves, inside the root
    };
    for (const char* request : escapes) {
        expect_error(ns.stat(request), fs::errc::access_denied, std::string("stat ") + request);
        expect_error(ns.open(request), fs::errc::access_denied, std::string("open ") + request);
    }
}

// Issue 16: 403 for a name past a symlink out of the root and 404 otherwise
// told a client what exists outside it. Past such a link, everything is
// simply not there; only the log says why.
TEST_F(fs_namespace, answers_a_symlink_escape_exactly_like_a_missing_name) {
    const auto ns = standard();
    const char* escapes[] = {
        "passwd",                              // file symlink -> /etc/passwd
        "rootdir",                             // directory symlink -> /
        "rootdir/etc/passwd",
        "rootdir/etc/no-such-file-here",
        "chain1",                              // chain ending outside
        "images/up",                           // relative ../../outside/secret
        "images/updir/secret",                 // relative directory link outside
        "images/updir/no-such-file",
        "dir_link/up",                         // allowed link, then an escaping one
        "pub/centos/7/x86_64/escape",          // inside another mount's root, outside its own
    };
    for (const char* request : escapes) {
        expect_error(ns.stat(request), fs::errc::not_found, std::string("stat ") + request);
        expect_error(ns.open(request), fs::errc::not_found, std::string("open ") + request);
    }
    expect_error(ns.list("rootdir"), fs::errc::not_found, "list rootdir");
    expect_error(ns.list("rootdir/etc"), fs::errc::not_found, "list rootdir/etc");
    expect_error(ns.list("images/updir"), fs::errc::not_found, "list images/updir");
    expect_error(ns.list("images/updir/none"), fs::errc::not_found, "list images/updir/none");
    const auto outside = ns.open("rootdir/etc/passwd");
    ASSERT_FALSE(outside);
    EXPECT_NE(outside.error().message.find("resolves outside"), std::string::npos) << outside.error().message;
}

TEST_F(fs_namespace, keeps_symlink_targets_out_of_error_messages) {
    const auto ns = standard();
    const auto r = ns.open("passwd");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message.find("/etc"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("passwd"), std::string::npos) << r.error().message;
}

TEST_F(fs_namespace, refuses_nul_in_the_middle_instead_of_truncating_the_name) {
    const auto ns = standard();
    expect_error(ns.open(std::string("pxelinux.0\0.txt", 15)), fs::errc::invalid_path, "NUL");
    expect_error(ns.open("pxelinux.0\n"), fs::errc::invalid_path, "newline");
    expect_error(ns.open(std::string(5000, 'a')), fs::errc::invalid_path, "overlong path");
    expect_error(ns.open(std::string(300, 'a')), fs::errc::invalid_path, "overlong component");
}

TEST_F(fs_namespace, follows_symlinks_that_stay_inside_the_root) {
    const auto ns = standard();
    EXPECT_EQ(contents(ns, "link_inside"), "tftp kernel");
    EXPECT_EQ(contents(ns, "abs_inside"), "PXELINUX");
    EXPECT_EQ(contents(ns, "dir_link/vmlinuz"), "tftp kernel");
    EXPECT_EQ(contents(ns, "pub/centos/7/x86_64/LiveOS/pxeboot/vmlinuz"), "centos kernel");
    const auto s = ns.stat("dir_link");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->kind, fs::node_kind::directory);
}

TEST_F(fs_namespace, accepts_a_root_that_is_itself_a_symlink) {
    const fs::file_namespace ns({{"", tmp_ + "/centos_link"}}, nullptr);
    EXPECT_EQ(contents(ns, "images/pxeboot/vmlinuz"), "centos kernel");
    EXPECT_EQ(contents(ns, "LiveOS/pxeboot/vmlinuz"), "centos kernel");
    expect_error(ns.open("escape"), fs::errc::not_found, "escape");
}

TEST_F(fs_namespace, accepts_a_root_given_with_a_trailing_slash) {
    const fs::file_namespace ns({{"", tmp_ + "/tftp/"}}, nullptr);
    EXPECT_EQ(contents(ns, "pxelinux.0"), "PXELINUX");
    EXPECT_EQ(contents(ns, "abs_inside"), "PXELINUX");
    expect_error(ns.open("passwd"), fs::errc::not_found, "passwd");
    expect_error(ns.open("images/up"), fs::errc::not_found, "images/up");
}

TEST_F(fs_namespace, does_not_let_a_sibling_directory_with_a_longer_name_pass_as_inside) {
    // realpath of tftp2/x starts with the string "<tmp>/tftp": only a
    // component-wise comparison refuses it.
    make_dir(tmp_ + "/tftp2");
    write_file(tmp_ + "/tftp2/x", "sibling");
    make_link(tmp_ + "/tftp2/x", tmp_ + "/tftp/sibling");
    const auto ns = standard();
    expect_error(ns.open("sibling"), fs::errc::not_found, "sibling");
}

TEST_F(fs_namespace, treats_a_missing_root_as_not_found_not_as_a_construction_error) {
    std::unique_ptr<fs::file_namespace> ns;
    ASSERT_NO_THROW(ns = std::make_unique<fs::file_namespace>(
                        std::vector<fs::mount>{{"", tmp_ + "/does-not-exist"}, {"file", tmp_ + "/tftp/pxelinux.0"}},
                        nullptr));
    expect_error(ns->open("pxelinux.0"), fs::errc::not_found, "missing root");
    expect_error(ns->open("file"), fs::errc::not_found, "root is a file");
    expect_error(ns->open("file/x"), fs::errc::not_found, "under a root that is a file");
}

TEST_F(fs_namespace, refuses_bad_or_duplicate_mount_prefixes_at_construction) {
    EXPECT_THROW(fs::file_namespace({{"../x", tmp_ + "/tftp"}}, nullptr), std::invalid_argument);
    EXPECT_THROW(fs::file_namespace({{"pub/", tmp_ + "/tftp"}, {"/pub", tmp_ + "/centos"}}, nullptr),
                 std::invalid_argument);
}

// --- special files ---

TEST_F(fs_namespace, refuses_a_fifo_without_blocking) {
    const auto ns = standard();
    auto pending = std::async(std::launch::async, [&] { return ns.open("fifo"); });
    if (pending.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
        // Release the blocked open() so the test fails instead of hanging.
        const int writer = ::open((tmp_ + "/tftp/fifo").c_str(), O_WRONLY | O_NONBLOCK);
        if (writer >= 0) ::close(writer);
        FAIL() << "open() of a fifo blocked";
    }
    expect_error(pending.get(), fs::errc::access_denied, "open fifo");
    expect_error(ns.stat("fifo"), fs::errc::access_denied, "stat fifo");
}

TEST_F(fs_namespace, refuses_device_files) {
    const fs::file_namespace ns({{"", "/dev"}}, nullptr);
    expect_error(ns.open("null"), fs::errc::access_denied, "/dev/null");
    expect_error(ns.open("zero"), fs::errc::access_denied, "/dev/zero");
}

TEST_F(fs_namespace, refuses_files_the_process_cannot_read) {
    const auto ns = standard();
    if (::geteuid() != 0) {
        expect_error(ns.open("unreadable"), fs::errc::access_denied, "unreadable");
        return;
    }
    // Root reads a mode-0 file through CAP_DAC_OVERRIDE (and
    // CAP_DAC_READ_SEARCH). A child without those two in its effective set
    // is bound by the permission bits like the daemon after its drop; it
    // still owns (and so traverses) the test's directories.
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
        if (::syscall(SYS_capget, &header, data) != 0) ::_exit(3);
        data[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
        if (::syscall(SYS_capset, &header, data) != 0) ::_exit(4);
        if (::open((tmp_ + "/tftp/unreadable").c_str(), O_RDONLY) >= 0) ::_exit(5);  // the capabilities still act
        const auto r = ns.open("unreadable");
        ::_exit(!r && r.error().code == fs::errc::access_denied ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: opened or refused for another reason; 3-5: the capabilities could not be dropped";
}

TEST_F(fs_namespace, does_not_open_directories) {
    const auto ns = standard();
    expect_error(ns.open("images"), fs::errc::is_directory, "images");
    expect_error(ns.open(""), fs::errc::is_directory, "top");
    expect_error(ns.open("pub/centos/7/x86_64"), fs::errc::is_directory, "mount root");
    const auto s = ns.stat("images");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->kind, fs::node_kind::directory);
    EXPECT_EQ(s->mtime, mtime_of(tmp_ + "/tftp/images"));
}

// --- listings ---

TEST_F(fs_namespace, lists_the_top_merging_real_entries_documents_and_mount_directories) {
    const auto ns = standard();
    const auto r = ns.list("");
    ASSERT_TRUE(r) << r.error().message;
    // Left out: fifo, passwd, rootdir, chain1-3 (end outside), loop, dangling.
    const std::vector<std::string> expected = {
        "%2e%2e", "abs_inside", "boot",        "boot.ipxe",    "dir_link",  "grub",
        "images", "link_inside", "pub",        "pxelinux.0",   "pxelinux.cfg", "unreadable",
    };
    EXPECT_EQ(names_of(*r), expected);
    const auto* doc = entry_named(*r, "boot.ipxe");
    ASSERT_NE(doc, nullptr);
    EXPECT_FALSE(doc->is_directory);
    EXPECT_EQ(doc->size, 6);
    EXPECT_EQ(doc->mtime, 3000);
    const auto* link = entry_named(*r, "link_inside");
    ASSERT_NE(link, nullptr);
    EXPECT_FALSE(link->is_directory);
    EXPECT_EQ(link->size, 11);  // the target's size, not the link's
    ASSERT_NE(entry_named(*r, "dir_link"), nullptr);
    EXPECT_TRUE(entry_named(*r, "dir_link")->is_directory);
    ASSERT_NE(entry_named(*r, "grub"), nullptr);
    EXPECT_TRUE(entry_named(*r, "grub")->is_directory);
    // Both a real directory and a directory of documents: the real one's mtime.
    ASSERT_NE(entry_named(*r, "pxelinux.cfg"), nullptr);
    EXPECT_EQ(entry_named(*r, "pxelinux.cfg")->mtime, mtime_of(tmp_ + "/tftp/pxelinux.cfg"));
}

TEST_F(fs_namespace, lists_document_names_once_with_the_document_winning) {
    const auto ns = standard();
    const auto r = ns.list("pxelinux.cfg");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(names_of(*r), (std::vector<std::string>{"01-52-54-00-12-34-56", "default", "local"}));
    const auto* def = entry_named(*r, "default");
    ASSERT_NE(def, nullptr);
    EXPECT_EQ(def->size, 16);
    EXPECT_EQ(def->mtime, 1000);
}

TEST_F(fs_namespace, shows_directories_implied_by_deeper_mounts) {
    const auto ns = standard();
    const auto pub = ns.list("pub");
    ASSERT_TRUE(pub);
    EXPECT_EQ(names_of(*pub), (std::vector<std::string>{"centos", "readme.txt"}));

    const auto seven = ns.list("pub/centos/7");
    ASSERT_TRUE(seven);
    EXPECT_EQ(names_of(*seven), (std::vector<std::string>{"x86_64", "x86_64foo"}));
    const auto* mount_dir = entry_named(*seven, "x86_64");
    ASSERT_NE(mount_dir, nullptr);
    EXPECT_TRUE(mount_dir->is_directory);
    EXPECT_EQ(mount_dir->mtime, mtime_of(tmp_ + "/centos"));
}

TEST_F(fs_namespace, invents_the_path_down_to_a_mount_when_no_real_directory_exists) {
    const fs::file_namespace ns({{"pub/centos/7/x86_64", tmp_ + "/centos"}}, nullptr);
    const auto top = ns.list("");
    ASSERT_TRUE(top) << top.error().message;
    EXPECT_EQ(names_of(*top), std::vector<std::string>{"pub"});
    const auto pub = ns.list("/pub/");
    ASSERT_TRUE(pub) << pub.error().message;
    EXPECT_EQ(names_of(*pub), std::vector<std::string>{"centos"});
    const auto s = ns.stat("pub/centos");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->kind, fs::node_kind::directory);
    expect_error(ns.open("pub"), fs::errc::is_directory, "pub");
    expect_error(ns.open("pxelinux.0"), fs::errc::not_found, "outside every mount");
}

TEST_F(fs_namespace, lets_a_mount_point_win_over_a_real_file_of_the_same_name) {
    write_file(tmp_ + "/tftp/isos", "a file where the mount point goes");
    const fs::file_namespace ns({{"", tmp_ + "/tftp"}, {"isos/centos", tmp_ + "/centos"}}, nullptr);
    const auto s = ns.stat("isos");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->kind, fs::node_kind::directory);
    const auto listed = ns.list("isos");
    ASSERT_TRUE(listed) << listed.error().message;
    EXPECT_EQ(names_of(*listed), std::vector<std::string>{"centos"});
    const auto top = ns.list("");
    ASSERT_TRUE(top);
    const auto* isos = entry_named(*top, "isos");
    ASSERT_NE(isos, nullptr);
    EXPECT_TRUE(isos->is_directory);
}

TEST_F(fs_namespace, treats_a_directory_of_documents_as_a_directory) {
    const auto ns = standard();
    const auto s = ns.stat("grub");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->kind, fs::node_kind::directory);
    const auto r = ns.list("grub");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(names_of(*r), std::vector<std::string>{"grub.cfg-01-52-54-00-12-34-56"});
    expect_error(ns.open("grub"), fs::errc::is_directory, "grub");
}

TEST_F(fs_namespace, leaves_escaping_links_out_of_a_mount_listing) {
    const auto ns = standard();
    const auto r = ns.list("pub/centos/7/x86_64");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(names_of(*r), (std::vector<std::string>{"LiveOS", "images", "repodata"}));
    const auto images = ns.list("images");
    ASSERT_TRUE(images);
    EXPECT_EQ(names_of(*images), std::vector<std::string>{"vmlinuz"});
}

TEST_F(fs_namespace, leaves_names_no_client_could_request_out_of_listings) {
    write_file(tmp_ + "/tftp/images/back\\slash", "unreachable");
    write_file(tmp_ + "/tftp/images/bell\x07", "unreachable");
    const auto ns = standard();
    const auto r = ns.list("images");
    ASSERT_TRUE(r);
    EXPECT_EQ(names_of(*r), std::vector<std::string>{"vmlinuz"});
}

TEST_F(fs_namespace, refuses_to_list_files_and_documents) {
    const auto ns = standard();
    expect_error(ns.list("pxelinux.0"), fs::errc::not_a_directory, "file");
    expect_error(ns.list("boot.ipxe"), fs::errc::not_a_directory, "document");
    expect_error(ns.list("pxelinux.cfg/default"), fs::errc::not_a_directory, "document over a file");
}

TEST_F(fs_namespace, answers_the_same_from_several_threads) {
    const auto ns = standard();
    std::vector<std::future<std::string>> results;
    for (int i = 0; i < 8; ++i) {
        results.push_back(std::async(std::launch::async, [&] {
            std::string out;
            for (int j = 0; j < 50; ++j) {
                out = contents(ns, j % 2 ? "pub/centos/7/x86_64/LiveOS/pxeboot/vmlinuz" : "pxelinux.cfg/default");
                if (out != "centos kernel" && out != "rendered default") break;
            }
            return out;
        }));
    }
    for (auto& f : results) EXPECT_EQ(f.get(), "centos kernel");
}

}  // namespace

TEST_F(fs_namespace, tells_the_document_source_what_is_opened_not_what_is_looked_at) {
    const auto ns = standard();
    ns.stat("pxelinux.cfg/01-52-54-00-12-34-56");
    ns.list("pxelinux.cfg");
    EXPECT_TRUE(docs_->opened_paths().empty());
    EXPECT_EQ(contents(ns, "//pxelinux.cfg/01-52-54-00-12-34-56"), "rendered host");
    ns.open("pxelinux.cfg/01-52-54-00-99-99-99");
    EXPECT_TRUE(ns.open("pxelinux.cfg/01-52-54-00-12-34-56", {}, /*peek=*/true)) << "a HEAD looks, it does not fetch";
    EXPECT_EQ(docs_->opened_paths(), (std::vector<std::string>{"pxelinux.cfg/01-52-54-00-12-34-56"}))
        << "once, normalised, and only for a document that exists";
}

namespace {
// A source that refuses one path outright and hides another.
class guarded_documents final : public fs::document_source {
public:
    std::optional<fs::document> find(std::string_view path) const override {
        if (path == "cfg/default") return fs::document{std::make_shared<const std::string>("menu"), "text/plain", 1};
        if (path != "ks/a.ks" && path != "cfg/a" && path != "cfg/b") return std::nullopt;
        return fs::document{std::make_shared<const std::string>("secret"), "text/plain", 1};
    }
    std::vector<std::string> list(std::string_view) const override { return {}; }
    void opened(std::string_view path) const override { opened_.emplace_back(path); }
    fs::release check(std::string_view path, const fs::client& who) const override {
        if (who.token == "ok") return {};
        if (path == "ks/a.ks") return {fs::release::refuse, "not yours", {}};
        if (path == "cfg/a") return {fs::release::hide, "not yours", {}};
        if (path == "cfg/b") return {fs::release::hide, "not yours", "cfg/default"};
        return {};
    }
    mutable std::vector<std::string> opened_;
};
}  // namespace

TEST(fs_access, a_refused_document_is_neither_opened_nor_stat_and_the_fetch_is_not_counted) {
    auto docs = std::make_shared<guarded_documents>();
    const fs::file_namespace ns({}, docs);
    const fs::client stranger{0x0a000009u, {}, "http"};
    EXPECT_EQ(ns.open("ks/a.ks", stranger).error().code, fs::errc::access_denied);
    EXPECT_EQ(ns.stat("/ks/./a.ks", stranger).error().code, fs::errc::access_denied) << "checked after normalising";
    EXPECT_EQ(ns.open("cfg/a", stranger).error().code, fs::errc::not_found) << "hidden: looks unknown";
    EXPECT_EQ(ns.open("cfg//a").error().code, fs::errc::not_found) << "the anonymous default is a stranger";
    EXPECT_NE(ns.open("ks/a.ks", stranger).error().message.find("not yours"), std::string::npos);
    EXPECT_TRUE(docs->opened_.empty());
    auto standin = ns.open("cfg/b", stranger);
    ASSERT_TRUE(standin) << "hidden with a stand-in: served as an unknown name would be";
    EXPECT_EQ(*standin->doc()->body, "menu");
    EXPECT_EQ(standin->path, "cfg/b");
    EXPECT_EQ(docs->opened_, (std::vector<std::string>{"cfg/default"})) << "the stand-in was sent, not cfg/b";
    docs->opened_.clear();
    EXPECT_TRUE(ns.open("ks/a.ks", fs::client{0x0a000009u, "ok", "http"}));
    EXPECT_EQ(docs->opened_, (std::vector<std::string>{"ks/a.ks"}));
}

// --- single-file mounts (boot.secure_boot's shim and GRUB) ---

TEST_F(fs_namespace, a_file_mount_serves_that_file_at_its_path_in_place_of_the_roots_own) {
    write_file(tmp_ + "/outside/shim.signed", "SIGNED SHIM");
    write_file(tmp_ + "/outside/grub.signed", "SIGNED GRUB");
    write_file(tmp_ + "/tftp/grubx64.efi", "unsigned grub of the root");
    const fs::file_namespace ns({{"", tmp_ + "/tftp"},
                                 {"shimx64.efi", tmp_ + "/outside/shim.signed", true},
                                 {"grubx64.efi", tmp_ + "/outside/grub.signed", true},
                                 {"sb/shimx64.efi", tmp_ + "/outside/shim.signed", true}},
                                docs_);
    EXPECT_EQ(contents(ns, "shimx64.efi"), "SIGNED SHIM");
    EXPECT_EQ(contents(ns, "/grubx64.efi"), "SIGNED GRUB");
    EXPECT_EQ(contents(ns, "sb/shimx64.efi"), "SIGNED SHIM");  // sb/ exists only through the mount
    const auto st = ns.stat("grubx64.efi");
    ASSERT_TRUE(st);
    EXPECT_EQ(st->kind, fs::node_kind::file);
    EXPECT_EQ(st->size, 11);
    // Nothing below the file, nothing beside it in its directory.
    expect_error(ns.open("shimx64.efi/x"), fs::errc::not_found, "under a file mount");
    expect_error(ns.open("sb/grub.signed"), fs::errc::not_found, "beside a file mount");
    expect_error(ns.open("sb/../outside/grub.signed"), fs::errc::access_denied, "dot-dot");
    // Listings show it as a file of its size.
    const auto top = ns.list("");
    ASSERT_TRUE(top);
    const auto shim = std::find_if(top->begin(), top->end(), [](const fs::dir_entry& e) { return e.name == "shimx64.efi"; });
    ASSERT_NE(shim, top->end());
    EXPECT_FALSE(shim->is_directory);
    EXPECT_EQ(shim->size, 11);
    const auto sb = ns.list("sb");
    ASSERT_TRUE(sb);
    ASSERT_EQ(sb->size(), 1u);
    EXPECT_EQ((*sb)[0].name, "shimx64.efi");
    EXPECT_FALSE((*sb)[0].is_directory);
}

TEST_F(fs_namespace, a_file_mount_of_a_directory_or_of_nothing_serves_nothing) {
    const fs::file_namespace ns({{"", tmp_ + "/tftp"},
                                 {"a.efi", tmp_ + "/outside", true},
                                 {"b.efi", tmp_ + "/outside/none", true}},
                                nullptr);
    expect_error(ns.open("a.efi"), fs::errc::not_found, "a directory as a file mount");
    expect_error(ns.open("a.efi/secret"), fs::errc::not_found, "inside a directory given as a file mount");
    expect_error(ns.open("b.efi"), fs::errc::not_found, "a missing file");
    EXPECT_THROW(fs::file_namespace({{"", tmp_ + "/outside/secret", true}}, nullptr), std::invalid_argument);
}
