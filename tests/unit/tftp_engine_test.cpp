// TFTP read transfer engine, driven by scripted packets and a fake clock,
// plus a small event simulation (one-way delay, deterministic loss) for
// whole transfers.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "pxed/engine/tftp_front_door.hpp"
#include "pxed/engine/tftp_transfer.hpp"

namespace pxed::tftp {
namespace {

using namespace std::chrono_literals;
using time_point = transfer_clock::time_point;
using bytes_t = std::vector<std::uint8_t>;

const time_point t0 = time_point{} + 1000h;

std::string random_content(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
}

request make_rrq(std::vector<option> options = {}, transfer_mode mode = transfer_mode::octet) {
    request r;
    r.op = opcode::rrq;
    r.filename = "pxelinux.0";
    r.mode = mode;
    r.mode_text = mode == transfer_mode::netascii ? "netascii" : "octet";
    r.options = std::move(options);
    return r;
}

std::unique_ptr<block_source> source_of(std::string content) {
    return std::make_unique<memory_block_source>(std::move(content));
}

read_transfer make_transfer(std::string content, std::vector<option> options = {},
                            transfer_mode mode = transfer_mode::octet, transfer_config cfg = {}) {
    return read_transfer(make_rrq(std::move(options), mode), source_of(std::move(content)), cfg);
}

bytes_t ack(std::uint16_t block) { return encode_ack(block); }

data_packet as_data(const bytes_t& wire) {
    const auto r = decode(wire);
    const auto* d = r.get_if<data_packet>();
    EXPECT_NE(d, nullptr) << "not a DATA packet";
    return d ? *d : data_packet{};
}

std::vector<std::uint16_t> data_blocks(const transfer_actions& a) {
    std::vector<std::uint16_t> out;
    for (const auto& p : a.send) out.push_back(as_data(p).block);
    return out;
}

std::vector<std::uint16_t> block_range(std::uint16_t first, std::uint16_t last) {
    std::vector<std::uint16_t> out;
    for (std::uint32_t b = first; b <= last; ++b) out.push_back(static_cast<std::uint16_t>(b));
    return out;
}

error_packet as_error(const bytes_t& wire) {
    const auto r = decode(wire);
    const auto* e = r.get_if<error_packet>();
    EXPECT_NE(e, nullptr) << "not an ERROR packet";
    return e ? *e : error_packet{};
}

// RFC 764 NVT conversion done the obvious way, to compare against.
std::string to_netascii(const std::string& in) {
    std::string out;
    for (char c : in) {
        if (c == '\n') {
            out += "\r\n";
        } else if (c == '\r') {
            out += std::string("\r\0", 2);
        } else {
            out += c;
        }
    }
    return out;
}

// --- a simulated network and RFC 1350 / RFC 7440 client -------------------

struct sim_client {
    std::uint16_t blksize = default_blksize;
    std::uint16_t windowsize = 1;
    // atftp 0.8: only the first block out of order (a gap, or a duplicate
    // after its ACK was lost) gets an extra ACK; later ones are ignored
    // until a block arrives in order or its own timer fires.
    bool one_extra_ack = false;
    // A client that ACKs no duplicate at all (only a gap, once).
    bool silent_duplicates = false;
    unsigned extra_acks = 0;
    std::uint64_t expected = 1;  // next block wanted, 64-bit like the server
    unsigned since_ack = 0;
    std::string received;
    bool finished = false;

