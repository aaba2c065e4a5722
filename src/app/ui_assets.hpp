#pragma once
// The dashboard's page (ui/ in the source tree), embedded by
// cmake/embed_templates.cmake: the binary needs no file beside it.
#include <cstddef>

namespace pxed::app::ui_assets {

struct entry {
    const char* name;  // path under ui/, e.g. "dashboard.js"
    const char* data;
    std::size_t size;
};

extern const entry entries[];
extern const std::size_t count;

}  // namespace pxed::app::ui_assets
