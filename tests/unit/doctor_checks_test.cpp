// pxed check's looks at the machine: firewalld, SELinux, and the kickstart
// lint. The system's tools are replayed from recorded output (CentOS 7's
// firewall-cmd 0.6.3, getenforce, stat and matchpathcon, as the comments
// say) through a fake command_runner; nothing here runs a real tool.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "pxed/doctor/dhcp_probe.hpp"
#include "pxed/doctor/firewall.hpp"
#include "pxed/doctor/kickstart.hpp"
#include "pxed/doctor/selinux.hpp"
#include "pxed/inventory/load.hpp"
#include "pxed/proto/dhcp.hpp"
#include "pxed/render/renderer.hpp"

using namespace pxed;
using namespace pxed::doctor;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// Replays recorded output by command line; a command nobody recorded is a
// test failure (the check ran something the case did not expect).
class fake_runner final : public command_runner {
public:
    struct reply {
        int status = 0;
        std::string out;
    };
    // absent: every program is "not installed".
    explicit fake_runner(std::map<std::string, reply> replies, bool installed = true)
        : replies_(std::move(replies)), installed_(installed) {}

    command_result run(const std::vector<std::string>& argv) const override {
        std::string line;
        for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
        calls.push_back(line);
        if (!installed_) return {};
        const auto it = replies_.find(line);
        if (it == replies_.end()) {
            ADD_FAILURE() << "unexpected command: " << line;
            return {};
        }
        return {true, it->second.status, it->second.out};
    }
    mutable std::vector<std::string> calls;

private:
    std::map<std::string, reply> replies_;
    bool installed_;
};

// site.yaml's keys at made-up lines; a key that is not listed gives its
// nearest listed parent, as the real locator does.
class fake_locator final : public locator {
public:
    inventory::source_location find(std::initializer_list<std::string_view> path) const override {
        std::vector<std::string> parts(path.begin(), path.end());
        while (!parts.empty()) {
            std::string key;
            for (const auto& p : parts) key += (key.empty() ? "" : ".") + p;
            const auto it = lines.find(key);
            if (it != lines.end()) return {"site.yaml", it->second, 3};
            parts.pop_back();
        }
        return {"site.yaml", 0, 0};
    }
    std::map<std::string, int> lines{{"server", 1},
                                     {"server.dhcp", 4},
                                     {"server.dhcp.mode", 5},
                                     {"server.tftp", 8},
                                     {"server.tftp.root", 9},
                                     {"server.http", 10},
                                     {"server.ftp", 12},
                                     {"server.ftp.passive_ports", 13},
                                     {"server.state_dir", 3},
                                     {"trees.c7", 20},
                                     {"trees.c7.path", 21},
                                     {"boot", 30},
                                     {"boot.bios", 31},
                                     {"profiles.c7", 40},
                                     {"profiles.c7.kernel", 42}};
};

inventory::site test_site() {
    inventory::site s;
    s.source_file = "/etc/pxed/site.yaml";
    s.server.address = *wire::ipv4_address::parse("10.0.0.2");
    s.server.dhcp.interfaces = {"eth1"};
    s.server.tftp.root = "/var/lib/tftpboot";
    s.server.state_dir = "/var/lib/pxed";
    inventory::tree t;
    t.name = "c7";
    t.path = "/var/www/html/c7";
    t.url = "/c7";
    s.trees["c7"] = t;
    return s;
}

// `firewall-cmd --get-services` on CentOS 7.9 (firewalld 0.6.3), abridged.
// Outputs below are as firewall-cmd 0.6.3 prints them: results on stdout,
// failures ("no zone", "not running") on stderr with exit status 2 / 252.
const std::string rhel7_services =
    "RH-Satellite-6 amanda-client bacula dhcp dhcpv6 dhcpv6-client dns ftp http https imap ipp "
    "kerberos ldap mountd nfs ntp proxy-dhcp samba ssh tftp tftp-client vnc-server\n";

using replies = std::map<std::string, fake_runner::reply>;

// firewalld running, eth1 in `zone`, that zone listing these services and ports.
replies firewalld(const std::string& zone_of_eth1, const std::string& zone, const std::string& services,
                  const std::string& ports) {
    replies r{{"firewall-cmd --state", {0, "running\n"}},
              {"firewall-cmd --get-services", {0, rhel7_services}},
              {"firewall-cmd --zone=" + zone + " --list-services", {0, services + "\n"}},
              {"firewall-cmd --zone=" + zone + " --list-ports", {0, ports + "\n"}}};
    if (zone_of_eth1.empty()) {
        r["firewall-cmd --get-zone-of-interface=eth1"] = {2, ""};  // "no zone" goes to stderr
        r["firewall-cmd --get-default-zone"] = {0, zone + "\n"};
    } else {
        r["firewall-cmd --get-zone-of-interface=eth1"] = {0, zone_of_eth1 + "\n"};
    }
    return r;
}

