#pragma once
/// What `pxed check` finds beyond the schema (docs/doctor.md): each finding
/// names the site.yaml entry (or template) concerned, says what is wrong in
/// one sentence and, where there is one, the command or edit that fixes it.

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "pxed/inventory/diagnostic.hpp"

namespace pxed::doctor {

struct finding {
    inventory::severity level = inventory::severity::error;
    /// The site.yaml entry concerned (file:line), a template, or a file on
    /// disk when no entry names it.
    inventory::source_location where;
    /// A stable name for --json and tests: "address", "interface",
    /// "dhcp-probe", "bootloader", "tree", "kernel", "template", "kickstart",
    /// "permissions", "firewall", "selinux".
    std::string topic;
    std::string message;  ///< what is wrong, one sentence
    std::string fix;      ///< what to run or change; may be empty
};

/// A command's result as the doctor sees it.
struct command_result {
    bool ran = false;  ///< false: the program is not installed (or could not start)
    int status = 0;    ///< exit status
    std::string out;   ///< stdout
};

/// Runs the system's tools (firewall-cmd, getenforce, matchpathcon, ...).
/// Tests replay recorded output through their own implementation.
class command_runner {
public:
    virtual ~command_runner() = default;
    virtual command_result run(const std::vector<std::string>& argv) const = 0;
};

/// Where a key of site.yaml is written: {"server", "address"},
/// {"server", "http", "port"}, {"profiles", "centos7", "kernel"}. A key that
/// is not written gives the nearest enclosing one that is (the `server:`
/// line for a defaulted `server.http.port`), or line 0 (the whole file).
class locator {
public:
    virtual ~locator() = default;
    virtual inventory::source_location find(std::initializer_list<std::string_view> path) const = 0;
};

}  // namespace pxed::doctor
