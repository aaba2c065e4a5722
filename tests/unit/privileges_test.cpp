#include "pxed/app/privileges.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace app = pxed::app;

namespace {

constexpr const char* passwd_text =
    "root:x:0:0:root:/root:/bin/bash\n"
    "# a comment line is no account\n"
    "pxe:x:996:996:not the one:/var/lib/pxe:/sbin/nologin\n"
    "broken:x:notanumber:5:bad uid:/:/bin/false\n"
    "short:x:7\n"
    "+nisuser::::::\n"
    "pxed:x:995:993:pxed PXE daemon:/var/lib/pxed:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    "dup:x:1000:1000:first:/home/dup:/bin/sh\n"
    "dup:x:1001:1001:second wins nothing:/home/dup:/bin/sh";  // no final newline

constexpr const char* group_text =
    "root:x:0:\n"
    "pxed:x:993:\n"
    "dialout:x:20:alice,pxed\n"
    "tftp:x:120:pxe\n"  // "pxe" is a prefix of "pxed", not pxed
    "www:x:33:pxedx,bob\n"
    "bad:x:zz:pxed\n"
    "again:x:993:pxed\n"  // the primary group listed again: no duplicate
    "kvm:x:104:pxed";

TEST(find_account, reads_uid_gid_and_groups) {
    const auto a = app::find_account(passwd_text, group_text, "pxed");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->name, "pxed");
    EXPECT_EQ(a->uid, 995u);
    EXPECT_EQ(a->gid, 993u);
    EXPECT_EQ(a->groups, (std::vector<gid_t>{993, 20, 104}));
}

TEST(find_account, whole_names_only) {
    const auto a = app::find_account(passwd_text, group_text, "pxe");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->uid, 996u);
    EXPECT_EQ(a->groups, (std::vector<gid_t>{996, 120}));
    EXPECT_FALSE(app::find_account(passwd_text, group_text, "px"));
    EXPECT_FALSE(app::find_account(passwd_text, group_text, "pxedx"));
}

TEST(find_account, malformed_and_missing) {
    EXPECT_FALSE(app::find_account(passwd_text, group_text, "broken"));
    EXPECT_FALSE(app::find_account(passwd_text, group_text, "short"));
    EXPECT_FALSE(app::find_account(passwd_text, group_text, "+nisuser"));
    EXPECT_FALSE(app::find_account(passwd_text, group_text, "nosuchuser"));
    EXPECT_FALSE(app::find_account(passwd_text, group_text, ""));
    EXPECT_FALSE(app::find_account("", "", "root"));
    // (uid_t)-1 means "unchanged" to setresuid(): never accepted as an account.
    EXPECT_FALSE(app::find_account("neg:x:4294967295:1::/:/bin/sh\n", "", "neg"));
}

TEST(find_account, first_entry_wins_and_last_line_without_newline) {
    const auto a = app::find_account(passwd_text, group_text, "dup");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->uid, 1000u);
    const auto n = app::find_account(passwd_text, group_text, "nobody");
    ASSERT_TRUE(n);
    EXPECT_EQ(n->groups, (std::vector<gid_t>{65534}));
}

// Captured from this Debian 12 machine (kernel 6.x) as root, trimmed to the
// lines pxed reads plus neighbours.
constexpr const char* status_root =
    "Name:\tpxed\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nPid:\t4242\n"
    "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t \n"
    "CapInh:\t0000000000000000\nCapPrm:\t000001fffeffffff\nCapEff:\t000001fffeffffff\n"
    "CapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\n";

// The shape CentOS 7's 3.10 kernel prints: no CapAmb line (Linux 4.3 added it).
constexpr const char* status_dropped_el7 =
    "Name:\tpxed\nState:\tS (sleeping)\nUid:\t995\t995\t995\t995\nGid:\t993\t993\t993\t993\n"
    "FDSize:\t64\nGroups:\t20 104 993 \n"
    "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
    "CapBnd:\t0000001fffffffff\nSeccomp:\t0\n";

TEST(parse_proc_status, root) {
    const auto c = app::parse_proc_status(status_root);
    ASSERT_TRUE(c);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(c->uid[i], 0u);
    EXPECT_TRUE(c->groups.empty());
    EXPECT_EQ(c->cap_prm, 0x000001fffeffffffULL);
    EXPECT_EQ(c->cap_eff, 0x000001fffeffffffULL);
    EXPECT_EQ(c->cap_amb, 0u);
}

