#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "pxed/store/hosts.hpp"
#include "pxed/store/leases.hpp"
#include "pxed/store/trace.hpp"

using namespace pxed;
namespace stdfs = std::filesystem;

namespace {

struct temp_dir {
    stdfs::path path;
    temp_dir() {
        char tmpl[] = "/tmp/pxed-store-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~temp_dir() { stdfs::remove_all(path); }
};

store::lease sample(std::uint32_t host, store::lease_state s = store::lease_state::bound) {
    store::lease l;
    l.ip = wire::ipv4_address(0x0a000000u + host);
    l.mac = wire::mac_address::parse("52:54:00:00:00:0" + std::to_string(host % 10));
    l.client_key = std::string("\x52\x54\x00\x00\x00", 5) + static_cast<char>(host % 10);
    l.hostname = "h" + std::to_string(host);
    l.state = s;
    l.starts = 1000;
    l.ends = 4600;
    l.subnet = "10.0.0.0/24";
    return l;
}

TEST(lease_store, writes_survive_reopening) {
    temp_dir d;
    const auto file = (d.path / "leases.sqlite3").string();
    {
        store::lease_store s(file);
        std::string err;
        ASSERT_TRUE(s.apply({sample(5), sample(6, store::lease_state::declined)}, err)) << err;
        auto changed = sample(5, store::lease_state::released);
        ASSERT_TRUE(s.apply({changed}, err)) << err;
    }
    store::lease_store again(file);
    const auto all = again.load();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0], sample(5, store::lease_state::released));
    EXPECT_EQ(all[1], sample(6, store::lease_state::declined));
    EXPECT_EQ(store::read_leases(file), all);
}

TEST(lease_store, client_keys_are_binary_safe) {
    temp_dir d;
    store::lease_store s((d.path / "l.db").string());
    auto l = sample(7);
    l.client_key = std::string("id:\0\xff\x01", 6);
    l.mac.reset();
    std::string err;
    ASSERT_TRUE(s.apply({l}, err)) << err;
    EXPECT_EQ(s.load().at(0), l);
}

TEST(lease_store, forgets_old_free_rows_only) {
    temp_dir d;
    store::lease_store s((d.path / "l.db").string());
    std::string err;
    ASSERT_TRUE(s.apply({sample(1), sample(2, store::lease_state::expired), sample(3, store::lease_state::released)}, err));
    EXPECT_EQ(s.forget_before(5000), 2u);
    ASSERT_EQ(s.load().size(), 1u);
    EXPECT_EQ(s.load()[0].state, store::lease_state::bound);
}

TEST(lease_store, refuses_a_file_that_is_not_a_database) {
    temp_dir d;
    const auto file = (d.path / "junk").string();
    std::ofstream(file) << "this is not sqlite, just text that is long enough to have a header............";
    EXPECT_THROW(store::lease_store s(file), std::runtime_error);
    EXPECT_THROW(store::read_leases(file), std::runtime_error);
    EXPECT_THROW(store::read_leases((d.path / "missing").string()), std::runtime_error);
}

// The state directory is the service user's and the databases are opened
// as root: a symlink in place of a database, or of its WAL file, is refused
// and what it names is neither created nor written.
TEST(lease_store, never_follows_a_symlink) {
    temp_dir d;
    const auto target = d.path / "elsewhere";
    const auto db = (d.path / "leases.sqlite3").string();
    stdfs::create_symlink(target, db);
    EXPECT_THROW(store::lease_store s(db), std::runtime_error);
    EXPECT_FALSE(stdfs::exists(target));
    stdfs::remove(db);
    { store::lease_store s(db); }
    stdfs::remove(db + "-wal");
    stdfs::create_symlink(target, db + "-wal");
    EXPECT_THROW(store::lease_store s(db), std::runtime_error);
    EXPECT_FALSE(stdfs::exists(target));
}

// Checkpoints. SQLite's automatic checkpoint runs inside a COMMIT once the
// WAL holds 1,000 pages (with fsyncs, on whichever thread commits: the event
// loop's, once); the store turns it off and checkpoints elsewhere.

store::lease numbered(std::uint32_t n) {
    auto l = sample(n);
    l.ip = wire::ipv4_address(0x0a000000u + n);
    l.client_key = "client-" + std::to_string(n);
    return l;
}

