// FTP session engine, driven by scripted command lines over a real
// namespace in a temporary directory: the TFTP root at the top, an install
// tree mounted at pub/centos/7/x86_64 and rendered documents, as the
// daemon builds it. No sockets: the test plays the server's part.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "pxed/engine/ftp_session.hpp"
#include "temp_dir.hpp"

namespace pxed::ftp {
namespace {

constexpr std::uint32_t client = 0x7f000001;  // 127.0.0.1
constexpr std::int64_t now = 1700000000;      // 2023-11-14 22:13:20 UTC
constexpr std::int64_t file_mtime = 1699999000;

class documents : public fs::document_source {
public:
    std::optional<fs::document> find(std::string_view path) const override {
        if (path == "ks/52-54-00-12-34-56.ks")
            return fs::document{std::make_shared<const std::string>("install\nurl --url=ftp://x/\n"), "text/plain",
                                now - 10};
        return std::nullopt;
    }
    std::vector<std::string> list(std::string_view dir) const override {
        if (dir.empty()) return {"ks/"};
        if (dir == "ks") return {"52-54-00-12-34-56.ks"};
        return {};
    }
};

void write_file(const std::string& path, const std::string& body) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << path;
    ASSERT_EQ(::write(fd, body.data(), body.size()), static_cast<ssize_t>(body.size()));
    ::close(fd);
    const struct timespec times[2] = {{file_mtime, 0}, {file_mtime, 0}};
    ::utimensat(AT_FDCWD, path.c_str(), times, 0);
}


class FtpSession : public ::testing::Test {
protected:
    void SetUp() override {
        const std::string tftp = dir_ + "/tftpboot", tree = dir_ + "/tree";
        for (const auto& d : {tftp, tftp + "/pxelinux.cfg", tree, tree + "/Packages"}) ::mkdir(d.c_str(), 0755);
        write_file(tftp + "/pxelinux.0", "PXELINUX");
        write_file(tree + "/.treeinfo", "[general]\nfamily = CentOS\n");
        write_file(tree + "/Packages/bash.rpm", std::string(1000, 'b'));
        write_file(dir_ + "/secret", "do not serve");
        // Directories get the files' time too, so listings are predictable.
        for (const auto& d : {tftp, tftp + "/pxelinux.cfg", tree, tree + "/Packages"}) {
            const struct timespec times[2] = {{file_mtime, 0}, {file_mtime, 0}};
            ::utimensat(AT_FDCWD, d.c_str(), times, 0);
        }
        files_ = std::make_shared<const fs::file_namespace>(
            std::vector<fs::mount>{{"", tftp}, {"pub/centos/7/x86_64", tree}}, std::make_shared<documents>());
    }

    session make(session_config cfg = {}) { return session(files_, client, cfg); }

    session logged_in(session_config cfg = {}) {
        auto s = make(cfg);
        EXPECT_EQ(code(s.on_line("USER anonymous", now)), 331);
        EXPECT_EQ(code(s.on_line("PASS guest@example.com", now)), 230);
        return s;
    }

    // PASV answered the way the server would.
    static void passive(session& s) {
        const auto st = s.on_line("PASV", now);
        ASSERT_TRUE(st.open_passive);
        EXPECT_EQ(code(s.on_passive_ready(client, 30000)), 227);
    }

    static int code(const step& s) { return s.reply.size() >= 3 ? std::stoi(s.reply.substr(0, 3)) : 0; }

    static std::vector<std::string> lines(const std::string& text) {
        std::vector<std::string> out;
        std::size_t pos = 0;
        while (pos < text.size()) {
            const auto end = text.find("\r\n", pos);
            out.push_back(text.substr(pos, end - pos));
            if (end == std::string::npos) break;
            pos = end + 2;
        }
        return out;
    }

