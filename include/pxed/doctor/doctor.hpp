#pragma once
/// `pxed check` as a doctor (docs/doctor.md): after the site loads, look at
/// the machine it is meant to run on (addresses, interfaces, the boot
/// loaders in the TFTP root and what they load, whether server.user can
/// read what pxed serves) and say what would make a boot fail.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pxed/doctor/finding.hpp"
#include "pxed/inventory/locate.hpp"
#include "pxed/inventory/site.hpp"
#include "pxed/render/renderer.hpp"
#include "pxed/wire/ipv4.hpp"

namespace pxed::doctor {

struct options {
    /// Checking the file somewhere else than the provisioning host: skip
    /// what depends on this machine (addresses, interfaces, accounts,
    /// firewall, SELinux).
    bool offline = false;
    /// Ask on each of server.interfaces whether another DHCP server answers.
    bool probe_dhcp = false;
};

/// A network interface as the doctor sees it.
struct interface_info {
    std::string name;
    bool up = false;
    std::vector<wire::ipv4_network> addresses;  ///< address/prefix, host bits kept
};

/// A local account: who pxed runs as after dropping privileges.
struct account {
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::vector<std::uint32_t> groups;  ///< supplementary groups, the primary one included
};

/// What the checks ask of the machine; tests give a fake one.
class machine {
public:
    virtual ~machine() = default;
    virtual std::vector<interface_info> interfaces() const = 0;
    virtual std::optional<account> find_account(const std::string& user) const = 0;
    virtual const command_runner& runner() const = 0;
};

/// Finds a local account; nullopt when there is none.
using account_lookup = std::function<std::optional<account>(const std::string& user)>;

/// This machine: getifaddrs, commands run by fork/exec (no shell), killed
/// after `command_timeout`, and accounts found by `accounts`: the caller
/// passes the lookup the privilege drop itself uses (/etc/passwd and
/// /etc/group, no NSS, which a static binary cannot load), so the doctor
/// checks the very uid and groups pxed will run as.
std::unique_ptr<machine> local_machine(account_lookup accounts,
                                       std::chrono::milliseconds command_timeout = std::chrono::seconds(10));

/// site.yaml's key positions as a doctor::locator.
class yaml_locator final : public locator {
public:
    explicit yaml_locator(inventory::key_locations keys) : keys_(std::move(keys)) {}
    inventory::source_location find(std::initializer_list<std::string_view> path) const override {
        return keys_.find(path);
    }

private:
    inventory::key_locations keys_;
};

/// Every check, in the order docs/doctor.md lists them. `notes` (may be
/// null) receives one sentence per check that was skipped and why.
std::vector<finding> examine(const inventory::site& site, const render::renderer& renderer, const machine& host,
                             const locator& where, const options& opts, std::vector<std::string>* notes = nullptr);

}  // namespace pxed::doctor
