#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include "pxed/inventory/keys.hpp"
#include "pxed/inventory/load.hpp"
#include "pxed/inventory/locate.hpp"

#include "host_scan.hpp"  // src/inventory: the fast host path

using namespace pxed;
using namespace pxed::inventory;
using ::testing::HasSubstr;
namespace stdfs = std::filesystem;

namespace {

// A valid site without file checks; each broken case below changes one thing.
const std::string base_yaml = R"(server:
  address: 192.168.1.2
  tftp: {root: /srv/tftp}
subnets:
  - network: 192.168.1.0/24
    ranges: [192.168.1.230-192.168.1.240]
    routers: [192.168.1.1]
trees:
  centos7: {path: /srv/c7, url: /pub/centos/7/x86_64, protocol: ftp}
profiles:
  centos7:
    tree: centos7
    kernel: c7/vmlinuz
    initrd: c7/initrd.img
    kickstart: centos7.ks
hosts:
  - mac: 52:54:00:12:34:56
    ip: 192.168.1.101
    profile: centos7
)";

load_result load(const std::string& yaml, bool check_files = false) {
    load_options o;
    o.check_files = check_files;
    return load_string(yaml, "site.yaml", "/etc/pxed", o);
}

std::string all_messages(const load_result& r) {
    std::string s;
    for (const auto& d : r.diagnostics) s += d.to_string() + "\n";
    return s;
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << "test bug: '" << from << "' not in the base config";
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
}

}  // namespace

// A file is read whole into a string of its size, and to its end where
// no size says how much there is (a pipe, `--config /dev/stdin`).
TEST(inventory, files_are_read_whole_even_through_a_pipe) {
    std::string text;
    for (int i = 0; i < 20000; ++i) text += "  - {mac: 52:54:00:00:00:01, line: " + std::to_string(i) + "}\n";
    ASSERT_GT(text.size(), 3U * 65536U);  // several of read_whole's chunks
    const auto dir = stdfs::temp_directory_path() / ("pxed-read-whole-" + std::to_string(::getpid()));
    stdfs::create_directories(dir);
    {
        std::ofstream(dir / "file", std::ios::binary) << text;
        std::ifstream in(dir / "file", std::ios::binary);
        EXPECT_EQ(detail::read_whole(in), text);
    }
    ASSERT_EQ(::mkfifo((dir / "pipe").c_str(), 0600), 0);
    std::thread writer([&] { std::ofstream(dir / "pipe", std::ios::binary) << text; });
    {
        std::ifstream in(dir / "pipe", std::ios::binary);
        EXPECT_EQ(detail::read_whole(in), text);
    }
    writer.join();
    std::ifstream absent(dir / "absent", std::ios::binary);
    EXPECT_EQ(detail::read_whole(absent), "");
    stdfs::remove_all(dir);
}

TEST(inventory, tftp_look_ahead_can_be_turned_off) {
    const auto r = load(replace(base_yaml, "  tftp: {root: /srv/tftp}\n", "  tftp: {root: /srv/tftp, look_ahead: false}\n"));
    ASSERT_TRUE(r.model) << all_messages(r);
    EXPECT_FALSE(r.model->server.tftp.look_ahead);
    const auto bad = load(replace(base_yaml, "  tftp: {root: /srv/tftp}\n", "  tftp: {root: /srv/tftp, look_ahead: sometimes}\n"));
    EXPECT_FALSE(bad.model);
}

TEST(inventory, tftp_busy_poll_budget) {
    const auto with = [](const std::string& v) {
        return load(replace(base_yaml, "  tftp: {root: /srv/tftp}\n", "  tftp: {root: /srv/tftp, busy_poll_us: " + v + "}\n"));
    };
    EXPECT_EQ(load(base_yaml).model->server.tftp.busy_poll_us, 50u);
    const auto off = with("0");
    ASSERT_TRUE(off.model) << all_messages(off);
    EXPECT_EQ(off.model->server.tftp.busy_poll_us, 0u);
    const auto most = with("1000");
    ASSERT_TRUE(most.model) << all_messages(most);
    EXPECT_EQ(most.model->server.tftp.busy_poll_us, 1000u);
    for (const char* bad : {"1001", "-1", "50us", "fast"}) {
        const auto r = with(bad);
        EXPECT_FALSE(r.model) << bad;
        EXPECT_NE(all_messages(r).find("busy_poll_us"), std::string::npos) << all_messages(r);
    }
}

TEST(inventory, tftp_transfer_limits) {
    const auto with = [](const std::string& kv) {
        return load(replace(base_yaml, "  tftp: {root: /srv/tftp}\n", "  tftp: {root: /srv/tftp, " + kv + "}\n"));
    };
    const auto defaults = load(base_yaml);
    ASSERT_TRUE(defaults.model) << all_messages(defaults);
    EXPECT_EQ(defaults.model->server.tftp.max_transfers, 4096u);
    EXPECT_EQ(defaults.model->server.tftp.max_transfers_per_client, 16u);
    const auto set = with("max_transfers: 1000, max_transfers_per_client: 4");
    ASSERT_TRUE(set.model) << all_messages(set);
    EXPECT_EQ(set.model->server.tftp.max_transfers, 1000u);
    EXPECT_EQ(set.model->server.tftp.max_transfers_per_client, 4u);
    for (const char* bad : {"max_transfers: 0", "max_transfers: 65537", "max_transfers_per_client: 0",
                            "max_transfers_per_client: many"}) {
        const auto r = with(bad);
        EXPECT_FALSE(r.model) << bad;
        EXPECT_NE(all_messages(r).find("max_transfers"), std::string::npos) << all_messages(r);
    }
}

TEST(inventory, http_and_ftp_limits) {
    const auto with = [](const std::string& block) {
        return load(replace(base_yaml, "  tftp: {root: /srv/tftp}\n", "  tftp: {root: /srv/tftp}\n" + block));
    };
    const auto defaults = load(base_yaml);
    ASSERT_TRUE(defaults.model) << all_messages(defaults);
    const auto& h = defaults.model->server.http;
    EXPECT_EQ(h.max_connections, 1024u);
    EXPECT_EQ(h.max_connections_per_client, 32u);
    EXPECT_EQ(h.header_timeout, std::chrono::seconds(20));
    EXPECT_EQ(h.min_rate, 1024u);
    EXPECT_EQ(h.min_rate_window, std::chrono::seconds(30));
    const auto& f = defaults.model->server.ftp;
    EXPECT_EQ(f.max_sessions, 1024u);
    EXPECT_EQ(f.max_sessions_per_client, 8u);
    EXPECT_EQ(f.passive_timeout, std::chrono::seconds(30));
    EXPECT_EQ(f.idle_timeout, std::chrono::seconds(300));
    const auto set = with(
        "  http: {max_connections: 100, max_connections_per_client: 4, header_timeout: 5s, min_rate: 0, "
        "min_rate_window: 1m}\n"
        "  ftp: {max_sessions: 50, max_sessions_per_client: 2, passive_timeout: 10s, idle_timeout: 2m}\n");
    ASSERT_TRUE(set.model) << all_messages(set);
    EXPECT_EQ(set.model->server.http.max_connections, 100u);
    EXPECT_EQ(set.model->server.http.max_connections_per_client, 4u);
    EXPECT_EQ(set.model->server.http.header_timeout, std::chrono::seconds(5));
    EXPECT_EQ(set.model->server.http.min_rate, 0u);
    EXPECT_EQ(set.model->server.http.min_rate_window, std::chrono::seconds(60));
    EXPECT_EQ(set.model->server.ftp.max_sessions, 50u);
    EXPECT_EQ(set.model->server.ftp.max_sessions_per_client, 2u);
    EXPECT_EQ(set.model->server.ftp.passive_timeout, std::chrono::seconds(10));
    EXPECT_EQ(set.model->server.ftp.idle_timeout, std::chrono::seconds(120));
    for (const char* bad : {"  http: {max_connections_per_client: 0}\n", "  http: {header_timeout: 0}\n",
                            "  http: {min_rate: fast}\n", "  http: {max_connections: 0}\n",
                            "  ftp: {max_sessions_per_client: 0}\n", "  ftp: {passive_timeout: soon}\n",
                            "  ftp: {idle_timeout: 0s}\n"}) {
        const auto r = with(bad);
        EXPECT_FALSE(r.model) << bad;
    }
}

