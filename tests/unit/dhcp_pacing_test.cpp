// The DHCP server's reply pacing (docs/dhcp.md, "Bursts"), driven turn by
// turn as the server drives it: a reply with a lease change never becomes
// sendable before the commit it went into is reported done, even while
// later slices are read, committed and sent meanwhile; a failed commit's
// replies are never sent; no turn sends more than the budget; reading
// pauses while a turn's worth of replies waits.

#include <gtest/gtest.h>

#include <deque>
#include <random>
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

// ---------------------------------------------------------------------------
// Per-destination flow control (reply_flows), on a fake clock.

using flows = reply_flows<std::string>;
using namespace std::chrono_literals;
const flows::time_point t0{};
const flow_key relay_a{0x0a590001, 67, 0};  // 10.89.0.1:67
const flow_key relay_b{0x0a5a0001, 67, 0};  // 10.90.0.1:67

exchange_tag tag_of(int client, std::uint32_t xid = 7) {
    exchange_tag t;
    t.chaddr[0] = 0x52;
    t.chaddr[4] = static_cast<std::uint8_t>(client >> 8);
    t.chaddr[5] = static_cast<std::uint8_t>(client);
    t.xid = xid;
    return t;
}

// 300-octet replies: a window of 96 KiB at 1,324 bytes each holds 74.
constexpr std::size_t reply_bytes = 300;

std::size_t push_offers(flows& f, const flow_key& k, int from, int n, flows::time_point now) {
    std::size_t pushed = 0;
    for (int i = from; i < from + n; ++i)
        pushed += f.push(k, "offer-" + std::to_string(i), reply_bytes, tag_of(i), now) ? 1u : 0u;
    return pushed;
}

TEST(dhcp_flows, a_destination_that_does_not_read_gets_one_window_then_waits) {
    flows f;
    const auto per_window = f.limits().window_bytes / f.cost(reply_bytes);
    ASSERT_EQ(per_window, 74u);
    push_offers(f, relay_a, 0, 200, t0);
    const auto first = f.take(64, t0);
    const auto second = f.take(64, t0);
    EXPECT_EQ(first.size(), 64u) << "a turn's budget";
    EXPECT_EQ(first.size() + second.size(), per_window) << "then the window is full";
    EXPECT_TRUE(f.take(64, t0 + 249ms).empty()) << "no proof, not lingered: nothing more";
    EXPECT_FALSE(f.sendable(t0 + 249ms));
    EXPECT_LE(f.in_flight(relay_a, t0), f.limits().window_bytes);
    ASSERT_TRUE(f.next_event());
    EXPECT_EQ(*f.next_event(), t0 + 250ms) << "the timer the server arms";
    EXPECT_TRUE(f.sendable(t0 + 250ms));
    // Unproven replies leave the window after linger, but may still sit in
    // a stalled reader's buffer: only the estimated buffer's remainder goes.
    const auto remainder = (f.limits().buffer_bytes - per_window * f.cost(reply_bytes)) / f.cost(reply_bytes);
    ASSERT_EQ(remainder, 49u);
    EXPECT_EQ(f.take(200, t0 + 250ms).size(), remainder);
    EXPECT_TRUE(f.take(200, t0 + 999ms).empty()) << "a reader that proved nothing gets no more than a buffer";
    // A reader that stopped reading without closing its socket: what still
    // waits expires at the server instead of overflowing it.
    std::vector<std::string> expired;
    EXPECT_TRUE(f.take(200, t0 + 1000ms, &expired).empty());
    EXPECT_EQ(expired.size(), 200u - per_window - remainder);
}

TEST(dhcp_flows, a_request_answering_an_offer_proves_everything_sent_before_it) {
    flows f;
    push_offers(f, relay_a, 0, 200, t0);
    const auto sent = f.take(200, t0);
    ASSERT_EQ(sent.size(), 74u);
    EXPECT_FALSE(f.on_request(tag_of(9, 8), t0 + 1ms)) << "another xid is another exchange: no proof";
    EXPECT_FALSE(f.on_request(tag_of(150), t0 + 1ms)) << "an OFFER not yet sent proves nothing";
    EXPECT_TRUE(f.take(200, t0 + 1ms).empty());
    // The reader took offer-9 out of its buffer, so offers 0-8 too (FIFO).
    EXPECT_TRUE(f.on_request(tag_of(9), t0 + 2ms));
    EXPECT_EQ(f.in_flight(relay_a, t0 + 2ms), (74u - 10u) * f.cost(reply_bytes));
    EXPECT_EQ(f.take(200, t0 + 2ms).size(), 10u) << "exactly the proven replies' room";
    EXPECT_FALSE(f.on_request(tag_of(5), t0 + 3ms)) << "already proven: nothing new";
    EXPECT_TRUE(f.on_request(tag_of(83), t0 + 3ms));
    EXPECT_EQ(f.in_flight(relay_a, t0 + 3ms), 0u) << "the last one sent: all read";
}