std::string describe(const std::vector<finding>& fs) {
    std::string s;
    for (const auto& f : fs) s += std::to_string(f.where.line) + ": " + f.message + " | " + f.fix + "\n";
    return s;
}

std::vector<std::string> fixes(const std::vector<finding>& fs) {
    std::vector<std::string> out;
    for (const auto& f : fs) out.push_back(f.fix);
    return out;
}

}  // namespace

// ---- firewalld ---------------------------------------------------------

TEST(firewall, everything_open_in_the_interfaces_zone_finds_nothing) {
    fake_runner run(firewalld("public", "public", "dhcpv6-client ssh dhcp tftp http ftp", ""));
    EXPECT_TRUE(check_firewall(test_site(), run, fake_locator{}).empty());
}

TEST(firewall, a_closed_tftp_port_names_the_zone_the_key_and_the_service_to_add) {
    fake_runner run(firewalld("public", "public", "dhcpv6-client ssh dhcp http ftp", ""));
    const auto fs = check_firewall(test_site(), run, fake_locator{});
    ASSERT_EQ(fs.size(), 1u);
    EXPECT_EQ(fs[0].level, inventory::severity::warning);
    EXPECT_EQ(fs[0].topic, "firewall");
    EXPECT_EQ(fs[0].where.line, 8) << "server.tftp";
    EXPECT_EQ(fs[0].message,
              "firewalld zone public (eth1) does not let TFTP in (69/udp): clients on eth1 get no answer");
    EXPECT_EQ(fs[0].fix, "firewall-cmd --permanent --zone=public --add-service=tftp && firewall-cmd --reload");
}

TEST(firewall, ftp_on_another_port_needs_its_port_and_the_passive_range) {
    // No conntrack helper follows FTP on 2121: the passive range must be open too.
    auto site = test_site();
    site.server.ftp.port = 2121;
    fake_runner run(firewalld("public", "public", "ssh dhcp tftp http ftp", "2121/tcp"));
    const auto fs = check_firewall(site, run, fake_locator{});
    ASSERT_EQ(fs.size(), 1u);
    EXPECT_EQ(fs[0].where.line, 13) << "server.ftp.passive_ports";
    EXPECT_EQ(fs[0].fix, "firewall-cmd --permanent --zone=public --add-port=30000-30100/tcp && firewall-cmd --reload");
}

TEST(firewall, ftp_opened_as_a_port_has_no_helper_for_the_passive_range) {
    fake_runner run(firewalld("public", "public", "ssh dhcp tftp http", "21/tcp 30000-30050/tcp 30051-30100/tcp"));
    EXPECT_TRUE(check_firewall(test_site(), run, fake_locator{}).empty()) << "a range open in two pieces is open";

    fake_runner partly(firewalld("public", "public", "ssh dhcp tftp http", "21/tcp 30000-30050/tcp"));
    const auto fs = check_firewall(test_site(), partly, fake_locator{});
    ASSERT_EQ(fs.size(), 1u);
    EXPECT_THAT(fs[0].message, HasSubstr("the FTP passive ports in (30000-30100/tcp)"));
}

TEST(firewall, an_interface_in_a_non_default_zone_is_checked_in_that_zone) {
    // eth1 in `internal`, where nothing of pxed's is open; the default zone
    // (public) is never asked about.
    fake_runner run(firewalld("internal", "internal", "dhcpv6-client ipp-client mdns samba-client ssh", ""));
    auto site = test_site();
    site.server.http.port = 8080;
    const auto fs = check_firewall(site, run, fake_locator{});
    EXPECT_THAT(fixes(fs),
                ElementsAre("firewall-cmd --permanent --zone=internal --add-service=dhcp && firewall-cmd --reload",
                            "firewall-cmd --permanent --zone=internal --add-service=tftp && firewall-cmd --reload",
                            "firewall-cmd --permanent --zone=internal --add-port=8080/tcp && firewall-cmd --reload",
                            "firewall-cmd --permanent --zone=internal --add-service=ftp && firewall-cmd --reload"));
    for (const auto& c : run.calls) EXPECT_THAT(c, Not(HasSubstr("public")));
}

TEST(firewall, an_interface_in_no_zone_is_checked_in_the_default_zone) {
    fake_runner run(firewalld("", "work", "ssh dhcp tftp http", "21/tcp 30000-30100/tcp"));
    EXPECT_TRUE(check_firewall(test_site(), run, fake_locator{}).empty());
    EXPECT_THAT(run.calls, ::testing::Contains("firewall-cmd --get-default-zone"));
}