    // The ACK to send for this DATA, if any. In-order blocks are acked at
    // the end of each window and at the last block; anything out of order
    // (a gap after a loss, or a duplicate) is answered with an ACK for the
    // last block received in order, as RFC 7440 section 4 describes.
    std::optional<std::uint16_t> on_data(const data_packet& d) {
        if (d.block == static_cast<std::uint16_t>(expected) && !finished) {
            extra_acks = 0;
            received.append(d.payload.begin(), d.payload.end());
            ++expected;
            ++since_ack;
            if (d.payload.size() < blksize) finished = true;
            if (finished || since_ack >= windowsize) {
                since_ack = 0;
                return d.block;
            }
            return std::nullopt;
        }
        if (one_extra_ack && extra_acks++ >= 1) return std::nullopt;
        if (silent_duplicates && static_cast<std::uint16_t>(d.block - static_cast<std::uint16_t>(expected)) >= 0x8000)
            return std::nullopt;
        since_ack = 0;
        return static_cast<std::uint16_t>(expected - 1);
    }
};

struct sim_result {
    transfer_outcome outcome = transfer_outcome::in_progress;
    std::string received;
    transfer_clock::duration elapsed{};
    transfer_stats stats;
};

// Runs a transfer to its end over a link with `one_way` delay in each
// direction. `drop_to_client(n)` / `drop_to_server(n)` decide the fate of
// the n-th packet in each direction (0-based). Like a real client, the
// simulated one repeats its last packet after `client_timeout` without
// hearing anything: its RRQ (handed to on_duplicate_request, as the
// server's port 69 would) or an ACK for the last block it has in order.
// `think(n, duplicate)`, when given, is how long the client takes before it
// sends its n-th packet (firmware under QEMU: milliseconds for a new block,
// little for a duplicate it only ACKs again); it answers in order, so a
// slow answer delays the ones after it.
using think_time = std::function<transfer_clock::duration(std::uint64_t, bool)>;
template <typename DropToClient, typename DropToServer>
sim_result simulate(read_transfer& t, transfer_clock::duration one_way, DropToClient drop_to_client,
                    DropToServer drop_to_server, transfer_clock::duration client_timeout = 1s,
                    sim_client client = {}, const think_time& think = {}) {
    std::multimap<time_point, bytes_t> to_client;
    std::multimap<time_point, bytes_t> to_server;  // an empty datagram stands for a repeated RRQ
    std::uint64_t n_to_client = 0;
    std::uint64_t n_to_server = 0;
    time_point now = t0;
    bool heard = false;
    time_point client_deadline = now + client_timeout;

    auto deliver = [&](const transfer_actions& a) {
        for (const auto& p : a.send) {
            if (!drop_to_client(n_to_client++)) to_client.emplace(now + one_way, p);
        }
    };
    time_point client_busy_until = now;
    auto client_send = [&](bytes_t p, bool duplicate = false) {
        time_point at = now;
        if (think) {
            at = std::max(at, client_busy_until) + think(n_to_server, duplicate);
            client_busy_until = at;
        }
        if (!drop_to_server(n_to_server++)) to_server.emplace(at + one_way, std::move(p));
    };
    transfer_actions a = t.start(now);
    deliver(a);
    for (int guard = 0; !t.done() && guard < 10'000'000; ++guard) {
        const time_point next_client = to_client.empty() ? time_point::max() : to_client.begin()->first;
        const time_point next_server = to_server.empty() ? time_point::max() : to_server.begin()->first;
        const time_point next_timer = t.deadline().value_or(time_point::max());
        const time_point next_client_timer = client.finished ? time_point::max() : client_deadline;
        const time_point next = std::min({next_client, next_server, next_timer, next_client_timer});
        if (next == time_point::max()) break;
        now = next;
        if (next == next_client) {
            const bytes_t p = std::move(to_client.begin()->second);
            to_client.erase(to_client.begin());
            client_deadline = now + client_timeout;
            heard = true;
            const auto decoded = decode(p);
            if (const auto* o = decoded.get_if<oack_packet>()) {
                for (const auto& opt : o->options) {
                    if (names_equal(opt.name, "blksize")) client.blksize = static_cast<std::uint16_t>(std::stoul(opt.value));
                    if (names_equal(opt.name, "windowsize"))
                        client.windowsize = static_cast<std::uint16_t>(std::stoul(opt.value));
                }
                client_send(ack(0));
            } else if (const auto* d = decoded.get_if<data_packet>()) {
                const auto expected = client.expected;
                if (const auto reply = client.on_data(*d)) client_send(ack(*reply), client.expected == expected);
            }
        } else if (next == next_server) {
            const bytes_t p = std::move(to_server.begin()->second);
            to_server.erase(to_server.begin());
            deliver(p.empty() ? t.on_duplicate_request(now) : t.on_packet(p, now));
        } else if (next == next_timer) {
            deliver(t.on_timer(now));
        } else {
            // RFC 1350: repeat the last packet; RFC 7440 section 4: that is
            // an ACK for the last block received in order.
            client_deadline = now + client_timeout;
            client.since_ack = 0;
            client.extra_acks = 0;
            client_send(heard ? ack(static_cast<std::uint16_t>(client.expected - 1)) : bytes_t{});
        }
    }
    return sim_result{t.outcome(), client.received, now - t0, t.stats()};
}

sim_result simulate_lossless(read_transfer& t, transfer_clock::duration one_way = 1ms) {
    auto never = [](std::uint64_t) { return false; };
    return simulate(t, one_way, never, never);
}

// Deterministic "random" loss: drop when a hash of the packet index falls
// under the rate.
struct lossy {
    double rate;
    std::uint32_t salt;
    bool operator()(std::uint64_t n) const {
        std::uint64_t x = (n + 1) * 0x9E3779B97F4A7C15ull ^ salt;
        x ^= x >> 31;
        x *= 0xBF58476D1CE4E5B9ull;
        x ^= x >> 29;
        return static_cast<double>(x % 1'000'000) < rate * 1'000'000;
    }
};

// --- whole transfers ---------------------------------------------------------

TEST(tftp_transfer, lock_step_full_transfer_delivers_every_byte) {
    const std::string content = random_content(100'000, 1);
    auto t = make_transfer(content);
    const auto r = simulate_lossless(t);
    EXPECT_EQ(r.outcome, transfer_outcome::completed);
    EXPECT_EQ(r.received, content);
    EXPECT_EQ(r.stats.bytes, 100'000u);
    EXPECT_EQ(r.stats.blocks, 100'000u / 512 + 1);
    EXPECT_EQ(r.stats.retransmissions, 0u);
    EXPECT_EQ(r.stats.timeouts, 0u);
    EXPECT_FALSE(r.stats.oack_sent);
    // One round trip (2 ms) per block in lock-step.
    EXPECT_EQ(r.elapsed, (100'000 / 512 + 1) * 2ms);
}

TEST(tftp_transfer, first_packet_is_data_1_without_options) {
    auto t = make_transfer(random_content(600, 2));
    const auto a = t.start(t0);
    ASSERT_EQ(a.send.size(), 1u);
    const auto d = as_data(a.send[0]);
    EXPECT_EQ(d.block, 1);
    EXPECT_EQ(d.payload.size(), 512u);
    EXPECT_FALSE(a.done);
    ASSERT_TRUE(a.deadline);
    EXPECT_EQ(*a.deadline, t0 + 1s);  // initial RTO before any sample
}

TEST(tftp_transfer, exact_multiple_ends_with_empty_block) {
    const std::string content = random_content(1024, 3);
    auto t = make_transfer(content);
    auto a = t.start(t0);
    ASSERT_EQ(data_blocks(a), std::vector<std::uint16_t>{1});
    a = t.on_packet(ack(1), t0 + 1ms);
    ASSERT_EQ(data_blocks(a), std::vector<std::uint16_t>{2});
    EXPECT_EQ(as_data(a.send[0]).payload.size(), 512u);
    a = t.on_packet(ack(2), t0 + 2ms);
    ASSERT_EQ(data_blocks(a), std::vector<std::uint16_t>{3});
    EXPECT_TRUE(as_data(a.send[0]).payload.empty());
    EXPECT_TRUE(t.stats().last_block_sent);
    EXPECT_FALSE(t.done());
    a = t.on_packet(ack(3), t0 + 3ms);
    EXPECT_TRUE(a.send.empty());
    EXPECT_TRUE(a.done);
    EXPECT_FALSE(a.deadline);
    EXPECT_EQ(t.outcome(), transfer_outcome::completed);
    EXPECT_EQ(t.stats().blocks, 3u);
    EXPECT_EQ(t.stats().bytes, 1024u);
    EXPECT_EQ(t.stats().duration, 3ms);
}

TEST(tftp_transfer, empty_file_is_one_empty_block) {
    auto t = make_transfer("");
    auto a = t.start(t0);
    ASSERT_EQ(a.send.size(), 1u);
    EXPECT_TRUE(as_data(a.send[0]).payload.empty());
    a = t.on_packet(ack(1), t0 + 1ms);
    EXPECT_EQ(t.outcome(), transfer_outcome::completed);
}

// --- option negotiation -------------------------------------------------------

TEST(tftp_negotiation, ipxe_request_gets_oack_then_data) {
    const std::string content = random_content(94'208, 4);
    auto t = make_transfer(content, {{"blksize", "1432"}, {"tsize", "0"}});
    auto a = t.start(t0);
    ASSERT_EQ(a.send.size(), 1u);
    EXPECT_EQ(a.send[0], encode_oack({{"blksize", "1432"}, {"tsize", "94208"}}));
    EXPECT_TRUE(t.stats().oack_sent);

    // Nothing but ACK 0 starts the data.
    a = t.on_packet(ack(1), t0 + 1ms);
    EXPECT_TRUE(a.send.empty());
    a = t.on_packet(ack(0), t0 + 2ms);
    ASSERT_EQ(data_blocks(a), std::vector<std::uint16_t>{1});
    EXPECT_EQ(as_data(a.send[0]).payload, bytes_t(content.begin(), content.begin() + 1432));
    EXPECT_EQ(t.stats().blksize, 1432);
    EXPECT_EQ(t.stats().tsize, 94'208u);
}

TEST(tftp_negotiation, atftp_request_with_windowsize) {
    auto t = make_transfer(random_content(100'000, 5), {{"tsize", "0"}, {"blksize", "1468"}, {"windowsize", "16"}});
    auto a = t.start(t0);
    ASSERT_EQ(a.send.size(), 1u);
    EXPECT_EQ(a.send[0], encode_oack({{"tsize", "100000"}, {"blksize", "1468"}, {"windowsize", "16"}}));
    a = t.on_packet(ack(0), t0 + 1ms);
    EXPECT_EQ(data_blocks(a), block_range(1, 16));
}

TEST(tftp_negotiation, curl_request_gets_all_three_options_back) {
    // curl 7.88.1 sends tsize 0, blksize 512 and timeout 6 on every request.
    auto t = make_transfer(random_content(3000, 31), {{"tsize", "0"}, {"blksize", "512"}, {"timeout", "6"}});
    const auto a = t.start(t0);
    ASSERT_EQ(a.send.size(), 1u);
    EXPECT_EQ(a.send[0], encode_oack({{"tsize", "3000"}, {"blksize", "512"}, {"timeout", "6"}}));
    EXPECT_EQ(t.stats().timeout_s, 6);
}

TEST(tftp_negotiation, oack_echoes_client_spelling_and_skips_unknown) {
    auto t = make_transfer("x", {{"BLKSIZE", "1024"}, {"multicast", ""}, {"TSize", "0"}});
    const auto a = t.start(t0);
    ASSERT_EQ(a.send.size(), 1u);
    EXPECT_EQ(a.send[0], encode_oack({{"BLKSIZE", "1024"}, {"TSize", "1"}}));
}

TEST(tftp_negotiation, only_unknown_options_means_no_oack) {
    auto t = make_transfer("abc", {{"multicast", ""}, {"grandstream_MODEL", "GXV3450"}});
    const auto a = t.start(t0);
    ASSERT_EQ(a.send.size(), 1u);
    EXPECT_EQ(as_data(a.send[0]).block, 1);
    EXPECT_FALSE(t.stats().oack_sent);
}

struct option_case {
    const char* name;
    std::vector<option> options;
    bool refused;
    std::uint16_t blksize;
    std::uint16_t windowsize;
    std::optional<std::uint8_t> timeout_s;
    std::vector<option> oack;
};

TEST(tftp_negotiation, ranges_each_way) {
    transfer_config cfg;
    cfg.max_blksize = 1468;
    cfg.max_windowsize = 64;
    const std::vector<option_case> cases = {
        {"blksize 7 refused", {{"blksize", "7"}}, true, 512, 1, {}, {}},
        {"blksize 0 refused", {{"blksize", "0"}}, true, 512, 1, {}, {}},
        {"blksize 8 is the minimum", {{"blksize", "8"}}, false, 8, 1, {}, {{"blksize", "8"}}},
        {"blksize 1000 granted", {{"blksize", "1000"}}, false, 1000, 1, {}, {{"blksize", "1000"}}},
        {"blksize 65464 clamped", {{"blksize", "65464"}}, false, 1468, 1, {}, {{"blksize", "1468"}}},
        {"blksize 100000 clamped", {{"blksize", "100000"}}, false, 1468, 1, {}, {{"blksize", "1468"}}},
        {"blksize beyond 64 bits clamped", {{"blksize", "99999999999999999999999"}}, false, 1468, 1, {},
         {{"blksize", "1468"}}},
        {"blksize garbage ignored", {{"blksize", "big"}}, false, 512, 1, {}, {}},
        {"blksize negative ignored", {{"blksize", "-1"}}, false, 512, 1, {}, {}},
        {"blksize empty ignored", {{"blksize", ""}}, false, 512, 1, {}, {}},
        {"timeout 0 ignored", {{"timeout", "0"}}, false, 512, 1, {}, {}},
        {"timeout 1 granted", {{"timeout", "1"}}, false, 512, 1, 1, {{"timeout", "1"}}},
        {"timeout 255 granted", {{"timeout", "255"}}, false, 512, 1, 255, {{"timeout", "255"}}},
        {"timeout 256 ignored", {{"timeout", "256"}}, false, 512, 1, {}, {}},
        {"timeout 05 normalised", {{"timeout", "05"}}, false, 512, 1, 5, {{"timeout", "5"}}},
        {"windowsize 0 ignored", {{"windowsize", "0"}}, false, 512, 1, {}, {}},
        {"windowsize 1 granted", {{"windowsize", "1"}}, false, 512, 1, {}, {{"windowsize", "1"}}},
        {"windowsize 16 granted", {{"windowsize", "16"}}, false, 512, 16, {}, {{"windowsize", "16"}}},
        {"windowsize 65535 clamped", {{"windowsize", "65535"}}, false, 512, 64, {}, {{"windowsize", "64"}}},
        {"windowsize 70000 clamped", {{"windowsize", "70000"}}, false, 512, 64, {}, {{"windowsize", "64"}}},
        {"windowsize garbage ignored", {{"windowsize", "1x"}}, false, 512, 1, {}, {}},
        {"duplicate: first wins", {{"blksize", "1024"}, {"BlkSize", "1400"}}, false, 1024, 1, {},
         {{"blksize", "1024"}}},
        {"refusal wins over the rest", {{"windowsize", "8"}, {"blksize", "4"}}, true, 512, 8, {}, {}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const auto n = negotiate(make_rrq(c.options), 1000, cfg);
        EXPECT_EQ(n.refusal.has_value(), c.refused);
        if (c.refused) {
            EXPECT_EQ(n.refusal->code, error_code::option_refused);
            continue;
        }
        EXPECT_EQ(n.blksize, c.blksize);
        EXPECT_EQ(n.windowsize, c.windowsize);
        EXPECT_EQ(n.timeout_s, c.timeout_s);
        EXPECT_EQ(n.acknowledged, c.oack);
    }
}

TEST(tftp_negotiation, tsize_only_when_known_and_octet) {
    const transfer_config cfg;
    const std::vector<option> ask = {{"tsize", "0"}};
    EXPECT_EQ(negotiate(make_rrq(ask), 12345, cfg).acknowledged, (std::vector<option>{{"tsize", "12345"}}));
    EXPECT_EQ(negotiate(make_rrq(ask), 0, cfg).acknowledged, (std::vector<option>{{"tsize", "0"}}));
    // Size not known up front: omitted.
    EXPECT_TRUE(negotiate(make_rrq(ask), std::nullopt, cfg).acknowledged.empty());
    // netascii: the converted size is not known cheaply, omitted.
    EXPECT_TRUE(negotiate(make_rrq(ask, transfer_mode::netascii), 12345, cfg).acknowledged.empty());
    // A non-zero tsize in an RRQ still gets the real size.
    EXPECT_EQ(negotiate(make_rrq({{"tsize", "7"}}), 12345, cfg).tsize, 12345u);
    EXPECT_TRUE(negotiate(make_rrq({{"tsize", "zero"}}), 12345, cfg).acknowledged.empty());
}

TEST(tftp_negotiation, config_bounds_are_sanitised) {
    transfer_config cfg;
    cfg.max_blksize = 4;          // below RFC 2348's minimum
    cfg.max_windowsize = 65535;   // above the unambiguous 32768
    const auto n = negotiate(make_rrq({{"blksize", "1468"}, {"windowsize", "65535"}}), 1, cfg);
    EXPECT_EQ(n.blksize, 8);
    EXPECT_EQ(n.windowsize, 32768);
}

TEST(tftp_negotiation, refused_blksize_sends_error_8_and_ends) {
    auto t = make_transfer("data", {{"blksize", "4"}});
    const auto a = t.start(t0);
    ASSERT_EQ(a.send.size(), 1u);
    EXPECT_EQ(as_error(a.send[0]).code, error_code::option_refused);
    EXPECT_TRUE(a.done);
    EXPECT_FALSE(a.deadline);
    EXPECT_EQ(t.outcome(), transfer_outcome::error_sent);
}

TEST(tftp_negotiation, client_refusing_oack_ends_quietly) {
    auto t = make_transfer("data", {{"blksize", "1432"}});
    t.start(t0);
    const auto a = t.on_packet(encode_error(error_code::option_refused, "no thanks"), t0 + 1ms);
    EXPECT_TRUE(a.send.empty());
    EXPECT_TRUE(a.done);
    EXPECT_EQ(t.outcome(), transfer_outcome::client_error);
    ASSERT_TRUE(t.error());
    EXPECT_EQ(t.error()->code, error_code::option_refused);
    EXPECT_EQ(t.error()->message, "no thanks");
}

TEST(tftp_negotiation, oack_is_resent_late_and_never_on_a_wrong_ack) {
    auto t = make_transfer("data", {{"tsize", "0"}});
    const auto first = t.start(t0);
    ASSERT_EQ(first.send.size(), 1u);
    // The client's own retransmissions cover a lost OACK or ACK 0, and a
    // second OACK makes atftp abort: our resend waits past two of its 5 s
    // timers (ACK 0 and its repeat both lost).
    EXPECT_EQ(*first.deadline, t0 + 11s);
    EXPECT_TRUE(t.on_packet(ack(3), t0 + 10ms).send.empty());
    EXPECT_TRUE(t.on_timer(t0 + 10999ms).send.empty());
    const auto again = t.on_timer(t0 + 11s);
    ASSERT_EQ(again.send.size(), 1u);
    EXPECT_EQ(again.send[0], first.send[0]);
    // ACK 0 for a resent OACK: Karn, no RTT sample from it.
    t.on_packet(ack(0), t0 + 11s + 5ms);
    EXPECT_FALSE(t.stats().srtt);
}

TEST(tftp_negotiation, a_negotiated_timeout_sets_the_oack_resend) {
    // curl asks "timeout 6" and repeats its RRQ only after about a minute:
    // RFC 2349 makes 6 s the interval, and just past it the OACK goes again.
    auto t = make_transfer("data", {{"tsize", "0"}, {"timeout", "6"}});
    const auto first = t.start(t0);
    EXPECT_EQ(*first.deadline, t0 + 6500ms);
    auto t1 = make_transfer("data", {{"tsize", "0"}, {"timeout", "1"}});
    // atftp sends "timeout 1" when told to but keeps its 5 s timer.
    EXPECT_EQ(*t1.start(t0).deadline, t0 + 6s);
}

TEST(tftp_negotiation, repeated_request_gets_the_oack_again_at_once) {
    auto t = make_transfer("data", {{"blksize", "1024"}});
    const auto first = t.start(t0);
    // The OACK was lost; the client repeats its RRQ after its timeout.
    auto a = t.on_duplicate_request(t0 + 1s);
    ASSERT_EQ(a.send.size(), 1u);
    EXPECT_EQ(a.send[0], first.send[0]);
    // A burst of repeats does not turn into a burst of OACKs.
    EXPECT_TRUE(t.on_duplicate_request(t0 + 1s + 1ms).send.empty());
    a = t.on_packet(ack(0), t0 + 1s + 2ms);
    ASSERT_EQ(data_blocks(a), std::vector<std::uint16_t>{1});
    // Once the client has answered, a repeated request is stale.
    EXPECT_TRUE(t.on_duplicate_request(t0 + 3s).send.empty());
    EXPECT_EQ(t.stats().retransmissions, 1u);
}

TEST(tftp_negotiation, repeated_request_without_options_gets_data_1_again) {
    auto t = make_transfer(random_content(2000, 29));
    const auto first = t.start(t0);
    const auto a = t.on_duplicate_request(t0 + 1s);
    ASSERT_EQ(a.send.size(), 1u);
    EXPECT_EQ(a.send[0], first.send[0]);
    t.on_packet(ack(1), t0 + 1s + 1ms);
    EXPECT_TRUE(t.on_duplicate_request(t0 + 2s).send.empty());
}

TEST(tftp_negotiation, negotiated_timeout_caps_the_adaptive_timer) {
    // curl asks for "timeout 6" on every transfer: a fast client still gets
    // a timeout of a few milliseconds.
    auto fast = make_transfer(random_content(20'000, 6), {{"timeout", "6"}});
    auto a = fast.start(t0);
    EXPECT_EQ(*a.deadline, t0 + 6500ms);  // OACK: past the client's own 6 s timer
    a = fast.on_packet(ack(0), t0 + 1ms);
    ASSERT_EQ(data_blocks(a), std::vector<std::uint16_t>{1});
    EXPECT_EQ(*a.deadline - (t0 + 1ms), 3ms);  // SRTT 1 ms + 4 * 0.5 ms

    // A slow client that asked for 1 s never waits longer than that, even
    // though its round trip says 1.5 s.
    auto slow = make_transfer(random_content(20'000, 6), {{"timeout", "1"}});
    // A short negotiated timeout does not shorten the quiet waits: atftp
    // sends "timeout 1" when told to but keeps its own 5 s timer.
    EXPECT_EQ(*slow.start(t0).deadline, t0 + 6s);
    a = slow.on_packet(ack(0), t0 + 1500ms);
    EXPECT_EQ(*a.deadline - (t0 + 1500ms), 1s);
    auto now = *a.deadline;
    a = slow.on_timer(now);
    EXPECT_EQ(data_blocks(a), std::vector<std::uint16_t>{1});
    EXPECT_EQ(*a.deadline - now, 1s);  // backoff capped at the negotiated value
}

// --- windows, loss, duplicates ----------------------------------------------

TEST(tftp_window, lost_block_in_the_middle_is_recovered_from_the_ack) {
    const std::string content = random_content(40 * 512 + 100, 7);
    auto t = make_transfer(content, {{"windowsize", "16"}});
    t.start(t0);
    auto a = t.on_packet(ack(0), t0 + 1ms);
    ASSERT_EQ(data_blocks(a), block_range(1, 16));
    const auto original_block_9 = a.send[8];

    // DATA 8 is lost; the client sees 9 out of order and acks 7.
    a = t.on_packet(ack(7), t0 + 2ms);
    ASSERT_EQ(data_blocks(a), block_range(8, 23));
    EXPECT_EQ(a.send[1], original_block_9);  // same bytes again
    EXPECT_EQ(t.stats().retransmissions, 9u);  // 8..16 again, 17..23 new
    // The rest of that window's gap reports are duplicates.
    for (int i = 0; i < 8; ++i) EXPECT_TRUE(t.on_packet(ack(7), t0 + 2ms).send.empty());

    a = t.on_packet(ack(23), t0 + 3ms);
    ASSERT_EQ(data_blocks(a), block_range(24, 39));
    a = t.on_packet(ack(39), t0 + 4ms);
    ASSERT_EQ(data_blocks(a), block_range(40, 41));
    EXPECT_EQ(as_data(a.send[1]).payload.size(), 100u);
    a = t.on_packet(ack(41), t0 + 5ms);
    EXPECT_EQ(t.outcome(), transfer_outcome::completed);
    EXPECT_EQ(t.stats().bytes, content.size());
}

TEST(tftp_window, windowed_transfer_with_loss_delivers_every_byte) {
    const std::string content = random_content(300'000, 8);
    auto t = make_transfer(content, {{"blksize", "1468"}, {"windowsize", "16"}});
    const auto r = simulate(t, 1ms, lossy{0.05, 1}, lossy{0.05, 2});
    EXPECT_EQ(r.outcome, transfer_outcome::completed);
    EXPECT_EQ(r.received, content);
    EXPECT_GT(r.stats.retransmissions, 0u);
}

TEST(tftp_window, duplicate_acks_never_trigger_resends) {
    auto t = make_transfer(random_content(5000, 9));
    t.start(t0);
    auto a = t.on_packet(ack(1), t0 + 1ms);
    ASSERT_EQ(data_blocks(a), std::vector<std::uint16_t>{2});
    const auto deadline = a.deadline;
    for (int i = 0; i < 5; ++i) {
        a = t.on_packet(ack(1), t0 + 2ms + i * 1ms);
        EXPECT_TRUE(a.send.empty());
        EXPECT_EQ(a.deadline, deadline);  // not postponed either
    }
    EXPECT_EQ(t.stats().ignored_packets, 5u);
    EXPECT_EQ(t.stats().retransmissions, 0u);
}

TEST(tftp_window, duplicate_window_ack_is_ignored) {
    auto t = make_transfer(random_content(64 * 512, 10), {{"windowsize", "8"}});
    t.start(t0);
    t.on_packet(ack(0), t0 + 1ms);
    auto a = t.on_packet(ack(8), t0 + 2ms);
    ASSERT_EQ(data_blocks(a), block_range(9, 16));
    a = t.on_packet(ack(8), t0 + 3ms);
    EXPECT_TRUE(a.send.empty());
    // An ACK for a block not sent yet is ignored too.
    a = t.on_packet(ack(40), t0 + 3ms);
    EXPECT_TRUE(a.send.empty());
    EXPECT_EQ(t.stats().retransmissions, 0u);
}

TEST(tftp_window, ack_from_the_far_past_is_ignored) {
    auto t = make_transfer(random_content(200'000, 11), {{"blksize", "8"}});
    t.start(t0);
    auto now = t0;
    t.on_packet(ack(0), now);
    for (std::uint32_t b = 1; b <= 20'000; ++b) t.on_packet(ack(static_cast<std::uint16_t>(b)), now += 1ms);
    const auto before = t.stats();
    for (std::uint16_t old : {std::uint16_t{5}, std::uint16_t{19'999}, std::uint16_t{60'000}}) {
        const auto a = t.on_packet(ack(old), now);
        EXPECT_TRUE(a.send.empty()) << old;
    }
    EXPECT_EQ(t.stats().packets_sent, before.packets_sent);
    EXPECT_EQ(t.stats().ignored_packets, before.ignored_packets + 3);
    const auto a = t.on_packet(ack(20'001), now += 1ms);
    EXPECT_EQ(data_blocks(a), std::vector<std::uint16_t>{20'002});
}

TEST(tftp_window, block_numbers_roll_over_past_65535) {
    // 600 KB in 8-byte blocks: 75,000 full blocks and an empty one, so the
    // 16-bit block number wraps once.
    const std::string content = random_content(600'000, 12);
    auto t = make_transfer(content, {{"blksize", "8"}});
    const auto r = simulate_lossless(t, 1us);
    EXPECT_EQ(r.outcome, transfer_outcome::completed);
    EXPECT_EQ(r.received, content);
    EXPECT_EQ(r.stats.blocks, 75'001u);
}

TEST(tftp_window, rollover_wire_numbers) {
    auto t = make_transfer(random_content(70'000 * 8, 13), {{"blksize", "8"}, {"windowsize", "4"}});
    t.start(t0);
    auto now = t0;
    auto a = t.on_packet(ack(0), now);
    // Walk windows of 4 up to block 65532.
    for (std::uint32_t last = 4; last < 65'532; last += 4) a = t.on_packet(ack(static_cast<std::uint16_t>(last)), now += 1us);
    EXPECT_EQ(data_blocks(a), (std::vector<std::uint16_t>{65'529, 65'530, 65'531, 65'532}));
    a = t.on_packet(ack(65'532), now += 1us);
    EXPECT_EQ(data_blocks(a), (std::vector<std::uint16_t>{65'533, 65'534, 65'535, 0}));
    // Loss of 65535 across the wrap: the client acks 65534, we go back.
    a = t.on_packet(ack(65'534), now += 1us);
    EXPECT_EQ(data_blocks(a), (std::vector<std::uint16_t>{65'535, 0, 1, 2}));
    // ACK 0 now means block 65536, inside the window: 1 and 2 go again.
    a = t.on_packet(ack(0), now += 1us);
    EXPECT_EQ(data_blocks(a), (std::vector<std::uint16_t>{1, 2, 3, 4}));
    a = t.on_packet(ack(4), now += 1us);
    EXPECT_EQ(data_blocks(a), (std::vector<std::uint16_t>{5, 6, 7, 8}));
    EXPECT_EQ(t.stats().blocks, 65'540u);
}

TEST(tftp_window, windowed_rollover_transfer_delivers_every_byte) {
    const std::string content = random_content(600'000, 14);
    auto t = make_transfer(content, {{"blksize", "8"}, {"windowsize", "16"}});
    const auto r = simulate(t, 1us, lossy{0.01, 3}, lossy{0.01, 4});
    EXPECT_EQ(r.outcome, transfer_outcome::completed);
    EXPECT_EQ(r.received, content);
}

// --- timers -------------------------------------------------------------------

// A lock-step transfer of 100 blocks whose client has acknowledged the first
// `blocks`, each `rtt` after it went out.
struct answered {
    read_transfer t;
    transfer_actions a;
    time_point now;
};
answered acknowledged_up_to(std::uint16_t blocks, transfer_clock::duration rtt, std::uint32_t seed) {
    answered r{make_transfer(random_content(100 * 512, seed)), {}, t0};
    r.a = r.t.start(t0);
    for (std::uint16_t b = 1; b <= blocks; ++b) r.a = r.t.on_packet(ack(b), r.now += rtt);
    return r;
}

TEST(tftp_timer, timeout_resends_the_whole_window) {
    auto t = make_transfer(random_content(20 * 512, 15), {{"windowsize", "4"}});
    t.start(t0);
    const auto sent = t.on_packet(ack(0), t0 + 1ms);
    ASSERT_EQ(data_blocks(sent), block_range(1, 4));
    ASSERT_TRUE(sent.deadline);
    // Early or repeated timer calls do nothing.
    EXPECT_TRUE(t.on_timer(*sent.deadline - 1us).send.empty());
    const auto resent = t.on_timer(*sent.deadline);
    EXPECT_EQ(resent.send, sent.send);
    EXPECT_EQ(t.stats().timeouts, 1u);
    EXPECT_EQ(t.stats().retransmissions, 4u);
    // After a partial ACK the remaining blocks go again, plus new ones.
    const auto a = t.on_packet(ack(2), *sent.deadline + 1ms);
    EXPECT_EQ(data_blocks(a), block_range(3, 6));
}

TEST(tftp_timer, rto_converges_to_measured_round_trip) {
    auto t = make_transfer(random_content(100 * 512, 16));
    auto a = t.start(t0);
    auto now = t0;
    for (std::uint16_t b = 1; b <= 30; ++b) {
        now += 2ms;  // the client answers every block after 2 ms
        a = t.on_packet(ack(b), now);
        ASSERT_EQ(data_blocks(a), std::vector<std::uint16_t>{static_cast<std::uint16_t>(b + 1)});
    }
    ASSERT_TRUE(t.stats().srtt);
    EXPECT_EQ(*t.stats().srtt, 2ms);
    // Block 31 is lost: it goes again after SRTT + 100 us (the variance has
    // decayed below the granularity term), not after the initial 1 s.
    EXPECT_EQ(*a.deadline - now, 2100us);
    EXPECT_TRUE(t.on_timer(now + 2ms).send.empty());
    a = t.on_timer(now + 2100us);
    EXPECT_EQ(data_blocks(a), std::vector<std::uint16_t>{31});
    EXPECT_EQ(*a.deadline - (now + 2100us), 4200us);  // backed off once
}

TEST(tftp_timer, late_ack_0_is_the_clients_repeat_not_a_round_trip) {
    // atftp's ACK 0 is lost; it sends another after its own 5 s timer. That
    // is no round trip: taken as one, the timeout would sit at its 2 s
    // ceiling for the rest of the transfer and every loss would cost 2 s.
    auto t = make_transfer(random_content(100 * 1468, 35), {{"blksize", "1468"}, {"windowsize", "16"}});
    t.start(t0);
    auto a = t.on_packet(ack(0), t0 + 5s);
    ASSERT_EQ(a.send.size(), 16u);
    EXPECT_FALSE(t.stats().srtt);
    a = t.on_packet(ack(16), t0 + 5s + 200us);
    ASSERT_TRUE(t.stats().srtt);
    EXPECT_EQ(*t.stats().srtt, 200us);
    EXPECT_LE(*a.deadline - (t0 + 5s + 200us), 1ms);
    // A prompt ACK 0 is a sample.
    auto u = make_transfer(random_content(100 * 1468, 35), {{"blksize", "1468"}});
    u.start(t0);
    u.on_packet(ack(0), t0 + 300us);
    ASSERT_TRUE(u.stats().srtt);
    EXPECT_EQ(*u.stats().srtt, 300us);
}

TEST(tftp_timer, floor_drops_while_the_transfer_loses_packets) {
    // RTT 100 us. Without loss the floor is 1 ms: a lower one would only
    // wake the server's timer more often. Once blocks time out, a loss
    // should cost a few round trips, so the floor drops to 200 us; 256
    // blocks after the last timeout it rises again.
    auto t = make_transfer(random_content(3000 * 512, 36));
    auto a = t.start(t0);
    auto now = t0;
    std::uint64_t b = 1;
    auto clean = [&](int blocks) {
        for (int i = 0; i < blocks; ++i) a = t.on_packet(ack(static_cast<std::uint16_t>(b++)), now += 100us);
    };
    clean(50);
    EXPECT_EQ(*a.deadline - now, 1ms);
    // Every tenth block is lost once.
    for (int round = 0; round < 5; ++round) {
        a = t.on_timer(now = *a.deadline);
        clean(10);
    }
    const auto lossy_timeout = *a.deadline - now;
    EXPECT_GE(lossy_timeout, 200us);
    EXPECT_LT(lossy_timeout, 500us);
    clean(245);  // 255 blocks since the last timeout
    EXPECT_LT(*a.deadline - now, 500us);
    clean(1);
    EXPECT_EQ(*a.deadline - now, 1ms);
    clean(2000);
    EXPECT_EQ(*a.deadline - now, 1ms);
}

// A lock-step transfer on a fast link (RTT 100 us, so the measured timeout
// is 200 us and the floor decides), 50 clean blocks in. No look-ahead: a
// block it sends at a timeout and the client ACKs later would be an RTT
// sample, and these tests are about the floor alone.
transfer_config without_look_ahead() {
    transfer_config cfg;
    cfg.look_ahead_after = 0;
    return cfg;
}

struct floor_probe {
    read_transfer t = make_transfer(random_content(3000 * 512, 37), {}, transfer_mode::octet, without_look_ahead());
    transfer_actions a = t.start(t0);
    time_point now = t0;
    std::uint16_t next = 1;

    floor_probe() {
        for (int i = 0; i < 50; ++i) acknowledge();
    }
    // ACKs the next block; returns the timeout then in force.
    transfer_clock::duration acknowledge() {
        a = t.on_packet(ack(next++), now += 100us);
        return *a.deadline - now;
    }
    void time_out() { a = t.on_timer(now = *a.deadline); }
};

TEST(tftp_timer, one_isolated_timeout_lowers_the_floor_for_256_blocks) {
    // One lost DATA or ACK says this link can lose packets, and losses on
    // a provisioning network come in bursts (a switch buffer that fills
    // while a rack boots), so the next losses should cost 200 us, not
    // 1 ms. Until 256 blocks have been acknowledged since the timeout.
    floor_probe p;
    EXPECT_EQ(*p.a.deadline - p.now, 1ms);
    p.time_out();
    EXPECT_EQ(data_blocks(p.a), std::vector<std::uint16_t>{51});
    EXPECT_EQ(*p.a.deadline - p.now, 400us);  // the low floor, doubled (RFC 6298 5.5)
    // The ACK of the resent block is no sample (Karn), so the backoff stays
    // for the block after it; that one's ACK ends it.
    EXPECT_EQ(p.acknowledge(), 400us);
    for (int i = 2; i < 256; ++i) ASSERT_EQ(p.acknowledge(), 200us) << i << " blocks after the timeout";
    EXPECT_EQ(p.acknowledge(), 1ms);
    EXPECT_EQ(p.t.stats().timeouts, 1u);
}

TEST(tftp_timer, the_low_floor_ends_256_blocks_after_the_last_timeout) {
    // Once the window is over the transfer is clean and remembers nothing
    // of the loss: a later isolated timeout opens the same 256 blocks,
    // and a burst (one block timing out three times in a row) ends 256
    // blocks after its last timeout, not later.
    floor_probe p;
    p.time_out();
    for (int i = 0; i < 256; ++i) p.acknowledge();
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(p.acknowledge(), 1ms) << i << " blocks after the window";
    p.time_out();
    EXPECT_EQ(p.acknowledge(), 400us);  // Karn: backed off until a clean sample
    for (int i = 2; i < 256; ++i) ASSERT_EQ(p.acknowledge(), 200us) << i << " blocks after the second timeout";
    EXPECT_EQ(p.acknowledge(), 1ms);
    for (int i = 0; i < 3; ++i) p.time_out();
    EXPECT_EQ(p.t.stats().timeouts, 5u);
    EXPECT_EQ(p.acknowledge(), 1600us);
    for (int i = 2; i < 256; ++i) ASSERT_EQ(p.acknowledge(), 200us) << i << " blocks after the burst";
    EXPECT_EQ(p.acknowledge(), 1ms);
}

TEST(tftp_timer, rto_follows_a_slow_client) {
    auto [t, a, now] = acknowledged_up_to(30, 300ms, 17);
    EXPECT_EQ(*t.stats().srtt, 300ms);
    // SRTT plus a shrinking variance term, within the ceiling.
    EXPECT_GE(*a.deadline - now, 300ms);
    EXPECT_LT(*a.deadline - now, 600ms);
}

TEST(tftp_timer, karn_no_sample_from_retransmitted_block) {
    auto t = make_transfer(random_content(5 * 512, 18));
    auto a = t.start(t0);
    a = t.on_timer(t0 + 1s);  // DATA 1 again
    ASSERT_EQ(data_blocks(a), std::vector<std::uint16_t>{1});
    a = t.on_packet(ack(1), t0 + 1s + 1ms);  // ambiguous: original or resend?
    EXPECT_FALSE(t.stats().srtt);
    // No sample, so the backed-off timeout stays (RFC 6298 5.7): were it
    // reset, a client slower than the timeout would get every block twice
    // and never give a sample to learn from.
    EXPECT_EQ(*a.deadline - (t0 + 1s + 1ms), 2s);
    a = t.on_packet(ack(2), t0 + 1s + 4ms);
    ASSERT_TRUE(t.stats().srtt);
    EXPECT_EQ(*t.stats().srtt, 3ms);
    // First sample: SRTT 3 ms, RTTVAR 1.5 ms, RTO = 3 + 4 * 1.5 ms.
    EXPECT_EQ(*a.deadline - (t0 + 1s + 4ms), 9ms);
}

// --- slow clients: no spurious resends (issue 23) --------------------------------

// A deterministic spread over [lo, hi] from a hash of n.
transfer_clock::duration jitter(std::uint64_t n, transfer_clock::duration lo, transfer_clock::duration hi) {
    std::uint64_t x = (n + 1) * 0x9E3779B97F4A7C15ull;
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    const auto span =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(hi - lo).count()) + 1;
    return lo + std::chrono::microseconds(static_cast<std::int64_t>(x % span));
}

// A whole fetch over a lossless link (50 us each way) from a client that
// takes think(n, duplicate) to send its n-th packet (its ACK 0 is packet 0).
sim_result fetch_slowly(const std::string& content, const char* window, const think_time& think,
                        sim_client client = {}) {
    auto t = make_transfer(content, {{"blksize", "1468"}, {"windowsize", window}});
    auto never = [](std::uint64_t) { return false; };
    return simulate(t, 50us, never, never, 1s, client, think);
}

std::string resend_figures(const sim_result& r) {
    return std::to_string(r.stats.blocks) + " blocks, " + std::to_string(r.stats.retransmissions) +
           " retransmissions, " + std::to_string(r.stats.timeouts) + " timeouts, " +
           std::to_string(r.stats.spurious_timeouts) + " spurious";
}

TEST(tftp_slow_client, acks_taking_3_to_5_ms_cost_under_1_percent_resends) {
    // Firmware under QEMU: its ACK 0 comes at once (the OACK is quick to
    // read), then every block takes it 3-5 ms. Lock-step (GRUB) and
    // windowsize 4 (OVMF's PXE client), a client that ACKs every duplicate
    // as both do, and one that ACKs none.
    const std::string content = random_content(3000 * 1468 + 7, 40);
    const think_time think = [](std::uint64_t n, bool duplicate) {
        return n == 0 || duplicate ? 100us : jitter(n, 3ms, 5ms);
    };
    for (const char* window : {"1", "4"}) {
        for (bool silent : {false, true}) {
            SCOPED_TRACE(std::string("windowsize ") + window + (silent ? ", duplicates not ACKed" : ""));
            sim_client client;
            client.silent_duplicates = silent;
            const auto r = fetch_slowly(content, window, think, client);
            ASSERT_EQ(r.outcome, transfer_outcome::completed);
            EXPECT_TRUE(r.received == content);
            EXPECT_LT(r.stats.retransmissions * 100, r.stats.blocks) << resend_figures(r);
            RecordProperty(std::string("resends_window_") + window + (silent ? "_silent" : ""),
                           std::to_string(r.stats.retransmissions));
        }
    }
}

TEST(tftp_slow_client, a_fast_client_with_stalls_costs_under_1_percent_resends) {
    // GRUB under QEMU TCG fetching a kernel: 0.1 ms per ACK, and every
    // so often a stall of 2-4 ms (its host's timer tick, a memory
    // allocation). Measured: 912 resends for 8,054 blocks before.
    const std::string content = random_content(8000 * 1468 + 3, 41);
    const think_time think = [](std::uint64_t n, bool) {
        return n % 29 == 5 ? jitter(n, 2ms, 4ms) : jitter(n, 50us, 150us);
    };
    for (const char* window : {"1", "4"}) {
        SCOPED_TRACE(std::string("windowsize ") + window);
        const auto r = fetch_slowly(content, window, think);
        ASSERT_EQ(r.outcome, transfer_outcome::completed);
        EXPECT_TRUE(r.received == content);
        EXPECT_LT(r.stats.retransmissions * 100, r.stats.blocks) << resend_figures(r);
    }
}

TEST(tftp_slow_client, a_duplicate_ack_of_a_resent_block_sends_nothing) {
    // GRUB ACKs both copies of a block resent too early; the second ACK
    // must not send the next block again (the Sorcerer's Apprentice, RFC
    // 1123 4.2.3.1), nor bring its timer forward.
    floor_probe p;
    p.time_out();
    ASSERT_EQ(data_blocks(p.a), std::vector<std::uint16_t>{51});
    auto a = p.t.on_packet(ack(51), p.now += 2ms);
    ASSERT_EQ(data_blocks(a), std::vector<std::uint16_t>{52});
    const auto deadline = *a.deadline;
    const auto sent = p.t.stats().packets_sent;
    for (int i = 0; i < 5; ++i) {
        a = p.t.on_packet(ack(51), p.now += 100us);
        EXPECT_TRUE(a.send.empty());
        EXPECT_GE(*a.deadline, deadline);
    }
    EXPECT_EQ(p.t.stats().packets_sent, sent);
    // The same in a window: the ACK of the window and then one per copy.
    auto t = make_transfer(random_content(64 * 512, 42), {{"windowsize", "4"}});
    t.start(t0);
    a = t.on_packet(ack(0), t0 + 100us);
    a = t.on_timer(*a.deadline);
    ASSERT_EQ(data_blocks(a), block_range(1, 4));
    a = t.on_packet(ack(4), *a.deadline - 1us);
    ASSERT_EQ(data_blocks(a), block_range(5, 8));
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(t.on_packet(ack(4), *a.deadline - 1us).send.empty());
    EXPECT_EQ(t.stats().retransmissions, 4u);
}

TEST(tftp_slow_client, a_spurious_timeout_is_detected_and_undone) {
    // RTT 100 us for 50 blocks, then block 51 takes the client 3 ms: the
    // 1 ms timeout resends it, the client ACKs the first copy after 3 ms
    // and the second 0.1 ms later. Two ACKs for one copy: the first copy
    // was not lost.
    floor_probe p;
    const auto sent_51 = p.now;
    p.time_out();
    auto a = p.t.on_packet(ack(51), sent_51 + 3ms);
    p.now = sent_51 + 3ms;
    ASSERT_EQ(data_blocks(a), std::vector<std::uint16_t>{52});
    EXPECT_EQ(p.t.stats().spurious_timeouts, 0u);
    // Karn: no sample from block 51, and the backoff stays until one (on
    // the 200 us floor of a transfer that has just timed out).
    EXPECT_EQ(*a.deadline - p.now, 400us);
    a = p.t.on_packet(ack(51), p.now + 100us);
    EXPECT_TRUE(a.send.empty());
    EXPECT_EQ(p.t.stats().spurious_timeouts, 1u);
    EXPECT_EQ(p.t.stats().timeouts, 1u);
    // Undone: the timeout is now at least what the client really took,
    // and block 52, out since the first ACK, is timed by it.
    EXPECT_GE(p.t.current_timeout(), 3ms + 3ms / 4);
    EXPECT_GE(*a.deadline - p.now, 3ms + 3ms / 4);
    // No low "losing" floor either: nothing was lost. After a while of
    // fast ACKs the timeout is back near the 1 ms clean floor, never at
    // the 200 us one.
    p.now += 100us;
    for (int i = 0; i < 2000; ++i) ASSERT_GE(p.acknowledge(), 1ms) << i;
    EXPECT_LT(p.acknowledge(), 3ms);
}

TEST(tftp_slow_client, a_lost_ack_is_no_spurious_timeout) {
    // Lock-step: the ACK of block 51 is lost, the timeout resends 51, the
    // client ACKs the copy once. One ACK for one copy: a real loss.
    floor_probe p;
    p.time_out();
    auto a = p.t.on_packet(ack(51), p.now + 100us);
    ASSERT_EQ(data_blocks(a), std::vector<std::uint16_t>{52});
    EXPECT_EQ(p.t.stats().spurious_timeouts, 0u);
    // Windowed: the window's ACK is lost, the client ACKs each of the four
    // copies: four ACKs for four copies.
    auto t = make_transfer(random_content(64 * 512, 43), {{"windowsize", "4"}});
    t.start(t0);
    a = t.on_packet(ack(0), t0 + 100us);
    a = t.on_timer(*a.deadline);
    const auto resent = a.deadline;
    for (int i = 0; i < 4; ++i) t.on_packet(ack(4), *resent);
    EXPECT_EQ(t.stats().spurious_timeouts, 0u);
    // And the losing floor stays: the next loss costs little.
    EXPECT_LT(t.current_timeout(), 1ms);
}

TEST(tftp_slow_client, loss_is_recovered_quickly_with_duplicate_acking_clients) {
    // 5% loss each way, a client that ACKs every duplicate: no timeout is
    // taken for spurious, and the loss costs what it did (tftp_loss below).
    const std::string content = random_content(4 << 20, 44);
    for (const char* window : {"1", "16"}) {
        SCOPED_TRACE(std::string("windowsize ") + window);
        const std::vector<option> options = {{"blksize", "1468"}, {"windowsize", window}};
        auto clean = make_transfer(content, options);
        const auto base = simulate_lossless(clean, 250us);
        auto lossy_transfer = make_transfer(content, options);
        const auto r = simulate(lossy_transfer, 250us, lossy{0.05, 11}, lossy{0.05, 12});
        ASSERT_EQ(r.outcome, transfer_outcome::completed);
        EXPECT_TRUE(r.received == content);
        EXPECT_EQ(r.stats.spurious_timeouts, 0u) << resend_figures(r);
        const double ratio = std::chrono::duration<double>(r.elapsed) / std::chrono::duration<double>(base.elapsed);
        EXPECT_LE(ratio, 3.0);
    }
}

// Follows the timer until the transfer gives up; returns the waits.
std::vector<transfer_clock::duration> waits_until_done(read_transfer& t, transfer_actions a, time_point now,
                                                       int& resends) {
    std::vector<transfer_clock::duration> waits;
    resends = 0;
    while (!a.done) {
        waits.push_back(*a.deadline - now);
        now = *a.deadline;
        a = t.on_timer(now);
        if (!a.done) {
            EXPECT_FALSE(a.send.empty());
            ++resends;
        } else {
            EXPECT_TRUE(a.send.empty());  // no ERROR to a silent client
        }
    }
    return waits;
}

TEST(tftp_timer, backoff_then_quiet_then_give_up) {
    // A client that answered once (ACK 1 after 1 s, a slow but real
    // round trip) and then went silent.
    auto t = make_transfer(random_content(5000, 19));
    t.start(t0);
    const auto a = t.on_packet(ack(1), t0 + 1s);
    ASSERT_TRUE(t.stats().answered);
    int resends = 0;
    const auto waits = waits_until_done(t, a, t0 + 1s, resends);
    // SRTT 1 s puts the timeout at its 2 s ceiling; six quick retries,
    // then quiet 6 s waits until 30 s without progress.
    EXPECT_EQ(waits, (std::vector<transfer_clock::duration>{2s, 2s, 2s, 2s, 2s, 2s, 6s, 6s, 6s}));
    EXPECT_EQ(resends, 8);
    EXPECT_EQ(t.outcome(), transfer_outcome::timed_out);
    EXPECT_EQ(t.stats().duration, 31s);
}

// --- a peer that never answers (issue 16: amplification) -------------------------

TEST(tftp_unanswered, data_1_goes_three_more_times_then_the_transfer_ends) {
    // One 52-byte RRQ without options from a forged address once brought 31
    // datagrams (16.9 kB) over 30 s: DATA 1 at once, nine resends and
    // look-ahead blocks nobody had asked for.
    auto t = make_transfer(random_content(100 * 512, 40));
    const auto a = t.start(t0);
    ASSERT_EQ(data_blocks(a), std::vector<std::uint16_t>{1});
    int resends = 0;
    const auto waits = waits_until_done(t, a, t0, resends);
    EXPECT_EQ(waits, (std::vector<transfer_clock::duration>{1s, 2s, 2s, 2s}));
    EXPECT_EQ(resends, 3);
    EXPECT_EQ(t.stats().packets_sent, 4u);
    EXPECT_EQ(t.stats().look_ahead_blocks, 0u);
    EXPECT_EQ(t.outcome(), transfer_outcome::timed_out);
    EXPECT_EQ(t.stats().duration, 7s);
    EXPECT_FALSE(t.stats().answered);
}

TEST(tftp_unanswered, never_more_than_the_first_block_out_without_an_ack) {
    // Whatever the timers and look-ahead settings, nothing but block 1 goes
    // out before the first ACK, even with a repeated request in between.
    for (unsigned look_ahead_after : {0u, 1u, 2u}) {
        transfer_config cfg;
        cfg.look_ahead_after = look_ahead_after;
        cfg.unanswered_retries = 10;
        auto t = make_transfer(random_content(100 * 512, 41), {}, transfer_mode::octet, cfg);
        auto a = t.start(t0);
        auto now = t0;
        std::size_t packets = a.send.size();
        for (int i = 0; !a.done && i < 50; ++i) {
            for (const auto& p : a.send) EXPECT_EQ(as_data(p).block, 1u) << "look_ahead_after " << look_ahead_after;
            if (i == 2) {
                a = t.on_duplicate_request(now);
                packets += a.send.size();
                continue;
            }
            now = *a.deadline;
            a = t.on_timer(now);
            packets += a.send.size();
        }
        for (const auto& p : a.send) EXPECT_EQ(as_data(p).block, 1u);
        EXPECT_TRUE(a.done);
        // Ten resends would take 1 + 2 * 5 + 6 * 4 = 35 s: after six quick
        // ones (1, 3, 5, ... 11 s) and three quiet ones (17, 23, 29 s) the
        // stall limit ends the transfer at 30 s. One more answers the repeat.
        EXPECT_EQ(t.stats().duration, 30s);
        EXPECT_EQ(packets, 1u + 9u + 1u);
        EXPECT_EQ(t.stats().look_ahead_blocks, 0u);
    }
}

TEST(tftp_unanswered, an_oack_nobody_acknowledges_goes_three_more_times) {
    // No negotiated timeout: the OACK goes again every 11 s (past two of
    // atftp's 5 s timers), and the transfer ends when the stall limit
    // (30 s) comes before the timer after the third resend.
    auto t = make_transfer(random_content(100 * 512, 42), {{"tsize", "0"}, {"windowsize", "16"}});
    auto a = t.start(t0);
    int resends = 0;
    EXPECT_EQ(waits_until_done(t, a, t0, resends), (std::vector<transfer_clock::duration>{11s, 11s, 8s}));
    EXPECT_EQ(resends, 2);
    EXPECT_EQ(t.stats().packets_sent, 3u);
    EXPECT_EQ(t.stats().duration, 30s);
    // curl's timeout 6: the OACK at 0, 6.5, 13 and 19.5 s, given up at
    // the timeout after the third resend.
    auto c = make_transfer(random_content(100 * 512, 42), {{"tsize", "0"}, {"timeout", "6"}});
    a = c.start(t0);
    resends = 0;
    EXPECT_EQ(waits_until_done(c, a, t0, resends), (std::vector<transfer_clock::duration>{6500ms, 6500ms, 6500ms, 6500ms}));
    EXPECT_EQ(resends, 3);
    EXPECT_EQ(c.stats().packets_sent, 4u);
    EXPECT_EQ(c.stats().duration, 26s);
    EXPECT_EQ(c.outcome(), transfer_outcome::timed_out);
}

TEST(tftp_unanswered, a_client_whose_ack_0_was_lost_three_times_still_gets_the_file) {
    // curl repeats a lost ACK 0 only after 72 s, so only the OACK resends
    // can recover it. CI saw curl at 10% loss each way hang when the OACK
    // at 0, 6.5 and 13 s all went unanswered and the transfer ended at
    // 15 s; the fourth OACK at 19.5 s is the one that gets through here.
    const auto content = random_content(3 * 512 + 100, 44);
    auto t = make_transfer(content, {{"tsize", "0"}, {"timeout", "6"}});
    auto a = t.start(t0);
    ASSERT_TRUE(a.deadline);
    for (int round = 0; round < 3; ++round) {
        a = t.on_timer(*a.deadline);
        ASSERT_FALSE(a.done) << "given up after resend " << round;
        ASSERT_EQ(a.send.size(), 1u);
    }
    EXPECT_EQ(*a.deadline - t0, 26s);
    const auto now = t0 + 19510ms;
    a = t.on_packet(ack(0), now);
    ASSERT_EQ(data_blocks(a), std::vector<std::uint16_t>{1});
    bytes_t received;
    for (std::uint16_t block = 1; !a.done; ++block) {
        ASSERT_EQ(a.send.size(), 1u);
        const auto d = as_data(a.send[0]);
        received.insert(received.end(), d.payload.begin(), d.payload.end());
        a = t.on_packet(ack(block), now);
    }
    EXPECT_EQ(std::string(received.begin(), received.end()), content);
    EXPECT_EQ(t.outcome(), transfer_outcome::completed);
}

TEST(tftp_unanswered, one_ack_lifts_the_limit) {
    // The first ACK proves the client is at the request's address: from
    // then on the usual loss recovery (30 s, look-ahead) applies.
    auto t = make_transfer(random_content(100 * 512, 43));
    auto a = t.start(t0);
    a = t.on_timer(*a.deadline);
    a = t.on_timer(*a.deadline);
    auto now = *a.deadline - 1ms;
    a = t.on_packet(ack(1), now);
    ASSERT_EQ(data_blocks(a), std::vector<std::uint16_t>{2});
    int resends = 0;
    waits_until_done(t, a, now, resends);
    EXPECT_EQ(t.stats().duration - (now - t0), 30s);
    EXPECT_GT(t.stats().look_ahead_blocks, 0u);
}

TEST(tftp_timer, fast_client_gets_quick_retries_then_quiet) {
    auto [t, a, now] = acknowledged_up_to(10, 2ms, 20);
    int resends = 0;
    // SRTT 2 ms plus four times a variance that has not quite decayed.
    const auto rto = *a.deadline - now;
    EXPECT_GE(rto, 2100us);
    EXPECT_LE(rto, 2500us);
    const auto waits = waits_until_done(t, a, now, resends);
    // Doubling for six retries and at least a second, then quiet 6 s
    // waits until 30 s without progress.
    std::vector<transfer_clock::duration> expected;
    transfer_clock::duration elapsed{};
    for (auto w = rto; expected.size() < 6 || elapsed < 1s; w *= 2) {
        expected.push_back(w);
        elapsed += w;
    }
    EXPECT_EQ(expected.size(), 9u);
    for (; elapsed + 6s < 30s; elapsed += 6s) expected.push_back(6s);
    expected.push_back(30s - elapsed);
    EXPECT_EQ(waits, expected);
    EXPECT_EQ(t.outcome(), transfer_outcome::timed_out);
    EXPECT_EQ(t.stats().duration - 20ms, 30s);  // 30 s after the last ACK
}

TEST(tftp_timer, a_short_pause_costs_the_pause_not_a_quiet_wait) {
    // A client on a fast link (RTT 100 us) stops answering for 50 ms:
    // writing to a slow disk, or a switch port that flapped. After the
    // first timeout the transfer counts as losing packets and its floor
    // drops to 200 us, so six quick retries are spent in about 15 ms;
    // going quiet then would cost 6 s.
    auto [t, a, now] = acknowledged_up_to(10, 100us, 34);
    const auto paused_at = now;
    while (*a.deadline - paused_at < 50ms) a = t.on_timer(now = *a.deadline);
    EXPECT_GE(t.stats().timeouts, 6u);
    EXPECT_LT(*a.deadline - paused_at, 150ms);
}

TEST(tftp_timer, client_deaf_to_duplicates_gets_the_next_block) {
    // atftp 0.8: DATA 11 arrives, its ACK and the one repeat it sends for
    // the first duplicate are lost, and every later duplicate is ignored
    // until its own 5 s timer fires. The second timeout sends block 12
    // after 11: in order for this client, which ACKs it at once.
    auto [t, a, now] = acknowledged_up_to(10, 2ms, 30);
    const auto stalled_at = now;
    a = t.on_timer(now = *a.deadline);
    EXPECT_EQ(data_blocks(a), std::vector<std::uint16_t>{11});  // its ACK is lost
    a = t.on_timer(now = *a.deadline);
    EXPECT_EQ(data_blocks(a), (std::vector<std::uint16_t>{11, 12}));
    EXPECT_EQ(t.stats().look_ahead_blocks, 1u);
    a = t.on_packet(ack(12), now += 2ms);
    EXPECT_EQ(data_blocks(a), std::vector<std::uint16_t>{13});
    EXPECT_LT(now - stalled_at, 10ms);
    // The same client missing block 11 gets 11 and 12 in order and ACKs
    // each: the first is no loss signal, nothing is resent.
    a = t.on_timer(now = *a.deadline);
    a = t.on_timer(now = *a.deadline);
    ASSERT_EQ(data_blocks(a), (std::vector<std::uint16_t>{13, 14}));
    a = t.on_packet(ack(13), now += 1ms);
    EXPECT_TRUE(a.send.empty());
    a = t.on_packet(ack(14), now += 1ms);
    EXPECT_EQ(data_blocks(a), std::vector<std::uint16_t>{15});
}

TEST(tftp_timer, look_ahead_grows_a_window_per_timeout) {
    auto t = make_transfer(random_content(30 * 512 + 100, 31), {{"windowsize", "4"}});
    t.start(t0);
    auto a = t.on_packet(ack(0), t0 + 1ms);
    ASSERT_EQ(data_blocks(a), block_range(1, 4));
    a = t.on_timer(*a.deadline);
    EXPECT_EQ(data_blocks(a), block_range(1, 4));
    a = t.on_timer(*a.deadline);
    EXPECT_EQ(data_blocks(a), block_range(1, 8));
    a = t.on_timer(*a.deadline);
    EXPECT_EQ(data_blocks(a), block_range(1, 12));
    a = t.on_timer(*a.deadline);
    EXPECT_EQ(data_blocks(a), block_range(1, 16));
    a = t.on_timer(*a.deadline);
    EXPECT_EQ(data_blocks(a), block_range(1, 16)) << "three windows ahead at most";
    // ACKs at window boundaries are routine: nothing resent, and with
    // windows still out nothing new either.
    auto now = *a.deadline - 1us;
    a = t.on_packet(ack(4), now);
    EXPECT_TRUE(a.send.empty());
    a = t.on_packet(ack(8), now += 1ms);
    EXPECT_TRUE(a.send.empty());
    // An ACK inside a window is a loss signal as usual.
    a = t.on_packet(ack(14), now += 1ms);
    EXPECT_EQ(data_blocks(a), block_range(15, 18));
    a = t.on_packet(ack(18), now += 1ms);
    EXPECT_EQ(data_blocks(a), block_range(19, 22));
    // A later stall looks ahead no further than the end of the file.
    a = t.on_packet(ack(22), now += 1ms);
    a = t.on_timer(*a.deadline);
    a = t.on_timer(*a.deadline);
    a = t.on_timer(*a.deadline);
    EXPECT_EQ(data_blocks(a), block_range(23, 31));
    a = t.on_packet(ack(31), *a.deadline - 1us);
    EXPECT_TRUE(a.done);
    EXPECT_EQ(t.outcome(), transfer_outcome::completed);
}

TEST(tftp_timer, look_ahead_keeps_every_ack_unambiguous) {
    // windowsize 32768 is the most the engine grants: a look-ahead cannot
    // add to it, or an old 16-bit ACK could name an outstanding block.
    transfer_config cfg;
    cfg.max_windowsize = 40000;
    auto t = make_transfer(random_content(70000 * 8, 33), {{"blksize", "8"}, {"windowsize", "40000"}},
                           transfer_mode::octet, cfg);
    t.start(t0);
    auto a = t.on_packet(ack(0), t0 + 1ms);
    ASSERT_EQ(a.send.size(), 32768u);
    a = t.on_timer(*a.deadline);
    a = t.on_timer(*a.deadline);
    EXPECT_EQ(a.send.size(), 32768u);
    EXPECT_EQ(t.stats().look_ahead_blocks, 0u);
}

TEST(tftp_timer, look_ahead_can_be_turned_off) {
    transfer_config cfg;
    cfg.look_ahead_after = 0;
    auto t = make_transfer(random_content(100 * 512, 32), {}, transfer_mode::octet, cfg);
    auto a = t.start(t0);
    a = t.on_packet(ack(1), t0 + 1ms);
    for (int i = 0; i < 6; ++i) {
        a = t.on_timer(*a.deadline);
        EXPECT_EQ(data_blocks(a), std::vector<std::uint16_t>{2});
    }
    EXPECT_EQ(t.stats().look_ahead_blocks, 0u);
}

TEST(tftp_timer, progress_resets_the_retry_count) {
    auto t = make_transfer(random_content(100 * 512, 21));
    auto a = t.start(t0);
    auto now = t0;
    for (std::uint16_t b = 1; b <= 20; ++b) {
        // Every block needs three timeouts before its ACK gets through.
        for (int i = 0; i < 3; ++i) a = t.on_timer(now = *a.deadline);
        a = t.on_packet(ack(b), now += 1ms);
        ASSERT_FALSE(a.done) << b;
        // No clean sample ever came, so the backoff stays (Karn), at the
        // 2 s ceiling; but the progress resets the retry count: the next
        // block gets quick retries again, not the 6 s quiet wait.
        EXPECT_EQ(*a.deadline - now, 2s) << b;
    }
    EXPECT_EQ(t.stats().timeouts, 60u);
}

TEST(tftp_end, a_new_request_from_the_same_port_replaces_only_a_left_transfer) {
    auto t = make_transfer(random_content(3 * 512 + 10, 37));
    auto a = t.start(t0);
    EXPECT_FALSE(t.replaceable(t0 + 5s)) << "nothing acknowledged: a repeat of the request";
    a = t.on_packet(ack(1), t0 + 1ms);
    EXPECT_FALSE(t.replaceable(t0 + 2ms)) << "in progress: a delayed copy of the request";
    EXPECT_TRUE(t.replaceable(t0 + 1ms + 1s)) << "a second without progress";
    a = t.on_packet(ack(2), t0 + 2ms);
    a = t.on_packet(ack(3), t0 + 3ms);
    ASSERT_EQ(data_blocks(a), std::vector<std::uint16_t>{4});
    ASSERT_TRUE(t.stats().last_block_sent);
    EXPECT_TRUE(t.replaceable(t0 + 4ms)) << "the last block is out: the client may have exited";
    t.replace(t0 + 4ms);
    EXPECT_TRUE(t.done());
    EXPECT_EQ(t.outcome(), transfer_outcome::replaced);
    EXPECT_FALSE(t.deadline());
}

// --- ends -----------------------------------------------------------------------

TEST(tftp_end, client_error_ends_without_reply) {
    auto t = make_transfer(random_content(5000, 22));
    t.start(t0);
    t.on_packet(ack(1), t0 + 1ms);
    const auto a = t.on_packet(encode_error(error_code::disk_full, "full"), t0 + 2ms);
    EXPECT_TRUE(a.send.empty());
    EXPECT_TRUE(a.done);
    EXPECT_EQ(t.outcome(), transfer_outcome::client_error);
    EXPECT_EQ(t.error()->code, error_code::disk_full);
    // Later packets are ignored.
    EXPECT_TRUE(t.on_packet(ack(2), t0 + 3ms).send.empty());
    EXPECT_TRUE(t.on_timer(t0 + 10s).send.empty());
}

TEST(tftp_end, pxe_rom_tsize_probe_is_a_client_error) {
    auto t = make_transfer(random_content(5000, 23), {{"tsize", "0"}});
    t.start(t0);
    const auto a = t.on_packet(encode_error(error_code::not_defined, "TFTP Aborted"), t0 + 1ms);
    EXPECT_TRUE(a.send.empty());
    EXPECT_EQ(t.outcome(), transfer_outcome::client_error);
}

TEST(tftp_end, unexpected_opcodes_get_error_4) {
    const std::vector<std::pair<const char*, bytes_t>> cases = {
        {"DATA", encode_data(1, nullptr, 0)},
        {"RRQ", encode_request(make_rrq())},
        {"OACK", encode_oack({{"blksize", "512"}})},
        {"unknown opcode", bytes_t{0x00, 0x09, 0x00, 0x01}},
    };
    for (const auto& [name, wire] : cases) {
        SCOPED_TRACE(name);
        auto t = make_transfer(random_content(5000, 24));
        t.start(t0);
        const auto a = t.on_packet(wire, t0 + 1ms);
        ASSERT_EQ(a.send.size(), 1u);
        EXPECT_EQ(as_error(a.send[0]).code, error_code::illegal_operation);
        EXPECT_TRUE(a.done);
        EXPECT_EQ(t.outcome(), transfer_outcome::error_sent);
    }
}

TEST(tftp_end, runts_are_ignored) {
    auto t = make_transfer(random_content(5000, 25));
    t.start(t0);
    const auto a = t.on_packet(bytes_t{0x00, 0x04, 0x00}, t0 + 1ms);
    EXPECT_TRUE(a.send.empty());
    EXPECT_FALSE(a.done);
    EXPECT_EQ(t.stats().ignored_packets, 1u);
}

TEST(tftp_end, abort_sends_error_0) {
    auto t = make_transfer(random_content(5000, 26));
    t.start(t0);
    const auto a = t.abort(t0 + 1ms, "server shutting down");
    ASSERT_EQ(a.send.size(), 1u);
    EXPECT_EQ(as_error(a.send[0]), (error_packet{error_code::not_defined, "server shutting down"}));
    EXPECT_EQ(t.outcome(), transfer_outcome::aborted);
}

TEST(tftp_end, write_request_and_mail_mode_are_refused_by_the_engine_too) {
    request wrq = make_rrq();
    wrq.op = opcode::wrq;
    read_transfer w(wrq, source_of("x"));
    auto a = w.start(t0);
    ASSERT_EQ(a.send.size(), 1u);
    EXPECT_EQ(as_error(a.send[0]).code, error_code::access_violation);

    request mail = make_rrq();
    mail.mode = transfer_mode::mail;
    mail.mode_text = "mail";
    read_transfer m(mail, source_of("x"));
    a = m.start(t0);
    ASSERT_EQ(a.send.size(), 1u);
    EXPECT_EQ(as_error(a.send[0]).code, error_code::illegal_operation);
    EXPECT_EQ(m.outcome(), transfer_outcome::error_sent);
}

class failing_source final : public block_source {
public:
    std::optional<std::uint64_t> size() const override { return 10'000; }
    std::optional<std::size_t> read(std::uint64_t offset, std::uint8_t* out, std::size_t len) override {
        if (offset >= 1024) return std::nullopt;
        std::fill(out, out + len, 0x5a);
        return len;
    }
};

TEST(tftp_end, read_error_sends_error_0) {
    read_transfer t(make_rrq(), std::make_unique<failing_source>());
    t.start(t0);
    t.on_packet(ack(1), t0 + 1ms);
    const auto a = t.on_packet(ack(2), t0 + 2ms);  // block 3 starts at 1024
    ASSERT_EQ(a.send.size(), 1u);
    EXPECT_EQ(as_error(a.send[0]).code, error_code::not_defined);
    EXPECT_EQ(t.outcome(), transfer_outcome::error_sent);
}

class shrinking_source final : public block_source {
public:
    std::optional<std::uint64_t> size() const override { return std::nullopt; }
    std::optional<std::size_t> read(std::uint64_t offset, std::uint8_t* out, std::size_t len) override {
        const std::uint64_t end = reads_++ == 0 ? 2000 : 700;
        if (offset >= end) return std::size_t{0};
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(len, end - offset));
        std::fill(out, out + n, 0x11);
        return n;
    }

private:
    int reads_ = 0;
};

TEST(tftp_end, source_changing_under_a_retransmission_is_an_error) {
    read_transfer t(make_rrq({{"blksize", "1024"}}), std::make_unique<shrinking_source>());
    t.start(t0);
    auto a = t.on_packet(ack(0), t0 + 1ms);
    ASSERT_EQ(data_blocks(a), std::vector<std::uint16_t>{1});
    a = t.on_timer(*a.deadline);  // block 1 now reads back 700 bytes
    ASSERT_EQ(a.send.size(), 1u);
    EXPECT_EQ(as_error(a.send[0]).code, error_code::not_defined);
    EXPECT_EQ(t.outcome(), transfer_outcome::error_sent);
}

// --- netascii -------------------------------------------------------------------

TEST(tftp_netascii, converts_line_ends) {
    auto t = make_transfer("a\nb\rc\r\n", {}, transfer_mode::netascii);
    const auto a = t.start(t0);
    ASSERT_EQ(a.send.size(), 1u);
    const std::string expected("a\r\nb\r\0c\r\0\r\n", 11);
    EXPECT_EQ(as_data(a.send[0]).payload, bytes_t(expected.begin(), expected.end()));
}

TEST(tftp_netascii, cr_lf_pair_split_across_blocks) {
    // blksize 8: the CR of the LF expansion ends block 1, its LF opens block 2.
    auto t = make_transfer("1234567\nabc", {{"blksize", "8"}}, transfer_mode::netascii);
    t.start(t0);
    auto a = t.on_packet(ack(0), t0 + 1ms);
    ASSERT_EQ(a.send.size(), 1u);
    EXPECT_EQ(as_data(a.send[0]).payload, bytes_t({'1', '2', '3', '4', '5', '6', '7', '\r'}));
    a = t.on_packet(ack(1), t0 + 2ms);
    ASSERT_EQ(a.send.size(), 1u);
    EXPECT_EQ(as_data(a.send[0]).payload, bytes_t({'\n', 'a', 'b', 'c'}));
    t.on_packet(ack(2), t0 + 3ms);
    EXPECT_EQ(t.outcome(), transfer_outcome::completed);
}

TEST(tftp_netascii, cr_nul_pair_split_across_blocks_and_resent) {
    auto t = make_transfer("1234567\rX", {{"blksize", "8"}, {"windowsize", "4"}}, transfer_mode::netascii);
    t.start(t0);
    const auto a = t.on_packet(ack(0), t0 + 1ms);
    ASSERT_EQ(a.send.size(), 2u);
    EXPECT_EQ(as_data(a.send[0]).payload, bytes_t({'1', '2', '3', '4', '5', '6', '7', '\r'}));
    EXPECT_EQ(as_data(a.send[1]).payload, bytes_t({'\0', 'X'}));
    // Resent from its cursor, block 2 still starts with the carried NUL.
    const auto again = t.on_packet(ack(1), t0 + 2ms);
    ASSERT_EQ(again.send.size(), 1u);
    EXPECT_EQ(again.send[0], a.send[1]);
}

TEST(tftp_netascii, exact_fit_ends_with_empty_block) {
    // "abc\n" becomes 5 bytes... "abcdef\n" becomes exactly 8.
    auto t = make_transfer("abcdef\n", {{"blksize", "8"}}, transfer_mode::netascii);
    t.start(t0);
    auto a = t.on_packet(ack(0), t0);
    EXPECT_EQ(as_data(a.send[0]).payload.size(), 8u);
    a = t.on_packet(ack(1), t0);
    EXPECT_TRUE(as_data(a.send[0]).payload.empty());
}

TEST(tftp_netascii, whole_files_match_the_reference_conversion) {
    // Text with many line ends, including CR LF pairs already in the source.
    std::string text;
    std::mt19937 rng(27);
    const char alphabet[] = "abc \r\n\n";
    for (int i = 0; i < 20'000; ++i) text += alphabet[rng() % (sizeof alphabet - 1)];
    for (const char* blksize : {"8", "9", "512", "1468"}) {
        for (const char* window : {"1", "7"}) {
            SCOPED_TRACE(std::string("blksize ") + blksize + " windowsize " + window);
            auto t = make_transfer(text, {{"blksize", blksize}, {"windowsize", window}}, transfer_mode::netascii);
            const auto r = simulate(t, 1ms, lossy{0.03, 5}, lossy{0.03, 6});
            EXPECT_EQ(r.outcome, transfer_outcome::completed);
            EXPECT_EQ(r.received, to_netascii(text));
        }
    }
}

// --- the loss goal ------------------------------------------------------------

TEST(tftp_loss, five_percent_loss_costs_a_few_round_trips_not_seconds) {
    // 16 MiB at 1468-byte blocks over a link with 0.25 ms each way (a LAN
    // with a busy host). Loss is 5% of packets in each direction.
    const std::string content = random_content(16 << 20, 28);
    const auto one_way = 250us;
    for (const char* window : {"1", "16"}) {
        SCOPED_TRACE(std::string("windowsize ") + window);
        const std::vector<option> options = {{"blksize", "1468"}, {"windowsize", window}};
        auto clean = make_transfer(content, options);
        const auto base = simulate_lossless(clean, one_way);
        ASSERT_EQ(base.outcome, transfer_outcome::completed);
        auto lossy_transfer = make_transfer(content, options);
        const auto r = simulate(lossy_transfer, one_way, lossy{0.05, 7}, lossy{0.05, 8});
        ASSERT_EQ(r.outcome, transfer_outcome::completed);
        EXPECT_EQ(r.received.size(), content.size());
        EXPECT_TRUE(r.received == content);
        const double ratio = std::chrono::duration<double>(r.elapsed) / std::chrono::duration<double>(base.elapsed);
        RecordProperty(std::string("ratio_window_") + window, std::to_string(ratio));
        EXPECT_LE(ratio, 5.0) << "lossless " << std::chrono::duration<double>(base.elapsed).count() << " s, lossy "
                              << std::chrono::duration<double>(r.elapsed).count() << " s";
    }
}

TEST(tftp_loss, atftp_like_client_deaf_to_repeated_duplicates_stays_within_5x) {
    // The same link with atftp 0.8's habits: one extra ACK per gap or
    // duplicate, then silence until an in-order block or its 5 s timer.
    // Without the look-ahead, every ACK lost together with its one repeat
    // costs 5 s.
    const std::string content = random_content(16 << 20, 29);
    const auto one_way = 250us;
    sim_client atftp;
    atftp.one_extra_ack = true;
    for (const char* window : {"1", "16"}) {
        SCOPED_TRACE(std::string("windowsize ") + window);
        const std::vector<option> options = {{"blksize", "1468"}, {"windowsize", window}};
        auto clean = make_transfer(content, options);
        auto never = [](std::uint64_t) { return false; };
        const auto base = simulate(clean, one_way, never, never, 5s, atftp);
        ASSERT_EQ(base.outcome, transfer_outcome::completed);
        auto lossy_transfer = make_transfer(content, options);
        const auto r = simulate(lossy_transfer, one_way, lossy{0.05, 9}, lossy{0.05, 10}, 5s, atftp);
        ASSERT_EQ(r.outcome, transfer_outcome::completed);
        EXPECT_TRUE(r.received == content);
        const double ratio = std::chrono::duration<double>(r.elapsed) / std::chrono::duration<double>(base.elapsed);
        RecordProperty(std::string("atftp_ratio_window_") + window, std::to_string(ratio));
        EXPECT_LE(ratio, 5.0) << "lossless " << std::chrono::duration<double>(base.elapsed).count() << " s, lossy "
                              << std::chrono::duration<double>(r.elapsed).count() << " s, look-ahead blocks "
                              << r.stats.look_ahead_blocks;
    }
}

// --- front door ------------------------------------------------------------------

TEST(tftp_front_door, verdicts) {
    const auto rrq = decode(encode_request(make_rrq()));
    EXPECT_EQ(front_door(rrq).verdict, door_verdict::accept);

    request wrq = make_rrq();
    wrq.op = opcode::wrq;
    const auto w = front_door(decode(encode_request(wrq)));
    EXPECT_EQ(w.verdict, door_verdict::refuse);
    EXPECT_EQ(w.code, error_code::access_violation);
    EXPECT_EQ(w.reply, encode_error(error_code::access_violation, "pxed is read-only"));

    request mail = make_rrq();
    mail.mode_text = "MAIL";
    const auto m = front_door(decode(encode_request(mail)));
    EXPECT_EQ(m.verdict, door_verdict::refuse);
    EXPECT_EQ(m.code, error_code::illegal_operation);

    request weird = make_rrq();
    weird.mode_text = "binary";
    const auto u = front_door(decode(encode_request(weird)));
    EXPECT_EQ(u.verdict, door_verdict::refuse);
    EXPECT_EQ(u.code, error_code::illegal_operation);

    const bytes_t empty_name = {0x00, 0x01, 0x00, 'o', 'c', 't', 'e', 't', 0x00};
    const auto bad = front_door(decode(empty_name));
    EXPECT_EQ(bad.verdict, door_verdict::refuse);
    EXPECT_EQ(bad.code, error_code::illegal_operation);
    EXPECT_EQ(bad.reason, "malformed request: empty filename");
    EXPECT_EQ(as_error(bad.reply).message, "malformed request: empty filename");

    EXPECT_EQ(front_door(decode(encode_ack(1))).verdict, door_verdict::drop);
    EXPECT_EQ(front_door(decode(encode_error(error_code::not_defined, "x"))).verdict, door_verdict::drop);
    EXPECT_EQ(front_door(decode(bytes_t{0x47, 0x45, 0x54, 0x20})).verdict, door_verdict::drop);  // "GET "
    EXPECT_EQ(front_door(decode(bytes_t{})).verdict, door_verdict::drop);
}

TEST(tftp_front_door, unknown_tid_reply) {
    EXPECT_EQ(unknown_tid_reply(),
              (bytes_t{0x00, 0x05, 0x00, 0x05, 'U', 'n', 'k', 'n', 'o', 'w', 'n', ' ', 't', 'r', 'a', 'n', 's', 'f',
                       'e', 'r', ' ', 'I', 'D', 0x00}));
}

}  // namespace
}  // namespace pxed::tftp

namespace pxed::tftp {
namespace {

// --- fair shares of the transfer slots (issue 16) -----------------------------

constexpr std::uint32_t ip(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    return std::uint32_t{a} << 24 | std::uint32_t{b} << 16 | std::uint32_t{c} << 8 | d;
}

TEST(tftp_shares, the_client_cap_refuses_one_address_not_another) {
    transfer_shares shares({4096, 16});
    const auto flooder = ip(10, 0, 0, 66);
    const auto host = ip(10, 0, 0, 21);
    for (int i = 0; i < 16; ++i) EXPECT_EQ(shares.admit(flooder, t0).verdict, admission::accept) << i;
    // The 17th, whatever its source port: refused, and reported.
    const auto d = shares.admit(flooder, t0);
    EXPECT_EQ(d.verdict, admission::client_full);
    EXPECT_TRUE(d.report);
    EXPECT_EQ(d.running, 16u);
    EXPECT_EQ(d.held_back, 0u);
    EXPECT_EQ(shares.admit(host, t0).verdict, admission::accept);
    EXPECT_EQ(shares.running(), 17u);
    EXPECT_EQ(shares.running(flooder), 16u);
    // One of the flooder's transfers ends: it may start one more.
    shares.release(flooder);
    EXPECT_EQ(shares.admit(flooder, t0 + 1s).verdict, admission::accept);
    EXPECT_EQ(shares.admit(flooder, t0 + 1s).verdict, admission::client_full);
}

TEST(tftp_shares, a_refused_client_is_reported_once_per_ten_seconds_with_a_count) {
    transfer_shares shares({4096, 2});
    const auto a = ip(10, 0, 0, 1);
    const auto b = ip(10, 0, 0, 2);
    for (int i = 0; i < 2; ++i) {
        shares.admit(a, t0);
        shares.admit(b, t0);
    }
    EXPECT_TRUE(shares.admit(a, t0).report);
    for (int i = 0; i < 99; ++i) EXPECT_FALSE(shares.admit(a, t0 + 1s).report);
    // Another client's budget is its own.
    EXPECT_TRUE(shares.admit(b, t0 + 2s).report);
    const auto later = shares.admit(a, t0 + 10s);
    EXPECT_TRUE(later.report);
    EXPECT_EQ(later.held_back, 99u);
    // The budget outlives a batch of transfers ending: a client whose
    // transfers end quickly is not reported once per batch.
    shares.release(a);
    shares.release(a);
    EXPECT_EQ(shares.running(a), 0u);
    shares.admit(a, t0 + 11s);
    shares.admit(a, t0 + 11s);
    EXPECT_FALSE(shares.admit(a, t0 + 11s).report);
}

TEST(tftp_shares, a_client_over_its_share_is_answered_once_a_second) {
    // Each ERROR goes to whoever owns the request's source address, which
    // may be forged: a flood from one address gets one a second, not one
    // per request.
    transfer_shares shares({4096, 1});
    const auto a = ip(10, 0, 0, 1);
    shares.admit(a, t0);
    EXPECT_TRUE(shares.admit(a, t0).answer);
    int answered = 0;
    for (int ms = 1; ms <= 3000; ++ms) answered += shares.admit(a, t0 + std::chrono::milliseconds(ms)).answer;
    EXPECT_EQ(answered, 3);  // at 1, 2 and 3 s
    // "server busy" is always answered: it is no one client's doing.
    transfer_shares full({1, 16});
    full.admit(a, t0);
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(full.admit(ip(10, 0, 0, 2), t0).answer);
}

TEST(tftp_shares, a_storm_of_distinct_clients_is_served_in_arrival_order) {
    // 5000 machines powering on at once, one request each: the first 4096
    // start, the rest are told "server busy" (one report per ten seconds),
    // and nothing running is evicted for them.
    transfer_shares shares({4096, 16});
    std::size_t accepted = 0, reports = 0;
    for (std::uint32_t i = 0; i < 5000; ++i) {
        const auto d = shares.admit(ip(10, 1, 0, 0) + i, t0);
        if (d.verdict == admission::accept) {
            EXPECT_LT(i, 4096u) << "accepted out of order";
            ++accepted;
        } else {
            EXPECT_EQ(d.verdict, admission::server_full);
            EXPECT_GE(i, 4096u);
            reports += d.report;
        }
    }
    EXPECT_EQ(accepted, 4096u);
    EXPECT_EQ(reports, 1u);
    // As transfers end, the next requests start.
    shares.release(ip(10, 1, 0, 0));
    EXPECT_EQ(shares.admit(ip(10, 1, 0, 0) + 4096, t0 + 1s).verdict, admission::accept);
}

TEST(tftp_shares, forgets_clients_it_no_longer_needs) {
    transfer_shares shares({4096, 1});
    // 1000 clients refused once each, then their transfers end.
    for (std::uint32_t i = 0; i < 1000; ++i) {
        shares.admit(i + 1, t0);
        shares.admit(i + 1, t0);
        shares.release(i + 1);
    }
    EXPECT_EQ(shares.running(), 0u);
    // Still within the ten seconds: a new refusal is not reported again.
    shares.admit(1, t0 + 5s);
    EXPECT_FALSE(shares.admit(1, t0 + 5s).report);
    shares.release(1);
    // Later, every idle one is swept; a new episode is reported again.
    shares.admit(1, t0 + 20s);
    EXPECT_TRUE(shares.admit(1, t0 + 20s).report);
    EXPECT_EQ(shares.running(), 1u);
}

}  // namespace
}  // namespace pxed::tftp
