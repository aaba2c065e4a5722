// The lease backends against one contract: the same tests on SQLite and on
// a real PostgreSQL server (tests/pg_server.sh starts one for this
// process, on a Unix socket in a temporary directory, and removes it at
// the end). The guarded write (may_overwrite) is what keeps two instances
// sharing one database from leasing one address to two clients; the
// PostgreSQL-only tests race two stores against each other.

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "pxed/store/backend.hpp"
#include "pxed/store/leases.hpp"

#ifdef PXED_HAVE_POSTGRES
#include "pg.hpp"
#endif

using namespace pxed;
using store::lease;
using store::lease_state;
namespace stdfs = std::filesystem;

namespace {

std::string run(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return out;
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    const int rc = ::pclose(p);
    if (rc != 0) out = "FAILED(" + std::to_string(rc) + "): " + out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

// One PostgreSQL server for the whole test program.
struct postgres_server : ::testing::Environment {
    static inline std::string conninfo;
    static inline std::string dir;
    static inline std::string failure;
    // Started by the first test that needs it (ctest runs each test in a
    // process of its own: the SQLite ones pay nothing).
    static bool ensure() {
        if (!conninfo.empty() || !failure.empty()) return !conninfo.empty();
        dir = "/tmp/pxed-pg-test-" + std::to_string(::getpid());
        const auto out = run(std::string(PXED_SOURCE_DIR) + "/tests/pg_server.sh start " + dir + " 2>&1");
        if (out.rfind("host=", 0) == 0)
            conninfo = out;
        else
            failure = out.empty() ? "pg_server.sh printed nothing" : out;
        return !conninfo.empty();
    }
    void TearDown() override {
        if (!dir.empty()) run(std::string(PXED_SOURCE_DIR) + "/tests/pg_server.sh stop " + dir + " 2>&1");
    }
};

std::string psql(const std::string& sql) {
    return run("psql '" + postgres_server::conninfo + "' -qAtX -v ON_ERROR_STOP=1 -c \"SET client_min_messages = warning\" -c \"" + sql + "\" 2>&1");
}

struct temp_dir {
    stdfs::path path;
    temp_dir() {
        char tmpl[] = "/tmp/pxed-backend-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~temp_dir() { stdfs::remove_all(path); }
};

lease make(std::uint32_t host, const std::string& who, lease_state s = lease_state::bound, std::int64_t ends = 0) {
    lease l;
    l.ip = wire::ipv4_address(0x0a000000u + host);
    l.client_key = who;
    l.hostname = "h" + std::to_string(host);
    l.state = s;
    l.starts = 1000;
    l.ends = ends ? ends : std::time(nullptr) + 3600;
    l.subnet = "10.0.0.0/24";
    return l;
}

store::commit_outcome commit_and_wait(store::lease_backend& b, std::vector<lease> changes) {
    std::promise<store::commit_outcome> p;
    auto f = p.get_future();
    b.commit(std::move(changes), [&](const store::commit_outcome& r) { p.set_value(r); });
    return f.get();
}

class lease_backends : public ::testing::TestWithParam<store::backend_kind> {
protected:
    void SetUp() override {
        if (GetParam() == store::backend_kind::postgresql) {
            if (!store::postgres_supported()) GTEST_SKIP() << "built without PostgreSQL";
            ASSERT_TRUE(postgres_server::ensure()) << "no PostgreSQL server: " << postgres_server::failure;
            ASSERT_EQ(psql("DROP TABLE IF EXISTS pxed_leases, pxed_hosts, pxed_trace, pxed_trace_numbers, pxed_schema"), "");
        }
    }

    store::store_options options(const std::string& instance = "a") const {
        store::store_options o;
        o.kind = GetParam();
        o.state_dir = dir_.path.string();
        o.postgres.conninfo = postgres_server::conninfo;
        o.postgres.instance = instance;
        return o;
    }
    std::unique_ptr<store::lease_backend> open(const std::string& instance = "a") const {
        return store::open_lease_backend(options(instance));
    }

    temp_dir dir_;
};

std::string name_of(const ::testing::TestParamInfo<store::backend_kind>& i) {
    return i.param == store::backend_kind::sqlite ? "sqlite" : "postgresql";
}

TEST_P(lease_backends, rows_come_back_as_written_binary_safe) {
    auto b = open();
    auto l = make(7, std::string("id:\0\xff\x01", 6));
    l.hostname = std::string("bad\0\xc3(utf8", 10);  // option 12 as a client sent it
    auto m = make(8, "\x52\x54\x00\x00\x00\x08");
    m.mac = wire::mac_address::parse("52:54:00:00:00:08");
    const auto r = commit_and_wait(*b, {l, m});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.refused.empty());
    b.reset();
    const auto rows = open()->load();
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0], l);
    EXPECT_EQ(rows[1], m);
}

