// The DHCP server's reply pacing (docs/dhcp.md, "Bursts"), driven turn by
// turn as the server drives it: a reply with a lease change never becomes
// sendable before the commit it went into is reported done, even while
// later slices are read, committed and sent meanwhile; a failed commit's
// replies are never sent; no turn sends more than the budget; reading
// pauses while a turn's worth of replies waits.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pxed/engine/dhcp_pacing.hpp"

namespace pxed::dhcp {
namespace {

using queue = reply_queue<std::string>;

TEST(dhcp_pacing, an_ack_is_not_sendable_before_its_commit_is_done) {
    queue q({4, 4});
    q.push("offer-1", false);
    q.push("ack-1", true);
    EXPECT_EQ(q.take(), (std::vector<std::string>{"offer-1"})) << "an OFFER changes nothing and need not wait";
    EXPECT_TRUE(q.take().empty()) << "unsealed: no commit has even started";
    const auto t = q.seal();
    EXPECT_TRUE(q.take().empty()) << "sealed, the commit running";
    EXPECT_FALSE(q.has_sendable());
    EXPECT_TRUE(q.committed(t, true).empty());
    EXPECT_EQ(q.take(), (std::vector<std::string>{"ack-1"}));
}

TEST(dhcp_pacing, pipelined_commits_release_their_acks_only_when_each_is_done) {
    // A commit on the store's writer thread (a checkpoint first) takes a
    // while; the loop reads and seals two more slices meanwhile.
    queue q({2, 8});
    q.push("ack-a1", true);
    q.push("ack-a2", true);
    const auto a = q.seal();
    q.push("offer-b1", false);
    q.push("ack-b2", true);
    const auto b = q.seal();
    EXPECT_EQ(b, a + 1);
    q.push("ack-c1", true);
    const auto c = q.seal();
    EXPECT_EQ(q.take(), (std::vector<std::string>{"offer-b1"})) << "the OFFER goes out, no ACK does";
    EXPECT_EQ(q.held(), 4u);

    q.committed(a, true);
    EXPECT_EQ(q.take(), (std::vector<std::string>{"ack-a1", "ack-a2"})) << "only the first commit is done";
    EXPECT_TRUE(q.take().empty()) << "b and c are still running";

    q.push("ack-d1", true);  // read after c was sealed, not yet in any commit
    q.committed(c, true);    // commits finish in order: c done means b is too
    EXPECT_EQ(q.take(), (std::vector<std::string>{"ack-b2", "ack-c1"}));
    EXPECT_EQ(q.held(), 1u) << "d's ACK waits for a commit that has not started";
    EXPECT_EQ(q.held_unsealed(), 1u);
    EXPECT_TRUE(q.committed(c + 1, true).empty()) << "a ticket not yet sealed releases nothing";
    EXPECT_FALSE(q.has_sendable());
    q.committed(q.seal(), true);
    EXPECT_EQ(q.take(), (std::vector<std::string>{"ack-d1"}));
}

TEST(dhcp_pacing, a_failed_commit_returns_its_acks_and_none_is_ever_sent) {
    queue q({4, 4});
    q.push("ack-1", true);
    q.push("nak-1", false);
    q.push("ack-2", true);
    const auto t = q.seal();
    q.push("ack-3", true);
    const auto withheld = q.committed(t, false);
    EXPECT_EQ(withheld, (std::vector<std::string>{"ack-1", "ack-2"}));
    EXPECT_EQ(q.take(), (std::vector<std::string>{"nak-1"}));
    EXPECT_EQ(q.held(), 1u) << "the next commit's ACK is not its to drop";
    q.committed(q.seal(), true);
    EXPECT_EQ(q.take(), (std::vector<std::string>{"ack-3"}));
}

TEST(dhcp_pacing, no_turn_sends_more_than_the_budget_and_order_is_kept) {
    // A flood: one slice of 256 decided at once (as before pacing), or a
    // writer-thread commit releasing many ACKs together.
    queue q({256, 64});
    for (int i = 0; i < 256; ++i) q.push("ack-" + std::to_string(i), true);
    q.committed(q.seal(), true);
    std::vector<std::string> sent;
    int turns = 0;
    while (q.has_sendable()) {
        const auto turn = q.take();
        EXPECT_LE(turn.size(), 64u);
        sent.insert(sent.end(), turn.begin(), turn.end());
        ++turns;
    }
    EXPECT_EQ(turns, 4);
    ASSERT_EQ(sent.size(), 256u);
    for (int i = 0; i < 256; ++i) EXPECT_EQ(sent[static_cast<std::size_t>(i)], "ack-" + std::to_string(i));
}

TEST(dhcp_pacing, reading_pauses_while_a_turns_worth_of_replies_waits) {
    queue q({64, 64});
    EXPECT_EQ(q.reads_allowed(), 64u);
    for (int i = 0; i < 63; ++i) q.push("offer", false);
    EXPECT_EQ(q.reads_allowed(), 64u) << "less than a turn waiting: keep reading";
    q.push("offer", false);
    EXPECT_EQ(q.reads_allowed(), 0u) << "a full turn waiting: send first";
    for (int i = 0; i < 100; ++i) q.push("ack", true);
    const auto t = q.seal();
    EXPECT_EQ(q.take().size(), 64u);
    EXPECT_EQ(q.reads_allowed(), 64u) << "replies held for a commit do not stop reading";
    q.committed(t, true);
    EXPECT_EQ(q.reads_allowed(), 0u);
    EXPECT_EQ(q.take().size(), 64u);
    EXPECT_EQ(q.sendable(), 36u);
    EXPECT_EQ(q.reads_allowed(), 64u);
}

// The server's loop in miniature: turns alternate between reading a slice
// (deciding, committing) and sending a budget, with some commits finishing
// a few turns later (the writer thread). Whatever the interleaving, every
// ACK is sent after its commit finished, none is lost, and no turn sends
// more than the budget.
TEST(dhcp_pacing, a_scripted_flood_keeps_every_invariant) {
    const pacing p{8, 8};
    queue q(p);
    struct commit {
        queue::ticket t;
        int done_at_turn;
    };
    std::vector<commit> running;
    std::vector<int> ack_commit;         // per ACK id: the ticket it went into
    int next_id = 0, sent_acks = 0, sent_offers = 0, offers = 0, arrived = 0;
    const int total = 1000;
    queue::ticket done_through = 0;
    for (int turn = 0; turn < 5000 && (arrived < total || q.held() || q.has_sendable()); ++turn) {
        // Commits finish in order, some at once, some a few turns later
        // (the writer thread), and those one per read turn at most.
        if (turn % 3 == 0 && !running.empty() && running.front().done_at_turn <= turn) {
            done_through = running.front().t;
            q.committed(done_through, true);
            running.erase(running.begin());
        }
        if (turn % 3 == 0) {  // one read turn, then two send turns
            const auto n = std::min<std::size_t>(q.reads_allowed(), static_cast<std::size_t>(total - arrived));
            for (std::size_t i = 0; i < n; ++i, ++arrived) {
                if (arrived % 2 == 0) {
                    q.push("offer", false);
                    ++offers;
                } else {
                    q.push("ack-" + std::to_string(next_id++), true);
                }
            }
            const auto t = q.seal();
            while (ack_commit.size() < static_cast<std::size_t>(next_id)) ack_commit.push_back(static_cast<int>(t));
            running.push_back({t, turn + ((t % 3 == 0) ? 4 : 0)});
            // On the loop at once only when nothing runs before it.
            if (running.size() == 1 && running.back().done_at_turn == turn) {
                done_through = t;
                q.committed(t, true);
                running.pop_back();
            }
        } else {
            const auto out = q.take();
            ASSERT_LE(out.size(), p.send_budget);
            for (const auto& r : out) {
                if (r == "offer") {
                    ++sent_offers;
                    continue;
                }
                const auto id = std::stoi(r.substr(4));
                ASSERT_LE(static_cast<queue::ticket>(ack_commit[static_cast<std::size_t>(id)]), done_through)
                    << r << " left before its commit finished";
                EXPECT_EQ(id, sent_acks) << "ACKs leave in the order decided";
                ++sent_acks;
            }
        }
    }
    EXPECT_EQ(arrived, total);
    EXPECT_EQ(sent_offers, offers);
    EXPECT_EQ(sent_acks, next_id);
}

}  // namespace
}  // namespace pxed::dhcp