TEST(inventory, metrics_exposure) {
    const auto with = [](const std::string& block) {
        return load(replace(base_yaml, "  tftp: {root: /srv/tftp}\n", "  tftp: {root: /srv/tftp}\n" + block));
    };
    const auto defaults = with("");
    ASSERT_TRUE(defaults.model) << all_messages(defaults);
    EXPECT_TRUE(defaults.model->server.metrics.enabled);
    EXPECT_FALSE(defaults.model->server.metrics.listen_address);
    const auto set = with("  metrics: {enabled: true, listen: \"127.0.0.2:9172\"}\n");
    ASSERT_TRUE(set.model) << all_messages(set);
    ASSERT_TRUE(set.model->server.metrics.listen_address);
    EXPECT_EQ(set.model->server.metrics.listen_address->to_string(), "127.0.0.2");
    EXPECT_EQ(set.model->server.metrics.listen_port, 9172);
    EXPECT_FALSE(with("  metrics: {enabled: false}\n").model->server.metrics.enabled);
    for (const char* bad : {"  metrics: {listen: 9172}\n", "  metrics: {listen: \"127.0.0.1:0\"}\n",
                            "  metrics: {listen: \"localhost:9172\"}\n", "  metrics: {listen: \"127.0.0.1:70000\"}\n",
                            "  metrics: {port: 9172}\n"}) {
        const auto r = with(bad);
        EXPECT_FALSE(r.model) << bad;
    }
}

TEST(inventory, loads_the_base_site_with_defaults_filled_in) {
    const auto r = load(base_yaml);
    ASSERT_TRUE(r.model) << all_messages(r);
    const auto& s = *r.model;
    EXPECT_EQ(s.server.address.to_string(), "192.168.1.2");
    EXPECT_EQ(s.server.tftp.port, 69);
    EXPECT_TRUE(s.server.tftp.look_ahead);
    EXPECT_EQ(s.server.http.port, 80);
    EXPECT_EQ(s.server.state_dir, "/var/lib/pxed");
    EXPECT_EQ(s.subnets.at(0).lease_time, std::chrono::hours(12));
    EXPECT_EQ(s.boot.bios, "pxelinux.0");
    EXPECT_EQ(s.menu.entries, (std::vector<std::string>{"centos7", "local"}));
    EXPECT_EQ(s.menu.default_entry, "local");
    const auto* h = s.find_host(*wire::mac_address::parse("52-54-00-12-34-56"));
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->ip->to_string(), "192.168.1.101");
    EXPECT_TRUE(h->netboot);
    EXPECT_EQ(s.find_tree("centos7")->protocol, tree_protocol::ftp);
}

TEST(inventory, resolves_relative_paths_against_the_config_directory) {
    const auto r = load(replace(base_yaml, "root: /srv/tftp", "root: ../tftpboot"));
    ASSERT_TRUE(r.model) << all_messages(r);
    EXPECT_EQ(r.model->server.tftp.root, "/etc/tftpboot");
}

TEST(inventory, applies_profile_inheritance_child_over_parent) {
    const auto r = load(replace(base_yaml, "hosts:", R"(  centos6:
    inherits: centos7
    label: CentOS 6
    kernel: c6/vmlinuz
    vars: {timezone: UTC}
hosts:)"));
    ASSERT_TRUE(r.model) << all_messages(r);
    const auto* p = r.model->find_profile("centos6");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->kernel, "c6/vmlinuz");
    EXPECT_EQ(p->initrd, "c7/initrd.img") << "inherited";
    EXPECT_EQ(p->tree, "centos7") << "inherited";
    EXPECT_EQ(p->kickstart, "centos7.ks") << "inherited";
    EXPECT_EQ(p->label, "CentOS 6");
    EXPECT_EQ(r.model->find_profile("centos7")->label, "centos7") << "label defaults to the name";
}

TEST(inventory, keeps_nested_vars_as_lists_and_maps) {
    const auto r = load(replace(base_yaml, "    kickstart: centos7.ks\n",
                                "    kickstart: centos7.ks\n    vars: {packages: [vim, wget], disk: {name: sda}}\n"));
    ASSERT_TRUE(r.model) << all_messages(r);
    const auto& vars = r.model->find_profile("centos7")->vars;
    const auto& packages = std::get<value::list>(vars.at("packages").data);
    ASSERT_EQ(packages.size(), 2u);
    EXPECT_EQ(std::get<std::string>(packages[1].data), "wget");
    EXPECT_EQ(std::get<value::object>(vars.at("disk").data).at(0).first, "name");
}

TEST(inventory, parses_durations) {
    EXPECT_EQ(parse_duration("30s"), seconds(30));
    EXPECT_EQ(parse_duration("12h"), seconds(43200));
    EXPECT_EQ(parse_duration("1h30m"), seconds(5400));
    EXPECT_EQ(parse_duration("3600"), seconds(3600));
    EXPECT_EQ(parse_duration("2d"), seconds(172800));
    for (const char* bad : {"", "h", "12x", "-5s", "1h30", "1.5h", "99999999999999999999s"})
        EXPECT_FALSE(parse_duration(bad)) << bad;
}

namespace {

struct broken_case {
    const char* name;
    std::string yaml;
    const char* message;  // a substring of the expected diagnostic
    int line;             // where it must point (0 = don't care)
    int column;
};

// Found by gtest through argument-dependent lookup, so beside broken_case.
void PrintTo(const broken_case& c, std::ostream* os) { *os << c.name; }

}  // namespace

class broken_config : public ::testing::TestWithParam<broken_case> {};