TEST(firewall, proxy_mode_needs_67_and_4011) {
    auto site = test_site();
    site.server.dhcp.mode = inventory::dhcp_mode::proxy;
    site.server.ftp.enabled = false;
    fake_runner run(firewalld("public", "public", "ssh tftp http", ""));
    const auto fs = check_firewall(site, run, fake_locator{});
    ASSERT_EQ(fs.size(), 2u);
    EXPECT_EQ(fs[0].where.line, 5) << "server.dhcp.mode";
    EXPECT_EQ(fs[0].fix, "firewall-cmd --permanent --zone=public --add-service=dhcp && firewall-cmd --reload");
    EXPECT_EQ(fs[1].where.line, 4) << "server.dhcp.proxy_port is not written: server.dhcp";
    EXPECT_EQ(fs[1].fix, "firewall-cmd --permanent --zone=public --add-service=proxy-dhcp && firewall-cmd --reload");
}

TEST(firewall, a_firewalld_without_proxy_dhcp_gets_the_port) {
    auto site = test_site();
    site.server.dhcp.mode = inventory::dhcp_mode::proxy;
    auto r = firewalld("public", "public", "ssh dhcp tftp http ftp", "");
    // A trimmed service set (proxy-dhcp.xml deleted); every firewalld since 0.3.4 ships it.
    r["firewall-cmd --get-services"] = {0, "dhcp ftp http https ssh tftp tftp-client\n"};
    fake_runner run(r);
    EXPECT_THAT(fixes(check_firewall(site, run, fake_locator{})),
                ElementsAre("firewall-cmd --permanent --zone=public --add-port=4011/udp && firewall-cmd --reload"));
}

TEST(firewall, a_zone_that_cannot_be_read_is_a_note_not_a_finding) {
    auto r = firewalld("public", "public", "", "");
    // firewall-cmd refusing a user polkit does not allow: NOT_AUTHORIZED (253),
    // "Authorization failed." on stderr.
    r["firewall-cmd --zone=public --list-services"] = {253, ""};
    fake_runner run(r);
    std::string note;
    EXPECT_TRUE(check_firewall(test_site(), run, fake_locator{}, &note).empty());
    EXPECT_EQ(note, "firewall-cmd could not list zone public: run pxed check as root to check it");
}

TEST(firewall, the_tftp_client_service_opens_no_port) {
    fake_runner run(firewalld("public", "public", "dhcp tftp-client http ftp", ""));
    EXPECT_THAT(fixes(check_firewall(test_site(), run, fake_locator{})),
                ElementsAre("firewall-cmd --permanent --zone=public --add-service=tftp && firewall-cmd --reload"));
}

TEST(firewall, the_trusted_zone_lets_everything_in) {
    fake_runner run({{"firewall-cmd --state", {0, "running\n"}},
                     {"firewall-cmd --get-services", {0, rhel7_services}},
                     {"firewall-cmd --get-zone-of-interface=eth1", {0, "trusted\n"}}});
    EXPECT_TRUE(check_firewall(test_site(), run, fake_locator{}).empty());
}

TEST(firewall, not_running_or_not_installed_finds_nothing) {
    fake_runner stopped({{"firewall-cmd --state", {252, ""}}});  // "not running" goes to stderr
    std::string note;
    EXPECT_TRUE(check_firewall(test_site(), stopped, fake_locator{}, &note).empty());
    EXPECT_EQ(stopped.calls.size(), 1u);
    EXPECT_EQ(note, "firewalld is not running: firewall not checked");

    fake_runner absent({}, false);
    EXPECT_TRUE(check_firewall(test_site(), absent, fake_locator{}, &note).empty());
    EXPECT_EQ(note, "firewall-cmd is not installed: firewall not checked");

    fake_runner running(firewalld("public", "public", "dhcp tftp http ftp", ""));
    note.clear();
    EXPECT_TRUE(check_firewall(test_site(), running, fake_locator{}, &note).empty());
    EXPECT_EQ(note, "") << "checked: nothing was skipped";
}

TEST(firewall, no_listed_interface_checks_the_default_zone_and_switched_off_servers_need_nothing) {
    auto site = test_site();
    site.server.dhcp.interfaces.clear();
    site.server.dhcp.enabled = false;
    site.server.ftp.enabled = false;
    site.server.http.enabled = false;
    fake_runner run({{"firewall-cmd --state", {0, "running\n"}},
                     {"firewall-cmd --get-default-zone", {0, "public\n"}},
                     {"firewall-cmd --get-services", {0, rhel7_services}},
                     {"firewall-cmd --zone=public --list-services", {0, "dhcpv6-client ssh\n"}},
                     {"firewall-cmd --zone=public --list-ports", {0, "\n"}}});
    const auto fs = check_firewall(site, run, fake_locator{});
    ASSERT_EQ(fs.size(), 1u);
    EXPECT_EQ(fs[0].message,
              "firewalld zone public (the default zone) does not let TFTP in (69/udp): clients on this machine's "
              "network get no answer");
}