TEST_P(lease_backends, nobody_takes_an_address_bound_to_another_client) {
    auto b = open();
    ASSERT_TRUE(commit_and_wait(*b, {make(5, "alice")}).ok);
    const auto r = commit_and_wait(*b, {make(5, "bob"), make(6, "bob")});
    ASSERT_TRUE(r.ok) << r.error;
    ASSERT_EQ(r.refused.size(), 1u);
    EXPECT_EQ(r.refused[0].change.client_key, "bob");
    EXPECT_EQ(r.refused[0].holder.client_key, "alice");
    EXPECT_EQ(r.refused[0].holder.ip, make(5, "x").ip);
    // Her renewal is hers to make.
    auto renewed = make(5, "alice");
    renewed.ends += 600;
    const auto again = commit_and_wait(*b, {renewed});
    ASSERT_TRUE(again.ok);
    EXPECT_TRUE(again.refused.empty());
    const auto rows = b->load();
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0], renewed);
    EXPECT_EQ(rows[1].client_key, "bob");
}

TEST_P(lease_backends, a_free_address_goes_to_whoever_binds_it) {
    auto b = open();
    const auto past = std::time(nullptr) - 10;
    ASSERT_TRUE(commit_and_wait(*b, {make(1, "a", lease_state::bound, past), make(2, "a", lease_state::released),
                                     make(3, "a", lease_state::expired), make(4, "a", lease_state::declined, past)})
                    .ok);
    const auto r = commit_and_wait(*b, {make(1, "b"), make(2, "b"), make(3, "b"), make(4, "b")});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.refused.empty()) << r.refused.size() << " refused";
    for (const auto& l : b->load()) EXPECT_EQ(l.client_key, "b");
}

TEST_P(lease_backends, a_quarantine_holds_until_it_ends_and_only_bindings_take_free_rows) {
    auto b = open();
    ASSERT_TRUE(commit_and_wait(*b, {make(9, "a", lease_state::declined), make(10, "a", lease_state::released)}).ok);
    // Quarantined: nobody binds it. Released: another client may bind it,
    // but not release, decline or expire it in a's name.
    const auto r = commit_and_wait(*b, {make(9, "b"), make(10, "b", lease_state::declined)});
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.refused.size(), 2u);
}

TEST_P(lease_backends, a_reservation_always_wins) {
    auto b = open();
    ASSERT_TRUE(commit_and_wait(*b, {make(20, "dynamic")}).ok);
    auto owner = make(20, "owner");
    owner.reservation = true;
    const auto r = commit_and_wait(*b, {owner});
    ASSERT_TRUE(r.ok);
    EXPECT_TRUE(r.refused.empty());
    EXPECT_EQ(b->load().at(0).client_key, "owner");
}

