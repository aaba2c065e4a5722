#pragma once
/// Where a key of site.yaml is written, for findings made after loading
/// (`pxed check`'s doctor): the file is read again and kept as a tree of
/// positions, so no YAML type leaks out of inventory/.

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "pxed/inventory/diagnostic.hpp"

namespace pxed::inventory {

class key_locations {
public:
    /// Reads `path`; a file that cannot be read or parsed locates
    /// everything at line 0 (the whole file).
    static key_locations from_file(const std::string& path);
    /// `name` is the file named in locations.
    static key_locations from_string(const std::string& yaml, const std::string& name);

    /// The position of the key at `path`: {"server", "address"},
    /// {"profiles", "centos7", "kernel"}. In a sequence an element is named
    /// by its index ("0") or by any scalar it holds or is: {"hosts",
    /// "52:54:00:00:00:01", "profile"} (compared without case), {"server",
    /// "interfaces", "eth9"}. A key that is not written gives the nearest
    /// enclosing one that is, or line 0.
    source_location find(std::initializer_list<std::string_view> path) const;

    struct tree;  // positions of every map key and sequence element

private:
    static key_locations from_text(std::string yaml, const std::string& name);

    std::string file_;
    std::shared_ptr<const tree> root_;
};

}  // namespace pxed::inventory