TEST(dhcp_flows, one_destination_not_reading_holds_back_no_other) {
    flows f;
    push_offers(f, relay_a, 0, 500, t0);
    EXPECT_EQ(f.take(1000, t0).size(), 74u);
    EXPECT_FALSE(f.admits(relay_a)) << "a window waits: new exchanges towards relay a are shed";
    EXPECT_TRUE(f.admits(relay_b)) << "relay b has its own window";
    // Both have replies waiting; a turn's budget is shared between them.
    push_offers(f, relay_b, 1000, 10, t0 + 1ms);
    const auto turn = f.take(64, t0 + 1ms);
    EXPECT_EQ(turn.size(), 10u) << "relay b's replies go at once, relay a's stay";
    for (const auto& r : turn) EXPECT_GE(std::stoi(r.substr(6)), 1000) << r;
    // Two destinations both open: alternate rather than one draining first.
    flows g;
    push_offers(g, relay_a, 0, 50, t0);
    push_offers(g, relay_b, 1000, 50, t0);
    const auto shared = g.take(10, t0);
    ASSERT_EQ(shared.size(), 10u);
    int from_b = 0;
    for (const auto& r : shared) from_b += std::stoi(r.substr(6)) >= 1000 ? 1 : 0;
    EXPECT_EQ(from_b, 5);
}

TEST(dhcp_flows, destinations_other_than_relays_are_not_windowed_only_paced) {
    // RENEWING clients get their ACKs at ciaddr: each answers one request
    // of theirs, and a client asking faster than it reads hurts itself. A
    // rack's 300 DISCOVERs at once get their 300 broadcast OFFERs.
    flows f;
    const flow_key client{0x0a3c0079, 68, 2};
    for (int i = 0; i < 300; ++i) f.push(client, "ack", reply_bytes, std::nullopt, t0, false);
    EXPECT_TRUE(f.admits(client)) << "300 waiting, more than a window: not windowed, never shed";
    std::size_t sent = 0;
    for (int turn = 0; turn < 5; ++turn) {
        const auto n = f.take(64, t0).size();
        EXPECT_LE(n, 64u) << "still a turn's budget";
        sent += n;
    }
    EXPECT_EQ(sent, 300u) << "no window held them";
    EXPECT_TRUE(f.admits(client));
}

TEST(dhcp_flows, replies_that_waited_too_long_are_dropped_and_queues_are_bounded) {
    flow_limits l;
    l.waiting_max = 100;
    flows f(l);
    EXPECT_EQ(push_offers(f, relay_a, 0, 150, t0), 100u) << "a destination's queue is bounded";
    EXPECT_EQ(f.take(1000, t0).size(), 74u);
    std::vector<std::string> expired;
    EXPECT_TRUE(f.take(1000, t0 + 999ms, &expired).size() == 26u) << "lingered: room again";
    EXPECT_TRUE(expired.empty());
    push_offers(f, relay_a, 200, 80, t0 + 999ms);
    // Nothing proven: the first 74 lingered at 250 ms and count against the
    // buffer until 1,250 ms; the 26 sent at 999 ms are in flight. What
    // waited since 999 ms is not yet stale.
    EXPECT_EQ(f.take(1000, t0 + 1248ms, &expired).size(), 23u) << "160 KiB: 123 of 1,324 bytes, 100 out";
    EXPECT_TRUE(expired.empty());
    EXPECT_EQ(f.take(1000, t0 + 1250ms, &expired).size(), 74u - 23u) << "the first 74 forgotten: the window's rest";
    EXPECT_TRUE(expired.empty());
    flows g;
    push_offers(g, relay_a, 0, 100, t0);
    g.take(1000, t0);
    g.take(1000, t0 + 1000ms, &expired);
    EXPECT_EQ(expired.size(), 26u) << "waited max_wait: its client has retransmitted already";
    EXPECT_EQ(g.waiting(), 0u);
}