TEST_P(broken_config, is_refused_with_a_located_message) {
    const auto& c = GetParam();
    const auto r = load(c.yaml);
    EXPECT_FALSE(r.model) << "config should have been refused";
    bool found = false;
    for (const auto& d : r.diagnostics) {
        if (d.level != severity::error || d.message.find(c.message) == std::string::npos) continue;
        found = true;
        EXPECT_EQ(d.where.file, "site.yaml");
        if (c.line) {
            EXPECT_EQ(d.where.line, c.line) << d.to_string();
        }
        if (c.column) {
            EXPECT_EQ(d.where.column, c.column) << d.to_string();
        }
    }
    EXPECT_TRUE(found) << "expected an error containing '" << c.message << "', got:\n" << all_messages(r);
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(table, broken_config, ::testing::Values(
    broken_case{"yaml_syntax", "server: {address: [1.2.3.4\n", "YAML syntax: this '[' is never closed", 1, 19},
    broken_case{"empty_file", "", "the file is empty", 0, 0},
    broken_case{"top_level_list", "- a\n- b\n", "must be a mapping", 1, 1},
    broken_case{"missing_server", replace(base_yaml, "server:\n  address: 192.168.1.2\n  tftp: {root: /srv/tftp}\n", ""), "'server' section is missing", 0, 0},
    broken_case{"bad_server_address", replace(base_yaml, "address: 192.168.1.2", "address: 192.168.1.256"), "is not an IPv4 address", 2, 12},
    broken_case{"missing_tftp_root", replace(base_yaml, "  tftp: {root: /srv/tftp}\n", ""), "tftp.root is required", 0, 0},
    broken_case{"unknown_top_key", base_yaml + "subnet: []\n", "unknown key 'subnet' in the top level (did you mean 'subnets'?)", 20, 1},
    broken_case{"unknown_subnet_key", replace(base_yaml, "    routers:", "    lease-time: 1h\n    routers:"), "unknown key 'lease-time' in subnet (did you mean 'lease_time'?)", 7, 5},
    broken_case{"duplicate_key", replace(base_yaml, "  address: 192.168.1.2\n", "  address: 192.168.1.2\n  address: 192.168.1.3\n"), "duplicate key 'address'", 3, 3},
    broken_case{"bad_network", replace(base_yaml, "192.168.1.0/24", "192.168.1.0/33"), "is not a network in CIDR form", 5, 14},
    broken_case{"host_bits", replace(base_yaml, "192.168.1.0/24", "192.168.1.7/24"), "did you mean 192.168.1.0/24?", 5, 14},
    broken_case{"overlapping_subnets", replace(base_yaml, "trees:", "  - network: 192.168.0.0/16\ntrees:"), "overlaps subnet 192.168.1.0/24", 8, 14},
    broken_case{"range_outside_subnet", replace(base_yaml, "192.168.1.230-192.168.1.240", "192.168.2.10-192.168.2.20"), "is not inside subnet", 6, 14},
    broken_case{"range_backwards", replace(base_yaml, "192.168.1.230-192.168.1.240", "192.168.1.240-192.168.1.230"), "ends before it starts", 6, 14},
    broken_case{"range_with_broadcast", replace(base_yaml, "192.168.1.230-192.168.1.240", "192.168.1.230-192.168.1.255"), "network or broadcast", 6, 14},
    broken_case{"bad_lease_time", replace(base_yaml, "    routers:", "    lease_time: forever\n    routers:"), "is not a duration", 7, 17},
    broken_case{"lease_longer_than_max", replace(base_yaml, "    routers:", "    lease_time: 2d\n    routers:"), "max_lease_time is shorter than lease_time", 0, 0},
    broken_case{"bad_mac", replace(base_yaml, "52:54:00:12:34:56", "52:54:00:12:34"), "is not a MAC address", 17, 10},
    broken_case{"duplicate_mac", base_yaml + "  - {mac: 52-54-00-12-34-56, profile: centos7}\n", "MAC 52:54:00:12:34:56 is already used by the host on line 17", 20, 11},
    broken_case{"duplicate_ip", base_yaml + "  - {mac: 52:54:00:12:34:57, ip: 192.168.1.101, profile: centos7}\n", "IP 192.168.1.101 is already reserved", 20, 34},
    broken_case{"reserved_ip_outside_subnets", replace(base_yaml, "ip: 192.168.1.101", "ip: 10.0.0.5"), "outside every subnet", 18, 9},
    broken_case{"reserved_ip_in_dynamic_range", replace(base_yaml, "ip: 192.168.1.101", "ip: 192.168.1.235"), "inside a dynamic range", 18, 9},
    broken_case{"reserved_ip_is_server", replace(base_yaml, "ip: 192.168.1.101", "ip: 192.168.1.2"), "pxed's own server.address", 18, 9},
    broken_case{"unknown_profile", replace(base_yaml, "    profile: centos7", "    profile: centos8"), "unknown profile 'centos8' (did you mean 'centos7'?)", 19, 14},
    broken_case{"netboot_without_profile", replace(base_yaml, "    profile: centos7\n", ""), "netboot: true but no 'profile'", 17, 5},
    broken_case{"bad_hostname", replace(base_yaml, "    ip: 192.168.1.101", "    hostname: node_01\n    ip: 192.168.1.101"), "not a valid hostname", 18, 15},
    broken_case{"unknown_tree", replace(base_yaml, "    tree: centos7", "    tree: centos9"), "unknown tree 'centos9'", 12, 11},
    broken_case{"missing_kernel", replace(base_yaml, "    tree: centos7\n    kernel: c7/vmlinuz\n", ""), "needs 'kernel'", 11, 3},
    broken_case{"kernel_escapes_root", replace(base_yaml, "kernel: c7/vmlinuz", "kernel: ../vmlinuz"), "relative path inside the TFTP root", 13, 13},
    broken_case{"unknown_parent", replace(base_yaml, "    tree: centos7\n", "    inherits: base\n    tree: centos7\n"), "inherits unknown profile 'base'", 12, 15},
    broken_case{"tree_url_traversal", replace(base_yaml, "url: /pub/centos/7/x86_64", "url: /pub/../etc"), "must be an absolute path", 9, 33},
    broken_case{"tree_without_path", replace(base_yaml, "path: /srv/c7, ", ""), "needs 'path'", 9, 3},
    broken_case{"bad_port", replace(base_yaml, "tftp: {root: /srv/tftp}", "tftp: {root: /srv/tftp, port: 70000}"), "must be a port number", 3, 33},
    broken_case{"bad_bool", replace(base_yaml, "tftp: {root: /srv/tftp}", "tftp: {root: /srv/tftp, enabled: maybe}"), "must be true or false", 3, 36},
    broken_case{"bad_dhcp_mode", replace(base_yaml, "  tftp:", "  dhcp: {mode: authoritative}\n  tftp:"), "'mode' must be server (pxed hands out addresses) or proxy", 3, 16},
    broken_case{"bad_log_level", replace(base_yaml, "  tftp:", "  log: {level: verbose}\n  tftp:"), "'level' must be trace, debug, info, warn, error, critical or off, not 'verbose'", 3, 16},
    broken_case{"empty_state_dir", replace(base_yaml, "  tftp:", "  state_dir: \"\"\n  tftp:"), "'state_dir' is empty: give a path, or leave the key out", 3, 14},
    broken_case{"port_clash", replace(base_yaml, "  tftp:", "  http: {port: 21}\n  tftp:"), "cannot share TCP port 21", 0, 0},
    broken_case{"menu_unknown_entry", base_yaml + "menu: {entries: [centos7, rhel9]}\n", "menu entry 'rhel9' is not a profile", 20, 27},
    broken_case{"menu_default_not_an_entry", base_yaml + "menu: {entries: [centos7], default: local}\n", "menu default 'local' is not one of the menu entries", 20, 37},
    broken_case{"bad_unknown_policy", base_yaml + "menu: {unknown_hosts: pxe}\n", "'unknown_hosts' must be menu, local or ignore", 20, 23},
    broken_case{"profile_named_local", replace(base_yaml, "hosts:", "  local: {kernel: a, initrd: b}\nhosts:"), "'local' is reserved", 16, 3},
    broken_case{"uefi_http_not_a_url", base_yaml + "boot: {uefi-http: tftp://192.168.1.2/grubx64.efi}\n", "boot.uefi-http 'tftp://192.168.1.2/grubx64.efi' is not an http:// or https:// URL", 20, 19},
    broken_case{"uefi_http_with_http_off", replace(base_yaml, "  tftp: {root: /srv/tftp}\n", "  tftp: {root: /srv/tftp}\n  http: {enabled: false}\n") + "boot: {uefi-http: '{{http_url}}/grubx64.efi'}\n", "boot.uefi-http points at pxed's HTTP server, which is disabled", 21, 19},
    broken_case{"profile_uefi_http_not_a_url", replace(base_yaml, "    kickstart: centos7.ks\n", "    kickstart: centos7.ks\n    uefi-http: grubx64.efi\n"), "profile 'centos7': uefi-http 'grubx64.efi' is not an http:// or https:// URL", 16, 16},
    broken_case{"host_uefi_http_not_a_url", replace(base_yaml, "    profile: centos7\n", "    profile: centos7\n    uefi-http: grubx64.efi\n"), "host 52:54:00:12:34:56: uefi-http 'grubx64.efi' is not an http:// or https:// URL", 20, 16},
    broken_case{"no_subnets_in_server_mode", replace(replace(base_yaml, "subnets:\n  - network: 192.168.1.0/24\n    ranges: [192.168.1.230-192.168.1.240]\n    routers: [192.168.1.1]\n", ""), "    ip: 192.168.1.101\n", ""), "no 'subnets' are defined", 0, 0}
), [](const ::testing::TestParamInfo<broken_case>& c) { return std::string(c.param.name); });
// clang-format on

TEST(inventory, reports_an_inheritance_loop_naming_the_chain) {
    auto yaml = replace(base_yaml, "hosts:", R"(  a: {inherits: b}
  b: {inherits: a}
hosts:)");
    const auto r = load(yaml);
    EXPECT_FALSE(r.model);
    EXPECT_THAT(all_messages(r), HasSubstr("inheritance loop: a -> b -> a"));
}

TEST(inventory, reports_many_errors_in_one_pass) {
    auto yaml = replace(base_yaml, "address: 192.168.1.2", "address: nope");
    yaml = replace(yaml, "52:54:00:12:34:56", "zz");
    yaml = replace(yaml, "    tree: centos7", "    tree: missing");
    const auto r = load(yaml);
    EXPECT_FALSE(r.model);
    int errors = 0;
    for (const auto& d : r.diagnostics) errors += d.level == severity::error;
    EXPECT_GE(errors, 3) << all_messages(r);
}

TEST(inventory, warns_about_a_router_outside_its_subnet_but_loads) {
    const auto r = load(replace(base_yaml, "routers: [192.168.1.1]", "routers: [10.0.0.1]"));
    ASSERT_TRUE(r.model) << all_messages(r);
    ASSERT_EQ(r.diagnostics.size(), 1u);
    EXPECT_EQ(r.diagnostics[0].level, severity::warning);
    EXPECT_THAT(r.diagnostics[0].message, HasSubstr("router 10.0.0.1 is outside subnet"));
}

TEST(inventory, ipxe_chaining_is_on_by_default_and_can_be_switched_off) {
    auto r = load(base_yaml);
    ASSERT_TRUE(r.model);
    EXPECT_NE(r.model->boot.ipxe.find("/ipxe/{{mac}}"), std::string::npos);
    r = load(base_yaml + "boot: {ipxe: off}\n");
    ASSERT_TRUE(r.model) << all_messages(r);
    EXPECT_TRUE(r.model->boot.ipxe.empty());
}

// UEFI HTTP Boot: by default the boot file of the client's architecture
// from pxed's own HTTP server; boot.uefi-http replaces that for the site, a
// profile's uefi-http (inherited) and a host's for theirs, `off` at any level.
TEST(inventory, uefi_http_has_a_default_url_and_profile_and_host_overrides) {
    auto r = load(base_yaml);
    ASSERT_TRUE(r.model) << all_messages(r);
    EXPECT_EQ(r.model->boot.uefi_http, "{{http_url}}/{{boot_file}}");
    r = load(base_yaml + "boot: {uefi-http: off}\n");
    ASSERT_TRUE(r.model) << all_messages(r);
    EXPECT_EQ(r.model->boot.uefi_http, "");
    r = load(replace(base_yaml, "  tftp: {root: /srv/tftp}\n", "  tftp: {root: /srv/tftp}\n  http: {enabled: false}\n"));
    ASSERT_TRUE(r.model) << all_messages(r);
    EXPECT_EQ(r.model->boot.uefi_http, "") << "no default without pxed's HTTP server";

    auto yaml = replace(base_yaml, "    kickstart: centos7.ks\n",
                        "    kickstart: centos7.ks\n    uefi-http: https://boot.example/efi/{{boot_file}}\n"
                        "  child: {inherits: centos7}\n");
    yaml = replace(yaml, "    profile: centos7\n", "    profile: child\n    uefi-http: off\n");
    r = load(yaml + "boot: {uefi-http: 'http://{{server}}:{{http_port}}/{{mac_dashed}}/{{boot_file}}'}\n");
    ASSERT_TRUE(r.model) << all_messages(r);
    EXPECT_EQ(r.model->boot.uefi_http, "http://{{server}}:{{http_port}}/{{mac_dashed}}/{{boot_file}}");
    EXPECT_EQ(r.model->find_profile("centos7")->uefi_http, "https://boot.example/efi/{{boot_file}}");
    EXPECT_EQ(r.model->find_profile("child")->uefi_http, "https://boot.example/efi/{{boot_file}}") << "inherited";
    ASSERT_EQ(r.model->hosts.size(), 1u);
    EXPECT_EQ(r.model->hosts[0].uefi_http, "off");
}

class inventory_files : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/pxed-inventory-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        stdfs::create_directories(dir_ / "tftp/c7");
        stdfs::create_directories(dir_ / "trees/c7");
        std::ofstream(dir_ / "tftp/c7/vmlinuz") << "kernel";
        std::ofstream(dir_ / "tftp/pxelinux.0") << "pxe";
    }
    void TearDown() override { stdfs::remove_all(dir_); }

    load_result load_here(std::string yaml) {
        yaml = replace(yaml, "root: /srv/tftp", "root: tftp");
        yaml = replace(yaml, "path: /srv/c7", "path: trees/c7");
        return load_string(yaml, "site.yaml", dir_.string(), {});
    }

    stdfs::path dir_;
};

