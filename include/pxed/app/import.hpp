#pragma once
/// `pxed import PATH`: the trees: and profiles: entries that boot an install
/// tree (docs/import.md), printed or inserted into site.yaml as text, so
/// every comment and every other byte of the file stays as it was.

#include <optional>
#include <string>

#include "pxed/inventory/install_tree.hpp"
#include "pxed/wire/result.hpp"

namespace pxed::app {

struct import_options {
    std::string name;  ///< trees: and profiles: key; empty: from the tree ("centos7", "debian12", "ubuntu2404")
    std::string url;   ///< where HTTP/FTP serve it; empty: /pub/<distro>/<release>/<arch>
};

/// One tree and the profile that boots it, as YAML entry lines (the key
/// line and its children, indented by `unit` per level, no section line).
struct import_plan {
    std::string name;
    std::string path;  ///< absolute
    std::string url;
    inventory::install_tree_info tree;
    std::string label, append, kickstart;

    std::string tree_entry(const std::string& unit = "  ") const;
    std::string profile_entry(const std::string& unit = "  ") const;
    /// What `pxed import` prints: both sections with their entries.
    std::string yaml() const;
};

/// Probes `path` and chooses the entries; the error is one sentence (the
/// tree probe's, or why the tree cannot be booted).
wire::result<import_plan, std::string> plan_import(const std::string& path, const import_options& options);

/// Why site.yaml cannot take the entries.
struct import_refusal {
    std::string message;
};

/// `text` (site.yaml) with the plan's entries at the end of its `trees:`
/// and `profiles:` blocks (each section created at the end when absent);
/// `file` names it in errors: a name already taken, a section written in
/// flow style.
wire::result<std::string, import_refusal> insert_into_site(const std::string& text, const import_plan& plan,
                                                            const std::string& file = "site.yaml");

/// Inserts into the file at `site_path`, checks that the result loads
/// (templates included), then replaces the file through a temporary file
/// and a rename, keeping its mode and owner. Returns the error, if any;
/// the file is then unchanged.
std::optional<std::string> append_to_site(const std::string& site_path, const import_plan& plan);

}  // namespace pxed::app

namespace pxed::app {

/// The `pxed import` command: prints the entries, or with `append_to` (a
/// site.yaml) inserts them and says so. Exit status 0, or 1 with the reason
/// on stderr.
int cmd_import(const std::string& path, const import_options& options, const std::string& append_to);

}  // namespace pxed::app
