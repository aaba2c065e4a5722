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

}  // namespace
}  // namespace pxed::app
