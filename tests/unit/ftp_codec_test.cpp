// FTP control-connection codec: command lines, Telnet stripping, replies,
// PASV/EPSV/PORT/EPRT arguments.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pxed/proto/ftp.hpp"

namespace pxed::ftp {
namespace {

std::vector<line_reader::event> drain(line_reader& r) {
    std::vector<line_reader::event> out;
    while (auto e = r.next()) out.push_back(std::move(*e));
    return out;
}

std::vector<std::string> lines_of(const std::string& bytes) {
    line_reader r;
    r.feed(bytes);
    std::vector<std::string> out;
    for (auto& e : drain(r)) out.push_back(e.what == line_reader::event::kind::line ? e.text : "<too long>");
    return out;
}

TEST(FtpCommand, VerbIsCaseInsensitiveAndArgumentKeptRaw) {
    const auto c = parse_command("retr pub/centos/7/x86_64/Packages/a b.rpm");
    EXPECT_EQ(c.id, verb::retr);
    EXPECT_EQ(c.name, "RETR");
    EXPECT_TRUE(c.has_argument);
    EXPECT_EQ(c.argument, "pub/centos/7/x86_64/Packages/a b.rpm");
}

TEST(FtpCommand, OnlyTheFirstSpaceSeparates) {
    // A name that starts with a space is a legal FTP pathname.
    const auto c = parse_command("CWD  leading space");
    EXPECT_EQ(c.id, verb::cwd);
    EXPECT_EQ(c.argument, " leading space");
}

TEST(FtpCommand, NoArgument) {
    const auto c = parse_command("PASV");
    EXPECT_EQ(c.id, verb::pasv);
    EXPECT_FALSE(c.has_argument);
    EXPECT_TRUE(c.argument.empty());
    const auto d = parse_command("PASV ");
    EXPECT_TRUE(d.has_argument);
    EXPECT_TRUE(d.argument.empty());
}

TEST(FtpCommand, Rfc775AliasesMapToRfc959Verbs) {
    EXPECT_EQ(parse_command("XPWD").id, verb::pwd);
    EXPECT_EQ(parse_command("XCWD /pub").id, verb::cwd);
    EXPECT_EQ(parse_command("XCUP").id, verb::cdup);
    EXPECT_EQ(parse_command("XMKD x").id, verb::mkd);
    EXPECT_EQ(parse_command("XRMD x").id, verb::rmd);
    EXPECT_EQ(to_string(verb::pwd), "PWD");
    EXPECT_EQ(to_string(verb::cdup), "CDUP");
    EXPECT_EQ(to_string(verb::unknown), "");
}

TEST(FtpCommand, UnknownAndMalformedVerbs) {
    EXPECT_EQ(parse_command("").id, verb::unknown);
    EXPECT_EQ(parse_command("FROBNICATE x").id, verb::unknown);
    EXPECT_EQ(parse_command("RETRX file").id, verb::unknown);
    EXPECT_EQ(parse_command(" RETR file").id, verb::unknown);
    EXPECT_EQ(parse_command(std::string("RE\0R", 4)).id, verb::unknown);
    // The upper-cased name is capped, so a huge verb cannot grow a log line.
    EXPECT_LE(parse_command(std::string(4000, 'A')).name.size(), 16u);
}

TEST(FtpLineReader, CrLfAndBareLf) {
    EXPECT_EQ(lines_of("USER anonymous\r\nPASS x\nSYST\r\n"),
              (std::vector<std::string>{"USER anonymous", "PASS x", "SYST"}));
}

TEST(FtpLineReader, LinesSplitAcrossReads) {
    line_reader r;
    const std::string stream = "USER ftp\r\nRETR a\r\n";
    for (char c : stream) r.feed(&c, 1);
    const auto ev = drain(r);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].text, "USER ftp");
    EXPECT_EQ(ev[1].text, "RETR a");
}

TEST(FtpLineReader, IncompleteLineWaits) {
    line_reader r;
    r.feed("NOOP\r");
    EXPECT_EQ(r.pending(), 0u);
    r.feed("\n");
    EXPECT_EQ(r.pending(), 1u);
}

TEST(FtpLineReader, TelnetAbortSequenceIsStripped) {
    // What RFC 959 section 4.1.3 tells a client to send for ABOR: Telnet IP,
    // then Synch (IAC DM, sent urgent; the server reads it inline).
    EXPECT_EQ(lines_of("\xff\xf4\xff\xf2" "ABOR\r\n"), std::vector<std::string>{"ABOR"});
}

TEST(FtpLineReader, TelnetNegotiationIsDroppedAndIacIacIsAByte) {
    EXPECT_EQ(lines_of("\xff\xfb\x01NO\xff\xfd\x03OP\r\n"), std::vector<std::string>{"NOOP"});
    EXPECT_EQ(lines_of("RETR a\xff\xff" "b\r\n"), std::vector<std::string>{"RETR a\xff" "b"});
}