TEST(lease_store_wal, a_commit_never_checkpoints) {
    temp_dir d;
    const auto file = (d.path / "l.db").string();
    store::wal_policy w;
    w.background = false;
    w.restart_pages = 1'000'000;
    store::lease_store s(file, store::durability::process_crash, w);
    std::string err;
    std::uint32_t most = 0;
    for (std::uint32_t i = 0; i < 700; ++i) {
        ASSERT_TRUE(s.apply({numbered(i)}, err)) << err;
        const auto pages = s.stats().wal_pages;
        ASSERT_GE(pages, most) << "the WAL started over: something checkpointed on the committing thread";
        most = pages;
    }
    EXPECT_GT(most, 1000u) << "past SQLite's automatic checkpoint";
    EXPECT_GT(stdfs::file_size(file + "-wal"), 1000u * 4096);
    EXPECT_EQ(s.stats().writer_checkpoints, 0u);
}

TEST(lease_store_wal, the_checkpointer_copies_the_wal_and_it_starts_over) {
    temp_dir d;
    const auto file = (d.path / "l.db").string();
    store::wal_policy w;
    w.checkpoint_pages = 50;
    w.checkpoint_interval = std::chrono::milliseconds(20);
    w.restart_pages = 1'000'000;
    store::lease_store s(file, store::durability::process_crash, w);
    std::string err;
    std::uint32_t n = 0, most = 0;
    bool started_over = false;
    // Commits, with pauses now and then for the checkpointer to catch up;
    // once it has copied everything the next commit writes the WAL from
    // its start again.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!started_over && std::chrono::steady_clock::now() < give_up) {
        ASSERT_TRUE(s.apply({numbered(n++)}, err)) << err;
        const auto pages = s.stats().wal_pages;
        started_over = pages < most;
        most = std::max(most, pages);
        if (n % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(started_over);
    EXPECT_GT(s.stats().background_checkpoints, 0u);
    EXPECT_EQ(s.stats().writer_checkpoints, 0u) << "the committing thread never had to";
    EXPECT_EQ(store::read_leases(file).size(), n);
}

TEST(lease_store_wal, past_the_bound_the_writer_checkpoints_itself) {
    temp_dir d;
    const auto file = (d.path / "l.db").string();
    store::wal_policy w;
    w.background = false;  // a checkpointer that never runs
    w.checkpoint_pages = 20;
    w.restart_pages = 100;
    std::uint32_t most = 0;
    {
        store::lease_store s(file, store::durability::process_crash, w);
        std::string err;
        for (std::uint32_t i = 0; i < 500; ++i) {
            ASSERT_TRUE(s.apply({numbered(i)}, err)) << err;
            most = std::max(most, s.stats().wal_pages);
        }
        EXPECT_GE(s.stats().writer_checkpoints, 3u);
        EXPECT_EQ(s.stats().writer_checkpoints_behind, s.stats().writer_checkpoints) << "the checkpointer never ran";
        EXPECT_GE(s.stats().last_writer_backlog, 100u);
    }
    EXPECT_LE(most, 110u) << "the WAL is bounded";
    const auto all = store::read_leases(file);
    ASSERT_EQ(all.size(), 500u);
    EXPECT_EQ(all[499], numbered(499));
}

// commit() on the event loop: a plain commit is done at once on the
// caller's thread; the one that has to copy the WAL first (restart_pages),
// and those queued behind it, on the writer thread; all in order.
TEST(lease_store_wal, commit_never_checkpoints_on_the_callers_thread) {
    temp_dir d;
    const auto file = (d.path / "l.db").string();
    store::wal_policy w;
    w.background = false;
    w.restart_pages = 100;
    std::mutex m;
    std::condition_variable cv;
    struct completion {
        std::uint32_t batch;
        bool here;
        std::uint64_t writer_checkpoints;
    };
    std::vector<completion> done;
    const auto me = std::this_thread::get_id();
    {
        store::lease_store s(file, store::durability::process_crash, w);
        for (std::uint32_t b = 0; b < 400; ++b) {
            // Each batch rewrites lease 0 too: the last one committed wins.
            auto first = numbered(0);
            first.hostname = "batch" + std::to_string(b);
            s.commit({numbered(b + 1), first}, [&, b](const store::commit_outcome& r) {
                EXPECT_TRUE(r.ok) << r.error;
                std::lock_guard lk(m);
                done.push_back({b, std::this_thread::get_id() == me, s.stats().writer_checkpoints});
                cv.notify_one();
            });
            // In bursts of four, as requests come to the event loop.
            if (b % 4 == 3) {
                std::unique_lock lk(m);
                cv.wait(lk, [&] { return done.size() == b + 1; });
            }
        }
        s.stop_writer();
        std::lock_guard lk(m);
        ASSERT_EQ(done.size(), 400u) << "stop_writer commits what is queued";
        std::uint64_t seen = 0;
        std::size_t elsewhere = 0;
        for (std::uint32_t b = 0; b < 400; ++b) {
            EXPECT_EQ(done[b].batch, b) << "in order";
            if (done[b].here) {
                EXPECT_EQ(done[b].writer_checkpoints, seen) << "batch " << b << " checkpointed here";
            }
            elsewhere += !done[b].here;
            seen = done[b].writer_checkpoints;
        }
        EXPECT_GE(seen, 2u);
        EXPECT_GE(elsewhere, seen);
        // Those queued while the writer thread was busy go there too (more
        // of them on a loaded machine); most are done at once.
        EXPECT_LE(elsewhere, 300u);
        EXPECT_LE(s.stats().wal_pages, 110u);
        // After stop_writer, at once on this thread, checkpoint or not.
        bool called = false;
        s.commit({numbered(1000)}, [&](const store::commit_outcome& r) { called = r.ok && std::this_thread::get_id() == me; });
        EXPECT_TRUE(called);
    }
    const auto all = store::read_leases(file);
    ASSERT_EQ(all.size(), 402u);
    EXPECT_EQ(all[0].hostname, "batch399");
}

// With synchronous=FULL every commit waits for an fsync: never on the caller's thread.
TEST(lease_store_wal, with_power_loss_durability_commits_go_to_the_writer_thread) {
    temp_dir d;
    const auto file = (d.path / "l.db").string();
    std::mutex m;
    std::vector<std::thread::id> on;
    {
        store::lease_store s(file, store::durability::power_loss);
        for (std::uint32_t b = 0; b < 5; ++b)
            s.commit({numbered(b)}, [&](const store::commit_outcome& r) {
                EXPECT_TRUE(r.ok) << r.error;
                std::lock_guard lk(m);
                on.push_back(std::this_thread::get_id());
            });
        s.stop_writer();
    }
    ASSERT_EQ(on.size(), 5u);
    for (const auto& t : on) EXPECT_NE(t, std::this_thread::get_id());
    EXPECT_EQ(store::read_leases(file).size(), 5u);
}

store::host_record host_sample(int n, store::host_state s) {
    store::host_record r;
    r.mac = *wire::mac_address::parse("52:54:00:00:00:0" + std::to_string(n));
    r.hostname = "node" + std::to_string(n);
    r.profile = "centos7";
    r.state = s;
    r.generation = 3;
    r.token = std::string(32, static_cast<char>('a' + n));  // n is a single digit
    r.last_seen = 1000 + n;
    r.install_started = 900;
    r.install_done = s == store::host_state::installed ? 950 : 0;
    r.changed_at = 950;
    r.changed_by = "pxed reinstall (uid 0 pid 7)";
    r.last_event = "fetched its kickstart";
    return r;
}

}  // namespace