TEST_P(lease_backends, an_expiry_the_client_renewed_past_is_refused) {
    auto b = open();
    const auto t = std::time(nullptr);
    ASSERT_TRUE(commit_and_wait(*b, {make(30, "c", lease_state::bound, t + 7200)}).ok);
    // Another instance's view: the lease it knew ended at t - 5.
    const auto r = commit_and_wait(*b, {make(30, "c", lease_state::expired, t - 5)});
    ASSERT_TRUE(r.ok);
    ASSERT_EQ(r.refused.size(), 1u);
    EXPECT_EQ(r.refused[0].holder.ends, t + 7200);
    EXPECT_EQ(r.refused[0].holder.state, lease_state::bound);
    // The expiry of what is really there is written.
    EXPECT_TRUE(commit_and_wait(*b, {make(30, "c", lease_state::expired, t + 7200)}).refused.empty());
}

TEST_P(lease_backends, an_address_is_given_back_only_in_its_holders_name) {
    auto b = open();
    ASSERT_TRUE(commit_and_wait(*b, {make(40, "d"), make(41, "d")}).ok);
    auto back = make(40, "", lease_state::expired);
    back.taken_from = "d";
    auto forged = make(41, "", lease_state::expired);
    forged.taken_from = "mallory";
    const auto r = commit_and_wait(*b, {back, forged});
    ASSERT_TRUE(r.ok);
    ASSERT_EQ(r.refused.size(), 1u);
    EXPECT_EQ(r.refused[0].change.ip, forged.ip);
    const auto rows = b->load();
    EXPECT_EQ(rows[0].client_key, "");
    EXPECT_EQ(rows[1].client_key, "d");
}

TEST_P(lease_backends, one_address_twice_in_a_batch_is_written_in_order) {
    // A bind and its release within one commit (one event-loop turn).
    auto b = open();
    ASSERT_TRUE(commit_and_wait(*b, {make(60, "other", lease_state::expired)}).ok);
    const auto r = commit_and_wait(*b, {make(60, "e"), make(61, "e"), make(60, "e", lease_state::released)});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.refused.empty());
    const auto rows = b->load();
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].client_key, "e");
    EXPECT_EQ(rows[0].state, lease_state::released);
}

TEST_P(lease_backends, old_free_rows_are_forgotten) {
    auto b = open();
    ASSERT_TRUE(commit_and_wait(*b, {make(1, "a", lease_state::bound, 4600), make(2, "a", lease_state::expired, 4600),
                                     make(3, "a", lease_state::released, 4600)})
                    .ok);
    EXPECT_EQ(b->forget_before(5000), 2u);
    ASSERT_EQ(b->load().size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(both, lease_backends,
                         ::testing::Values(store::backend_kind::sqlite, store::backend_kind::postgresql), name_of);

// --- Host lifecycle records: both backends ----------------------------------

TEST_P(lease_backends, host_records_come_back_as_written_and_last_seen_only_grows) {
    auto hosts = store::open_host_backend(options());
    EXPECT_TRUE(hosts->load().empty());
    store::host_record r;
    r.mac = *wire::mac_address::parse("52:54:00:00:00:09");
    r.hostname = "n9";
    r.profile = "c7";
    r.state = store::host_state::installing;
    r.generation = 3;
    r.token = "tok";
    r.last_seen = 100;
    r.install_started = 90;
    r.changed_at = 90;
    r.changed_by = "kickstart fetched";
    r.last_event = "kickstart";
    std::vector<store::host_record> rows{r}, refused;
    std::string error;
    ASSERT_TRUE(hosts->write(rows, error, &refused)) << error;
    EXPECT_TRUE(refused.empty());
    auto back = store::open_host_backend(options())->load();
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].mac, r.mac);
    EXPECT_EQ(back[0].hostname, "n9");
    EXPECT_EQ(back[0].profile, "c7");
    EXPECT_EQ(back[0].state, store::host_state::installing);
    EXPECT_EQ(back[0].generation, 3u);
    EXPECT_EQ(back[0].token, "tok");
    EXPECT_EQ(back[0].install_started, 90);
    EXPECT_EQ(back[0].changed_by, "kickstart fetched");
    EXPECT_EQ(back[0].last_event, "kickstart");
    // A later change from the version just read is written.
    back[0].state = store::host_state::installed;
    ASSERT_TRUE(hosts->write(back, error, &refused)) << error;
    EXPECT_TRUE(refused.empty());
    EXPECT_EQ(hosts->load().at(0).state, store::host_state::installed);
    back[0].last_seen = 500;
    ASSERT_TRUE(hosts->write_seen(back, error)) << error;
    back[0].last_seen = 400;
    ASSERT_TRUE(hosts->write_seen(back, error)) << error;
    EXPECT_EQ(hosts->load().at(0).last_seen, 500) << "history: the later time is kept";
}

