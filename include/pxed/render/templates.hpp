#pragma once
/// The templates pxed renders from: the shipped defaults, overridden file by
/// file by a site template directory (server.templates).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pxed/inventory/diagnostic.hpp"

namespace pxed::render {

class template_set {
public:
    /// The shipped templates only.
    static std::shared_ptr<const template_set> builtin();

    /// Shipped templates, then every file under `site_dir` (recursively) on top,
    /// by relative path: `site_dir/kickstart/centos7.ks` replaces the shipped
    /// `kickstart/centos7.ks`. Unreadable or oversized files become diagnostics.
    static std::shared_ptr<const template_set> load(const std::string& site_dir,
                                                    std::vector<inventory::diagnostic>& diags);

    /// nullptr when there is no such template.
    const std::string* find(const std::string& name) const;
    /// "built-in" or the file it was read from.
    std::string origin(const std::string& name) const;
    std::vector<std::string> names() const;

    /// Partials (`{{> name}}`) are looked up as `snippets/<name>`, then `<name>`.
    const std::string* find_partial(const std::string& name) const;

private:
    struct item {
        std::string text;
        std::string origin;
    };
    std::map<std::string, item> items_;
};

}  // namespace pxed::render