    pxed::testing::temp_dir tmp_{"ftp-test"};
    const std::string dir_ = tmp_.path();
    std::shared_ptr<const fs::file_namespace> files_;
};

TEST_F(FtpSession, GreetingAndLogin) {
    auto s = make();
    EXPECT_EQ(s.greeting().substr(0, 4), "220 ");
    EXPECT_EQ(code(s.on_line("PWD", now)), 530);
    EXPECT_EQ(code(s.on_line("RETR pxelinux.0", now)), 530);
    EXPECT_EQ(code(s.on_line("PASS x", now)), 503);
    EXPECT_EQ(code(s.on_line("USER root", now)), 530);
    EXPECT_EQ(code(s.on_line("PASS x", now)), 503);
    EXPECT_EQ(code(s.on_line("USER FTP", now)), 331);
    EXPECT_FALSE(s.logged_in());
    EXPECT_EQ(code(s.on_line("PASS", now)), 230);
    EXPECT_TRUE(s.logged_in());
    EXPECT_EQ(code(s.on_line("USER other", now)), 530);
}

TEST_F(FtpSession, CommandsAllowedBeforeLogin) {
    auto s = make();
    EXPECT_EQ(code(s.on_line("SYST", now)), 215);
    EXPECT_EQ(code(s.on_line("FEAT", now)), 211);
    EXPECT_EQ(code(s.on_line("OPTS UTF8 ON", now)), 200);
    EXPECT_EQ(code(s.on_line("NOOP", now)), 200);
    EXPECT_EQ(code(s.on_line("HELP", now)), 214);
    // lftp tries AUTH TLS first and carries on in plain text after a 5xx.
    EXPECT_EQ(code(s.on_line("AUTH TLS", now)), 502);
}

TEST_F(FtpSession, FeaturesListRfc2389Style) {
    auto s = make();
    const auto l = lines(s.on_line("FEAT", now).reply);
    ASSERT_GE(l.size(), 3u);
    EXPECT_EQ(l.front(), "211-Features:");
    EXPECT_EQ(l.back(), "211 End");
    const std::set<std::string> feats(l.begin() + 1, l.end() - 1);
    for (const char* f : {" EPSV", " PASV", " MDTM", " SIZE", " REST STREAM", " UTF8", " TVFS",
                          " MLST type*;size*;modify*;perm*;"})
        EXPECT_EQ(feats.count(f), 1u) << f;
    EXPECT_EQ(feats.count(" EPRT"), 0u) << "active mode is off by default";
    auto active = make(session_config{true, 32});
    EXPECT_NE(active.on_line("FEAT", now).reply.find(" EPRT\r\n"), std::string::npos);
}

TEST_F(FtpSession, WorkingDirectoryThroughTheTreeMount) {
    auto s = logged_in();
    EXPECT_EQ(s.on_line("PWD", now).reply, "257 \"/\" is the current directory\r\n");
    EXPECT_EQ(code(s.on_line("CWD pub", now)), 250);
    EXPECT_EQ(code(s.on_line("CWD centos/7", now)), 250);
    EXPECT_EQ(code(s.on_line("CWD x86_64", now)), 250);
    EXPECT_EQ(s.working_directory(), "/pub/centos/7/x86_64");
    EXPECT_EQ(code(s.on_line("CWD Packages/", now)), 250);
    EXPECT_EQ(code(s.on_line("CDUP", now)), 250);
    EXPECT_EQ(s.working_directory(), "/pub/centos/7/x86_64");
    EXPECT_EQ(code(s.on_line("CWD ../../..", now)), 250);
    EXPECT_EQ(s.working_directory(), "/pub");
    EXPECT_EQ(code(s.on_line("CWD /pub/centos/7/x86_64/./Packages", now)), 250);
    EXPECT_EQ(s.working_directory(), "/pub/centos/7/x86_64/Packages");
    EXPECT_EQ(code(s.on_line("XCWD /", now)), 250);
    EXPECT_EQ(s.on_line("XPWD", now).reply, "257 \"/\" is the current directory\r\n");
    // CDUP at the top stays there, as in a chroot.
    EXPECT_EQ(code(s.on_line("CDUP", now)), 250);
    EXPECT_EQ(s.working_directory(), "/");
}

TEST_F(FtpSession, ChangeDirectoryRefusals) {
    auto s = logged_in();
    EXPECT_EQ(code(s.on_line("CWD nope", now)), 550);
    EXPECT_EQ(code(s.on_line("CWD pxelinux.0", now)), 550);
    EXPECT_EQ(code(s.on_line("CWD", now)), 501);
    const auto up = s.on_line("CWD ..", now);
    EXPECT_EQ(code(up), 550);
    EXPECT_NE(up.note.find("climbs above the top"), std::string::npos);
    EXPECT_EQ(code(s.on_line("CWD /../..", now)), 550);
    EXPECT_EQ(s.working_directory(), "/");
}

TEST_F(FtpSession, TransferParameters) {
    auto s = logged_in();
    EXPECT_EQ(s.on_line("TYPE I", now).reply, "200 Switching to Binary mode.\r\n");
    EXPECT_EQ(s.on_line("TYPE A", now).reply, "200 Switching to ASCII mode.\r\n");
    EXPECT_EQ(code(s.on_line("type a n", now)), 200);
    EXPECT_EQ(code(s.on_line("TYPE L 8", now)), 200);
    EXPECT_EQ(code(s.on_line("TYPE E", now)), 504);
    EXPECT_EQ(code(s.on_line("TYPE", now)), 501);
    EXPECT_EQ(code(s.on_line("MODE S", now)), 200);
    EXPECT_EQ(code(s.on_line("MODE B", now)), 504);
    EXPECT_EQ(code(s.on_line("STRU F", now)), 200);
    EXPECT_EQ(code(s.on_line("STRU R", now)), 504);
}

TEST_F(FtpSession, PassiveAndExtendedPassive) {
    auto s = logged_in();
    auto st = s.on_line("PASV", now);
    EXPECT_TRUE(st.open_passive);
    EXPECT_TRUE(st.close_data);
    EXPECT_TRUE(st.reply.empty()) << "the reply waits for the listener";
    EXPECT_EQ(s.on_passive_ready(0x0a000001, 30000).reply, "227 Entering Passive Mode (10,0,0,1,117,48).\r\n");
    st = s.on_line("EPSV", now);
    EXPECT_TRUE(st.open_passive);
    EXPECT_EQ(s.on_passive_ready(0x0a000001, 30001).reply, "229 Entering Extended Passive Mode (|||30001|)\r\n");
    EXPECT_TRUE(s.on_line("EPSV 1", now).open_passive);
    EXPECT_EQ(code(s.on_passive_failed()), 425);
    EXPECT_EQ(code(s.on_line("EPSV 2", now)), 522);
    EXPECT_EQ(code(s.on_line("EPSV 9", now)), 501);
    EXPECT_EQ(code(s.on_line("EPSV ALL", now)), 200);
    EXPECT_EQ(code(s.on_line("PASV", now)), 500);
    EXPECT_TRUE(s.on_line("EPSV", now).open_passive);
}

TEST_F(FtpSession, RetrieveARealFile) {
    auto s = logged_in();
    EXPECT_EQ(code(s.on_line("RETR pxelinux.0", now)), 425) << "no data connection yet";
    passive(s);
    auto st = s.on_line("RETR pxelinux.0", now);
    EXPECT_EQ(st.reply, "150 Opening BINARY mode data connection for /pxelinux.0 (8 bytes).\r\n");
    ASSERT_TRUE(st.transfer);
    EXPECT_EQ(st.transfer->what, outgoing_data::kind::file);
    EXPECT_EQ(st.transfer->command, verb::retr);
    EXPECT_EQ(st.transfer->path, "pxelinux.0");
    EXPECT_TRUE(st.transfer->fd);
    EXPECT_EQ(st.transfer->offset, 0);
    EXPECT_EQ(st.transfer->size, 8);
    EXPECT_FALSE(st.transfer->active_target);
    EXPECT_TRUE(s.transferring());
    EXPECT_EQ(s.on_transfer_done(transfer_outcome::completed).reply, "226 Transfer complete.\r\n");
    EXPECT_FALSE(s.transferring());
    // One transfer per PASV.
    EXPECT_EQ(code(s.on_line("RETR pxelinux.0", now)), 425);
}

TEST_F(FtpSession, ARetrieveThatCannotOpenNamesThePathForTheTrace) {
    auto s = logged_in();
    passive(s);
    auto st = s.on_line("RETR /pub/centos/7/x86_64/Packages/missing.rpm", now);
    EXPECT_EQ(code(st), 550);
    EXPECT_EQ(st.failed_retrieve, "pub/centos/7/x86_64/Packages/missing.rpm");
    EXPECT_TRUE(st.not_found);
    st = s.on_line("RETR pxelinux.0", now);
    EXPECT_TRUE(st.failed_retrieve.empty()) << "only failures";
}

TEST_F(FtpSession, RetrieveThroughTheTreeAndADocument) {
    auto s = logged_in();
    EXPECT_EQ(code(s.on_line("CWD /pub/centos/7/x86_64", now)), 250);
    passive(s);
    auto st = s.on_line("RETR Packages/bash.rpm", now);
    ASSERT_TRUE(st.transfer);
    EXPECT_EQ(st.transfer->path, "pub/centos/7/x86_64/Packages/bash.rpm");
    EXPECT_EQ(st.transfer->size, 1000);
    s.on_transfer_done(transfer_outcome::completed);
    passive(s);
    st = s.on_line("RETR /ks/52-54-00-12-34-56.ks", now);
    ASSERT_TRUE(st.transfer);
    EXPECT_EQ(st.transfer->what, outgoing_data::kind::memory);
    EXPECT_EQ(*st.transfer->body, "install\nurl --url=ftp://x/\n");
}

TEST_F(FtpSession, RestartMarker) {
    auto s = logged_in();
    EXPECT_EQ(s.on_line("REST 3", now).reply, "350 Restart position accepted (3).\r\n");
    passive(s);
    auto st = s.on_line("RETR pxelinux.0", now);
    ASSERT_TRUE(st.transfer);
    EXPECT_EQ(st.transfer->offset, 3);
    s.on_transfer_done(transfer_outcome::completed);
    passive(s);
    st = s.on_line("RETR pxelinux.0", now);
    ASSERT_TRUE(st.transfer);
    EXPECT_EQ(st.transfer->offset, 0) << "a marker applies to one transfer";
    s.on_transfer_done(transfer_outcome::completed);
    EXPECT_EQ(code(s.on_line("REST 8", now)), 350);
    passive(s);
    st = s.on_line("RETR pxelinux.0", now);
    ASSERT_TRUE(st.transfer) << "a marker at the end sends nothing, successfully";
    s.on_transfer_done(transfer_outcome::completed);
    EXPECT_EQ(code(s.on_line("REST 9", now)), 350);
    passive(s);
    EXPECT_EQ(code(s.on_line("RETR pxelinux.0", now)), 554);
    EXPECT_EQ(code(s.on_line("REST -1", now)), 501);
    EXPECT_EQ(code(s.on_line("REST abc", now)), 501);
}

TEST_F(FtpSession, HostilePathsAreRefused) {
    auto s = logged_in();
    passive(s);
    for (const char* p : {"../secret", "../../../../etc/passwd", "/../secret", "pub/../../secret",
                          "..\\..\\etc\\passwd"}) {
        const auto st = s.on_line(std::string("RETR ") + p, now);
        EXPECT_EQ(code(st), 550) << p;
        EXPECT_FALSE(st.transfer) << p;
        EXPECT_FALSE(st.note.empty()) << p;
    }
    // An absolute path is inside the namespace: /etc/passwd is not there.
    EXPECT_EQ(code(s.on_line("RETR /etc/passwd", now)), 550);
    EXPECT_EQ(code(s.on_line(std::string("RETR a\x01" "b"), now)), 553);
    EXPECT_EQ(code(s.on_line("RETR pub", now)), 550) << "a directory";
    EXPECT_EQ(code(s.on_line("RETR", now)), 501);
    EXPECT_FALSE(s.transferring());
}

TEST_F(FtpSession, WritesAreRefused) {
    auto s = logged_in();
    for (const char* c : {"STOR x", "STOU", "APPE x", "DELE pxelinux.0", "MKD new", "XMKD new", "RMD pub",
                          "XRMD pub", "RNFR pxelinux.0", "RNTO y", "MDTM 20240101000000 pxelinux.0"})
        EXPECT_EQ(code(s.on_line(c, now)), 550) << c;
    EXPECT_EQ(code(s.on_line("SITE CHMOD 777 pxelinux.0", now)), 502);
}

TEST_F(FtpSession, GarbageGetsSyntaxErrors) {
    auto s = logged_in();
    EXPECT_EQ(code(s.on_line("", now)), 500);
    EXPECT_EQ(code(s.on_line("FROB", now)), 500);
    EXPECT_EQ(code(s.on_line("\x01\x02\x03", now)), 500);
    EXPECT_EQ(code(s.on_line_too_long()), 500);
    EXPECT_EQ(code(s.on_line("PORT 1,2,3", now)), 502) << "active mode is off";
    EXPECT_EQ(code(s.on_line("SIZE", now)), 501);
    EXPECT_TRUE(s.logged_in());
}

TEST_F(FtpSession, SizeAndModificationTime) {
    auto s = logged_in();
    EXPECT_EQ(s.on_line("SIZE pxelinux.0", now).reply, "213 8\r\n");
    EXPECT_EQ(s.on_line("SIZE /pub/centos/7/x86_64/Packages/bash.rpm", now).reply, "213 1000\r\n");
    EXPECT_EQ(s.on_line("SIZE ks/52-54-00-12-34-56.ks", now).reply, "213 27\r\n");
    EXPECT_EQ(code(s.on_line("SIZE pub", now)), 550);
    EXPECT_EQ(code(s.on_line("SIZE nope", now)), 550);
    EXPECT_EQ(s.on_line("MDTM pxelinux.0", now).reply, "213 20231114215640\r\n");
    EXPECT_EQ(code(s.on_line("MDTM pub", now)), 550);
}

TEST_F(FtpSession, ListIsLsStyle) {
    auto s = logged_in();
    passive(s);
    auto st = s.on_line("LIST -la", now);
    EXPECT_EQ(st.reply, "150 Here comes the directory listing.\r\n");
    ASSERT_TRUE(st.transfer);
    EXPECT_EQ(st.transfer->command, verb::list);
    const auto l = lines(*st.transfer->body);
    ASSERT_EQ(l.size(), 4u) << *st.transfer->body;
    // Directories that only documents or mounts imply have no time of their own.
    EXPECT_EQ(l[0], "dr-xr-xr-x    1 ftp      ftp                 0 Jan 01  1970 ks");
    EXPECT_EQ(l[1], "dr-xr-xr-x    1 ftp      ftp                 0 Jan 01  1970 pub");
    EXPECT_EQ(l[2], "-r--r--r--    1 ftp      ftp                 8 Nov 14 21:56 pxelinux.0");
    EXPECT_EQ(l[3], "dr-xr-xr-x    1 ftp      ftp                 0 Nov 14 21:56 pxelinux.cfg");
    EXPECT_EQ(s.on_transfer_done(transfer_outcome::completed).reply, "226 Directory send OK.\r\n");
}

TEST_F(FtpSession, ListNamesAndMachineListings) {
    auto s = logged_in();
    passive(s);
    auto st = s.on_line("NLST /pub/centos/7/x86_64", now);
    ASSERT_TRUE(st.transfer);
    EXPECT_EQ(*st.transfer->body, ".treeinfo\r\nPackages\r\n");
    s.on_transfer_done(transfer_outcome::completed);
    passive(s);
    st = s.on_line("MLSD /pub/centos/7/x86_64", now);
    ASSERT_TRUE(st.transfer);
    EXPECT_EQ(*st.transfer->body,
              "type=file;size=26;modify=20231114215640;perm=r; .treeinfo\r\n"
              "type=dir;modify=20231114215640;perm=el; Packages\r\n");
    s.on_transfer_done(transfer_outcome::completed);
    passive(s);
    EXPECT_EQ(code(s.on_line("MLSD pxelinux.0", now)), 501);
    st = s.on_line("LIST pxelinux.0", now);
    ASSERT_TRUE(st.transfer) << "LIST of a file lists the file";
    EXPECT_NE(st.transfer->body->find(" pxelinux.0\r\n"), std::string::npos);
    s.on_transfer_done(transfer_outcome::completed);

    EXPECT_EQ(s.on_line("MLST pub/centos/7/x86_64/Packages/bash.rpm", now).reply,
              "250-Listing /pub/centos/7/x86_64/Packages/bash.rpm\r\n"
              " type=file;size=1000;modify=20231114215640;perm=r; /pub/centos/7/x86_64/Packages/bash.rpm\r\n"
              "250 End\r\n");
    EXPECT_EQ(code(s.on_line("MLST nope", now)), 550);
    EXPECT_EQ(s.on_line("OPTS MLST size;Type;bogus;", now).reply, "200 MLST OPTS type;size;\r\n");
    EXPECT_EQ(lines(s.on_line("MLST pxelinux.0", now).reply)[1], " type=file;size=8; /pxelinux.0");
}

TEST_F(FtpSession, StatOverTheControlConnection) {
    auto s = logged_in();
    const auto l = lines(s.on_line("STAT", now).reply);
    EXPECT_EQ(l.front(), "211-FTP server status:");
    EXPECT_EQ(l[1], " Connected to 127.0.0.1");
    EXPECT_EQ(l.back(), "211 End of status");
    const auto dir = lines(s.on_line("STAT /pub/centos/7/x86_64", now).reply);
    ASSERT_EQ(dir.size(), 4u);
    EXPECT_EQ(dir[0], "213-Status follows:");
    EXPECT_NE(dir[1].find(".treeinfo"), std::string::npos);
    EXPECT_EQ(dir[3], "213 End of status");
}

TEST_F(FtpSession, CommandsWaitBehindARunningTransfer) {
    auto s = logged_in();
    passive(s);
    ASSERT_TRUE(s.on_line("RETR pxelinux.0", now).transfer);
    // RFC 959 section 5.4: replies in order, so these wait...
    EXPECT_TRUE(s.on_line("NOOP", now).reply.empty());
    EXPECT_TRUE(s.on_line("SIZE pxelinux.0", now).reply.empty());
    s.on_line_too_long();
    EXPECT_FALSE(s.has_queued());
    // ...while STAT is answered at once (RFC 959 section 4.1.3).
    EXPECT_EQ(code(s.on_line("STAT", now)), 211);
    EXPECT_EQ(code(s.on_transfer_done(transfer_outcome::completed)), 226);
    ASSERT_TRUE(s.has_queued());
    EXPECT_EQ(s.run_queued(now).reply, "200 NOOP ok.\r\n");
    EXPECT_EQ(s.run_queued(now).reply, "213 8\r\n");
    EXPECT_EQ(code(s.run_queued(now)), 500);
    EXPECT_FALSE(s.has_queued());
}

TEST_F(FtpSession, AbortDuringATransfer) {
    auto s = logged_in();
    passive(s);
    ASSERT_TRUE(s.on_line("RETR pxelinux.0", now).transfer);
    const auto st = s.on_line("ABOR", now);
    EXPECT_EQ(st.reply, "426 Transfer aborted.\r\n226 ABOR successful.\r\n");
    EXPECT_TRUE(st.close_data);
    EXPECT_FALSE(s.transferring());
    EXPECT_TRUE(s.on_transfer_done(transfer_outcome::connection_lost).reply.empty())
        << "a late completion of the aborted transfer says nothing";
    EXPECT_EQ(s.on_line("ABOR", now).reply, "225 No transfer to ABOR.\r\n");
}

TEST_F(FtpSession, TransferFailuresHaveTheirOwnReplies) {
    auto s = logged_in();
    const std::pair<transfer_outcome, int> cases[] = {{transfer_outcome::no_connection, 425},
                                                      {transfer_outcome::connection_lost, 426},
                                                      {transfer_outcome::read_error, 451},
                                                      {transfer_outcome::aborted, 426}};
    for (const auto& [outcome, expected] : cases) {
        passive(s);
        ASSERT_TRUE(s.on_line("RETR pxelinux.0", now).transfer);
        EXPECT_EQ(code(s.on_transfer_done(outcome)), expected);
    }
}

TEST_F(FtpSession, QuitDuringATransfer) {
    auto s = logged_in();
    passive(s);
    ASSERT_TRUE(s.on_line("RETR pxelinux.0", now).transfer);
    const auto st = s.on_line("QUIT", now);
    EXPECT_EQ(code(st), 221);
    EXPECT_TRUE(st.close);
    EXPECT_TRUE(st.close_data);
    EXPECT_TRUE(s.closed());
    EXPECT_TRUE(s.on_line("NOOP", now).reply.empty());
}

TEST_F(FtpSession, TooManyQueuedCommandsCloseTheSession) {
    auto s = logged_in(session_config{false, 4});
    passive(s);
    ASSERT_TRUE(s.on_line("RETR pxelinux.0", now).transfer);
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(s.on_line("NOOP", now).reply.empty());
    const auto st = s.on_line("NOOP", now);
    EXPECT_EQ(code(st), 421);
    EXPECT_TRUE(st.close);
}

TEST_F(FtpSession, ActiveModeOnlyTowardsTheClient) {
    auto s = logged_in(session_config{true, 32});
    EXPECT_EQ(code(s.on_line("PORT 10,0,0,9,200,1", now)), 500) << "FTP bounce: another host";
    EXPECT_EQ(code(s.on_line("PORT 127,0,0,1,0,80", now)), 500) << "a privileged port";
    EXPECT_EQ(code(s.on_line("PORT 127,0,0,1,300,1", now)), 501);
    EXPECT_EQ(code(s.on_line("EPRT |2|::1|5000|", now)), 522);
    EXPECT_EQ(code(s.on_line("PORT 127,0,0,1,200,1", now)), 200);
    auto st = s.on_line("RETR pxelinux.0", now);
    ASSERT_TRUE(st.transfer);
    ASSERT_TRUE(st.transfer->active_target);
    EXPECT_EQ(st.transfer->active_target->address, client);
    EXPECT_EQ(st.transfer->active_target->port, 200 * 256 + 1);
    s.on_transfer_done(transfer_outcome::completed);
    EXPECT_EQ(code(s.on_line("EPRT |1|127.0.0.1|40000|", now)), 200);
    st = s.on_line("NLST", now);
    ASSERT_TRUE(st.transfer);
    ASSERT_TRUE(st.transfer->active_target);
    EXPECT_EQ(st.transfer->active_target->port, 40000);
}

TEST_F(FtpSession, QuitClosesAfterTheReply) {
    auto s = logged_in();
    const auto st = s.on_line("QUIT", now);
    EXPECT_EQ(st.reply, "221 Goodbye.\r\n");
    EXPECT_TRUE(st.close);
}

TEST(FtpFormat, ListLineDates) {
    fs::dir_entry e{"old.iso", false, 4700000000LL, 1500000000};  // 2017-07-14
    EXPECT_EQ(format_list_line(e, now), "-r--r--r--    1 ftp      ftp        4700000000 Jul 14  2017 old.iso");
    e.mtime = now + 86400 * 2;  // in the future: the year, as ls does
    EXPECT_EQ(format_list_line(e, now).substr(47, 12), "Nov 16  2023");
}

TEST(FtpFormat, Facts) {
    EXPECT_EQ(format_facts(fs::dir_entry{"d", true, 0, 0}, mlst_facts{}), "type=dir;perm=el;");
    EXPECT_EQ(format_facts(fs::dir_entry{"f", false, 5, 86400}, mlst_facts{}),
              "type=file;size=5;modify=19700102000000;perm=r;");
    EXPECT_EQ(format_time_val(0), "19700101000000");
}

}  // namespace
}  // namespace pxed::ftp