TEST(parse_proc_status, dropped_without_capamb) {
    const auto c = app::parse_proc_status(status_dropped_el7);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->uid[0], 995u);
    EXPECT_EQ(c->uid[3], 995u);
    EXPECT_EQ(c->gid[2], 993u);
    EXPECT_EQ(c->groups, (std::vector<gid_t>{20, 104, 993}));
    EXPECT_EQ(c->cap_prm, 0u);
    EXPECT_EQ(c->cap_eff, 0u);
}

TEST(parse_proc_status, refuses_missing_or_bad_lines) {
    EXPECT_FALSE(app::parse_proc_status(""));
    EXPECT_FALSE(app::parse_proc_status("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nCapPrm:\t0\n"));  // no CapEff
    EXPECT_FALSE(app::parse_proc_status("Uid:\t0\t0\t0\nGid:\t0\t0\t0\t0\nCapPrm:\t0\nCapEff:\t0\n"));
    EXPECT_FALSE(app::parse_proc_status("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nCapPrm:\tzz\nCapEff:\t0\n"));
    EXPECT_FALSE(app::parse_proc_status("Uid:\t0\t0\t0\tx\nGid:\t0\t0\t0\t0\nCapPrm:\t0\nCapEff:\t0\n"));
}

TEST(own_credentials, matches_the_kernel) {
    const auto c = app::own_credentials();
    ASSERT_TRUE(c);
    EXPECT_EQ(c->uid[0], getuid());
    EXPECT_EQ(c->uid[1], geteuid());
    EXPECT_EQ(c->gid[1], getegid());
}

TEST(drop_privileges, no_user_configured_changes_nothing_and_root_says_so) {
    const auto r = app::drop_privileges("", "/nonexistent");
    if (geteuid() == 0) {
        // Logged at warn by the daemon: root with every capability is a choice to see.
        EXPECT_EQ(r.outcome, app::drop_outcome::stayed);
        EXPECT_THAT(r.message, ::testing::HasSubstr("server.user is not set: pxed keeps running as root"));
    } else {
        EXPECT_EQ(r.outcome, app::drop_outcome::not_configured);
        EXPECT_EQ(r.message, "");
    }
    EXPECT_EQ(geteuid(), r.outcome == app::drop_outcome::stayed ? 0u : geteuid()) << "nothing changed";
}

uid_t owner_of(const std::string& path, bool follow = true) {
    struct stat st{};
    if ((follow ? stat(path.c_str(), &st) : lstat(path.c_str(), &st)) != 0) return static_cast<uid_t>(-1);
    return st.st_uid;
}

uid_t nobody_uid() {
    std::string error;
    const auto a = app::lookup_account("nobody", error);
    return a ? a->uid : 65534;
}

// The drop itself runs in a forked child: the test process stays root.
// The child's exit code carries the verdict; its report goes to stderr.
class drop_in_child : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root";
        char tmpl[] = "/tmp/pxed-drop-XXXXXX";
        ASSERT_TRUE(mkdtemp(tmpl));
        dir_ = tmpl;
    }
    void TearDown() override {
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }

    template <class F>
    int run_child(F&& f) {
        const pid_t pid = fork();
        if (pid == 0) _exit(f());
        int status = 0;
        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
    }

    std::string dir_;
};

TEST_F(drop_in_child, to_nobody_with_no_way_back) {
    std::string error;
    const auto nobody = app::lookup_account("nobody", error);
    ASSERT_TRUE(nobody) << error;
    // As root, like the databases opened before the drop.
    { std::ofstream(dir_ + "/leases.sqlite3") << "x"; }
    { std::ofstream(dir_ + "/leases.sqlite3-wal") << "x"; }
    const int code = run_child([&] {
        const auto r = app::drop_privileges("nobody", dir_);
        if (r.outcome != app::drop_outcome::dropped) {
            fprintf(stderr, "drop: %s\n", r.message.c_str());
            return 1;
        }
        if (getuid() != nobody->uid || geteuid() != nobody->uid || getgid() != nobody->gid) return 2;
        if (setuid(0) == 0 || seteuid(0) == 0) return 3;
        const auto c = app::own_credentials();
        if (!c || c->cap_eff || c->cap_prm || c->cap_amb) return 4;
        // The state directory is now writable for the new user.
        if (!std::ofstream(dir_ + "/new-after-drop")) return 5;
        return 0;
    });
    EXPECT_EQ(code, 0);
    EXPECT_EQ(owner_of(dir_), nobody->uid);
    EXPECT_EQ(owner_of(dir_ + "/leases.sqlite3"), nobody->uid);
    EXPECT_EQ(owner_of(dir_ + "/leases.sqlite3-wal"), nobody->uid);
    struct stat st{};
    ASSERT_EQ(stat((dir_ + "/leases.sqlite3").c_str(), &st), 0);
    EXPECT_EQ(st.st_gid, nobody->gid);
}