// --- PostgreSQL: several instances ------------------------------------------

class shared_leases : public lease_backends {};

TEST_P(shared_leases, two_instances_racing_for_every_address_each_get_it_once) {
    // Both claim the same 300 addresses for different clients at once, in
    // batches as their event loops would, in opposite orders.
    auto a = open("a");
    auto b = open("b");
    constexpr std::uint32_t n = 300;
    std::mutex m;
    std::set<std::uint32_t> won_a, won_b;
    std::size_t refused_a = 0, refused_b = 0;
    auto claim = [&](store::lease_backend& s, const std::string& who, bool reverse, std::set<std::uint32_t>& won,
                     std::size_t& refused) {
        for (std::uint32_t i = 0; i < n; i += 10) {
            std::vector<lease> batch;
            for (std::uint32_t j = i; j < i + 10; ++j) batch.push_back(make(reverse ? n - j : j + 1, who));
            const auto r = commit_and_wait(s, batch);
            ASSERT_TRUE(r.ok) << r.error;
            std::lock_guard lk(m);
            std::set<std::uint32_t> lost;
            for (const auto& f : r.refused) {
                lost.insert(f.change.ip.value());
                EXPECT_NE(f.holder.client_key, who);
            }
            refused += r.refused.size();
            for (const auto& l : batch)
                if (!lost.count(l.ip.value())) won.insert(l.ip.value());
        }
    };
    std::thread ta([&] { claim(*a, "client-of-a", false, won_a, refused_a); });
    std::thread tb([&] { claim(*b, "client-of-b", true, won_b, refused_b); });
    ta.join();
    tb.join();
    EXPECT_EQ(won_a.size() + won_b.size(), n);
    EXPECT_EQ(refused_a + refused_b, n);
    for (auto ip : won_a) EXPECT_FALSE(won_b.count(ip)) << wire::ipv4_address(ip).to_string() << " went to both";
    // The database agrees with what each was told.
    for (const auto& l : a->load())
        EXPECT_EQ(l.client_key, won_a.count(l.ip.value()) ? "client-of-a" : "client-of-b") << l.ip.to_string();
}

TEST_P(shared_leases, an_instance_hears_what_the_other_wrote_and_not_its_own) {
    auto a = open("a");
    auto b = open("b");
    a->load();
    std::mutex m;
    std::condition_variable cv;
    std::vector<lease> heard;
    a->watch(
        [&](std::vector<lease> rows) {
            std::lock_guard lk(m);
            heard.insert(heard.end(), rows.begin(), rows.end());
            cv.notify_all();
        },
        [](bool, const std::string&) {});
    ASSERT_TRUE(commit_and_wait(*a, {make(50, "own")}).ok);
    const auto started = std::chrono::steady_clock::now();
    const auto theirs = make(51, "other");
    ASSERT_TRUE(commit_and_wait(*b, {theirs}).ok);
    {
        std::unique_lock lk(m);
        ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(5), [&] { return !heard.empty(); }));
    }
    const auto took = std::chrono::steady_clock::now() - started;
    // LISTEN/NOTIFY: well before the one-second read.
    EXPECT_LT(took, std::chrono::milliseconds(900));
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    a->stop_watching();
    std::lock_guard lk(m);
    for (const auto& l : heard) EXPECT_EQ(l.client_key, "other");
    EXPECT_EQ(heard.front(), theirs);
}

