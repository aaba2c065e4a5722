#include "pxed/inventory/diagnostic.hpp"

namespace pxed::inventory {

std::string diagnostic::to_string() const {
    std::string s = where.file;
    if (where.line > 0) {
        s += ':' + std::to_string(where.line);
        if (where.column > 0) s += ':' + std::to_string(where.column);
    }
    s += level == severity::error ? ": error: " : ": warning: ";
    s += message;
    return s;
}

bool has_errors(const std::vector<diagnostic>& diags) {
    for (const auto& d : diags)
        if (d.level == severity::error) return true;
    return false;
}

}  // namespace pxed::inventory
