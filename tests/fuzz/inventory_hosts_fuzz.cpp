// libFuzzer target, differential: a site.yaml loaded with the fast hosts
// path (src/inventory/host_scan.cpp, a hand-written line scanner) and
// through yaml-cpp's tree must give the same diagnostics, at the same
// places, and the same hosts. The scanner may leave any entry to
// yaml-cpp, but an entry it takes must read exactly as YAML reads it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "pxed/inventory/load.hpp"

namespace {

pxed::inventory::load_result load(const std::string& yaml, bool fast) {
    pxed::inventory::load_options o;
    o.check_files = false;
    o.fast_hosts = fast;
    return pxed::inventory::load_string(yaml, "fuzz.yaml", "/nonexistent", o);
}

std::string summary(const pxed::inventory::load_result& r) {
    std::string s;
    for (const auto& d : r.diagnostics) s += d.to_string() + "\n";
    if (!r.model) return s + "not loaded\n";
    for (const auto& h : r.model->hosts)
        s += h.mac.to_string() + " " + h.hostname + " " + (h.ip ? h.ip->to_string() : "-") + " " + h.profile + " " +
             (h.netboot ? "netboot" : "local") + " " + h.uefi_http + " " + std::to_string(h.vars.size()) + " @" +
             std::to_string(h.where.line) + ":" + std::to_string(h.where.column) + "\n";
    return s + r.model->fingerprint + "\n";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string yaml(reinterpret_cast<const char*>(data), size);
    const auto fast = summary(load(yaml, true));
    const auto tree = summary(load(yaml, false));
    if (fast != tree) {
        std::fprintf(stderr, "fast hosts path and yaml-cpp's tree differ\n--- fast\n%s--- tree\n%s", fast.c_str(),
                     tree.c_str());
        std::abort();
    }
    return 0;
}