TEST(FtpLineReader, TelnetSequenceSplitAcrossReads) {
    line_reader r;
    r.feed("\xff");
    r.feed("\xfb");
    r.feed("\x18");
    r.feed("QUIT\r\n");
    const auto ev = drain(r);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].text, "QUIT");
}

TEST(FtpLineReader, CrNulIsABareCr) {
    EXPECT_EQ(lines_of(std::string("RETR a\r\0b\r\n", 11)), std::vector<std::string>{"RETR a\rb"});
}

TEST(FtpLineReader, TooLongLineIsOneEventAndTheNextLineIsFine) {
    line_reader r(16);
    r.feed(std::string(100, 'x'));
    EXPECT_EQ(r.pending(), 0u);
    r.feed(std::string(100000, 'y') + "\r\nNOOP\r\n");
    const auto ev = drain(r);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].what, line_reader::event::kind::too_long);
    EXPECT_EQ(ev[1].what, line_reader::event::kind::line);
    EXPECT_EQ(ev[1].text, "NOOP");
}

TEST(FtpLineReader, ExactlyMaxLengthIsAccepted) {
    line_reader r(8);
    r.feed("12345678\r\n123456789\r\n");
    const auto ev = drain(r);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].text, "12345678");
    EXPECT_EQ(ev[1].what, line_reader::event::kind::too_long);
}

TEST(FtpReply, SingleLine) { EXPECT_EQ(encode(200, "NOOP ok."), "200 NOOP ok.\r\n"); }

TEST(FtpReply, MultiLineFollowsRfc959) {
    EXPECT_EQ(encode(reply{211, {"Features:", "EPSV", "SIZE", "End"}}),
              "211-Features:\r\n EPSV\r\n SIZE\r\n211 End\r\n");
}

TEST(FtpReply, LineBreaksFromClientTextCannotForgeReplies) {
    EXPECT_EQ(encode(550, std::string("a\r\n230 fake\0x", 13)), "550 a  230 fake x\r\n");
}

TEST(FtpReply, PassiveAddresses) {
    EXPECT_EQ(passive_text(0x7f000001, 30000), "Entering Passive Mode (127,0,0,1,117,48).");
    EXPECT_EQ(passive_text(0xc0a80102, 65535), "Entering Passive Mode (192,168,1,2,255,255).");
    EXPECT_EQ(extended_passive_text(30001), "Entering Extended Passive Mode (|||30001|)");
}

TEST(FtpReply, QuotedPathname) {
    EXPECT_EQ(quote_pathname("/pub"), "\"/pub\"");
    EXPECT_EQ(quote_pathname("/a\"b"), "\"/a\"\"b\"");
}

TEST(FtpArguments, Port) {
    const auto hp = parse_port_argument("127,0,0,1,4,1");
    ASSERT_TRUE(hp);
    EXPECT_EQ(hp->address, 0x7f000001u);
    EXPECT_EQ(hp->port, 1025);
    for (const char* bad : {"", "1,2,3,4,5", "1,2,3,4,5,6,7", "256,0,0,1,4,1", "1,2,3,4,5,", ",1,2,3,4,5",
                            "1, 2,3,4,5,6", "a,b,c,d,e,f", "-1,2,3,4,5,6", "1,2,3,4,5,6 "})
        EXPECT_FALSE(parse_port_argument(bad)) << bad;
}

TEST(FtpArguments, Eprt) {
    const auto hp = parse_eprt_argument("|1|132.235.1.2|6275|");
    ASSERT_TRUE(hp);
    EXPECT_EQ(hp->address, 0x84eb0102u);
    EXPECT_EQ(hp->port, 6275);
    const auto other = parse_eprt_argument("!1!10.0.0.1!21!");
    ASSERT_TRUE(other);
    EXPECT_EQ(other->port, 21);
    for (const char* bad : {"", "|2|::1|21|", "|1|1.2.3|21|", "|1|1.2.3.4|65536|", "|1|1.2.3.4|21", "1|1.2.3.4|21|",
                            "|1|1.2.3.4|21|x", "|1|1.2.3.4||", "|1|1.2.3.4.5|21|", "|1|01.2.3.4|x|"})
        EXPECT_FALSE(parse_eprt_argument(bad)) << bad;
}

TEST(FtpArguments, RestartMarker) {
    EXPECT_EQ(parse_restart_marker("0"), 0);
    EXPECT_EQ(parse_restart_marker("104857600"), 104857600);
    EXPECT_EQ(parse_restart_marker("9223372036854775807"), INT64_MAX);
    for (const char* bad : {"", "-1", "+1", "1a", " 1", "1 ", "9223372036854775808", "99999999999999999999"})
        EXPECT_FALSE(parse_restart_marker(bad)) << bad;
}

}  // namespace
}  // namespace pxed::ftp
