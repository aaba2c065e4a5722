// The board of running transfers (net/transfer_board.hpp): what add()
// registers, what snapshot() shows, and that a ticket, however it is moved
// or reset, takes its transfer off the board exactly once. The servers'
// use of it is tested with them (tftp_server_test, ftp_server_test).

#include "pxed/net/transfer_board.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace pxed::net {
namespace {

constexpr std::uint32_t loopback = 0x7f000001;

TEST(TransferBoard, StartsEmpty) {
    transfer_board board;
    EXPECT_EQ(board.size(), 0u);
    EXPECT_TRUE(board.snapshot().empty());
    transfer_board::ticket none;
    EXPECT_FALSE(none);
    none.sent(10);  // an empty ticket does nothing
    none.set_size(10);
    none.reset();
    EXPECT_EQ(board.size(), 0u);
}

TEST(TransferBoard, AddShowsTheTransferAsRegistered) {
    transfer_board board;
    auto t = board.add("tftp", loopback, "pxelinux.0", 4096, 1700000000123);
    EXPECT_TRUE(t);
    ASSERT_EQ(board.size(), 1u);
    const auto v = board.snapshot();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_NE(v[0].id, 0u);
    EXPECT_EQ(v[0].protocol, "tftp");
    EXPECT_EQ(v[0].client, loopback);
    EXPECT_EQ(v[0].path, "pxelinux.0");
    EXPECT_EQ(v[0].size, 4096u);
    EXPECT_EQ(v[0].bytes, 0u);
    EXPECT_EQ(v[0].started_ms, 1700000000123);
}

TEST(TransferBoard, SentAndSetSizeShowInTheNextSnapshot) {
    transfer_board board;
    auto t = board.add("ftp", loopback, "/images/initrd.img", 0, 1);
    EXPECT_EQ(board.snapshot()[0].size, 0u) << "unknown";
    t.sent(1000);
    t.set_size(5000);
    EXPECT_EQ(board.snapshot()[0].bytes, 1000u);
    EXPECT_EQ(board.snapshot()[0].size, 5000u);
    t.sent(5000);  // a total, not an increment
    EXPECT_EQ(board.snapshot()[0].bytes, 5000u);
}

TEST(TransferBoard, SnapshotIsOldestFirstWithDistinctIds) {
    transfer_board board;
    std::vector<transfer_board::ticket> tickets;
    for (int i = 0; i < 20; ++i)
        tickets.push_back(board.add("http", loopback + static_cast<std::uint32_t>(i), "f" + std::to_string(i), 0, i));
    const auto v = board.snapshot();
    ASSERT_EQ(v.size(), 20u);
    for (std::size_t i = 0; i < v.size(); ++i) {
        EXPECT_EQ(v[i].path, "f" + std::to_string(i));
        if (i > 0) {
            EXPECT_GT(v[i].id, v[i - 1].id);
        }
    }
}

TEST(TransferBoard, ATransferLeavesWhenItsTicketGoes) {
    transfer_board board;
    auto kept = board.add("tftp", loopback, "kept", 0, 0);
    {
        auto gone = board.add("tftp", loopback, "gone", 0, 0);
        EXPECT_EQ(board.size(), 2u);
    }
    ASSERT_EQ(board.size(), 1u);
    EXPECT_EQ(board.snapshot()[0].path, "kept");
    kept.reset();
    EXPECT_FALSE(kept);
    EXPECT_EQ(board.size(), 0u);
    kept.reset();  // twice: nothing more
    kept.sent(1);
    EXPECT_EQ(board.size(), 0u);
}

TEST(TransferBoard, AMovedTicketCarriesItsTransfer) {
    transfer_board board;
    auto a = board.add("tftp", loopback, "a", 0, 0);
    transfer_board::ticket b(std::move(a));
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty, by contract
    EXPECT_TRUE(b);
    a.reset();  // the moved-from ticket no longer removes anything
    EXPECT_EQ(board.size(), 1u);
    b.sent(7);
    EXPECT_EQ(board.snapshot()[0].bytes, 7u);
    {
        const transfer_board::ticket c(std::move(b));
    }
    EXPECT_EQ(board.size(), 0u);
}

TEST(TransferBoard, MoveAssignmentDropsTheTransferItReplaces) {
    transfer_board board;
    auto old_one = board.add("tftp", loopback, "old", 0, 0);
    auto new_one = board.add("tftp", loopback, "new", 0, 0);
    old_one = std::move(new_one);
    EXPECT_FALSE(new_one);  // NOLINT(bugprone-use-after-move)
    ASSERT_EQ(board.size(), 1u);
    EXPECT_EQ(board.snapshot()[0].path, "new");
    // Onto itself: still there.
    auto& same = old_one;
    old_one = std::move(same);
    ASSERT_EQ(board.size(), 1u);
    // Into an empty ticket.
    transfer_board::ticket empty;
    empty = std::move(old_one);
    ASSERT_EQ(board.size(), 1u);
    EXPECT_EQ(board.snapshot()[0].path, "new");
    // An empty ticket assigned over a live one ends it.
    empty = transfer_board::ticket();
    EXPECT_EQ(board.size(), 0u);
}

TEST(TransferBoard, TicketsOfOneBoardDoNotTouchAnother) {
    transfer_board one, two;
    auto a = one.add("tftp", loopback, "a", 0, 0);
    auto b = two.add("ftp", loopback, "b", 0, 0);
    a.reset();
    EXPECT_EQ(one.size(), 0u);
    ASSERT_EQ(two.size(), 1u);
    EXPECT_EQ(two.snapshot()[0].path, "b");
}

// Threads register, count and drop transfers at once, as TFTP's data
// threads and the loop do, while another takes snapshots: every count a
// snapshot sees is one its writer stored, and the board ends empty. (Run
// it under ThreadSanitizer for the data races themselves.)
TEST(TransferBoard, ManyThreadsAddCountAndDropAtOnce) {
    transfer_board board;
    constexpr int writers = 4, rounds = 500, held = 8;
    std::atomic<bool> done{false};
    std::atomic<std::size_t> bad{0}, snapshots{0};
    std::thread reader([&] {
        do {
            for (const auto& v : board.snapshot()) {
                // Every writer stores multiples of 100 up to the size.
                if (v.bytes % 100 != 0 || v.bytes > v.size || v.protocol != "tftp") ++bad;
            }
            ++snapshots;
        } while (!done.load());
    });
    std::vector<std::vector<transfer_board::ticket>> kept(writers);
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w) {
        threads.emplace_back([&board, &kept, w] {
            std::vector<transfer_board::ticket> mine;
            for (int r = 0; r < rounds; ++r) {
                mine.push_back(board.add("tftp", loopback + static_cast<std::uint32_t>(w), "file", 1000, r));
                for (std::uint64_t b = 100; b <= 1000; b += 100) mine.back().sent(b);
                if (mine.size() > held) mine.erase(mine.begin());  // the oldest ends
            }
            kept[static_cast<std::size_t>(w)] = std::move(mine);
        });
    }
    for (auto& t : threads) t.join();
    done = true;
    reader.join();
    EXPECT_EQ(bad.load(), 0u);
    EXPECT_GT(snapshots.load(), 0u);
    // Each writer's last `held` are still on, each with its last count.
    const auto v = board.snapshot();
    EXPECT_EQ(v.size(), static_cast<std::size_t>(writers * held));
    for (const auto& e : v) EXPECT_EQ(e.bytes, 1000u);
    kept.clear();
    EXPECT_EQ(board.size(), 0u);
}

TEST(TransferBoard, TheBoardEmptiesWhenEveryThreadsTicketsGo) {
    transfer_board board;
    std::vector<std::thread> threads;
    for (int w = 0; w < 4; ++w) {
        threads.emplace_back([&board] {
            std::vector<transfer_board::ticket> mine;
            for (int r = 0; r < 200; ++r) mine.push_back(board.add("ftp", loopback, "x", 0, 0));
            // Moved around, then dropped.
            std::vector<transfer_board::ticket> moved;
            for (auto& t : mine) moved.push_back(std::move(t));
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(board.size(), 0u);
}

TEST(TransferBoard, UnixMsNowIsTheWallClock) {
    const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const auto now = unix_ms_now();
    const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    EXPECT_GE(now, before);
    EXPECT_LE(now, after);
}

}  // namespace
}  // namespace pxed::net