TEST_P(shared_leases, a_database_a_newer_pxed_wrote_is_refused) {
    open();
    ASSERT_EQ(psql("UPDATE pxed_schema SET version = 99 WHERE component = 'leases'"), "");
    try {
        open();
        FAIL() << "opened a version 99 schema";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("newer pxed"), std::string::npos) << e.what();
    }
    EXPECT_NE(store::check_postgres(options().postgres).find("newer pxed"), std::string::npos);
}

TEST_P(shared_leases, check_says_what_is_wrong_and_never_the_password) {
    EXPECT_EQ(store::check_postgres(options().postgres), "");
    temp_dir d;
    const auto secret = (d.path / "password").string();
    std::ofstream(secret) << "s3cret-Passw0rd\n";
    auto o = options().postgres;
    o.conninfo = "host=" + d.path.string() + " dbname=pxed user=pxed";  // no server there
    o.password_file = secret;
    o.connect_timeout = 2;
    const auto why = store::check_postgres(o);
    EXPECT_NE(why.find("cannot connect"), std::string::npos) << why;
    EXPECT_EQ(why.find("s3cret"), std::string::npos) << why;
    try {
        store::store_options so = options();
        so.postgres = o;
        store::open_lease_backend(so);
        FAIL() << "opened a store with no server";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
    }
}

TEST_P(shared_leases, a_host_changed_through_another_instance_is_not_overwritten) {
    store::store_options o = options("a");
    auto a = store::open_host_backend(o);
    o.postgres.instance = "b";
    auto b = store::open_host_backend(o);
    store::host_record r;
    r.mac = *wire::mac_address::parse("52:54:00:00:00:01");
    r.hostname = "n1";
    r.state = store::host_state::pending;
    r.token = "t1";
    std::vector<store::host_record> first{r}, refused;
    std::string error;
    ASSERT_TRUE(a->write(first, error, &refused)) << error;
    EXPECT_TRUE(refused.empty());
    EXPECT_EQ(first[0].rev, 1u);
    // b created the same host without having seen a's row: a's holds.
    std::vector<store::host_record> dup{r};
    dup[0].token = "t-b";
    ASSERT_TRUE(b->write(dup, error, &refused));
    ASSERT_EQ(refused.size(), 1u);
    EXPECT_EQ(refused[0].token, "t1");
    // b, having read the row, reinstalls; a's later change from the old
    // version is refused and a learns b's record.
    auto rows = b->load();
    ASSERT_EQ(rows.size(), 1u);
    rows[0].generation = 2;
    rows[0].token = "t2";
    ASSERT_TRUE(b->write(rows, error, &refused)) << error;
    EXPECT_TRUE(refused.empty());
    EXPECT_EQ(rows[0].rev, 2u);
    auto stale = first;
    stale[0].state = store::host_state::installed;
    ASSERT_TRUE(a->write(stale, error, &refused));
    ASSERT_EQ(refused.size(), 1u);
    EXPECT_EQ(refused[0].generation, 2u);
    EXPECT_EQ(refused[0].state, store::host_state::pending);
    // Last-seen times are history: never refused, the later one kept.
    stale[0].last_seen = 500;
    EXPECT_TRUE(a->write_seen(stale, error)) << error;
    stale[0].last_seen = 400;
    EXPECT_TRUE(b->write_seen(stale, error)) << error;
    EXPECT_EQ(a->load().at(0).last_seen, 500);
}

// The test's PostgreSQL server frozen (SIGSTOP: its sockets stay open and
// nothing answers, as a host gone from the network or a hung server), and
// thawed however the test ends.
struct frozen_server {
    std::string pids;
    frozen_server() {
        const auto main_pid = run("head -n 1 " + postgres_server::dir + "/data/postmaster.pid");
        pids = main_pid + " " + run("pgrep -d ' ' -P " + main_pid);
        run("kill -STOP " + pids);
    }
    ~frozen_server() { run("kill -CONT " + pids); }
};

