// The boot trace as the daemon runs it (app/trace_service): attribution of
// a client's requests, redaction of tokens, and what a restart keeps.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

#include "pxed/app/trace_service.hpp"
#include "pxed/inventory/load.hpp"

namespace pxed::app {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

namespace stdfs = std::filesystem;

struct temp_dir {
    stdfs::path path;
    temp_dir() {
        char tmpl[] = "/tmp/pxed-trace-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~temp_dir() { stdfs::remove_all(path); }
};

std::shared_ptr<const inventory::site> site() {
    inventory::load_options o;
    o.check_files = false;
    auto r = inventory::load_string(R"(server: {address: 10.0.0.2, tftp: {root: /srv/tftp}}
subnets: [{network: 10.0.0.0/24, ranges: [10.0.0.100-10.0.0.199]}]
profiles: {c7: {kernel: c7/vmlinuz, initrd: c7/initrd.img}}
hosts:
  - {mac: "52:54:00:00:00:01", hostname: web1, profile: c7}
  - {mac: "52:54:00:00:00:02", hostname: web2, ip: 10.0.0.12, profile: c7}
)",
                                    "site.yaml", "/etc/pxed", o);
    for (const auto& d : r.diagnostics) ADD_FAILURE() << d.to_string();
    return r.model;
}

wire::mac_address mac(int n) { return *wire::mac_address::parse("52:54:00:00:00:0" + std::to_string(n)); }
std::uint32_t ip(const char* s) { return wire::ipv4_address::parse(s)->value(); }

trace::event fetch(const std::string& path, std::uint32_t client) {
    trace::event e;
    e.k = trace::kind::tftp;
    e.what = path;
    e.outcome = "completed";
    e.client = client;
    return e;
}

trace::event ack(int host, const char* address) {
    trace::event e;
    e.k = trace::kind::dhcp;
    e.mac = mac(host);
    e.what = "REQUEST";
    e.outcome = std::string("ACK ") + address;
    e.flags = trace::flag_answered | trace::flag_bound;
    e.client = ip(address);
    return e;
}

constexpr std::int64_t now = 1'800'000'000'000;

TEST(TraceService, AClientIsKnownByWhatPxedBoundOrReservedThenByItsNeighbourThenByThePath) {
    temp_dir d;
    trace_service t(d.path.string(), {}, site());
    wire::mac_address neighbour_mac = mac(7);
    t.set_neighbour_lookup([&](std::uint32_t a) -> std::optional<wire::mac_address> {
        if (a == ip("10.0.0.77")) return neighbour_mac;
        return std::nullopt;
    });
    t.host_event(ack(1, "10.0.0.101"), now);
    t.client_event(fetch("pxelinux.0", ip("10.0.0.101")), now);
    t.client_event(fetch("pxelinux.0", ip("10.0.0.12")), now);  // web2's reservation
    t.client_event(fetch("pxelinux.0", ip("10.0.0.77")), now);  // the neighbour table
    // web1 asking for web2's config: web1's event, not web2's.
    t.client_event(fetch("pxelinux.cfg/01-52-54-00-00-00-02", ip("10.0.0.101")), now);
    // Nobody's address: the MAC in the path.
    t.client_event(fetch("pxelinux.cfg/01-52-54-00-00-00-02", ip("10.0.0.250")), now);
    // Nobody's address and no MAC: counted, not kept.
    t.client_event(fetch("pxelinux.0", ip("10.0.0.251")), now);

    const auto web1 = t.book().of(mac(1));
    ASSERT_EQ(web1.size(), 3u);
    EXPECT_EQ(web1[2].what, "pxelinux.cfg/01-52-54-00-00-00-02");
    const auto web2 = t.book().of(mac(2));
    ASSERT_EQ(web2.size(), 2u);
    EXPECT_EQ(web2[0].client, ip("10.0.0.12"));
    EXPECT_EQ(web2[1].client, ip("10.0.0.250"));
    EXPECT_EQ(t.book().of(mac(7)).size(), 1u);
    EXPECT_EQ(t.unattributed(), 1u);
    EXPECT_EQ(t.mac_of(ip("10.0.0.101")), mac(1));
    // Another ACK moves the address.
    t.host_event(ack(2, "10.0.0.101"), now);
    EXPECT_EQ(t.mac_of(ip("10.0.0.101")), mac(2));
}

TEST(TraceService, NoTokenIsKeptWhole) {
    temp_dir d;
    const std::string token = "0123456789abcdef0123456789abcdef";
    {
        trace_service t(d.path.string(), {}, site());
        auto e = fetch("ks/web1.ks;token=" + token, ip("10.0.0.12"));
        e.detail = "refused: ks/web1.ks;token=" + token + " to 10.0.0.12";
        t.client_event(std::move(e), now);
        const auto ev = t.book().of(mac(2));
        ASSERT_EQ(ev.size(), 1u);
        EXPECT_THAT(ev[0].what, Not(HasSubstr(token)));
        EXPECT_THAT(ev[0].detail, Not(HasSubstr(token)));
        EXPECT_THAT(ev[0].what, HasSubstr("token=0123"));
    }
    // Nor on disk.
    std::string bytes;
    for (const auto& f : stdfs::directory_iterator(d.path)) {
        std::ifstream in(f.path(), std::ios::binary);
        bytes.append(std::istreambuf_iterator<char>(in), {});
    }
    EXPECT_THAT(bytes, Not(HasSubstr(token)));
}

TEST(TraceService, ARestartKeepsTheTraceAndItsNumbers) {
    temp_dir d;
    {
        trace_service t(d.path.string(), {}, site());
        t.host_event(ack(1, "10.0.0.101"), now);
        t.client_event(fetch("pxelinux.0", ip("10.0.0.101")), now + 5);
    }  // writes what is left
    trace_service again(d.path.string(), {}, site());
    const auto ev = again.book().of(mac(1));
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].seq, 1u);
    EXPECT_EQ(ev[1].what, "pxelinux.0");
    EXPECT_EQ(ev[1].time_ms, now + 5);
    again.client_event(fetch("ldlinux.c32", ip("10.0.0.12")), now + 10);
    EXPECT_EQ(again.book().of(mac(2)).back().seq, 3u);
}

}  // namespace
}  // namespace pxed::app

