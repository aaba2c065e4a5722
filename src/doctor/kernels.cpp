// Each profile's kernel against the profile's arch: an ARM64 Image given to
// an x86_64 profile (or the other way round) is served to firmware whose
// GRUB cannot boot it ("invalid magic number", or an x86 GRUB's
// "kernel too old" on an arm64 Image), which shows only at the console.

#include "pxed/doctor/kernel_image.hpp"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "checks.hpp"

namespace pxed::doctor {

namespace {

using detail::read_le;

std::string hex16(std::uint64_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%04x", static_cast<unsigned>(v));
    return buf;
}

}  // namespace

kernel_image read_kernel_image(std::string_view b) {
    using inventory::cpu_arch;
    if (b.size() >= 60 && b.substr(56, 4) == std::string_view("ARM\x64", 4)) return {cpu_arch::arm64, "ARM64 Image"};
    if (b.size() >= 0x206 && b.substr(0x202, 4) == "HdrS") return {cpu_arch::x86_64, "x86 bzImage"};
    if (b.size() >= 0x40 && b.substr(0, 2) == "MZ") {
        if (const auto pe = read_le(b, 0x3c, 4); pe && *pe <= b.size() && b.size() - *pe >= 6 &&
                                            b.substr(*pe, 4) == std::string_view("PE\0\0", 4)) {
            const auto machine = *read_le(b, *pe + 4, 2);
            const auto evidence = "PE machine " + hex16(machine);
            if (machine == 0x8664 || machine == 0x14c) return {cpu_arch::x86_64, evidence};
            if (machine == 0xaa64) return {cpu_arch::arm64, evidence};
            return {std::nullopt, evidence};
        }
    }
    if (b.size() >= 20 && b.substr(0, 4) == "\x7f" "ELF" && b[5] == 1) {  // little-endian
        const auto machine = *read_le(b, 18, 2);
        const auto evidence = "ELF machine " + std::to_string(machine);
        if (machine == 62 || machine == 3) return {cpu_arch::x86_64, evidence};  // EM_X86_64, EM_386
        if (machine == 183) return {cpu_arch::arm64, evidence};                  // EM_AARCH64
        return {std::nullopt, evidence};
    }
    return {};
}

namespace detail {

namespace {
namespace stdfs = std::filesystem;
}  // namespace

void check_kernels(context& c) {
    const auto& s = c.site;
    for (const auto& [name, p] : s.profiles) {
        if (p.kernel.empty()) continue;
        stdfs::path file = stdfs::path(s.server.tftp.root) / p.kernel;
        if (p.kernel_from_tree) {
            const auto* t = s.find_tree(p.tree);
            if (!t || t->url.size() < 2 || p.kernel.size() <= t->url.size()) continue;
            file = stdfs::path(t->path) / p.kernel.substr(t->url.size());  // "pub/x/" of the mount, then the path inside
        }
        std::ifstream in(file, std::ios::binary);
        if (!in) continue;  // the loader reports a missing kernel
        std::string head(4096, '\0');
        in.read(head.data(), static_cast<std::streamsize>(head.size()));
        head.resize(static_cast<std::size_t>(in.gcount()));
        const auto k = read_kernel_image(head);
        if (!k.cpu || *k.cpu == p.arch) continue;
        auto at = c.where.find({"profiles", name, "kernel"});
        if (at.line == 0) at = p.where;
        const std::string is = inventory::to_string(*k.cpu);
        c.add(inventory::severity::warning, at, "kernel",
              "profile '" + name + "' is arch " + inventory::to_string(p.arch) + " but its kernel " + file.string() +
                  " is an " + is + " kernel (" + k.evidence + "): its hosts' boot loader cannot start it.",
              "set arch: " + is + " on profile " + name + " (and give it " + is + " hosts), or point its kernel at an " +
                  inventory::to_string(p.arch) + " kernel");
    }
}

}  // namespace detail

}  // namespace pxed::doctor
