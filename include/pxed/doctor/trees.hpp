#pragma once
/// Install trees for `pxed check`: each tree is a tree (inventory::
/// probe_install_tree) whose own kernel and initrd match its .treeinfo
/// checksums; each profile's copied kernel and initrd (in the TFTP root) is
/// the tree's, by size and content or by the .treeinfo sha256 (the classic
/// "kernel and initrd do not match the install tree" anaconda failure that
/// otherwise shows only halfway through an install); each tree's URL is
/// served by a server that is on and is not hiding files of the TFTP root.

#include <string>
#include <vector>

#include "pxed/doctor/finding.hpp"
#include "pxed/inventory/site.hpp"

namespace pxed::doctor {

/// Findings at the tree's (tree.where) or the profile's (profile.where)
/// line; topic "tree" or "kernel". Reads the trees and the TFTP root.
std::vector<finding> check_trees(const inventory::site& site);

/// Lower-case hex sha256 of a file's content; empty when it cannot be read.
std::string sha256_of_file(const std::string& path);

}  // namespace pxed::doctor