namespace pxed::app {
namespace {

TEST(TraceService, ARestartKeepsAHostsWholeHistoryNotAStrangersShare) {
    temp_dir d;
    {
        trace_service t(d.path.string(), {}, site());
        for (int i = 0; i < 300; ++i) t.client_event(fetch("f" + std::to_string(i), ip("10.0.0.12")), now + i);
    }
    trace_service again(d.path.string(), {}, site());
    EXPECT_EQ(again.book().of(mac(2)).size(), 300u);
}

TEST(TraceService, ForgedRequestsNamingAHostInTheirPathCannotFloodItsTrace) {
    temp_dir d;
    trace_service t(d.path.string(), {}, site());
    for (int i = 0; i < 5000; ++i)
        t.client_event(fetch("pxelinux.cfg/01-52-54-00-00-00-01", ip("10.0.0.250")), now + i);  // 5 s
    const auto ev = t.book().of(mac(1));
    EXPECT_GE(ev.size(), 30u);
    EXPECT_LE(ev.size(), 36u) << "a burst of 30, then one a second";
    EXPECT_THAT(ev[0].detail, HasSubstr("by the MAC in its path: pxed knows no host at 10.0.0.250"));
    EXPECT_GE(t.unattributed(), 4960u);
}

}  // namespace
}  // namespace pxed::app

namespace pxed::app {
namespace {

TEST(TraceService, StrangersAreKeptInMemoryButTheirNumbersAreNeverGivenAgain) {
    temp_dir d;
    {
        trace_service t(d.path.string(), {}, site());
        t.client_event(fetch("pxelinux.0", ip("10.0.0.12")), now);  // web2: 1
        trace::event stranger = ack(9, "10.0.0.150");               // not in site.yaml: 2, 3
        t.host_event(stranger, now);
        t.host_event(stranger, now);
        EXPECT_EQ(t.book().strangers().size(), 1u);
    }
    trace_service again(d.path.string(), {}, site());
    EXPECT_TRUE(again.book().strangers().empty()) << "not written to disk";
    EXPECT_EQ(again.book().of(mac(2)).size(), 1u);
    again.client_event(fetch("ldlinux.c32", ip("10.0.0.12")), now + 1);
    EXPECT_EQ(again.book().of(mac(2)).back().seq, 4u);
}

}  // namespace
}  // namespace pxed::app

namespace pxed::app {
namespace {

TEST(TraceService, NumbersGivenOnlyToStrangersAreNotGivenAgainEither) {
    temp_dir d;
    {
        trace_service t(d.path.string(), {}, site());
        t.host_event(ack(9, "10.0.0.150"), now);
        t.flush();
        t.host_event(ack(9, "10.0.0.150"), now);
    }
    trace_service again(d.path.string(), {}, site());
    again.client_event(fetch("pxelinux.0", ip("10.0.0.12")), now + 1);
    EXPECT_EQ(again.book().of(mac(2)).back().seq, 3u);
}

}  // namespace
}  // namespace pxed::app

// ---- a store several instances share ---------------------------------------