// ---- SELinux -----------------------------------------------------------

namespace {

// CentOS 7, enforcing; each path's `stat -c %C` and `matchpathcon -n`.
struct labels {
    std::string tftp = "system_u:object_r:tftpdir_t:s0";
    std::string tftp_default = "system_u:object_r:tftpdir_t:s0";
    std::string tree = "system_u:object_r:httpd_sys_content_t:s0";
    std::string tree_default = "system_u:object_r:httpd_sys_content_t:s0";
    std::string state = "system_u:object_r:var_lib_t:s0";
    std::string state_default = "system_u:object_r:var_lib_t:s0";
};

replies enforcing(const labels& l, const std::string& tree_path = "/var/www/html/c7") {
    replies r;
    // The boot files test_site() names, where the policy puts them.
    for (const char* f : {"pxelinux.0", "grubx64.efi", "grubaa64.efi"}) {
        r[std::string("stat -c %C /var/lib/tftpboot/") + f] = {0, "system_u:object_r:tftpdir_t:s0\n"};
        r[std::string("matchpathcon -n /var/lib/tftpboot/") + f] = {0, "system_u:object_r:tftpdir_t:s0\n"};
    }
    replies dirs{{"getenforce", {0, "Enforcing\n"}},
            {"stat -c %C /var/lib/tftpboot", {0, l.tftp + "\n"}},
            {"matchpathcon -n /var/lib/tftpboot", {0, l.tftp_default + "\n"}},
            {"stat -c %C " + tree_path, {0, l.tree + "\n"}},
            {"matchpathcon -n " + tree_path, {0, l.tree_default + "\n"}},
            {"stat -c %C /var/lib/pxed", {0, l.state + "\n"}},
            {"matchpathcon -n /var/lib/pxed", {0, l.state_default + "\n"}}};
    r.insert(dirs.begin(), dirs.end());
    return r;
}

}  // namespace

TEST(selinux, the_policys_own_labels_find_nothing) {
    fake_runner run(enforcing(labels{}));
    EXPECT_TRUE(check_selinux(test_site(), run, fake_locator{}).empty());
}

TEST(selinux, a_tree_moved_from_root_keeps_admin_home_t_and_restorecon_fixes_it) {
    labels l;
    l.tree = "unconfined_u:object_r:admin_home_t:s0";
    fake_runner run(enforcing(l));
    const auto fs = check_selinux(test_site(), run, fake_locator{});
    ASSERT_EQ(fs.size(), 1u);
    EXPECT_EQ(fs[0].level, inventory::severity::warning);
    EXPECT_EQ(fs[0].topic, "selinux");
    EXPECT_EQ(fs[0].where.line, 21) << "trees.c7.path";
    EXPECT_EQ(fs[0].message,
              "tree c7 /var/www/html/c7 is labelled admin_home_t, a type confined file servers (tftpd_t, httpd_t, "
              "ftpd_t) may not read (moved here with mv?); the policy says httpd_sys_content_t");
    EXPECT_EQ(fs[0].fix, "restorecon -Rv /var/www/html/c7");
}

TEST(selinux, a_tree_where_the_policy_has_no_fitting_type_gets_one_recorded) {
    // /srv/c7: the policy says var_t, which tftpd_t, httpd_t and ftpd_t may not read.
    auto site = test_site();
    site.trees["c7"].path = "/srv/c7/";
    labels l;
    l.tree = l.tree_default = "system_u:object_r:var_t:s0";
    fake_runner run(enforcing(l, "/srv/c7/"));
    const auto fs = check_selinux(site, run, fake_locator{});
    ASSERT_EQ(fs.size(), 1u);
    EXPECT_EQ(fs[0].message,
              "tree c7 /srv/c7/ is labelled var_t, a type confined file servers (tftpd_t, httpd_t, ftpd_t) may not "
              "read, and the policy has no fitting type for that path");
    EXPECT_EQ(fs[0].fix, "semanage fcontext -a -t public_content_t \"/srv/c7(/.*)?\" && restorecon -Rv /srv/c7/");
}

TEST(selinux, a_chcon_nobody_recorded_is_undone_by_the_next_relabel) {
    labels l;
    l.tftp = "unconfined_u:object_r:public_content_t:s0";
    l.tftp_default = "system_u:object_r:var_lib_t:s0";
    fake_runner run(enforcing(l));
    const auto fs = check_selinux(test_site(), run, fake_locator{});
    ASSERT_EQ(fs.size(), 1u);
    EXPECT_EQ(fs[0].where.line, 9) << "server.tftp.root";
    EXPECT_EQ(fs[0].message,
              "the TFTP root /var/lib/tftpboot is labelled public_content_t by hand, but the policy says var_lib_t: "
              "the next restorecon or relabel changes it");
    EXPECT_EQ(fs[0].fix,
              "semanage fcontext -a -t public_content_t \"/var/lib/tftpboot(/.*)?\" && restorecon -Rv /var/lib/tftpboot");
}