TEST_F(inventory_files, reports_a_missing_initrd_in_the_tftp_root) {
    const auto r = load_here(base_yaml);
    EXPECT_FALSE(r.model);
    EXPECT_THAT(all_messages(r), HasSubstr("site.yaml:14:13: error: profile 'centos7': initrd 'c7/initrd.img' is not in the TFTP root"));
    EXPECT_THAT(all_messages(r), ::testing::Not(HasSubstr("kernel 'c7/vmlinuz'")));
}

TEST_F(inventory_files, loads_when_every_file_is_there) {
    std::ofstream(dir_ / "tftp/c7/initrd.img") << "initrd";
    const auto r = load_here(base_yaml);
    EXPECT_TRUE(r.model) << all_messages(r);
}

TEST_F(inventory_files, reports_a_missing_tree_directory) {
    std::ofstream(dir_ / "tftp/c7/initrd.img") << "initrd";
    stdfs::remove_all(dir_ / "trees/c7");
    const auto r = load_here(base_yaml);
    EXPECT_FALSE(r.model);
    EXPECT_THAT(all_messages(r), HasSubstr("site.yaml:9:19: error: tree 'centos7': directory"));
}

TEST_F(inventory_files, warns_when_the_bios_boot_file_is_missing) {
    std::ofstream(dir_ / "tftp/c7/initrd.img") << "initrd";
    stdfs::remove(dir_ / "tftp/pxelinux.0");
    const auto r = load_here(base_yaml + "boot: {bios: pxelinux.0}\n");
    ASSERT_TRUE(r.model) << all_messages(r);
    EXPECT_THAT(all_messages(r), HasSubstr("warning: boot file 'pxelinux.0' is not in the TFTP root yet"));
}

TEST_F(inventory_files, an_unknown_boot_key_lists_each_known_key_once) {
    // With the TFTP root present the loader looks at the boot files again
    // (missing ones are warnings); that second look once listed them twice.
    std::ofstream(dir_ / "tftp/c7/initrd.img") << "initrd";
    const auto r = load_here(base_yaml + "boot: {bois: pxelinux.0}\n");
    EXPECT_FALSE(r.model);
    EXPECT_THAT(all_messages(r),
                HasSubstr("site.yaml:20:8: error: unknown key 'bois' in boot (did you mean 'bios'?); known keys: bios, "
                          "uefi-x64, uefi-ia32, uefi-arm64, ipxe, uefi-http, grub_dir, grub_commands, secure_boot\n"));
}

// boot.secure_boot: shim at uefi-x64 (shimx64.efi by default), its GRUB as
// grubx64.efi beside it, both served from the files named here.
TEST_F(inventory_files, secure_boot_names_a_signed_shim_and_grub_served_from_their_files) {
    std::ofstream(dir_ / "tftp/c7/initrd.img") << "initrd";
    std::ofstream(dir_ / "shim.signed") << "shim";
    std::ofstream(dir_ / "grub.signed") << "grub";
    const auto r = load_here(base_yaml + "boot:\n  secure_boot: {shim: shim.signed, grub: " + (dir_ / "grub.signed").string() + "}\n");
    ASSERT_TRUE(r.model) << all_messages(r);
    const auto& b = r.model->boot;
    EXPECT_TRUE(b.secure_boot.on());
    EXPECT_EQ(b.secure_boot.shim, (dir_ / "shim.signed").string());  // relative to site.yaml's directory
    EXPECT_EQ(b.secure_boot.grub, (dir_ / "grub.signed").string());
    EXPECT_EQ(b.uefi_x64, "shimx64.efi");
    EXPECT_EQ(b.secure_boot_grub(), "grubx64.efi");
    EXPECT_EQ(b.secure_boot.where.line, 21);
    EXPECT_THAT(all_messages(r), ::testing::Not(HasSubstr("secure_boot")));

    const auto sub = load_here(base_yaml + "boot:\n  uefi-x64: /efi/shim.efi\n  secure_boot: {shim: shim.signed, grub: grub.signed}\n");
    ASSERT_TRUE(sub.model) << all_messages(sub);
    EXPECT_EQ(sub.model->boot.uefi_x64, "efi/shim.efi");
    EXPECT_EQ(sub.model->boot.secure_boot_grub(), "efi/grubx64.efi");

    const auto off = load_here(base_yaml + "boot:\n  secure_boot: off\n");
    ASSERT_TRUE(off.model) << all_messages(off);
    EXPECT_FALSE(off.model->boot.secure_boot.on());
    EXPECT_EQ(off.model->boot.uefi_x64, "grubx64.efi");
}