TEST(host_store, records_survive_reopening_and_are_replaced_by_mac) {
    temp_dir d;
    const auto file = (d.path / store::host_file_name).string();
    {
        store::host_store s(file);
        std::string err;
        ASSERT_TRUE(s.save({host_sample(2, store::host_state::installing), host_sample(1, store::host_state::pending)}, err))
            << err;
        ASSERT_TRUE(s.save({host_sample(2, store::host_state::installed)}, err)) << err;
    }
    store::host_store again(file);
    const auto all = again.load();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0], host_sample(1, store::host_state::pending));
    EXPECT_EQ(all[1], host_sample(2, store::host_state::installed));
}

TEST(host_store, a_state_this_version_does_not_know_reads_as_failed) {
    temp_dir d;
    const auto file = (d.path / store::host_file_name).string();
    {
        store::host_store s(file);
        std::string err;
        ASSERT_TRUE(s.save({host_sample(1, store::host_state::pending)}, err)) << err;
    }
    ASSERT_EQ(std::system(("sqlite3 " + file + " \"UPDATE hosts SET state='frozen'\" 2>/dev/null || "
                           "python3 -c \"import sqlite3; c=sqlite3.connect('" + file +
                           "'); c.execute(\\\"UPDATE hosts SET state='frozen'\\\"); c.commit()\"")
                              .c_str()),
              0);
    store::host_store again(file);
    const auto all = again.load();
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].state, store::host_state::failed) << "never reinstalled behind anyone's back";
}