TEST(dhcp_flows, idle_destinations_and_unanswered_offers_are_forgotten) {
    flows f;
    for (int d = 0; d < 100; ++d) f.push({0x0a000000u + static_cast<std::uint32_t>(d), 68, 2}, "x", 300, tag_of(d), t0);
    EXPECT_EQ(f.take(1000, t0).size(), 100u);
    EXPECT_EQ(f.destinations(), 100u);
    EXPECT_EQ(f.offers_in_flight(), 100u);
    f.take(1000, t0 + 250ms);
    EXPECT_EQ(f.offers_in_flight(), 0u);
    EXPECT_FALSE(f.on_request(tag_of(3), t0 + 251ms)) << "a REQUEST after linger proves nothing";
    EXPECT_EQ(f.destinations(), 100u) << "lingered replies still count against a buffer";
    f.take(1000, t0 + 1250ms);
    EXPECT_EQ(f.destinations(), 0u);
    // Clients' own addresses are not windowed: nothing to estimate, and a
    // network of renewing clients must not keep a second of them each.
    flows g;
    for (int d = 0; d < 100; ++d)
        g.push({0x0a000000u + static_cast<std::uint32_t>(d), 68, 2}, "ack", 300, std::nullopt, t0, false);
    EXPECT_EQ(g.take(1000, t0).size(), 100u);
    g.take(1000, t0 + 250ms);
    EXPECT_EQ(g.destinations(), 0u) << "forgotten as soon as their replies lingered";
}

// The bench's client in miniature: a relay agent whose receive buffer is a
// default one (212,992 bytes, 1,280 charged per reply: 166 fit) and whose
// reader sleeps for up to 450 ms at random, then reads everything and
// answers each OFFER with a REQUEST, while the server decides offers as
// fast as the window lets it. Not one reply may find the buffer full;
// without the window (take everything) the same script overflows.
int simulate_relay(bool with_window, std::uint32_t seed, int& delivered) {
    flow_limits l;
    if (!with_window) {
        l.window_bytes = std::size_t{1} << 40;
        l.waiting_max = l.total_waiting_max = std::size_t{1} << 30;
    }
    flows f(l);
    std::mt19937 rng(seed);
    const std::size_t capacity = 212992, truesize = 1280;
    std::deque<std::string> buffer;
    int overflowed = 0, next_client = 0;
    delivered = 0;
    auto now = t0;
    auto reader_wakes = now;
    for (int step = 0; step < 4000; ++step, now += 1ms) {
        // The relay forwards 20 new DISCOVERs a millisecond; the server sheds
        // those its window cannot take, as it does before deciding.
        for (int i = 0; i < 20; ++i, ++next_client)
            if (f.admits(relay_a)) f.push(relay_a, "offer-" + std::to_string(next_client), 300, tag_of(next_client), now);
        for (const auto& r : f.take(64, now)) {
            if ((buffer.size() + 1) * truesize > capacity)
                ++overflowed;
            else
                buffer.push_back(r);
        }
        if (now >= reader_wakes) {
            for (const auto& r : buffer) {
                ++delivered;
                f.on_request(tag_of(std::stoi(r.substr(6))), now);  // its REQUEST reaches the server
            }
            buffer.clear();
            reader_wakes = now + std::chrono::milliseconds(rng() % 450);
        }
    }
    return overflowed;
}

TEST(dhcp_flows, a_relay_whose_reader_stalls_never_finds_its_buffer_full) {
    for (std::uint32_t seed = 1; seed <= 8; ++seed) {
        int delivered = 0;
        EXPECT_EQ(simulate_relay(true, seed, delivered), 0) << "seed " << seed;
        EXPECT_GT(delivered, 800) << "seed " << seed << ": the window must still let replies through";
        int unpaced = 0;
        EXPECT_GT(simulate_relay(false, seed, unpaced), 0) << "seed " << seed << ": the script must be able to fail";
    }
}