TEST_F(inventory_files, secure_boot_errors_point_at_the_line) {
    std::ofstream(dir_ / "tftp/c7/initrd.img") << "initrd";
    std::ofstream(dir_ / "shim.signed") << "shim";
    std::ofstream(dir_ / "grub.signed") << "grub";
    const auto msg = [&](const std::string& boot) { return all_messages(load_here(base_yaml + "boot:\n" + boot)); };
    EXPECT_THAT(msg("  secure_boot: {shim: shim.signed, grub: nothere.efi}\n"),
                HasSubstr("site.yaml:21:42: error: secure_boot: grub '" + (dir_ / "nothere.efi").string() + "' does not exist"));
    EXPECT_THAT(msg("  secure_boot: {shim: tftp, grub: grub.signed}\n"),
                HasSubstr("site.yaml:21:23: error: secure_boot: shim '" + (dir_ / "tftp").string() + "' is not a regular file"));
    EXPECT_THAT(msg("  secure_boot: maybe\n"),
                HasSubstr("site.yaml:21:16: error: 'secure_boot' must be off, on or {shim: PATH, grub: PATH}, not 'maybe'"));
    EXPECT_THAT(msg("  secure_boot: {shim: shim.signed, grub: grub.signed, mok: x}\n"), HasSubstr("unknown key 'mok'"));
    // shim would load itself.
    EXPECT_THAT(msg("  uefi-x64: grubx64.efi\n  secure_boot: {shim: shim.signed, grub: grub.signed}\n"),
                HasSubstr("site.yaml:21:13: error: uefi-x64 'grubx64.efi' is the name shim loads its GRUB by"));
    // A real file of the TFTP root at that name: said, never silently shadowed.
    std::ofstream(dir_ / "tftp/grubx64.efi") << "grub-mkimage";
    const auto shadow = load_here(base_yaml + "boot:\n  secure_boot: {shim: shim.signed, grub: grub.signed}\n");
    ASSERT_TRUE(shadow.model) << all_messages(shadow);
    EXPECT_THAT(all_messages(shadow), HasSubstr("site.yaml:21:16: warning: the TFTP root's grubx64.efi is not served: "
                                                "boot.secure_boot serves " + (dir_ / "grub.signed").string()));
}

TEST(inventory, secure_boot_on_takes_debians_or_centos_files_or_says_none_is_installed) {
    // check_files off (load): no file looked at, Debian's names.
    const auto r = load(base_yaml + "boot: {secure_boot: on}\n");
    ASSERT_TRUE(r.model) << all_messages(r);
    EXPECT_EQ(r.model->boot.secure_boot.shim, "/usr/lib/shim/shimx64.efi.signed");
    EXPECT_EQ(r.model->boot.secure_boot.grub, "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed");
    const bool debian = stdfs::is_regular_file("/usr/lib/shim/shimx64.efi.signed") &&
                        stdfs::is_regular_file("/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed");
    const bool centos = stdfs::is_regular_file("/boot/efi/EFI/centos/shimx64.efi") &&
                        stdfs::is_regular_file("/boot/efi/EFI/centos/grubx64.efi");
    const auto checked = load(base_yaml + "boot: {secure_boot: on}\n", true);
    if (debian || centos) {
        EXPECT_THAT(all_messages(checked), ::testing::Not(HasSubstr("secure_boot")));
    } else {
        EXPECT_THAT(all_messages(checked), HasSubstr("site.yaml:20:21: error: secure_boot: on needs a signed shim and GRUB, and none is installed"));
    }
}

TEST(inventory, every_key_table_names_each_key_once) {
    const auto sections = site_yaml_keys();
    ASSERT_FALSE(sections.empty());
    for (const auto& section : sections) {
        EXPECT_FALSE(section.keys.empty()) << section.name;
        std::set<std::string> seen;
        for (const auto& k : section.keys) {
            EXPECT_TRUE(seen.insert(k.name).second) << section.name << ": '" << k.name << "' twice";
            EXPECT_FALSE(k.doc.empty()) << section.name << "." << k.name << " has no doc line";
            EXPECT_EQ(k.doc.find('\n'), std::string::npos) << section.name << "." << k.name;
            EXPECT_FALSE(k.default_value.empty()) << section.name << "." << k.name;
        }
    }
}

TEST(inventory, the_documented_lifecycle_defaults_are_the_ones_in_force) {
    const auto r = load(base_yaml);
    ASSERT_TRUE(r.model) << all_messages(r);
    const auto& l = r.model->lifecycle;
    std::map<std::string, std::string> shown;
    for (const auto& section : site_yaml_keys())
        if (section.name == "lifecycle")
            for (const auto& k : section.keys) shown[k.name] = k.default_value;
    EXPECT_EQ(shown["new_hosts"], std::string("`") + to_string(l.new_hosts) + "`");
    EXPECT_EQ(shown["install_done"], std::string("`") + to_string(l.install_done) + "`");
    EXPECT_EQ(shown["install_timeout"], "`4h`");
    EXPECT_EQ(l.install_timeout, std::chrono::hours(4));
    EXPECT_EQ(shown["on_timeout"], std::string("`") + to_string(l.on_timeout) + "`");
    EXPECT_EQ(shown["installed_pxe"], std::string("`") + to_string(l.when_installed) + "`");
}

// yaml-cpp reports an unclosed '[' or '{' at the token where it gave up: the
// next line, or one past the end of the file. The error points at the
// bracket; other syntax errors stay where yaml-cpp saw them.
TEST(inventory, yaml_syntax_errors_point_at_the_line_to_fix) {
    struct syntax_case {
        std::string yaml;
        int line, column;
        const char* message;
    };
    for (const auto& [yaml, line, column, message] : std::vector<syntax_case>{
             {"server:\n  address: 192.168.1.2\n  interfaces: [eth0, eth1\n", 3, 15, "this '[' is never closed"},
             {"server:\n  address: 192.168.1.2\n  tftp: {root: /srv/tftp\n\n# the end\nhosts: []\n", 3, 9,
              "this '{' is never closed"},
             {"server:\n  address: 192.168.1.2\n  interfaces: [eth0, {name: eth1]\n", 3, 33, "illegal flow end"},
             {"server:\n  address: 192.168.1.2\n    tftp: x\n", 3, 9, "illegal map value"},
             {"server:\n  address: 192.168.1.2\n bad: x\n", 3, 2, "end of map not found"},
         }) {
        const auto r = load(yaml);
        ASSERT_EQ(r.diagnostics.size(), 1u) << yaml << all_messages(r);
        const auto& d = r.diagnostics[0];
        EXPECT_THAT(d.message, HasSubstr("YAML syntax: "));
        EXPECT_THAT(d.message, HasSubstr(message)) << yaml;
        EXPECT_EQ(d.where.line, line) << yaml << d.to_string();
        EXPECT_EQ(d.where.column, column) << yaml << d.to_string();
    }
}

TEST(inventory, lifecycle_policy_top_level_then_profile_then_host) {
    auto yaml = base_yaml + std::string("lifecycle: {install_timeout: 90m, on_timeout: install}\n");
    yaml = replace(yaml, "    kickstart: centos7.ks\n", "    kickstart: centos7.ks\n    lifecycle: {install_done: kickstart}\n");
    const auto r = load(yaml);
    ASSERT_TRUE(r.model) << all_messages(r);
    const auto& s = *r.model;
    EXPECT_EQ(s.lifecycle.install_timeout, std::chrono::minutes(90));
    const auto* h = s.find_host(*wire::mac_address::parse("52:54:00:12:34:56"));
    ASSERT_NE(h, nullptr);
    const auto p = s.lifecycle_for(*h);
    EXPECT_EQ(p.install_done, install_end::kickstart) << "from the profile";
    EXPECT_EQ(p.on_timeout, timeout_action::install) << "from the top level";
    EXPECT_EQ(p.install_timeout, std::chrono::minutes(90));
    EXPECT_EQ(p.new_hosts, new_host_state::pending) << "the default";
    EXPECT_EQ(p.when_installed, installed_pxe::answer);
}