TEST(selinux, a_state_directory_made_in_tmp_is_relabelled) {
    labels l;
    l.state = "unconfined_u:object_r:user_tmp_t:s0";
    fake_runner run(enforcing(l));
    const auto fs = check_selinux(test_site(), run, fake_locator{});
    ASSERT_EQ(fs.size(), 1u);
    EXPECT_EQ(fs[0].where.line, 3) << "server.state_dir";
    EXPECT_EQ(fs[0].message,
              "the state directory /var/lib/pxed is labelled user_tmp_t, not a type for state pxed writes (var_lib_t) "
              "(moved here with mv?); the policy says var_lib_t");
    EXPECT_EQ(fs[0].fix, "restorecon -Rv /var/lib/pxed");
}

TEST(selinux, a_boot_file_moved_from_root_into_a_right_directory) {
    // mv /root/pxelinux.0 /var/lib/tftpboot/: the directory is right, the file is not.
    auto r = enforcing(labels{});
    r["stat -c %C /var/lib/tftpboot/pxelinux.0"] = {0, "unconfined_u:object_r:admin_home_t:s0\n"};
    fake_runner run(r);
    const auto fs = check_selinux(test_site(), run, fake_locator{});
    ASSERT_EQ(fs.size(), 1u);
    EXPECT_EQ(fs[0].where.line, 31) << "boot.bios";
    EXPECT_EQ(fs[0].message,
              "boot file /var/lib/tftpboot/pxelinux.0 is labelled admin_home_t, a type confined file servers "
              "(tftpd_t, httpd_t, ftpd_t) may not read (moved here with mv?); the policy says tftpdir_t");
    EXPECT_EQ(fs[0].fix, "restorecon -v /var/lib/tftpboot/pxelinux.0");
}

TEST(selinux, a_kernel_where_the_policy_has_nothing_fitting_gets_a_file_pattern) {
    // A TFTP root under /srv (var_t): the root and the kernel each get their own finding.
    auto site = test_site();
    site.server.tftp.root = "/srv/tftp";
    site.boot.bios.clear();
    site.boot.uefi_x64 = "tree:EFI/BOOT/grubx64.efi";  // not a TFTP root name: not looked at here
    site.boot.uefi_arm64.clear();
    inventory::profile p;
    p.name = "c7";
    p.kernel = "c7/vmlinuz";
    site.profiles["c7"] = p;
    auto r = enforcing(labels{});
    r["stat -c %C /srv/tftp"] = {0, "system_u:object_r:var_t:s0\n"};
    r["matchpathcon -n /srv/tftp"] = {0, "system_u:object_r:var_t:s0\n"};
    r["stat -c %C /srv/tftp/c7/vmlinuz"] = {0, "system_u:object_r:var_t:s0\n"};
    r["matchpathcon -n /srv/tftp/c7/vmlinuz"] = {0, "system_u:object_r:var_t:s0\n"};
    fake_runner run(r);
    const auto fs = check_selinux(site, run, fake_locator{});
    ASSERT_EQ(fs.size(), 2u) << describe(fs);
    EXPECT_EQ(fs[0].fix, "semanage fcontext -a -t tftpdir_t \"/srv/tftp(/.*)?\" && restorecon -Rv /srv/tftp");
    EXPECT_EQ(fs[1].where.line, 42) << "profiles.c7.kernel";
    EXPECT_EQ(fs[1].fix, "semanage fcontext -a -t tftpdir_t \"/srv/tftp/c7/vmlinuz\" && restorecon -v /srv/tftp/c7/vmlinuz");
}

TEST(selinux, a_kernel_served_from_its_tree_is_not_looked_for_in_the_tftp_root) {
    auto site = test_site();
    site.server.tftp.root = "/srv/tftp";
    site.boot.bios.clear();
    site.boot.uefi_x64.clear();
    site.boot.uefi_arm64.clear();
    inventory::profile p;
    p.name = "c7";
    p.kernel = "pub/centos/7/images/pxeboot/vmlinuz";  // the tree's mount, not a file under /srv/tftp
    p.initrd = "pub/centos/7/images/pxeboot/initrd.img";
    p.kernel_from_tree = p.initrd_from_tree = true;
    site.profiles["c7"] = p;
    auto r = enforcing(labels{});
    r["stat -c %C /srv/tftp"] = {0, "system_u:object_r:tftpdir_t:s0\n"};
    r["matchpathcon -n /srv/tftp"] = {0, "system_u:object_r:tftpdir_t:s0\n"};  // semanage fcontext done
    fake_runner run(r);  // a question about /srv/tftp/pub/... would find no recorded answer
    const auto fs = check_selinux(site, run, fake_locator{});
    EXPECT_TRUE(fs.empty()) << describe(fs);
}