TEST(host_store, refuses_a_file_that_is_not_a_database) {
    temp_dir d;
    const auto file = (d.path / "hosts.sqlite3").string();
    std::ofstream(file) << "not a database, but long enough to have a header that SQLite reads and refuses.....";
    EXPECT_THROW(store::host_store s(file), std::runtime_error);
}

// ---- the trace database ------------------------------------------------------

namespace {

store::trace_row trace_row(std::uint64_t seq, unsigned host, bool known = true) {
    store::trace_row r;
    r.seq = seq;
    r.time_ms = 1'800'000'000'000 + static_cast<std::int64_t>(seq);
    r.mac = wire::mac_address({0x52, 0x54, 0, static_cast<std::uint8_t>(host >> 16), static_cast<std::uint8_t>(host >> 8),
                               static_cast<std::uint8_t>(host)});
    r.known = known;
    r.kind = "tftp";
    r.ok = seq % 2 == 0;
    r.flags = 5;
    r.client = 0x0a000005;
    r.what = "pxelinux.0";
    r.outcome = "sent";
    r.detail = std::string("blksize 1468, \"odd\" \x01 bytes", 28);
    r.bytes = 42 * 1024;
    r.duration_ms = 35;
    return r;
}

}  // namespace

TEST(trace_store, rows_survive_reopening_in_order) {
    temp_dir d;
    const auto path = (d.path / store::trace_file_name).string();
    std::vector<store::trace_row> rows{trace_row(3, 1), trace_row(1, 2), trace_row(2, 1, false)};
    {
        store::trace_store s(path);
        std::string error;
        ASSERT_TRUE(s.save(rows, 3, {}, error)) << error;
    }
    store::trace_store again(path);
    const auto back = again.load();
    ASSERT_EQ(back.size(), 3u);
    EXPECT_EQ(back[0], rows[1]);
    EXPECT_EQ(back[1], rows[2]);
    EXPECT_EQ(back[2], rows[0]);
}

TEST(trace_store, pruning_keeps_the_newest_per_host_and_per_pool) {
    temp_dir d;
    store::trace_store s((d.path / store::trace_file_name).string());
    store::trace_bounds b;
    b.per_host = 3;
    b.total = 5;
    b.strangers = 4;
    std::vector<store::trace_row> rows;
    std::uint64_t seq = 0;
    for (int i = 0; i < 10; ++i) rows.push_back(trace_row(++seq, 1));
    for (int i = 0; i < 2; ++i) rows.push_back(trace_row(++seq, 2));
    std::string error;
    ASSERT_TRUE(s.save(rows, seq, b, error)) << error;
    auto back = s.load();
    ASSERT_EQ(back.size(), 5u);
    EXPECT_EQ(back.front().seq, 8u) << "host 1 keeps its newest 3";
    // A flood of strangers is pruned in its own pool: host 1 and 2 stay.
    rows.clear();
    for (unsigned i = 0; i < 1000; ++i) rows.push_back(trace_row(++seq, 100 + i, false));
    ASSERT_TRUE(s.save(rows, seq, b, error)) << error;
    back = s.load();
    ASSERT_EQ(back.size(), 5u + 4u);
    EXPECT_EQ(back.front().seq, 8u);
    EXPECT_EQ(back.back().seq, seq);
}

TEST(trace_store, the_last_number_given_is_kept_even_without_rows) {
    temp_dir d;
    const auto path = (d.path / store::trace_file_name).string();
    {
        store::trace_store s(path);
        EXPECT_EQ(s.last_seq(), 0u);
        std::string error;
        ASSERT_TRUE(s.save({trace_row(5, 1)}, 5, {}, error)) << error;
        ASSERT_TRUE(s.save({}, 9, {}, error)) << error;
        ASSERT_TRUE(s.save({}, 7, {}, error)) << error;
    }
    EXPECT_EQ(store::trace_store(path).last_seq(), 9u) << "never back";
}

TEST(trace_store, refuses_a_file_that_is_not_a_database) {
    temp_dir d;
    const auto file = (d.path / "junk").string();
    std::ofstream(file) << "this is not sqlite, just text that is long enough to have a header............";
    EXPECT_THROW(store::trace_store s(file), std::runtime_error);
}
