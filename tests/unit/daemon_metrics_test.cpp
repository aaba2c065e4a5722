// The daemon's own metrics: build info, the config's hash and load time,
// reload verdicts, hosts by lifecycle state counted at scrape time.

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "pxed/app/daemon_metrics.hpp"
#include "pxed/metrics/registry.hpp"

using namespace pxed;

namespace {
bool has(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }
}  // namespace

TEST(daemon_metrics, build_config_reloads_and_hosts) {
    metrics::registry r;
    app::daemon_metrics d(r, "1.2.3", 1700000000);
    d.config_loaded("00000000000000a1", 1700000005);
    std::array<std::size_t, 5> hosts{};
    hosts[static_cast<std::size_t>(store::host_state::pending)] = 1;
    hosts[static_cast<std::size_t>(store::host_state::installed)] = 2;
    d.count_hosts([&] { return hosts; });
    auto text = r.expose();
    EXPECT_TRUE(has(text, "pxed_build_info{version=\"1.2.3\"} 1")) << text;
    EXPECT_TRUE(has(text, "process_start_time_seconds 1700000000")) << text;
    EXPECT_TRUE(has(text, "pxed_config_loaded_timestamp_seconds 1700000005")) << text;
    EXPECT_TRUE(has(text, "pxed_config_info{hash=\"00000000000000a1\"} 1")) << text;
    EXPECT_TRUE(has(text, "pxed_config_last_reload_successful 1")) << text;
    EXPECT_TRUE(has(text, "pxed_hosts{state=\"pending\"} 1")) << text;
    EXPECT_TRUE(has(text, "pxed_hosts{state=\"installing\"} 0")) << text;
    EXPECT_TRUE(has(text, "pxed_hosts{state=\"installed\"} 2")) << text;

    d.reloaded(false);
    hosts[static_cast<std::size_t>(store::host_state::installed)] = 1;  // counted when scraped, not when registered
    text = r.expose();
    EXPECT_TRUE(has(text, "pxed_config_reloads_total{result=\"failed\"} 1")) << text;
    EXPECT_TRUE(has(text, "pxed_config_reloads_total{result=\"ok\"} 0")) << text;
    EXPECT_TRUE(has(text, "pxed_config_last_reload_successful 0")) << text;
    EXPECT_TRUE(has(text, "pxed_hosts{state=\"installed\"} 1")) << text;

    d.reloaded(true);
    d.config_loaded("", 1700000100);
    text = r.expose();
    EXPECT_TRUE(has(text, "pxed_config_last_reload_successful 1")) << text;
    EXPECT_TRUE(has(text, "pxed_config_info{hash=\"unavailable\"} 1")) << "no fingerprint: " << text;
    EXPECT_EQ(text.find("00000000000000a1"), std::string::npos) << "one hash only";
}