// Only pxed's own names are handed over: in nobody's directory, root's
// other files and links stay as they are.
TEST_F(drop_in_child, only_pxeds_files_are_handed_over) {
    std::string error;
    const auto nobody = app::lookup_account("nobody", error);
    ASSERT_TRUE(nobody) << error;
    ASSERT_EQ(chown(dir_.c_str(), nobody->uid, nobody->gid), 0);
    { std::ofstream(dir_ + "/hosts.sqlite3") << "x"; }
    { std::ofstream(dir_ + "/notes.txt") << "x"; }
    ASSERT_EQ(symlink("/etc/passwd", (dir_ + "/link").c_str()), 0);
    const int code = run_child([&] {
        const auto r = app::drop_privileges("nobody", dir_);
        if (r.outcome != app::drop_outcome::dropped) fprintf(stderr, "drop: %s\n", r.message.c_str());
        return r.outcome == app::drop_outcome::dropped ? 0 : 1;
    });
    EXPECT_EQ(code, 0);
    EXPECT_EQ(owner_of(dir_ + "/hosts.sqlite3"), nobody->uid);
    EXPECT_EQ(owner_of(dir_ + "/notes.txt"), 0u) << "not pxed's name: untouched";
    EXPECT_EQ(owner_of(dir_ + "/link", false), 0u) << "a symlink is not followed nor changed";
    EXPECT_EQ(owner_of("/etc/passwd"), 0u);
}

// state_dir naming a symlink (to a root directory): refused, and the
// directory it points to keeps its owner.
TEST_F(drop_in_child, a_symlinked_state_dir_is_refused) {
    const std::string real = dir_ + "/roots";
    ASSERT_EQ(mkdir(real.c_str(), 0755), 0);
    const std::string link = dir_ + "/state";
    ASSERT_EQ(symlink(real.c_str(), link.c_str()), 0);
    EXPECT_THAT(app::prepare_state_dir(link, nobody_uid()), ::testing::HasSubstr("is a symbolic link"));
    const int code = run_child([&] {
        const auto r = app::drop_privileges("nobody", link);
        if (r.outcome != app::drop_outcome::failed) return 1;
        if (r.message.find("is a symbolic link") == std::string::npos) return 2;
        return geteuid() == 0 ? 0 : 3;
    });
    EXPECT_EQ(code, 0);
    EXPECT_EQ(owner_of(real), 0u);
}

// hosts.sqlite3 hard-linked to a root file elsewhere: refused before it is
// opened, and at the drop; the other name's file stays root's.
TEST_F(drop_in_child, a_hard_linked_database_is_refused) {
    const std::string state = dir_ + "/state";
    ASSERT_EQ(mkdir(state.c_str(), 0750), 0);
    ASSERT_EQ(chown(state.c_str(), nobody_uid(), 0), 0);
    const std::string outside = dir_ + "/root-secret";
    { std::ofstream(outside) << "x"; }
    ASSERT_EQ(link(outside.c_str(), (state + "/hosts.sqlite3").c_str()), 0);
    EXPECT_THAT(app::prepare_state_dir(state, nobody_uid()), ::testing::HasSubstr("hosts.sqlite3 has 2 links"));
    const int code = run_child([&] {
        const auto r = app::drop_privileges("nobody", state);
        return r.outcome == app::drop_outcome::failed && r.message.find("2 links") != std::string::npos ? 0 : 1;
    });
    EXPECT_EQ(code, 0);
    EXPECT_EQ(owner_of(outside), 0u);
}

TEST_F(drop_in_child, a_symlinked_state_file_is_refused) {
    for (const char* name : {"leases.sqlite3", "hosts.sqlite3-wal", "leases.sqlite3-journal", "control.sock"}) {
        const std::string path = dir_ + "/" + name;
        ASSERT_EQ(symlink("/etc/passwd", path.c_str()), 0);
        EXPECT_THAT(app::prepare_state_dir(dir_, 0), ::testing::HasSubstr(path + " is a symbolic link")) << name;
        ASSERT_EQ(unlink(path.c_str()), 0);
    }
    EXPECT_EQ(app::prepare_state_dir(dir_, 0), "");
}

