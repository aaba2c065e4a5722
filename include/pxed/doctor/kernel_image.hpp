#pragma once
/// Which CPU a Linux kernel image is built for, from its first bytes (the
/// first 4 KiB are enough): a pure function, bounds-checked; a compressed
/// or foreign file gives "not recognised".

#include <optional>
#include <string>
#include <string_view>

#include "pxed/inventory/site.hpp"

namespace pxed::doctor {

struct kernel_image {
    /// x86 (bzImage, 32- or 64-bit: both are the x86_64 profiles' family)
    /// or ARM64; nullopt: not recognised, or another CPU.
    std::optional<inventory::cpu_arch> cpu;
    /// How it was told: "x86 bzImage", "ARM64 Image", "PE machine 0xaa64",
    /// "ELF machine 183"; empty when not recognised.
    std::string evidence;
};

/// Linux's boot headers, in this order: the ARM64 Image header's magic
/// "ARM\x64" at offset 56 (Documentation/arch/arm64/booting.rst), the x86
/// boot protocol's "HdrS" at 0x202 (Documentation/arch/x86/boot.rst), then
/// the PE/COFF machine of an EFI stub or zboot image (MZ, e_lfanew at
/// 0x3c), then an ELF vmlinux's e_machine.
kernel_image read_kernel_image(std::string_view head);

}  // namespace pxed::doctor