TEST(selinux, a_mounted_iso_and_a_missing_path_find_nothing) {
    labels l;
    l.tree = "system_u:object_r:iso9660_t:s0";  // mount -o loop CentOS-7-x86_64-DVD-2009.iso
    auto r = enforcing(l);
    r["stat -c %C /var/lib/tftpboot"] = {1, ""};  // stat: cannot stat '/var/lib/tftpboot': No such file or directory
    r.erase("matchpathcon -n /var/lib/tftpboot");
    fake_runner run(r);
    EXPECT_TRUE(check_selinux(test_site(), run, fake_locator{}).empty());
}

TEST(selinux, permissive_disabled_or_absent_finds_nothing) {
    const auto detail_first_word = [](std::string m) { return m.substr(0, m.find('\n')); };
    for (const char* mode : {"Permissive\n", "Disabled\n"}) {
        labels l;
        l.tree = "unconfined_u:object_r:admin_home_t:s0";
        auto r = enforcing(l);
        r["getenforce"] = {0, mode};
        fake_runner run(r);
        std::string note;
        EXPECT_TRUE(check_selinux(test_site(), run, fake_locator{}, &note).empty()) << mode;
        EXPECT_EQ(run.calls.size(), 1u) << mode;
        EXPECT_EQ(note, "SELinux is " + detail_first_word(mode) + ": contexts not checked");
    }
    fake_runner absent({}, false);
    std::string note;
    EXPECT_TRUE(check_selinux(test_site(), absent, fake_locator{}, &note).empty());
    EXPECT_EQ(note, "getenforce is not installed: SELinux contexts not checked");
}

// ---- kickstart lint ------------------------------------------------------

namespace {

// Both shipped kickstarts with every variable they branch on set: a host
// with a root password hash, a disk, packages and a %post script, and its
// install-done callback.
const std::string ks_site = R"(server:
  address: 10.0.0.2
  tftp: {root: /srv/tftp}
subnets:
  - network: 10.0.0.0/24
    ranges: [10.0.0.100-10.0.0.200]
    domain: lab.example
trees:
  c6: {path: /srv/c6, url: /pub/centos/6/x86_64}
  c7: {path: /srv/c7, url: /pub/centos/7/x86_64}
profiles:
  c6:
    tree: c6
    kernel: c6/vmlinuz
    initrd: c6/initrd.img
    kickstart: centos6.ks
  c7:
    tree: c7
    kernel: c7/vmlinuz
    initrd: c7/initrd.img
    kickstart: centos7.ks
hosts:
  - mac: 52:54:00:aa:bb:06
    hostname: old01
    ip: 10.0.0.16
    profile: c6
    vars:
      disk: sda
      rootpw_hash: "$6$salt$hash"
      packages: [vim-enhanced, "-postfix"]
      post_script: "echo done > /root/done"
  - mac: 52:54:00:aa:bb:07
    hostname: new01
    profile: c7
    vars:
      disk: vda
      rootpw_hash: "$6$salt$hash"
      packages: [vim-enhanced, "@^minimal"]
      post_script: "echo done > /root/done"
)";

struct rendered_ks {
    std::string host;
    std::string profile;
};

rendered_ks render_ks(const char* mac, const char* profile) {
    inventory::load_options o;
    o.check_files = false;
    auto r = inventory::load_string(ks_site, "site.yaml", "/etc/pxed", o);
    std::string msgs;
    for (const auto& d : r.diagnostics) msgs += d.to_string() + "\n";
    EXPECT_TRUE(r.model) << msgs;
    if (!r.model) return {};
    render::renderer rr(r.model, render::template_set::builtin());
    render::host_status st;
    st.token = "TOKEN";
    st.access_token = "ACCESS";
    const auto host = rr.host_config(render::document_kind::kickstart, *r.model->find_host(*wire::mac_address::parse(mac)), &st);
    const auto menu = rr.profile_kickstart(*r.model->find_profile(profile));
    EXPECT_TRUE(host.ok()) << host.error;
    EXPECT_TRUE(menu.ok()) << menu.error;
    return {host.text, menu.text};
}

const inventory::source_location ks_where{"/usr/share/pxed/templates/kickstart/test.ks", 0, 0};

}  // namespace