TEST(inventory, lifecycle_typos_and_bad_values_are_errors) {
    for (const auto& [bad, word] : std::vector<std::pair<std::string, std::string>>{
             {"lifecycle: {install_done: calback}\n", "did you mean 'callback'"},
             {"lifecycle: {new_host: installed}\n", "unknown key 'new_host'"},
             {"lifecycle: {install_timeout: 30s}\n", "at least 1m"},
             {"lifecycle: {install_timeout: soon}\n", "not a duration"},
             {"lifecycle: {on_timeout: reboot}\n", "local or install"},
             {"lifecycle: {installed_pxe: never}\n", "answer or none"},
         }) {
        const auto r = load(base_yaml + bad);
        EXPECT_FALSE(r.model) << bad;
        EXPECT_NE(all_messages(r).find(word), std::string::npos) << all_messages(r);
    }
}

TEST(inventory, access_defaults_are_the_safe_ones) {
    const auto r = load(base_yaml);
    ASSERT_TRUE(r.model) << all_messages(r);
    const auto& a = r.model->access;
    EXPECT_EQ(a.host_documents, host_document_access::address_or_token);
    ASSERT_EQ(a.api_read_from.size(), 1u);
    EXPECT_EQ(a.api_read_from[0].to_string(), "127.0.0.0/8");
    EXPECT_TRUE(a.api_keys.empty()) << "no keys: no state changes over HTTP";
    EXPECT_FALSE(a.api_show_variables);
    EXPECT_TRUE(a.api_host_names.empty()) << "addresses, localhost and the machine's own name only";
    EXPECT_THAT(all_messages(r), ::testing::Not(HasSubstr("access")));
}

TEST(inventory, access_settings_and_their_mistakes) {
    auto r = load(base_yaml + "access:\n  host_documents: address-and-token\n  api: {read_from: [10.0.0.0/24, 10.1.0.7], show_variables: true}\n");
    ASSERT_TRUE(r.model) << all_messages(r);
    EXPECT_EQ(r.model->access.host_documents, host_document_access::address_and_token);
    ASSERT_EQ(r.model->access.api_read_from.size(), 2u);
    EXPECT_EQ(r.model->access.api_read_from[1].to_string(), "10.1.0.7/32");
    r = load(base_yaml + "access: {api: {host_names: [pxe01.example.com, pxe01]}}\n");
    ASSERT_TRUE(r.model) << all_messages(r);
    EXPECT_EQ(r.model->access.api_host_names, (std::vector<std::string>{"pxe01.example.com", "pxe01"}));

    r = load(base_yaml + "access: {host_documents: open}\n");
    ASSERT_TRUE(r.model);
    EXPECT_THAT(all_messages(r), HasSubstr("warning: access.host_documents: open gives every host's boot config"))
        << "the permissive setting loads, and says what it means";
    for (const auto& [bad, word] : std::vector<std::pair<std::string, std::string>>{
             {"access: {host_documents: adress-or-token}\n", "did you mean 'address-or-token'"},
             {"access: {host_document: open}\n", "unknown key 'host_document'"},
             {"access: {api: {read_from: [10.0.0.1/24]}}\n", "not an address or a network"},
             {"access: {api: {read_from: [everyone]}}\n", "not an address or a network"},
             {"access: {api: {keys: x}}\n", "unknown key 'keys'"},
             {"access: {api: {host_names: [\"http://pxe01\"]}}\n", "is not a host name"},
             {"access: {api: {host_names: [\"pxe01:8080\"]}}\n", "no port"},
             {"access: {api: {keys_file: /nonexistent/pxed-keys}}\n", "cannot read /nonexistent/pxed-keys"},
         }) {
        const auto e = load(base_yaml + bad);
        EXPECT_FALSE(e.model) << bad;
        EXPECT_THAT(all_messages(e), HasSubstr(word)) << bad;
    }
}

TEST_F(inventory_files, api_keys_come_from_their_file_named_and_long_enough) {
    std::ofstream(dir_ / "tftp/c7/initrd.img") << "initrd";
    const auto keys = dir_ / "keys";
    const std::string good = std::string(40, 'k');
    std::ofstream(keys) << "# who\nalice " << good << "\n\n  # ci\nbob " << std::string(40, 'b') << "\n";
    stdfs::permissions(keys, stdfs::perms::owner_read | stdfs::perms::owner_write | stdfs::perms::group_read);
    auto r = load_here(base_yaml + "access: {api: {keys_file: keys}}\n");
    ASSERT_TRUE(r.model) << all_messages(r);
    ASSERT_EQ(r.model->access.api_keys.size(), 2u);
    EXPECT_EQ(r.model->access.api_keys[0].name, "alice");
    EXPECT_EQ(r.model->access.api_keys[0].secret, good);
    EXPECT_EQ(r.model->access.api_keys_file, (dir_ / "keys").string());
    EXPECT_THAT(all_messages(r), ::testing::Not(HasSubstr("readable by every user")));

    stdfs::permissions(keys, stdfs::perms::others_read, stdfs::perm_options::add);
    r = load_here(base_yaml + "access: {api: {keys_file: keys}}\n");
    EXPECT_THAT(all_messages(r), HasSubstr("readable by every user of this machine"));

    std::ofstream(keys) << "alice short\nbob " << good << "\nbob " << std::string(40, 'c') << "\ncarol\n"
                        << "dave " << good << "\n" << good << " erin\nfrank " << std::string(40, 'f') << " # note\n";
    r = load_here(base_yaml + "access: {api: {keys_file: keys}}\n");
    EXPECT_FALSE(r.model);
    const auto m = all_messages(r);
    EXPECT_THAT(m, HasSubstr("line 1: the key is too short"));
    EXPECT_THAT(m, HasSubstr("line 3: a name used by an earlier line"));
    EXPECT_THAT(m, HasSubstr("line 4: expected 'name key'"));
    EXPECT_THAT(m, HasSubstr("line 5: a key used by an earlier line"));
    EXPECT_THAT(m, HasSubstr("line 6: the key is too short")) << "name and key swapped";
    EXPECT_THAT(m, HasSubstr("line 7: expected 'name key' and nothing else")) << "no comment after a key";
    EXPECT_THAT(m, ::testing::Not(HasSubstr(good))) << "a key is never printed, even swapped with its name";
}

TEST_F(inventory_files, secrets_are_read_from_their_files_at_load) {
    std::ofstream(dir_ / "tftp/c7/initrd.img") << "initrd";
    std::ofstream(dir_ / "rootpw") << "$6$salt$hash\n";
    stdfs::permissions(dir_ / "rootpw", stdfs::perms::owner_read | stdfs::perms::owner_write);
    const auto yaml = replace(base_yaml, "    kickstart: centos7.ks\n",
                              "    kickstart: centos7.ks\n    secrets: {rootpw_hash: {file: rootpw}, motd: hello}\n");
    auto r = load_here(yaml);
    ASSERT_TRUE(r.model) << all_messages(r);
    const auto& s = r.model->find_profile("centos7")->secret_values;
    EXPECT_EQ(s.at("rootpw_hash").value, "$6$salt$hash") << "the trailing newline goes";
    EXPECT_EQ(s.at("rootpw_hash").file, (dir_ / "rootpw").string());
    EXPECT_EQ(s.at("motd").value, "hello");

    load_options preview;
    preview.check_files = false;
    preview.read_secrets = false;
    r = load_string(replace(yaml, "root: /srv/tftp", "root: tftp"), "site.yaml", dir_.string(), preview);
    ASSERT_TRUE(r.model) << all_messages(r);
    EXPECT_EQ(r.model->find_profile("centos7")->secret_values.at("rootpw_hash").value, "<secret rootpw_hash>");
    EXPECT_EQ(r.model->find_profile("centos7")->secret_values.at("motd").value, "<secret motd>")
        << "inline ones are masked too";

    r = load_here(replace(yaml, "file: rootpw", "file: nothere"));
    EXPECT_FALSE(r.model);
    EXPECT_THAT(all_messages(r), HasSubstr("secret 'rootpw_hash': cannot read"));
    r = load_here(replace(yaml, "rootpw_hash: {file: rootpw}", "root-pw: {file: rootpw}"));
    EXPECT_FALSE(r.model);
    EXPECT_THAT(all_messages(r), HasSubstr("a secret's name is letters, digits and '_'"));
}