// Surprising ownership is refused, not repaired.
TEST_F(drop_in_child, a_state_dir_of_another_user_is_refused) {
    const std::string state = dir_ + "/state";
    ASSERT_EQ(mkdir(state.c_str(), 0750), 0);
    ASSERT_EQ(chown(state.c_str(), 4242, 4242), 0);
    EXPECT_THAT(app::prepare_state_dir(state, nobody_uid()), ::testing::HasSubstr("belongs to uid 4242"));
    EXPECT_THAT(app::prepare_state_dir(state, 0), ::testing::HasSubstr("belongs to uid 4242"));
    const int code = run_child([&] {
        const auto r = app::drop_privileges("nobody", state);
        return r.outcome == app::drop_outcome::failed ? 0 : 1;
    });
    EXPECT_EQ(code, 0);
    EXPECT_EQ(owner_of(state), 4242u);

    ASSERT_EQ(chown(state.c_str(), nobody_uid(), 0), 0);
    { std::ofstream(state + "/leases.sqlite3") << "x"; }
    ASSERT_EQ(chown((state + "/leases.sqlite3").c_str(), 4242, 4242), 0);
    EXPECT_THAT(app::prepare_state_dir(state, nobody_uid()),
                ::testing::HasSubstr("leases.sqlite3 belongs to uid 4242"));
    EXPECT_EQ(owner_of(state + "/leases.sqlite3"), 4242u);
}

TEST_F(drop_in_child, a_writable_state_dir_is_refused) {
    ASSERT_EQ(chmod(dir_.c_str(), 0770), 0);
    EXPECT_THAT(app::prepare_state_dir(dir_, 0), ::testing::HasSubstr("writable by its group"));
    ASSERT_EQ(chmod(dir_.c_str(), 01777), 0);
    EXPECT_THAT(app::prepare_state_dir(dir_, 0), ::testing::HasSubstr("writable by everyone"));
    ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
    EXPECT_EQ(app::prepare_state_dir(dir_, 0), "");
}

TEST_F(drop_in_child, a_missing_state_dir_is_made_private) {
    const std::string state = dir_ + "/a/b/state";
    EXPECT_EQ(app::prepare_state_dir(state, nobody_uid()), "");
    struct stat st{};
    ASSERT_EQ(stat(state.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0750u);
    EXPECT_EQ(st.st_uid, 0u) << "handed over at the drop, not before";
}

TEST_F(drop_in_child, unknown_user_is_fatal_and_stays_root_untouched) {
    const int code = run_child([&] {
        const auto r = app::drop_privileges("no-such-user-pxed-test", dir_);
        return r.outcome == app::drop_outcome::failed && geteuid() == 0 ? 0 : 1;
    });
    EXPECT_EQ(code, 0);
}

TEST_F(drop_in_child, a_root_directory_holding_other_things_is_not_given_away) {
    // What a state_dir: /var/lib mistake looks like: root's, full of other things.
    ASSERT_EQ(mkdir((dir_ + "/someone-elses").c_str(), 0755), 0);
    EXPECT_THAT(app::prepare_state_dir(dir_, nobody_uid()), ::testing::HasSubstr("which is not pxed's"));
    const int code = run_child([&] {
        const auto r = app::drop_privileges("nobody", dir_);
        if (r.outcome != app::drop_outcome::failed) return 1;
        if (r.message.find("holds someone-elses, which is not pxed's") == std::string::npos) return 2;
        return geteuid() == 0 ? 0 : 3;
    });
    EXPECT_EQ(code, 0);
    EXPECT_EQ(owner_of(dir_), 0u);
    EXPECT_EQ(app::prepare_state_dir(dir_, 0), "") << "root's own directory, for a pxed that stays root";
}

TEST_F(drop_in_child, not_root_continues_as_current_user) {
    std::string error;
    const auto nobody = app::lookup_account("nobody", error);
    ASSERT_TRUE(nobody) << error;
    const int code = run_child([&] {
        if (setgroups(0, nullptr) != 0 || setgid(nobody->gid) != 0 || setuid(nobody->uid) != 0) return 1;
        const auto other = app::drop_privileges("root", dir_);
        if (other.outcome != app::drop_outcome::stayed || geteuid() != nobody->uid) return 2;
        const auto same = app::drop_privileges("nobody", dir_);
        return same.outcome == app::drop_outcome::not_configured ? 0 : 3;
    });
    EXPECT_EQ(code, 0);
}

}  // namespace
