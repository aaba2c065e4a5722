#pragma once
#include <cstddef>

namespace pxed::render::builtin {

struct entry {
    const char* name;  // path under templates/, e.g. "pxelinux/menu.cfg"
    const char* data;
    std::size_t size;
};

extern const entry entries[];
extern const std::size_t count;

}  // namespace pxed::render::builtin