TEST_P(shared_leases, a_database_that_stops_answering_never_holds_the_loop_for_long) {
    auto hosts = store::open_host_backend(options("a"));
    hosts->load();
    std::atomic<int> downs{0}, ups{0}, lease_downs{0};
    hosts->watch([](std::vector<store::host_record>) {},
                 [&](bool up, const std::string&) { ++(up ? ups : downs); });
    auto leases = open("a");
    leases->load();
    leases->watch([](std::vector<lease>) {}, [&](bool up, const std::string&) { lease_downs += up ? 0 : 1; });
    ASSERT_TRUE(commit_and_wait(*leases, {make(70, "before")}).ok);
    store::host_record r;
    r.mac = *wire::mac_address::parse("52:54:00:00:00:07");
    r.state = store::host_state::pending;
    r.token = "t";
    std::vector<store::host_record> rows{r}, refused;
    std::string error;
    ASSERT_TRUE(hosts->write(rows, error, &refused)) << error;
    using clock = std::chrono::steady_clock;
    {
        frozen_server frozen;
        // The first write after the freeze waits for its deadline (2 s),
        // not for ever.
        auto started = clock::now();
        rows[0].generation = 2;
        EXPECT_FALSE(hosts->write(rows, error, &refused));
        EXPECT_LT(clock::now() - started, std::chrono::seconds(4)) << error;
        EXPECT_NE(error.find("no answer within"), std::string::npos) << error;
        // Before the watcher has told anything, no reconnect on the loop
        // either (a connect to a silent server would wait as long).
        std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the one-second pause
        started = clock::now();
        EXPECT_FALSE(hosts->write(rows, error, &refused));
        EXPECT_LT(clock::now() - started, std::chrono::milliseconds(200)) << error;
        // Once the watcher has found it lost, writes fail at once.
        for (int i = 0; i < 100 && downs == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        ASSERT_EQ(downs, 1);
        started = clock::now();
        EXPECT_FALSE(hosts->write(rows, error, &refused));
        EXPECT_LT(clock::now() - started, std::chrono::milliseconds(200)) << error;
        EXPECT_NE(error.find("unreachable"), std::string::npos) << error;
        // The lease writer (its own thread) too, once its watcher knows:
        // a commit fails at once rather than waiting for a connection.
        for (int i = 0; i < 100 && lease_downs == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        ASSERT_EQ(lease_downs, 1);
        commit_and_wait(*leases, {make(71, "during")});  // the connection's one deadline
        started = clock::now();
        const auto during = commit_and_wait(*leases, {make(72, "during")});
        EXPECT_FALSE(during.ok);
        EXPECT_LT(clock::now() - started, std::chrono::milliseconds(200)) << during.error;
    }
    for (int i = 0; i < 100 && ups == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_EQ(ups, 1);
    rows = hosts->load();
    ASSERT_EQ(rows.size(), 1u);
    rows[0].generation = 3;
    EXPECT_TRUE(hosts->write(rows, error, &refused)) << error;
    hosts->stop_watching();
    for (int i = 0; i < 100; ++i) {
        if (commit_and_wait(*leases, {make(73, "after")}).ok) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(commit_and_wait(*leases, {make(74, "after")}).ok) << "commits again once the database is back";
    leases->stop_watching();
}

#ifdef PXED_HAVE_POSTGRES
TEST_P(shared_leases, a_schema_is_migrated_step_by_step_in_one_transaction) {
    ASSERT_EQ(psql("DROP TABLE IF EXISTS pxed_mig"), "");
    store::pg::connection c(options().postgres);
    const std::string v1 = "CREATE TABLE pxed_mig (a integer NOT NULL)";
    const std::string v2 = "ALTER TABLE pxed_mig ADD COLUMN b integer NOT NULL DEFAULT 7";
    EXPECT_EQ(store::pg::ensure_schema(c, "mig", {v1}), 0);
    ASSERT_EQ(psql("INSERT INTO pxed_mig (a) VALUES (1)"), "");
    EXPECT_EQ(store::pg::ensure_schema(c, "mig", {v1}), 1) << "already there: nothing run";
    EXPECT_EQ(store::pg::ensure_schema(c, "mig", {v1, v2}), 1);
    EXPECT_EQ(psql("SELECT a || ',' || b FROM pxed_mig"), "1,7") << "rows kept, the new column added";
    EXPECT_EQ(store::pg::schema_version(c, "mig"), 2);
    // A step that fails leaves the schema and the version as they were.
    EXPECT_THROW(store::pg::ensure_schema(c, "mig", {v1, v2, "ALTER TABLE pxed_mig ADD COLUMN c integer",
                                                     "ALTER TABLE no_such_table ADD COLUMN d integer"}),
                 store::pg::error);
    EXPECT_EQ(store::pg::schema_version(c, "mig"), 2);
    EXPECT_EQ(psql("SELECT count(*) FROM information_schema.columns WHERE table_name = 'pxed_mig'"), "2");
    // An older pxed (one step) refuses what a newer one migrated.
    EXPECT_THROW(store::pg::ensure_schema(c, "mig", {v1}), std::runtime_error);
    ASSERT_EQ(psql("DROP TABLE pxed_mig; DELETE FROM pxed_schema WHERE component = 'mig'"), "");
}
#endif

INSTANTIATE_TEST_SUITE_P(pg, shared_leases, ::testing::Values(store::backend_kind::postgresql), name_of);

}  // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new postgres_server);
    return RUN_ALL_TESTS();
}

// --- The boot trace: both backends, then several instances -----------------

namespace {

store::trace_row event_row(std::uint64_t seq, unsigned host, const std::string& what = "pxelinux.0") {
    store::trace_row r;
    r.seq = seq;
    r.time_ms = 1'700'000'000'000 + static_cast<std::int64_t>(seq);
    char mac[18];
    std::snprintf(mac, sizeof mac, "52:54:00:00:00:%02x", host & 0xffu);
    r.mac = *wire::mac_address::parse(mac);
    r.kind = "tftp";
    r.flags = 4;
    r.client = 0x0a000005;
    r.what = what;
    r.outcome = "sent";
    r.detail = "blksize 1468";
    r.bytes = 42000;
    r.duration_ms = 7;
    return r;
}

}  // namespace

class trace_backends : public lease_backends {
protected:
    std::unique_ptr<store::trace_backend> open_trace(const std::string& instance = "a") const {
        return store::open_trace_backend(options(instance));
    }
    // As the backend reports them (an instance's name on a shared store).
    static std::vector<store::trace_row> mine(std::vector<store::trace_row> rows) {
        for (auto& r : rows) r.instance.clear();
        return rows;
    }
};

TEST_P(trace_backends, rows_come_back_in_order_and_numbers_continue) {
    std::vector<store::trace_row> rows{event_row(1, 1), event_row(2, 2), event_row(3, 1, "vmlinuz")};
    {
        auto t = open_trace();
        EXPECT_TRUE(t->load().empty());
        std::string error;
        ASSERT_TRUE(t->save(rows, 10, {}, error)) << error;
    }
    auto again = open_trace();
    EXPECT_EQ(mine(again->load()), rows);
    EXPECT_EQ(again->last_seq(), 10u);  // numbers given to unstored events count
    if (GetParam() == store::backend_kind::postgresql) {
        for (const auto& r : again->load()) EXPECT_EQ(r.instance, "a");
        EXPECT_EQ(open_trace("b")->last_seq(), 0u);  // each instance numbers its own
    }
}

TEST_P(trace_backends, a_row_written_again_replaces_it_even_twice_in_one_batch) {
    auto t = open_trace();
    auto grown = event_row(1, 1, "Packages/*.rpm");
    grown.outcome = "1 package";
    std::string error;
    ASSERT_TRUE(t->save({grown}, 1, {}, error)) << error;
    grown.outcome = "2 packages";
    auto more = grown;
    more.outcome = "3 packages";
    ASSERT_TRUE(t->save({grown, more}, 1, {}, error)) << error;
    const auto rows = mine(t->load());
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].outcome, "3 packages");
}