TEST(kickstart_lint, the_shipped_kickstarts_rendered_lint_clean_for_their_release) {
    const auto c6 = render_ks("52:54:00:aa:bb:06", "c6");
    ASSERT_THAT(c6.host, HasSubstr("install-done"));
    ASSERT_THAT(c6.host, HasSubstr("vim-enhanced"));
    EXPECT_EQ(describe(lint_kickstart(c6.host, 6, ks_where)), "");
    EXPECT_EQ(describe(lint_kickstart(c6.profile, 6, ks_where)), "");
    EXPECT_EQ(el_major_of(c6.host, {"centos6.ks"}), 6);

    const auto c7 = render_ks("52:54:00:aa:bb:07", "c7");
    ASSERT_THAT(c7.host, HasSubstr("install-done"));
    EXPECT_EQ(describe(lint_kickstart(c7.host, 7, ks_where)), "");
    EXPECT_EQ(describe(lint_kickstart(c7.profile, 7, ks_where)), "");
    EXPECT_EQ(el_major_of(c7.host, {"centos6.ks"}), 7) << "its #version=RHEL7 line comes first";
}

// Numbered as the rendered document counts.
const std::string broken_ks = R"(#version=RHEL7
install
key --skip
autostep
upgrade
netwrok --bootproto=dhcp
%packages
@core
%post
echo 100%
%end
%adon com_redhat_kdump
%end
%end
%pre
echo x
)";

TEST(kickstart_lint, a_broken_kickstart_on_el7) {
    const auto fs = lint_kickstart(broken_ks, 7, ks_where);
    EXPECT_EQ(describe(fs),
              "3: 'key' is not an EL 7 kickstart command: anaconda stops at it | delete the line: EL 7 has no "
              "installation number\n"
              "5: 'upgrade' is deprecated in EL 7 kickstarts and does nothing | delete the line: EL 7's installer "
              "does not upgrade (use redhat-upgrade-tool)\n"
              "6: 'netwrok' is not an EL 7 kickstart command: anaconda stops at it | correct it to 'network'\n"
              "7: %packages is not closed with %end before %post (line 9): EL 7 refuses the kickstart | add a line "
              "%end after the last line of %packages\n"
              "12: %adon is not an EL 7 kickstart section: anaconda refuses the kickstart | correct it to %addon\n"
              "14: %end closes no section: anaconda refuses the kickstart | delete the line or the %end before it\n"
              "15: %pre is not closed with %end before the end of the file: EL 7 refuses the kickstart | add a "
              "line %end after the last line of %pre\n");
    ASSERT_FALSE(fs.empty());
    EXPECT_EQ(fs[0].where.file, ks_where.file);
    EXPECT_EQ(fs[0].level, inventory::severity::warning);
    EXPECT_EQ(fs[0].topic, "kickstart");
}

TEST(kickstart_lint, the_same_kickstart_on_el6) {
    EXPECT_EQ(describe(lint_kickstart(broken_ks, 6, ks_where)),
              "6: 'netwrok' is not an EL 6 kickstart command: anaconda stops at it | correct it to 'network'\n"
              "7: %packages is not closed with %end before %post (line 9): EL 6 accepts it with a deprecation "
              "warning, EL 7 refuses it | add a line %end after the last line of %packages\n"
              "12: %adon is not an EL 6 kickstart section: anaconda refuses the kickstart | remove the section or "
              "correct its name\n"
              "14: %end closes no section: anaconda refuses the kickstart | delete the line or the %end before it\n"
              "15: %pre is not closed with %end before the end of the file: EL 6 accepts it with a deprecation "
              "warning, EL 7 refuses it | add a line %end after the last line of %pre\n");
}

TEST(kickstart_lint, sections_and_commands_of_one_release_only) {
    const std::string ks = "interactive\nmonitor --noprobe\nrealm join ad.example\n%addon com_redhat_kdump --enable\n%end\n"
                           "%onerror\necho failed\n%end\n";
    EXPECT_EQ(describe(lint_kickstart(ks, 7, ks_where)),
              "1: 'interactive' is not an EL 7 kickstart command: anaconda stops at it | delete the line: EL 7 has "
              "no interactive kickstart mode\n"
              "2: 'monitor' is not an EL 7 kickstart command: anaconda stops at it | delete the line: EL 7 sets up "
              "the display by itself\n");
    EXPECT_EQ(describe(lint_kickstart(ks, 6, ks_where)),
              "2: 'monitor' is deprecated in EL 6 kickstarts and does nothing | delete the line: EL 7 sets up the "
              "display by itself\n"
              "3: 'realm' is not an EL 6 kickstart command: anaconda stops at it | remove the line or correct the "
              "command's name\n"
              "4: %addon is not an EL 6 kickstart section: anaconda refuses the kickstart | remove the section or "
              "correct its name\n"
              "6: %onerror is not an EL 6 kickstart section: anaconda refuses the kickstart | remove the section or "
              "correct its name\n");
    EXPECT_TRUE(lint_kickstart(ks, 8, ks_where).empty()) << "no table for EL 8";
}

