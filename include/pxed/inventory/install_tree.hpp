#pragma once
/// What an install tree on disk is: the family, release and architecture of
/// a mounted DVD, an ISO mount, an rsync'd mirror or an unpacked netboot
/// tarball, and where its kernel and initrd are. The parsers take the text
/// of the metadata files and touch no disk; probe_install_tree reads them.
///
/// Formats read:
/// - EL `.treeinfo` (INI): the old [general] family/version/arch of
///   CentOS 5/6, the productmd [header]/[release]/[tree] of CentOS 7+ (which
///   keeps a [general] for older tools), [images-<arch>] kernel=/initrd=,
///   [checksums] `images/pxeboot/vmlinuz = sha256:<hex>`;
/// - EL `.discinfo`: timestamp, release, arch on its first three lines;
/// - Debian/Ubuntu `dists/<codename>/Release` (deb822 fields), a netboot
///   tarball's `version.info` ("Debian version:  12 (bookworm)"), an
///   ISO's `.disk/info` ("Ubuntu-Server 24.04 LTS \"Noble Numbat\" - Release
///   amd64 (20240423)").

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "pxed/wire/result.hpp"

namespace pxed::inventory {

struct install_tree_info {
    std::string family;    ///< "el", "debian" or "ubuntu"
    std::string distro;    ///< as the tree names itself: "CentOS", "Debian", "Ubuntu"
    std::string release;   ///< the most precise one found: "7.9.2009", "6.10", "12.5", "24.04"
    int major = 0;         ///< 7, 12, 24; 0 when unknown
    std::string codename;  ///< "bookworm", "noble"; empty for EL
    std::string arch;      ///< as the family spells it: "x86_64", "amd64"
    /// Paths relative to the tree; empty when the tree names none (a bare
    /// repository) or the file is not there.
    std::string kernel;
    std::string initrd;
    /// Which file said what this is: ".treeinfo", "dists/bookworm/Release", ...
    std::string evidence;
    /// From .treeinfo [checksums]: path relative to the tree -> "sha256:<hex>".
    std::map<std::string, std::string> checksums;
};

/// An error reading one metadata file: the line (1-based, 0 = the whole
/// text) and what was expected there.
struct tree_parse_error {
    int line = 0;
    std::string message;
};

/// `.treeinfo`. kernel/initrd are the [images-<arch>] entries as written
/// (not checked against the disk).
wire::result<install_tree_info, tree_parse_error> parse_treeinfo(std::string_view text);

/// `.discinfo` (EL): release and arch; family "el".
wire::result<install_tree_info, tree_parse_error> parse_discinfo(std::string_view text);

/// `dists/<codename>/Release`: Origin (Debian or Ubuntu), Version,
/// Codename, Architectures (the first one that is not "all").
wire::result<install_tree_info, tree_parse_error> parse_debian_release(std::string_view text);

/// A Debian netboot tarball's `version.info`.
wire::result<install_tree_info, tree_parse_error> parse_netboot_version(std::string_view text);

/// `.disk/info` of a Debian or Ubuntu ISO.
wire::result<install_tree_info, tree_parse_error> parse_disk_info(std::string_view text);

/// Looks at `dir`: the metadata files above, in that order, then the
/// kernel and initrd each layout keeps. The error says what was expected
/// ("/srv/x is not an install tree: no .treeinfo, no .discinfo, ...") or
/// which metadata file is broken and where; the caller adds the fix.
wire::result<install_tree_info, std::string> probe_install_tree(const std::string& dir);

/// Where a tree of `family` keeps its kernel when its metadata names none,
/// for messages: "images/pxeboot/vmlinuz".
std::string conventional_kernel(const std::string& family);

}  // namespace pxed::inventory