TEST_P(trace_backends, hostile_text_is_kept_or_made_safe_never_losing_the_batch) {
    auto t = open_trace();
    const std::string hostile = std::string("a\"b\\c{d},e'f") + '\0' + "\xff\xfe" + "caf\xc3\xa9 \xed\xa0\x80";
    std::string error;
    ASSERT_TRUE(t->save({event_row(1, 1, hostile), event_row(2, 1)}, 2, {}, error)) << error;
    const auto rows = t->load();
    ASSERT_EQ(rows.size(), 2u);
    if (GetParam() == store::backend_kind::sqlite) {
        EXPECT_EQ(rows[0].what.substr(0, 13), hostile.substr(0, 13));
    } else {
        // PostgreSQL text holds no NUL and only UTF-8: those bytes are
        // spelled out, the rest kept.
        EXPECT_EQ(rows[0].what, "a\"b\\c{d},e'f\\x00\\xff\\xfecaf\xc3\xa9 \\xed\\xa0\\x80");
    }
}

TEST_P(trace_backends, pruning_keeps_each_hosts_newest) {
    auto t = open_trace();
    store::trace_bounds b;
    b.per_host = 3;
    std::vector<store::trace_row> rows;
    for (std::uint64_t i = 1; i <= 10; ++i) rows.push_back(event_row(i, 1));
    rows.push_back(event_row(11, 2));
    std::string error;
    ASSERT_TRUE(t->save(rows, 11, b, error)) << error;
    std::vector<std::uint64_t> kept;
    for (const auto& r : t->load()) kept.push_back(r.seq);
    EXPECT_EQ(kept, (std::vector<std::uint64_t>{8, 9, 10, 11}));
}