TEST(inventory, without_pxeds_dhcp_a_reservation_only_names_the_hosts_address) {
    const auto off = replace(base_yaml, "  tftp: {root: /srv/tftp}\n", "  tftp: {root: /srv/tftp}\n  dhcp: {enabled: false}\n");
    auto r = load(replace(off, "ip: 192.168.1.101", "ip: 192.168.1.2"));
    EXPECT_TRUE(r.model) << "pxed's own address (the loopback demo): " << all_messages(r);
    r = load(replace(off, "ip: 192.168.1.101", "ip: 10.9.9.9"));
    EXPECT_TRUE(r.model) << "outside every subnet: " << all_messages(r);
    r = load(replace(base_yaml, "ip: 192.168.1.101", "ip: 192.168.1.2"));
    EXPECT_FALSE(r.model) << "pxed's DHCP would hand out its own address";
}

TEST(inventory, warns_about_a_profile_var_that_looks_like_a_secret) {
    const auto r = load(replace(base_yaml, "    kickstart: centos7.ks\n",
                                "    kickstart: centos7.ks\n    vars: {rootpw_hash: x, timezone: UTC}\n"));
    ASSERT_TRUE(r.model);
    EXPECT_THAT(all_messages(r), HasSubstr("warning: profile 'centos7' vars: 'rootpw_hash' looks like a secret"));
    EXPECT_THAT(all_messages(r), ::testing::Not(HasSubstr("'timezone'")));
}

TEST(inventory, fingerprint_is_fnv1a_64_of_the_text) {
    EXPECT_EQ(fingerprint("", {}), "cbf29ce484222325");
    EXPECT_EQ(fingerprint("a", {}), "af63dc4c8601ec8c");
}

// pxed_config_info's hash must not be a function of a secret: with the rest
// of site.yaml known (it is often in git), a hash over the secret would let
// anyone who scrapes /metrics check guesses of it offline.
TEST(inventory, fingerprint_masks_secrets_where_they_stand) {
    const auto with_secret = [](const std::string& value, const std::string& comment = "") {
        return replace(base_yaml, "    profile: centos7\n",
                       "    profile: centos7\n    secrets:\n      rootpw: " + value + "\n" + comment);
    };
    const auto fp = [](const std::string& yaml) {
        const auto r = load(yaml);
        EXPECT_TRUE(r.model) << all_messages(r);
        return r.model ? r.model->fingerprint : std::string("not loaded");
    };
    const auto plain = fp(with_secret("hunter2"));
    ASSERT_EQ(plain.size(), 16u);
    EXPECT_EQ(fp(with_secret("correct-horse")), plain) << "only the secret changed";
    EXPECT_EQ(fp(with_secret("'hunter2'")), fp(with_secret("'other'"))) << "quoted";
    EXPECT_NE(fp(with_secret("hunter2") + "menu: {title: other}\n"), plain) << "anything else changes it";
    // The same text elsewhere (a comment) is not masked: masking by value
    // would make the hash tell whether a guess occurs there.
    EXPECT_EQ(fp(with_secret("admin", "# admin\n")), fp(with_secret("hunter2", "# admin\n")));
    // A block scalar's lines, one by one.
    EXPECT_EQ(fp(with_secret("|\n        line one\n        line two")), fp(with_secret("|\n        other\n        lines")));
    // Escapes: the value is not in the text as it is; no hash rather than one over the secret.
    EXPECT_EQ(fp(with_secret("\"tab\\there\"")), "");
}

TEST(inventory, profile_arch_defaults_to_x86_64_is_inherited_and_refuses_other_words) {
    const auto r = load(replace(base_yaml, "hosts:", R"(  arm:
    inherits: centos7
    arch: arm64
    kernel: arm/vmlinuz
  arm-child:
    inherits: arm
  back:
    inherits: arm
    arch: x86_64
hosts:)"));
    ASSERT_TRUE(r.model) << all_messages(r);
    EXPECT_EQ(r.model->find_profile("centos7")->arch, cpu_arch::x86_64) << "the default";
    EXPECT_EQ(r.model->find_profile("arm")->arch, cpu_arch::arm64);
    EXPECT_EQ(r.model->find_profile("arm-child")->arch, cpu_arch::arm64) << "inherited";
    EXPECT_EQ(r.model->find_profile("back")->arch, cpu_arch::x86_64) << "the child's own wins";

    // aarch64 (EL's and the kernel's word) is not taken silently: the error
    // names both words and what they are also called, at the value.
    const auto bad = load(replace(base_yaml, "    kickstart: centos7.ks\n", "    kickstart: centos7.ks\n    arch: aarch64\n"));
    EXPECT_FALSE(bad.model);
    const auto msgs = all_messages(bad);
    EXPECT_NE(msgs.find("site.yaml:16:11: error: 'arch' must be x86_64 (x86-64, amd64) or arm64 (aarch64), not 'aarch64'"),
              std::string::npos)
        << msgs;
}

// ---------------------------------------------------------------- large inventories: the fast host path

namespace {

// A site whose hosts list is `hosts` (from the "hosts:" line on), and a
// section after it, so that lines after the list are checked too.
std::string site_with_hosts(const std::string& hosts) {
    return R"(server:
  address: 192.168.1.2
  tftp: {root: /srv/tftp}
subnets:
  - network: 192.168.1.0/24
    ranges: [192.168.1.230-192.168.1.240]
trees:
  centos7: {path: /srv/c7, url: /pub/centos/7/x86_64}
profiles:
  centos7:
    tree: centos7
    kernel: c7/vmlinuz
    initrd: c7/initrd.img
)" + hosts + R"(access:
  host_documents: open
  api: {read_from: [bad-network]}
)";
}

load_result load_path(const std::string& yaml, bool fast) {
    load_options o;
    o.check_files = false;
    o.fast_hosts = fast;
    return load_string(yaml, "site.yaml", "/etc/pxed", o);
}

std::string hosts_text(const load_result& r) {
    if (!r.model) return "not loaded";
    std::string s;
    for (const auto& h : r.model->hosts)
        s += h.mac.to_string() + " " + h.hostname + " " + (h.ip ? h.ip->to_string() : "-") + " " + h.profile + " " +
             (h.netboot ? "netboot" : "local") + " " + h.uefi_http + " " + std::to_string(h.vars.size()) + " @" +
             std::to_string(h.where.line) + ":" + std::to_string(h.where.column) + "\n";
    return s + r.model->fingerprint;
}

// Each hosts list, read by the fast path and through yaml-cpp's tree:
// the same diagnostics, at the same places, and the same hosts.
const char* const host_lists[] = {
    // block entries, flow entries, comments and blank lines between them
    "hosts:\n  - mac: 52:54:00:00:00:01\n    hostname: a1\n    ip: 192.168.1.11\n    profile: centos7\n"
    "  # a comment\n\n  - {mac: 52:54:00:00:00:02, hostname: a2, ip: 192.168.1.12, profile: centos7}  # trailing\n"
    "  - {mac: 52:54:00:00:00:03, netboot: false}\n",
    // the dash alone on its line; the list at the key's own indentation
    "hosts:\n-\n  mac: 52:54:00:00:00:01\n  profile: centos7\n- {mac: 52:54:00:00:00:02, profile: centos7}\n",
    // quotes, nulls, uefi-http
    "hosts:\n  - {mac: \"52:54:00:00:00:01\", hostname: 'q1', ip: ~, profile: centos7}\n"
    "  - mac: 52:54:00:00:00:02\n    ip:\n    profile: \"centos7\"\n    uefi-http: http://x/y.efi\n"
    "  - {mac: 52:54:00:00:00:03, ip: , profile: centos7, uefi-http: grub.efi}\n",
    // entries the fast path leaves to yaml-cpp, between the ones it takes;
    // duplicates across the two paths name the earlier line
    "hosts:\n  - {mac: 52:54:00:00:00:01, hostname: d1, ip: 192.168.1.11, profile: centos7}\n"
    "  - mac: 52:54:00:00:00:01\n    hostname: d1\n    profile: centos7\n    vars: {rack: r1}\n"
    "  - {mac: 52:54:00:00:00:02, hostname: d1, ip: 192.168.1.11, profile: centos7}\n"
    "  - {mac: 52:54:00:00:00:03, profile: centos7, lifecycle: {new_hosts: installed}}\n"
    "  - {mac: 52:54:00:00:00:03, profile: centos7}\n"
    "  - &anchor {mac: 52:54:00:00:00:04, profile: centos7}\n"
    "  - {mac: 52:54:00:00:00:05, hostname: \"e\\x35\", profile: centos7}\n"
    "  - {mac: 52:54:00:00:00:06, profile: centos7, profile: centos8}\n"
    "  - {mac: 52:54:00:00:00:07, proflie: centos7}\n"
    "  - {hostname: nomac, profile: centos7}\n"
    "  - just-a-word\n"
    "  - mac: 52:54:00:00:00:08\n    profile: centos7\n      centos8\n",
    // every per-value error, and the checks against the site
    "hosts:\n  - {mac: 52:54:00:00:00, profile: centos7}\n  - {mac: 52:54:00:00:00:02, hostname: bad_name, profile: centos7}\n"
    "  - {mac: 52:54:00:00:00:03, ip: 192.168.1.300, profile: centos7}\n"
    "  - {mac: 52:54:00:00:00:04, netboot: maybe, profile: centos7}\n"
    "  - {mac: 52:54:00:00:00:05, profile: centos8}\n  - {mac: 52:54:00:00:00:06}\n"
    "  - {mac: 52:54:00:00:00:07, ip: 10.0.0.1, profile: centos7}\n"
    "  - {mac: 52:54:00:00:00:08, ip: 192.168.1.235, profile: centos7}\n"
    "  - {mac: 52:54:00:00:00:09, ip: 192.168.1.255, profile: centos7}\n"
    "  - {mac: 52:54:00:00:00:0a, ip: 192.168.1.2, profile: centos7}\n"
    "  - mac: 52:54:00:00:00:0b\n    netboot: no\n",
    // a flow list, and a list that is not one: all through the tree
    "hosts: [{mac: 52:54:00:00:00:01, profile: centos7}]\n",
    "hosts:\n  mac: 52:54:00:00:00:01\n",
    // an entry never closed: the syntax error, said from the whole file
    "hosts:\n  - {mac: 52:54:00:00:00:01, profile: centos7}\n  - {mac: 52:54:00:00:00:02, profile: centos7\n",
};

}  // namespace

