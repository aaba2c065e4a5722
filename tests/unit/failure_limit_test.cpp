// The per-client limit on refused requests (docs/security.md), with a
// fake clock: the burst, the lockout that runs on while the client keeps
// guessing, its end, and the bound on memory under a forged-source flood.

#include <gtest/gtest.h>

#include "pxed/engine/failure_limit.hpp"

namespace pxed::guard {
namespace {

constexpr std::uint32_t a = 0x0a000001u, b = 0x0a000002u;

TEST(failure_limit, locks_a_client_out_after_its_burst_and_only_that_client) {
    failure_limit l({3, 60, 100});
    EXPECT_FALSE(l.failed(a, 1000));
    EXPECT_FALSE(l.failed(a, 1001));
    EXPECT_FALSE(l.locked_out(a, 1001));
    EXPECT_TRUE(l.failed(a, 1002)) << "the third refusal locks it out, and says so once";
    EXPECT_TRUE(l.locked_out(a, 1002));
    EXPECT_FALSE(l.failed(a, 1003)) << "not announced again";
    EXPECT_FALSE(l.locked_out(b, 1003));
    EXPECT_EQ(l.suppressed(a), 1u);
}

TEST(failure_limit, the_lockout_runs_on_while_the_client_keeps_guessing_and_ends_when_it_stops) {
    failure_limit l({2, 60, 100});
    l.failed(a, 0);
    l.failed(a, 1);
    for (std::int64_t t = 30; t < 600; t += 30) {
        l.failed(a, t);
        EXPECT_TRUE(l.locked_out(a, t + 59)) << "a guess every 30 s never gets through: t=" << t;
    }
    EXPECT_FALSE(l.locked_out(a, 570 + 60)) << "quiet for a window: free again";
    EXPECT_FALSE(l.failed(a, 700)) << "and a new burst starts from zero";
}

TEST(failure_limit, refusals_spread_wider_than_the_window_never_lock_out) {
    failure_limit l({3, 60, 100});
    for (std::int64_t t = 0; t < 3600; t += 30) {
        l.failed(a, t);
        EXPECT_FALSE(l.locked_out(a, t)) << t;  // two a window: under the burst of three
        if (t % 60 == 0) l.failed(b, t);
    }
}

TEST(failure_limit, memory_is_bounded_under_a_flood_of_forged_sources) {
    failure_limit l({3, 60, 64});
    for (std::uint32_t i = 0; i < 100000; ++i) l.failed(0x0b000000u + i, 5000 + i / 1000);
    EXPECT_LE(l.tracked(), 64u);
    // A real guesser among them is still tracked once it is locked out
    // within the same second as the flood's latest sources.
    l.failed(a, 6000);
    l.failed(a, 6000);
    EXPECT_TRUE(l.failed(a, 6000));
    EXPECT_TRUE(l.locked_out(a, 6000));
}

}  // namespace
}  // namespace pxed::guard
