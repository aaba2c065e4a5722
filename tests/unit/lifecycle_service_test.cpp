// The lifecycle as the daemon runs it (app/lifecycle_service) against a
// store that another instance writes to first: what the trace and the
// tracker say when the store refuses a change.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "pxed/app/lifecycle_service.hpp"
#include "pxed/inventory/load.hpp"

namespace pxed::app {
namespace {

namespace stdfs = std::filesystem;

struct temp_dir {
    stdfs::path path;
    temp_dir() {
        char tmpl[] = "/tmp/pxed-life-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~temp_dir() { stdfs::remove_all(path); }
};

std::shared_ptr<const inventory::site> site() {
    inventory::load_options o;
    o.check_files = false;
    auto r = inventory::load_string(R"(server: {address: 10.0.0.2, tftp: {root: /srv/tftp}}
subnets: [{network: 10.0.0.0/24, ranges: [10.0.0.100-10.0.0.199]}]
lifecycle: {install_timeout: 1m}
profiles: {c7: {kernel: c7/vmlinuz, initrd: c7/initrd.img, kickstart: c7.ks}}
hosts:
  - {mac: "52:54:00:00:00:01", hostname: web1, profile: c7}
)",
                                    "site.yaml", "/etc/pxed", o);
    for (const auto& d : r.diagnostics) ADD_FAILURE() << d.to_string();
    return r.model;
}

// SQLite underneath; `other_first` makes the next write find each row
// changed by another instance (as a shared store reports it: refused,
// with the row as it now is).
class contested_store final : public store::host_backend {
public:
    explicit contested_store(const std::string& dir) : real_(dir + "/" + store::host_file_name) {}
    bool other_first = false;
    store::host_record theirs;

    std::vector<store::host_record> load() const override { return real_.load(); }
    bool write(std::vector<store::host_record>& records, std::string& error,
               std::vector<store::host_record>* refused) override {
        if (other_first) {
            other_first = false;
            if (refused) *refused = {theirs};
            return true;
        }
        return real_.write(records, error, refused);
    }
    bool write_seen(const std::vector<store::host_record>& records, std::string& error) override {
        return real_.write_seen(records, error);
    }
    std::string describe() const override { return "contested"; }
    bool shared() const override { return true; }

private:
    store::host_store real_;
};

TEST(LifecycleService, ATimeoutAnotherInstanceOvertookIsNeitherTracedNorKept) {
    temp_dir d;
    auto owned = std::make_unique<contested_store>(d.path.string());
    auto* store = owned.get();
    lifecycle_service life(std::move(owned));
    std::vector<trace::event> traced;
    life.set_trace([&](trace::event&& e, bool) { traced.push_back(std::move(e)); });
    const auto mac = *wire::mac_address::parse("52:54:00:00:00:01");
    const std::int64_t t0 = 1'800'000'000;
    life.start(site(), t0);
    life.fetched(mac, render::document_kind::kickstart, t0);
    ASSERT_EQ(life.tracker().find(mac)->state, store::host_state::installing);
    // Meanwhile another instance took the install's callback: installed.
    store->theirs = *life.tracker().find(mac);
    store->theirs.state = store::host_state::installed;
    store->theirs.rev += 1;
    store->other_first = true;
    traced.clear();
    life.tick(t0 + 120);
    EXPECT_EQ(life.tracker().find(mac)->state, store::host_state::installed);
    for (const auto& e : traced)
        EXPECT_NE(e.what, "failed") << "a timeout the store refused went into the trace: " << e.outcome;
}

}  // namespace
}  // namespace pxed::app
