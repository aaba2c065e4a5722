// The registry's text exposition, byte for byte against the Prometheus text
// format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
// The integration test (tests/integration/metrics_test.sh) runs the daemon's
// whole page through `promtool check metrics`.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "pxed/metrics/registry.hpp"

namespace m = pxed::metrics;

TEST(metrics, counter_with_labels_has_help_type_and_one_line_per_child) {
    m::registry r;
    auto& f = r.counters("pxed_dhcp_messages_received_total", "DHCP messages received.", {"type"});
    f.with({"discover"}).inc();
    f.with({"discover"}).inc(2);
    f.with({"request"}).inc();
    EXPECT_EQ(r.expose(),
              "# HELP pxed_dhcp_messages_received_total DHCP messages received.\n"
              "# TYPE pxed_dhcp_messages_received_total counter\n"
              "pxed_dhcp_messages_received_total{type=\"discover\"} 3\n"
              "pxed_dhcp_messages_received_total{type=\"request\"} 1\n");
}

TEST(metrics, unlabelled_gauge_and_values) {
    m::registry r;
    auto& g = r.gauges("pxed_x", "X.").only();
    g.set(2.5);
    g.add(-1);
    EXPECT_EQ(r.expose(), "# HELP pxed_x X.\n# TYPE pxed_x gauge\npxed_x 1.5\n");
    EXPECT_EQ(m::format_value(0.005), "0.005");
    EXPECT_EQ(m::format_value(1e6), "1000000");
    EXPECT_EQ(m::format_value(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(m::format_value(-std::numeric_limits<double>::infinity()), "-Inf");
    EXPECT_EQ(m::format_value(std::nan("")), "NaN");
}

TEST(metrics, histogram_buckets_are_cumulative_and_end_in_inf) {
    m::registry r;
    auto& h = r.histograms("pxed_tftp_transfer_duration_seconds", "Transfer time.", {0.1, 1, 10}, {"outcome"})
                  .with({"ok"});
    h.observe(0.05);
    h.observe(0.1);  // on a bound: in that bucket (le is "less or equal")
    h.observe(3);
    h.observe(100);
    EXPECT_EQ(r.expose(),
              "# HELP pxed_tftp_transfer_duration_seconds Transfer time.\n"
              "# TYPE pxed_tftp_transfer_duration_seconds histogram\n"
              "pxed_tftp_transfer_duration_seconds_bucket{outcome=\"ok\",le=\"0.1\"} 2\n"
              "pxed_tftp_transfer_duration_seconds_bucket{outcome=\"ok\",le=\"1\"} 2\n"
              "pxed_tftp_transfer_duration_seconds_bucket{outcome=\"ok\",le=\"10\"} 3\n"
              "pxed_tftp_transfer_duration_seconds_bucket{outcome=\"ok\",le=\"+Inf\"} 4\n"
              "pxed_tftp_transfer_duration_seconds_sum{outcome=\"ok\"} 103.15\n"
              "pxed_tftp_transfer_duration_seconds_count{outcome=\"ok\"} 4\n");
}

TEST(metrics, histogram_without_labels) {
    m::registry r;
    r.histograms("h_seconds", "H.", {0.5}).only().observe(1);
    EXPECT_EQ(r.expose(),
              "# HELP h_seconds H.\n# TYPE h_seconds histogram\n"
              "h_seconds_bucket{le=\"0.5\"} 0\nh_seconds_bucket{le=\"+Inf\"} 1\n"
              "h_seconds_sum 1\nh_seconds_count 1\n");
}

TEST(metrics, escaping_of_help_and_label_values) {
    m::registry r;
    r.counters("c_total", "a \\ back\nslash \"quoted\"", {"name"}).with({"x\"y\\z\nw"}).inc();
    EXPECT_EQ(r.expose(),
              "# HELP c_total a \\\\ back\\nslash \"quoted\"\n"
              "# TYPE c_total counter\n"
              "c_total{name=\"x\\\"y\\\\z\\nw\"} 1\n");
}

TEST(metrics, computed_samples_are_taken_at_scrape_time) {
    m::registry r;
    double in_use = 3;
    r.computed("pxed_pool_addresses_in_use", "In use.", m::kind::gauge, {"subnet"}, [&](const m::sample_sink& emit) {
        emit({"lab"}, in_use);
        emit({"office"}, 0);
    });
    in_use = 4;
    EXPECT_EQ(r.expose(),
              "# HELP pxed_pool_addresses_in_use In use.\n# TYPE pxed_pool_addresses_in_use gauge\n"
              "pxed_pool_addresses_in_use{subnet=\"lab\"} 4\npxed_pool_addresses_in_use{subnet=\"office\"} 0\n");
    // Registered again (a server started again): the new function replaces the old.
    r.computed("pxed_pool_addresses_in_use", "In use.", m::kind::gauge, {"subnet"},
               [](const m::sample_sink& emit) { emit({"lab"}, 1); });
    EXPECT_NE(r.expose().find("{subnet=\"lab\"} 1\n"), std::string::npos);
}

TEST(metrics, families_keep_registration_order_and_empty_ones_still_say_help_and_type) {
    m::registry r;
    r.counters("b_total", "B.", {"x"});
    r.gauges("a", "A.").only();
    EXPECT_EQ(r.expose(), "# HELP b_total B.\n# TYPE b_total counter\n# HELP a A.\n# TYPE a gauge\na 0\n");
}

TEST(metrics, registering_again_returns_the_same_family_or_throws_when_it_differs) {
    m::registry r;
    auto& a = r.counters("x_total", "X.", {"l"});
    EXPECT_EQ(&a, &r.counters("x_total", "X.", {"l"}));
    EXPECT_EQ(&a.with({"1"}), &r.counters("x_total", "X.", {"l"}).with({"1"}));
    EXPECT_THROW(r.gauges("x_total", "X.", {"l"}), std::logic_error);
    EXPECT_THROW(r.counters("x_total", "X.", {"m"}), std::logic_error);
    EXPECT_THROW(r.histograms("h", "H.", {1, 2}).only(); r.histograms("h", "H.", {1, 3}), std::logic_error);
    EXPECT_THROW(a.with({}), std::logic_error);  // wrong number of label values
}

TEST(metrics, names_are_checked) {
    m::registry r;
    EXPECT_THROW(r.counters("9lives", "."), std::logic_error);
    EXPECT_THROW(r.counters("a-b", "."), std::logic_error);
    EXPECT_THROW(r.counters("ok_total", ".", {"le"}), std::logic_error);
    EXPECT_THROW(r.counters("ok_total", ".", {"__x"}), std::logic_error);
    EXPECT_THROW(r.counters("ok_total", ".", {"a:b"}), std::logic_error);
    EXPECT_THROW(r.histograms("h", ".", {2, 1}), std::logic_error);
    EXPECT_TRUE(m::valid_metric_name("pxed:rule_total"));
    EXPECT_TRUE(m::valid_label_name("subnet"));
}