// ACKs are never answered: only a REQUEST to a later OFFER proves them
// read. A window filled with ACKs alone could be freed by linger only
// (250 ms of nothing towards that relay, seen as stalls in the bench).
TEST(dhcp_flows, a_window_of_acks_keeps_room_for_the_offer_that_proves_it) {
    flows f;
    for (int i = 0; i < 100; ++i) f.push(relay_a, "ack-" + std::to_string(i), reply_bytes, std::nullopt, t0);
    f.push(relay_a, "offer-500", reply_bytes, tag_of(500), t0);
    const auto sent = f.take(200, t0);
    const auto acks = (f.limits().window_bytes - f.cost(max_reply_bytes)) / f.cost(reply_bytes);
    ASSERT_EQ(acks, 72u);
    ASSERT_EQ(sent.size(), acks + 1);
    EXPECT_EQ(sent.back(), "offer-500") << "the OFFER goes ahead of the ACKs that do not fit";
    EXPECT_EQ(sent[acks - 1], "ack-71");
    EXPECT_TRUE(f.on_request(tag_of(500), t0 + 5ms));
    EXPECT_EQ(f.in_flight(relay_a, t0 + 5ms), 0u) << "its REQUEST proves every ACK before it read";
    const auto rest = f.take(200, t0 + 5ms);
    ASSERT_EQ(rest.size(), 100u - acks);
    EXPECT_EQ(rest.front(), "ack-72") << "then the ACKs in their order";
}

TEST(dhcp_flows, a_discover_is_admitted_while_nothing_waiting_or_in_flight_could_prove) {
    flows f;
    for (int i = 0; i < 200; ++i) f.push(relay_a, "ack", reply_bytes, std::nullopt, t0);
    ASSERT_GT(f.take(200, t0).size(), 0u);
    EXPECT_TRUE(f.admits(relay_a)) << "more than a window of ACKs waits, but only a new OFFER can free it";
    f.push(relay_a, "offer-1", reply_bytes, tag_of(1), t0);
    EXPECT_FALSE(f.admits(relay_a)) << "an OFFER waits: shed";
    const auto sent = f.take(200, t0);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent.front(), "offer-1");
    EXPECT_FALSE(f.admits(relay_a)) << "an OFFER is in flight: its REQUEST will come, shed";
    EXPECT_TRUE(f.on_request(tag_of(1), t0 + 1ms));
    EXPECT_TRUE(f.admits(relay_a)) << "proven: nothing in flight can prove any more";
}

// The bench's whole exchange in miniature: a relay agent with a default
// buffer whose reader wakes every 0-20 ms, answers each OFFER with a
// REQUEST (its ACK follows) and, for the last quarter, stops reading
// without closing its socket, as perfdhcp does at the end of its run.
// Nothing may find the buffer full; exchanges must keep completing.
struct dora_result {
    int overflowed = 0, completed = 0;
};
dora_result simulate_dora(bool with_window, std::uint32_t seed) {
    flow_limits l;
    if (!with_window) {
        l.window_bytes = l.buffer_bytes = std::size_t{1} << 40;
        l.waiting_max = l.total_waiting_max = std::size_t{1} << 30;
    }
    flows f(l);
    std::mt19937 rng(seed);
    const std::size_t capacity = 212992, truesize = 1280;
    std::deque<std::string> buffer;
    dora_result r;
    int next_client = 0;
    auto now = t0;
    auto reader_wakes = now;
    for (int step = 0; step < 4000; ++step, now += 1ms) {
        for (int i = 0; i < 20; ++i, ++next_client)
            if (f.admits(relay_a)) f.push(relay_a, "offer-" + std::to_string(next_client), 300, tag_of(next_client), now);
        for (const auto& reply : f.take(64, now)) {
            if ((buffer.size() + 1) * truesize > capacity)
                ++r.overflowed;
            else
                buffer.push_back(reply);
        }
        if (now >= reader_wakes && step < 3000) {
            for (const auto& reply : buffer) {
                if (reply.rfind("ack", 0) == 0) {
                    ++r.completed;
                    continue;
                }
                f.on_request(tag_of(std::stoi(reply.substr(6))), now);
                f.push(relay_a, "ack", 300, std::nullopt, now);
            }
            buffer.clear();
            reader_wakes = now + std::chrono::milliseconds(rng() % 21);
        }
    }
    return r;
}

TEST(dhcp_flows, whole_exchanges_through_a_relay_that_finally_stops_reading_lose_nothing) {
    for (std::uint32_t seed = 1; seed <= 8; ++seed) {
        const auto r = simulate_dora(true, seed);
        EXPECT_EQ(r.overflowed, 0) << "seed " << seed;
        EXPECT_GT(r.completed, 6000) << "seed " << seed << ": ACK-only windows must not wait for linger";
        EXPECT_GT(simulate_dora(false, seed).overflowed, 0) << "seed " << seed << ": the script must be able to fail";
    }
}

}  // namespace
}  // namespace pxed::dhcp
