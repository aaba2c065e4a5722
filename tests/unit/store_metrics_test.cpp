// The lease store's commit metrics: every transaction is timed into the
// histogram, on the caller's thread or the writer thread alike.

#include <gtest/gtest.h>

#include <string>

#include "pxed/metrics/registry.hpp"
#include "pxed/store/leases.hpp"
#include "temp_dir.hpp"

using namespace pxed;

TEST(store_metrics, commits_are_timed_and_exposed) {
    pxed::testing::temp_dir dir("store-metrics");
    metrics::registry r;
    {
        store::lease_store s(dir.path() + "/leases.sqlite3", store::durability::power_loss);
        s.set_metrics(r);
        store::lease l;
        l.ip = wire::ipv4_address{0x0a000005u};
        l.client_key = "k";
        l.ends = 100;
        std::string error;
        ASSERT_TRUE(s.apply({l}, error)) << error;
        // synchronous=FULL: this one goes through the writer thread.
        bool done = false;
        s.commit({l}, [&](const store::commit_outcome& c) { done = c.ok; });
        s.stop_writer();
        EXPECT_TRUE(done);
    }
    const auto text = r.expose();
    EXPECT_NE(text.find("# TYPE pxed_lease_store_commit_duration_seconds histogram\n"), std::string::npos) << text;
    EXPECT_NE(text.find("pxed_lease_store_commit_duration_seconds_count 2\n"), std::string::npos) << text;
    EXPECT_NE(text.find("pxed_lease_store_commit_duration_seconds_bucket{le=\"+Inf\"} 2\n"), std::string::npos) << text;
    EXPECT_NE(text.find("pxed_lease_store_commit_failures_total 0\n"), std::string::npos) << text;
}