TEST(kickstart_lint, release_from_the_version_line_or_the_names) {
    EXPECT_EQ(el_major_of("# x\n#version=RHEL6\ninstall\n", {"centos7.ks"}), 6);
    EXPECT_EQ(el_major_of("#version=DEVEL\n", {"site.ks", "/srv/centos/7/os/x86_64"}), 7);
    EXPECT_EQ(el_major_of("", {"EL6-web.ks"}), 6);
    EXPECT_EQ(el_major_of("", {"rhel-7.9.ks"}), 7);
    EXPECT_EQ(el_major_of("", {"kernel7.ks", "centos8.ks", "/srv/c7"}), std::nullopt);
}

// ---- DHCP probe (the packets; the socket half is tests/integration/dhcp_probe_test.sh) ----

namespace {

const auto probe_mac = *wire::mac_address::parse("0a:11:22:33:44:55");

// An OFFER as dnsmasq 2.89 sends it for the probe's DISCOVER (fields that
// matter here: op, xid, chaddr, yiaddr, options 53 and 54).
std::vector<std::uint8_t> offer_bytes(std::uint32_t xid, const char* yiaddr, const char* server_id) {
    dhcp::message m;
    m.op = dhcp::op_code::boot_reply;
    m.xid = xid;
    m.set_mac(probe_mac);
    m.set_broadcast(true);
    m.yiaddr = *wire::ipv4_address::parse(yiaddr);
    m.set_message_type(dhcp::message_type::offer);
    if (server_id != nullptr) m.set_ipv4(dhcp::option_code::server_identifier, *wire::ipv4_address::parse(server_id));
    return dhcp::encode(m).bytes();
}

}  // namespace

TEST(dhcp_probe, the_discover_is_a_broadcast_pxe_discover_from_the_probes_mac) {
    const auto bytes = dhcp_probe_detail::discover(probe_mac, 0x12345678);
    const auto r = dhcp::decode(bytes);
    ASSERT_TRUE(r.ok());
    const auto& m = r.value();
    EXPECT_EQ(m.op, dhcp::op_code::boot_request);
    EXPECT_EQ(m.xid, 0x12345678u);
    EXPECT_EQ(m.mac(), probe_mac);
    EXPECT_TRUE(m.broadcast());
    EXPECT_EQ(m.message_type(), dhcp::message_type::discover);
    EXPECT_EQ(m.vendor_class(), "PXEClient:Arch:00000:UNDI:002001");
    EXPECT_EQ(m.firmware(), dhcp::boot_firmware::bios);
}

TEST(dhcp_probe, only_an_offer_for_the_probes_mac_and_xid_counts) {
    const auto src = *wire::ipv4_address::parse("10.0.0.9");
    const auto good = offer_bytes(7, "10.0.0.57", "10.0.0.1");
    const auto o = dhcp_probe_detail::read_offer(good.data(), good.size(), probe_mac, 7, src);
    ASSERT_TRUE(o);
    EXPECT_EQ(o->server.to_string(), "10.0.0.1") << "option 54 over the source address";
    EXPECT_EQ(o->address.to_string(), "10.0.0.57");

    EXPECT_FALSE(dhcp_probe_detail::read_offer(good.data(), good.size(), probe_mac, 8, src)) << "another xid";
    const auto other_mac = *wire::mac_address::parse("0a:11:22:33:44:56");
    EXPECT_FALSE(dhcp_probe_detail::read_offer(good.data(), good.size(), other_mac, 7, src));
    const auto discover = dhcp_probe_detail::discover(probe_mac, 7);
    EXPECT_FALSE(dhcp_probe_detail::read_offer(discover.data(), discover.size(), probe_mac, 7, src)) << "a request";
    EXPECT_FALSE(dhcp_probe_detail::read_offer(good.data(), 100, probe_mac, 7, src)) << "truncated";

    const auto proxy = offer_bytes(7, "0.0.0.0", nullptr);
    const auto p = dhcp_probe_detail::read_offer(proxy.data(), proxy.size(), probe_mac, 7, src);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->server.to_string(), "10.0.0.9") << "no option 54: the source";
    EXPECT_EQ(p->address.value(), 0u);
}

TEST(dhcp_probe, no_listed_interface_or_dhcp_off_sends_nothing) {
    auto site = test_site();
    site.server.dhcp.interfaces.clear();
    std::string note;
    EXPECT_TRUE(probe_dhcp(site, fake_locator{}, std::chrono::milliseconds(0), &note).empty());
    EXPECT_EQ(note, "no interface is listed in server.interfaces: DHCP probe not run");
    site = test_site();
    site.server.dhcp.enabled = false;
    EXPECT_TRUE(probe_dhcp(site, fake_locator{}, std::chrono::milliseconds(0), &note).empty());
    EXPECT_EQ(note, "pxed's DHCP is off (server.dhcp.enabled): DHCP probe not run");
}
