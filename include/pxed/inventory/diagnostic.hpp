#pragma once
/// Problems found while loading a site: each names file, line and column.

#include <string>
#include <vector>

namespace pxed::inventory {

struct source_location {
    std::string file;
    int line = 0;    ///< 1-based; 0 = unknown (the problem concerns the whole file)
    int column = 0;  ///< 1-based
};

enum class severity { error, warning };

struct diagnostic {
    severity level = severity::error;
    source_location where;
    std::string message;

    /// `site.yaml:12:5: error: ...`, the format compilers use, so editors can jump to it.
    std::string to_string() const;
};

bool has_errors(const std::vector<diagnostic>& diags);

}  // namespace pxed::inventory