INSTANTIATE_TEST_SUITE_P(both, trace_backends,
                         ::testing::Values(store::backend_kind::sqlite, store::backend_kind::postgresql), name_of);

class shared_trace : public trace_backends {};

TEST_P(shared_trace, an_instance_reads_the_others_events_and_not_its_own) {
    auto a = open_trace("a");
    auto b = open_trace("b");
    std::string error;
    ASSERT_TRUE(b->save({event_row(1, 1, "before")}, 1, {}, error)) << error;
    // Every instance's rows at start, oldest first, with their names.
    const auto loaded = a->load();
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0].instance, "b");
    std::mutex m;
    std::condition_variable cv;
    std::vector<store::trace_row> heard;
    a->watch(
        [&](std::vector<store::trace_row> rows) {
            std::lock_guard lk(m);
            heard.insert(heard.end(), rows.begin(), rows.end());
            cv.notify_all();
        },
        [](bool, const std::string&) {});
    ASSERT_TRUE(a->save({event_row(1, 2, "own")}, 1, {}, error)) << error;  // same number, other instance
    auto grown = event_row(2, 1, "Packages/*.rpm");
    grown.outcome = "1 package";
    ASSERT_TRUE(b->save({grown}, 2, {}, error)) << error;
    grown.outcome = "2 packages";
    ASSERT_TRUE(b->save({grown}, 2, {}, error)) << error;
    {
        std::unique_lock lk(m);
        ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(5), [&] {
            return !heard.empty() && heard.back().outcome == "2 packages";
        }));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    a->stop_watching();
    std::lock_guard lk(m);
    for (const auto& r : heard) {
        EXPECT_EQ(r.instance, "b");
        EXPECT_NE(r.what, "own");
    }
    // Both instances' rows are there, each under its own number.
    EXPECT_EQ(a->load().size(), 3u);
}

TEST_P(shared_trace, check_refuses_a_trace_schema_a_newer_pxed_wrote) {
    open_trace();
    ASSERT_EQ(psql("UPDATE pxed_schema SET version = 99 WHERE component = 'trace'"), "");
    EXPECT_NE(store::check_postgres(options().postgres).find("trace schema"), std::string::npos);
    EXPECT_THROW(open_trace(), std::runtime_error);
}

INSTANTIATE_TEST_SUITE_P(pg, shared_trace, ::testing::Values(store::backend_kind::postgresql), name_of);