namespace pxed::app {
namespace {

// What a shared store holds and was asked, seen from the test's thread.
struct shared_state {
    std::mutex m;
    std::vector<store::trace_row> rows;  // load()
    std::uint64_t last = 0;              // this instance's last number
    int refuse = 0;                      // saves to refuse before taking them
    int saves = 0;
    std::vector<store::trace_row> saved;
};

class fake_shared_store final : public store::trace_backend {
public:
    explicit fake_shared_store(std::shared_ptr<shared_state> s) : s_(std::move(s)) {}
    std::vector<store::trace_row> load() const override {
        std::lock_guard lk(s_->m);
        return s_->rows;
    }
    std::uint64_t last_seq() const override {
        std::lock_guard lk(s_->m);
        return s_->last;
    }
    bool save(const std::vector<store::trace_row>& rows, std::uint64_t last, const store::trace_bounds&,
              std::string& error) override {
        std::lock_guard lk(s_->m);
        ++s_->saves;
        if (s_->refuse > 0) {
            --s_->refuse;
            error = "the database is unreachable";
            return false;
        }
        s_->saved.insert(s_->saved.end(), rows.begin(), rows.end());
        s_->last = std::max(s_->last, last);
        return true;
    }
    std::string describe() const override { return "a shared store"; }
    bool shared() const override { return true; }

private:
    std::shared_ptr<shared_state> s_;
};

store::trace_row row_of(const std::string& instance, std::uint64_t seq, std::int64_t at, trace::event e) {
    store::trace_row r;
    r.instance = instance;
    r.seq = seq;
    r.time_ms = at;
    r.mac = e.mac;
    r.kind = trace::to_string(e.k);
    r.ok = e.ok;
    r.flags = e.flags;
    r.client = e.client;
    r.what = e.what;
    r.outcome = e.outcome;
    return r;
}

TEST(TraceServiceShared, EveryInstancesEventsComeBackInTimeOrderAndOwnNumbersContinue) {
    auto s = std::make_shared<shared_state>();
    auto boot = fetch("pxelinux.0", ip("10.0.0.12"));
    boot.mac = mac(2);
    s->rows = {row_of("b", 5, now, ack(2, "10.0.0.12")), row_of("a", 3, now + 1, boot),
               row_of("b", 6, now + 2, boot)};
    s->last = 40;
    trace_service t(std::make_unique<fake_shared_store>(s), "a", {}, site());
    auto ev = t.book().of(mac(2));
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(ev[0].instance, "b");
    EXPECT_EQ(ev[1].instance, "a");
    EXPECT_EQ(ev[0].seq, 1u);
    EXPECT_EQ(ev[2].seq, 3u);
    t.client_event(fetch("ldlinux.c32", ip("10.0.0.12")), now + 3);
    ev = t.book().of(mac(2));
    EXPECT_EQ(ev.back().seq, 41u) << "after this instance's own last number";
    EXPECT_EQ(ev.back().instance, "a");
    t.flush();
    for (int i = 0; i < 500; ++i) {
        std::lock_guard lk(s->m);
        if (!s->saved.empty()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::lock_guard lk(s->m);
    ASSERT_EQ(s->saved.size(), 1u) << "only this instance's new event is written";
    EXPECT_EQ(s->saved[0].what, "ldlinux.c32");
    EXPECT_EQ(s->saved[0].seq, 41u);
    EXPECT_EQ(s->saved[0].instance, "a");
}

TEST(TraceServiceShared, AnotherInstancesAckAttributesTheFilesThisOneServes) {
    auto s = std::make_shared<shared_state>();
    trace_service t(std::make_unique<fake_shared_store>(s), "a", {}, site());
    // web1 has no reservation: only B's ACK says whose 10.0.0.150 is.
    t.client_event(fetch("pxelinux.0", ip("10.0.0.150")), now);
    EXPECT_TRUE(t.book().of(mac(1)).empty());
    t.adopt({row_of("b", 9, now + 1, ack(1, "10.0.0.150"))});
    t.adopt({row_of("b", 9, now + 1, ack(1, "10.0.0.150"))});  // read twice
    EXPECT_EQ(t.adopted(), 1u);
    t.client_event(fetch("pxelinux.0", ip("10.0.0.150")), now + 2);
    const auto ev = t.book().of(mac(1));
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].instance, "b");
    EXPECT_EQ(ev[0].origin_seq, 9u);
    EXPECT_EQ(ev[1].what, "pxelinux.0");
    EXPECT_EQ(ev[1].instance, "a");
}

TEST(TraceServiceShared, ABatchTheDatabaseRefusedIsWrittenWhenItIsBack) {
    auto s = std::make_shared<shared_state>();
    s->refuse = 2;
    {
        trace_service t(std::make_unique<fake_shared_store>(s), "a", {}, site());
        t.client_event(fetch("pxelinux.0", ip("10.0.0.12")), now);
        t.flush();
        for (int i = 0; i < 600; ++i) {
            {
                std::lock_guard lk(s->m);
                if (!s->saved.empty()) break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        EXPECT_GE(t.write_failures(), 2u);
    }
    std::lock_guard lk(s->m);
    EXPECT_EQ(s->saves, 3);
    ASSERT_EQ(s->saved.size(), 1u) << "tried again, not dropped";
    EXPECT_EQ(s->saved[0].what, "pxelinux.0");
}

}  // namespace
}  // namespace pxed::app
