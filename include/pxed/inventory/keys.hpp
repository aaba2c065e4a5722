#pragma once
/// The keys of site.yaml as data: each section of the file is one table in
/// the loader (name, type, bounds, default, doc line), which parses it,
/// names unknown keys, and is listed here for docs/site-yaml.md, whose
/// reference tables a unit test checks against this.

#include <string>
#include <vector>

namespace pxed::inventory {

struct key_doc {
    std::string name;           ///< "port"; "dhcp.port" for a key of a nested section
    std::string type;           ///< "number", "duration", "one of", ...
    std::string bounds;         ///< "1-65536", "at least 1s", "`server`, `proxy`"; empty: none
    std::string default_value;  ///< as the docs show it: "`67`", "none", "required", ...
    std::string doc;            ///< one line
};

struct section_doc {
    std::string name;  ///< the section's heading in docs/site-yaml.md: "server", "subnets", ...
    std::vector<key_doc> keys;
};

/// Every documented section of site.yaml, in the order of docs/site-yaml.md.
std::vector<section_doc> site_yaml_keys();

}  // namespace pxed::inventory
