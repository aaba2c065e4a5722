#include "pxed/render/templates.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "builtin_templates.hpp"

namespace pxed::render {
namespace stdfs = std::filesystem;

namespace {
// Templates are small text files; anything bigger is a mistake (an ISO
// dropped into the template directory), not something to load into memory.
constexpr std::uintmax_t max_template_size = 1 << 20;
constexpr std::size_t max_template_count = 2000;
}  // namespace

std::shared_ptr<const template_set> template_set::builtin() {
    auto set = std::make_shared<template_set>();
    for (std::size_t i = 0; i < builtin::count; ++i) {
        const auto& e = builtin::entries[i];
        set->items_[e.name] = item{std::string(e.data, e.size), "built-in"};
    }
    return set;
}

std::shared_ptr<const template_set> template_set::load(const std::string& site_dir,
                                                       std::vector<inventory::diagnostic>& diags) {
    auto set = std::make_shared<template_set>(*builtin());
    if (site_dir.empty()) return set;
    auto problem = [&](const std::string& file, const std::string& msg) {
        diags.push_back({inventory::severity::error, {file, 0, 0}, msg});
    };
    std::error_code ec;
    stdfs::recursive_directory_iterator it(site_dir, ec), end;
    if (ec) {
        problem(site_dir, "cannot read template directory: " + ec.message());
        return set;
    }
    std::size_t loaded = 0;
    for (; it != end; it.increment(ec)) {
        if (ec) {
            problem(site_dir, "cannot read template directory: " + ec.message());
            break;
        }
        const auto& path = it->path();
        if (!it->is_regular_file(ec)) continue;
        const auto name = path.lexically_relative(site_dir).generic_string();
        // Editor backups and dot files are not templates.
        if (name.empty() || path.filename().string()[0] == '.' || name.back() == '~') continue;
        if (it->file_size(ec) > max_template_size) {
            problem(path.string(), "template is larger than 1 MiB; not loaded");
            continue;
        }
        if (++loaded > max_template_count) {
            problem(site_dir, "more than 2000 files in the template directory; the rest were not loaded");
            break;
        }
        std::ifstream in(path, std::ios::binary);
        std::ostringstream ss;
        if (!(ss << in.rdbuf())) {
            problem(path.string(), "cannot read template");
            continue;
        }
        set->items_[name] = item{ss.str(), path.string()};
    }
    return set;
}

const std::string* template_set::find(const std::string& name) const {
    const auto it = items_.find(name);
    return it == items_.end() ? nullptr : &it->second.text;
}

std::string template_set::origin(const std::string& name) const {
    const auto it = items_.find(name);
    return it == items_.end() ? std::string{} : it->second.origin;
}

std::vector<std::string> template_set::names() const {
    std::vector<std::string> out;
    for (const auto& kv : items_) out.push_back(kv.first);
    return out;
}

const std::string* template_set::find_partial(const std::string& name) const {
    if (const auto* t = find("snippets/" + name)) return t;
    return find(name);
}

}  // namespace pxed::render
