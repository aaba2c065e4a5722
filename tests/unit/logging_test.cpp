// The logger itself cuts tokens short, whatever code logged them, in text
// and in JSON lines (docs/security.md).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>

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

}  // namespace
}  // namespace pxed::app
