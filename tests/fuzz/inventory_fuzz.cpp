// libFuzzer target: site.yaml loading. Whatever the bytes, loading must
// return diagnostics or a model, never crash, hang or throw.
#include <cstddef>
#include <cstdint>
#include <string>

#include "pxed/inventory/load.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    pxed::inventory::load_options options;
    options.check_files = false;
    const std::string yaml(reinterpret_cast<const char*>(data), size);
    const auto r = pxed::inventory::load_string(yaml, "fuzz.yaml", "/nonexistent", options);
    for (const auto& d : r.diagnostics) (void)d.to_string();
    return 0;
}