TEST(inventory, fast_host_path_reads_what_the_tree_reads) {
    for (const char* hosts : host_lists) {
        const auto yaml = site_with_hosts(hosts);
        const auto fast = load_path(yaml, true);
        const auto tree = load_path(yaml, false);
        EXPECT_EQ(all_messages(fast), all_messages(tree)) << yaml;
        EXPECT_EQ(hosts_text(fast), hosts_text(tree)) << yaml;
    }
}

TEST(inventory, fast_host_path_keeps_secret_offsets_after_the_list) {
    // A secret written after the hosts list: masked at its offset in the
    // file, not in the text yaml-cpp saw with the hosts' lines emptied
    // (where it would not be found, and the fingerprint would be empty).
    const std::string yaml = R"(server:
  address: 192.168.1.2
  dhcp: {enabled: false}
  tftp: {root: /srv/tftp}
hosts:
  - {mac: 52:54:00:00:00:01, profile: c}
  - {mac: 52:54:00:00:00:02, profile: c}
profiles:
  c:
    kernel: k
    initrd: i
    secrets: {root_pw: hunter2-secret}
)";
    const auto fast = load_path(yaml, true);
    const auto tree = load_path(yaml, false);
    ASSERT_TRUE(fast.model) << all_messages(fast);
    ASSERT_TRUE(tree.model) << all_messages(tree);
    EXPECT_FALSE(fast.model->fingerprint.empty());
    EXPECT_EQ(fast.model->fingerprint, tree.model->fingerprint);
    EXPECT_EQ(hosts_text(fast), hosts_text(tree));
}

TEST(inventory, host_scan_takes_the_simple_entries_and_leaves_the_rest_in_place) {
    const std::string yaml = "server: {address: 10.0.0.1}\n"
                             "hosts:\n"
                             "  - {mac: 52:54:00:00:00:01, ip: ~, hostname: \"n1\"}  # one\n"
                             "  - mac: 52:54:00:00:00:02\n"
                             "    vars: {a: b}\n"
                             "  - mac: 52:54:00:00:00:03\n"
                             "    hostname: n3\n"
                             "menu: {title: x}\n";
    detail::scan_rules rules;
    rules.known = [](std::string_view k) { return k != "vars"; };
    rules.required = "mac";
    const auto scan = detail::scan_hosts(yaml, rules);
    ASSERT_TRUE(scan.used);
    EXPECT_EQ(scan.hosts_line, 2u);
    EXPECT_EQ(scan.left, 1u);
    ASSERT_EQ(scan.hosts.size(), 2u);
    EXPECT_EQ(scan.hosts[0].line, 3u);
    EXPECT_EQ(scan.hosts[0].column, 5);  // its '{'
    EXPECT_EQ(scan.hosts[1].line, 6u);
    EXPECT_EQ(scan.hosts[1].column, 5);  // its first key
    ASSERT_EQ(scan.hosts[0].count, 3);
    const auto& ip = scan.pairs[scan.hosts[0].first + 1];
    EXPECT_EQ(scan.key(ip), "ip");
    EXPECT_TRUE(ip.null);
    const auto& name = scan.pairs[scan.hosts[0].first + 2];
    EXPECT_EQ(scan.value(name), "n1");
    EXPECT_EQ(name.value_column, 47);  // the quote, as yaml-cpp marks it
    EXPECT_EQ(scan.rest, "server: {address: 10.0.0.1}\nhosts:\n\n  - mac: 52:54:00:00:00:02\n    vars: {a: b}\n\n\n"
                         "menu: {title: x}\n");
    EXPECT_EQ(scan.offset(7, 0), yaml.find("menu:"));

    // Not a block list of entries: nothing taken.
    EXPECT_FALSE(detail::scan_hosts("hosts: [{mac: 52:54:00:00:00:01}]\n", rules).used);
    EXPECT_FALSE(detail::scan_hosts("hosts:\n  - {mac: 1}\nhosts:\n  - {mac: 2}\n", rules).used);
    EXPECT_FALSE(detail::scan_hosts("a: 1\n---\nhosts:\n  - {mac: 1}\n", rules).used);
}

TEST(inventory, key_locations_find_hosts_of_both_paths_in_the_files_order) {
    const auto k = key_locations::from_string("server: {address: 10.0.0.1}\n"
                                              "hosts:\n"
                                              "  - {mac: 52:54:00:00:00:01, profile: c7}\n"
                                              "  - mac: 52:54:00:00:00:02\n"
                                              "    vars: {a: b}\n"
                                              "  -   hostname: n3\n"
                                              "      profile: c8\n"
                                              "menu: {title: x}\n",
                                              "site.yaml");
    EXPECT_EQ(k.find({"hosts", "0"}).line, 3);
    EXPECT_EQ(k.find({"hosts", "0"}).column, 5);
    EXPECT_EQ(k.find({"hosts", "1"}).line, 4);
    EXPECT_EQ(k.find({"hosts", "2", "profile"}).line, 7);
    EXPECT_EQ(k.find({"hosts", "2", "profile"}).column, 7);
    EXPECT_EQ(k.find({"hosts", "52:54:00:00:00:01", "profile"}).column, 30);
    EXPECT_EQ(k.find({"hosts", "52:54:00:00:00:02", "vars", "a"}).line, 5);
    EXPECT_EQ(k.find({"hosts", "N3"}).line, 6);
    EXPECT_EQ(k.find({"hosts", "n3", "nothing"}).line, 6);  // the nearest written key
    EXPECT_EQ(k.find({"hosts", "3"}).line, 2);
    EXPECT_EQ(k.find({"menu", "title"}).line, 8);
}
