#pragma once
// The checks examine() runs, each in a file of its own, and what they share.

#include <string>
#include <vector>

#include "pxed/doctor/doctor.hpp"

namespace pxed::doctor::detail {

/// A file or directory pxed will serve, for the permission check.
struct served_path {
    std::string path;  ///< absolute
    inventory::source_location where;
    bool tree = false;  ///< a directory whose whole content is served
};

struct context {
    const inventory::site& site;
    const machine& host;
    const locator& where;
    const options& opts;
    std::vector<finding>& out;
    std::vector<std::string>& notes;
    std::vector<served_path> served;  ///< filled by the checks that find files

    void add(inventory::severity level, inventory::source_location at, std::string topic, std::string message,
             std::string fix) {
        out.push_back({level, std::move(at), std::move(topic), std::move(message), std::move(fix)});
    }
};

void check_addresses(context& c);
void check_boot_loaders(context& c);
void check_permissions(context& c);

}  // namespace pxed::doctor::detail
