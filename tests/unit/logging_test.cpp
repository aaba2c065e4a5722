// The logger itself cuts tokens short, whatever code logged them, in text
// and in JSON lines (docs/security.md).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "pxed/app/logging.hpp"

namespace pxed::app {
namespace {

std::string read(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(logging, no_line_carries_a_whole_token_in_text_or_json) {
    const auto dir = std::filesystem::temp_directory_path() / ("pxed-log-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string token = "3f9a1c0e5b7d2468ace0135792468ace";
    for (const char* format : {"text", "json"}) {
        const auto file = (dir / (std::string(format) + ".log")).string();
        inventory::log_settings s;
        s.format = format;
        s.file = file;
        apply_logging(s);
        spdlog::warn("http: refused: GET /ks/a.ks%3Ftoken={} \"ks/a.ks?TOKEN={}\"", token, token);
        spdlog::info("nothing secret here: tokens are 32 hex digits");
        spdlog::default_logger()->flush();
        const auto text = read(file);
        EXPECT_EQ(text.find(token), std::string::npos) << format << ": " << text;
        EXPECT_THAT(text, ::testing::HasSubstr("3f9a1c...")) << format;
        EXPECT_THAT(text, ::testing::HasSubstr("nothing secret here: tokens are 32 hex digits")) << format;
    }
    init_logging();
    std::filesystem::remove_all(dir);
}

// The log file is opened as root, perhaps in a directory the service user
// can write to: a symlink there is refused and its target left untouched,
// and so is a file with a second name (a hard link to someone else's file).
TEST(logging, never_follows_a_symlink_nor_writes_a_hard_linked_file) {
    const auto dir = std::filesystem::temp_directory_path() / ("pxed-loglink-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto target = dir / "target";
    { std::ofstream(target) << "precious\n"; }
    inventory::log_settings s;
    s.file = (dir / "pxed.log").string();
    std::filesystem::create_symlink(target, s.file);
    try {
        apply_logging(s);
        ADD_FAILURE() << "a symlinked log file was opened";
    } catch (const std::runtime_error& e) {
        EXPECT_THAT(e.what(), ::testing::HasSubstr("is a symbolic link"));
    }
    std::filesystem::create_symlink(dir / "missing", dir / "dangling.log");
    s.file = (dir / "dangling.log").string();
    EXPECT_THROW(apply_logging(s), std::runtime_error);
    EXPECT_FALSE(std::filesystem::exists(dir / "missing")) << "nothing created where a dangling link points";

    s.file = (dir / "linked.log").string();
    std::filesystem::create_hard_link(target, s.file);
    try {
        apply_logging(s);
        ADD_FAILURE() << "a hard-linked log file was opened";
    } catch (const std::runtime_error& e) {
        EXPECT_THAT(e.what(), ::testing::HasSubstr("2 links"));
    }
    spdlog::info("must not reach the target");
    EXPECT_EQ(read(target.string()), "precious\n");

    s.file = (dir / "real.log").string();
    apply_logging(s);
    spdlog::info("a line in the real file");
    init_logging();
    EXPECT_THAT(read(s.file), ::testing::HasSubstr("a line in the real file"));
    std::filesystem::remove_all(dir);
}

// $JOURNAL_STREAM as systemd would set it for `fd`.
std::string stream_of(int fd) {
    struct stat st{};
    EXPECT_EQ(::fstat(fd, &st), 0);
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

TEST(logging, journal_stream_is_the_descriptor_it_names_and_nothing_else) {
    const auto dir = std::filesystem::temp_directory_path() / ("pxed-journal-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const int a = ::open((dir / "a").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    const int b = ::open((dir / "b").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(a, 0);
    ASSERT_GE(b, 0);
    EXPECT_TRUE(is_journal_stream(stream_of(a), a));
    // A child that inherited the variable but writes somewhere else.
    EXPECT_FALSE(is_journal_stream(stream_of(a), b));
    struct stat st{};
    ASSERT_EQ(::fstat(a, &st), 0);
    const auto dev = std::to_string(st.st_dev), ino = std::to_string(st.st_ino);
    for (const std::string& bad : {std::string(), std::string(":"), dev, dev + ":", ":" + ino, dev + ":" + ino + "x",
                                  dev + ":+" + ino, "-" + dev + ":" + ino, dev + " :" + ino, dev + ":" + ino + ":1",
                                  dev + ":" + std::to_string(st.st_ino + 1), "99999999999999999999999:" + ino})
        EXPECT_FALSE(is_journal_stream(bad, a)) << "'" << bad << "'";
    EXPECT_FALSE(is_journal_stream(stream_of(a), -1));
    ::close(a);
    ::close(b);
    std::filesystem::remove_all(dir);
}

TEST(logging, journal_prefixes_are_sd_daemon_priorities) {
    EXPECT_EQ(journal_prefix("critical"), "<2>");
    EXPECT_EQ(journal_prefix("error"), "<3>");
    EXPECT_EQ(journal_prefix("warning"), "<4>");
    EXPECT_EQ(journal_prefix("warn"), "<4>");
    EXPECT_EQ(journal_prefix("info"), "<6>");
    EXPECT_EQ(journal_prefix("debug"), "<7>");
    EXPECT_EQ(journal_prefix("trace"), "<7>");
}

// stderr pointed at a file for the length of a test, as systemd points it
// at the journal's stream (or not).
class stderr_to_file {
public:
    explicit stderr_to_file(const std::string& path) : saved_(::dup(STDERR_FILENO)) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        EXPECT_GE(fd, 0);
        ::dup2(fd, STDERR_FILENO);
        ::close(fd);
    }
    ~stderr_to_file() {
        spdlog::default_logger()->flush();
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
        ::unsetenv("JOURNAL_STREAM");
    }
    stderr_to_file(const stderr_to_file&) = delete;
    stderr_to_file& operator=(const stderr_to_file&) = delete;

private:
    int saved_;
};

std::vector<std::string> lines_of(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

void log_one_of_each() {
    spdlog::critical("c-line");
    spdlog::error("e-line");
    spdlog::warn("w-line");
    spdlog::info("i-line");
    spdlog::debug("d-line");
}

const std::regex timestamp_first(R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} .*)");

TEST(logging, on_the_journal_lines_carry_their_priority_and_no_timestamp) {
    const auto dir = std::filesystem::temp_directory_path() / ("pxed-jlog-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto err = (dir / "stderr").string();
    for (const char* format : {"text", "json"}) {
        {
            stderr_to_file redirect(err);
            ::setenv("JOURNAL_STREAM", stream_of(STDERR_FILENO).c_str(), 1);
            inventory::log_settings s;
            s.format = format;
            s.level = "debug";
            apply_logging(s);
            log_one_of_each();
        }
        const auto lines = lines_of(err);
        ASSERT_EQ(lines.size(), 5u) << format;
        const char* expected[][2] = {{"<2>", "c-line"}, {"<3>", "e-line"}, {"<4>", "w-line"}, {"<6>", "i-line"},
                                     {"<7>", "d-line"}};
        for (std::size_t i = 0; i < lines.size(); ++i) {
            EXPECT_EQ(lines[i].rfind(expected[i][0], 0), 0u) << format << ": " << lines[i];
            EXPECT_THAT(lines[i], ::testing::HasSubstr(expected[i][1]));
        }
        if (std::string(format) == "text") {
            EXPECT_EQ(lines[2], "<4>warning w-line");
            EXPECT_FALSE(std::regex_match(lines[3].substr(3), timestamp_first)) << lines[3];
        } else {
            EXPECT_EQ(lines[3].substr(3, 9), "{\"time\":\"") << lines[3];
        }
    }
    init_logging();
    std::filesystem::remove_all(dir);
}

TEST(logging, off_the_journal_text_lines_carry_a_timestamp_and_no_prefix) {
    const auto dir = std::filesystem::temp_directory_path() / ("pxed-tlog-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto err = (dir / "stderr").string(), other = (dir / "other").string(), file = (dir / "pxed.log").string();
    { std::ofstream(other) << ""; }
    const int other_fd = ::open(other.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(other_fd, 0);
    for (const bool inherited : {false, true}) {
        {
            stderr_to_file redirect(err);
            // inherited: the variable names another stream (the parent's journal).
            if (inherited) ::setenv("JOURNAL_STREAM", stream_of(other_fd).c_str(), 1);
            EXPECT_FALSE(stderr_is_journal());
            apply_logging({});
            log_one_of_each();
        }
        const auto lines = lines_of(err);
        ASSERT_EQ(lines.size(), 4u);  // info and up
        for (const auto& line : lines) {
            EXPECT_TRUE(std::regex_match(line, timestamp_first)) << line;
            EXPECT_EQ(line.find('<'), std::string::npos) << line;
        }
        EXPECT_THAT(lines[2], ::testing::HasSubstr(" warning w-line"));
    }
    // server.log.file keeps its timestamps while stderr is the journal.
    {
        stderr_to_file redirect(err);
        ::setenv("JOURNAL_STREAM", stream_of(STDERR_FILENO).c_str(), 1);
        EXPECT_TRUE(stderr_is_journal());
        inventory::log_settings s;
        s.file = file;
        apply_logging(s);
        spdlog::warn("to the file");
        init_logging();
        spdlog::warn("boot line");
    }
    const auto in_file = lines_of(file);
    ASSERT_EQ(in_file.size(), 1u);
    EXPECT_TRUE(std::regex_match(in_file[0], timestamp_first)) << in_file[0];
    EXPECT_THAT(in_file[0], ::testing::EndsWith(" warning to the file"));
    // The boot logger (before the config is read) follows the journal too.
    EXPECT_THAT(lines_of(err), ::testing::ElementsAre("<4>warning boot line"));
    ::close(other_fd);
    init_logging();
    std::filesystem::remove_all(dir);
}

// The event loop holds its lines and writes them before it sleeps: held
// lines are not in the file until then, a warning takes them out with it,
// a line from another thread never overtakes them, and nothing is held
// past 32 KiB or when holding stops.
TEST(logging, held_lines_go_out_together_and_in_order) {
    const auto dir = std::filesystem::temp_directory_path() / ("pxed-hlog-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    inventory::log_settings s;
    s.file = (dir / "pxed.log").string();
    apply_logging(s);
    hold_log_lines_on_this_thread();
    EXPECT_FALSE(log_lines_held());
    spdlog::info("held one");
    spdlog::info("held two");
    EXPECT_TRUE(log_lines_held());
    EXPECT_EQ(read(s.file), "") << "held lines are not written yet";
    write_held_log_lines();
    EXPECT_FALSE(log_lines_held());
    auto lines = lines_of(s.file);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_THAT(lines[0], ::testing::EndsWith("held one"));
    EXPECT_THAT(lines[1], ::testing::EndsWith("held two"));

    spdlog::info("held three");
    spdlog::warn("a warning");
    EXPECT_FALSE(log_lines_held()) << "a warning writes what was held";
    spdlog::info("held four");
    std::thread([] { spdlog::info("another thread"); }).join();
    EXPECT_FALSE(log_lines_held());
    lines = lines_of(s.file);
    ASSERT_EQ(lines.size(), 6u);
    EXPECT_THAT(lines[2], ::testing::EndsWith("held three"));
    EXPECT_THAT(lines[3], ::testing::EndsWith("a warning"));
    EXPECT_THAT(lines[4], ::testing::EndsWith("held four"));
    EXPECT_THAT(lines[5], ::testing::EndsWith("another thread"));

    // 32 KiB at most: of 400 lines of 130 characters or so (with the
    // time and level), 252 fill it and go out together.
    for (int i = 0; i < 400; ++i) spdlog::info("{:0>100}", i);
    EXPECT_TRUE(log_lines_held());
    const auto written = lines_of(s.file).size();
    EXPECT_GE(written, 6u + 200u);
    EXPECT_LT(written, 6u + 400u);

    // A reload's new logger: the old one's held lines come first.
    spdlog::info("before the reload");
    apply_logging(s);
    spdlog::info("after the reload");
    hold_log_lines_on_this_thread(false);
    EXPECT_FALSE(log_lines_held());
    lines = lines_of(s.file);
    ASSERT_EQ(lines.size(), 6u + 400u + 2u);
    EXPECT_THAT(lines[6 + 399], ::testing::EndsWith(std::string(97, '0') + "399"));
    EXPECT_THAT(lines[6 + 400], ::testing::EndsWith("before the reload"));
    EXPECT_THAT(lines[6 + 401], ::testing::EndsWith("after the reload"));
    spdlog::info("not held");
    EXPECT_FALSE(log_lines_held());
    EXPECT_THAT(lines_of(s.file).back(), ::testing::EndsWith("not held"));
    init_logging();
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pxed::app
