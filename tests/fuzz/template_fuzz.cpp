// libFuzzer target: a site's own template, as pxed loads it. The bytes are
// a kickstart and, from the first NUL on, the `post` snippet it includes:
// pxed's tag checks (render/template_syntax), the strict-variable walk over
// partials and kainjow's rendering must report or render, never crash,
// hang or recurse without end.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "pxed/inventory/load.hpp"
#include "pxed/render/renderer.hpp"

namespace {

const char* const site_yaml = R"(server:
  address: 10.0.0.2
  tftp: {root: /srv/tftp}
subnets:
  - {network: 10.0.0.0/24, routers: [10.0.0.1]}
profiles:
  c7: {kernel: k, initrd: i, kickstart: centos7.ks, append: "inst.ks={{kickstart_url}}",
       vars: {packages: [vim], disks: [{name: sda}]}}
hosts:
  - {mac: "52:54:00:00:00:01", hostname: a, ip: 10.0.0.5, profile: c7, secrets: {rootpw_hash: x}}
  - {mac: "52:54:00:00:00:02", profile: c7}
)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace stdfs = std::filesystem;
    static const auto site = [] {
        pxed::inventory::load_options o;
        o.check_files = false;
        return pxed::inventory::load_string(site_yaml, "fuzz.yaml", "/nonexistent", o).model;
    }();
    static const stdfs::path dir = [] {
        const auto d = stdfs::temp_directory_path() / ("pxed-template-fuzz-" + std::to_string(::getpid()));
        stdfs::create_directories(d / "kickstart");
        stdfs::create_directories(d / "snippets");
        return d;
    }();
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    const auto nul = bytes.find('\0');
    std::ofstream(dir / "kickstart/centos7.ks", std::ios::binary | std::ios::trunc) << bytes.substr(0, nul);
    std::ofstream(dir / "snippets/post", std::ios::binary | std::ios::trunc)
        << (nul == std::string::npos ? std::string{} : bytes.substr(nul + 1));
    std::vector<pxed::inventory::diagnostic> diags;
    const auto templates = pxed::render::template_set::load(dir.string(), diags);
    const pxed::render::renderer r(site, templates);
    for (const auto& d : r.check()) (void)d.to_string();
    return 0;
}
