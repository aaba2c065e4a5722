#pragma once
/// What the doctor reads in boot loader binaries. Pure functions over the
/// file's bytes, bounds-checked: a truncated or foreign file gives "not
/// recognised", never a crash.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pxed::doctor {

struct syslinux_version {
    int major = 0;
    int minor = 0;
    std::string to_string() const;
};

/// The "PXELINUX 6.04" (or `banner` given) version string syslinux puts in
/// its loaders.
std::optional<syslinux_version> find_syslinux_version(std::string_view image, std::string_view banner = "PXELINUX");

/// A syslinux 5+ module (.c32, ldlinux.c32/.e64) as an ELF shared object.
struct elf_module {
    int elf_class = 0;  ///< 32 (BIOS, efi32) or 64 (efi64); 0: not ELF (a syslinux 4 COM32 binary, or garbage)
    bool readable = false;  ///< the dynamic section could be read
    std::vector<std::string> needed;  ///< DT_NEEDED: the modules it loads first
};
elf_module read_elf_module(std::string_view bytes);

/// A GRUB core image (grub-mkimage, grub-mknetdir) and the objects of its
/// modules area: GRUB's include/grub/kernel.h (grub_module_info32/64, magic
/// "mimg", then grub_module_header type/size pairs).
struct grub_image {
    bool found = false;
    std::optional<std::string> prefix;  ///< OBJ_TYPE_PREFIX, e.g. "(tftp)/grub" or "/EFI/centos"
    bool embedded_config = false;      ///< OBJ_TYPE_CONFIG: an early config may move the prefix
    std::string config;                ///< that config's text
    /// An embedded config that only runs `normal (memdisk)/grub.cfg`, as
    /// Debian's signed grubnetx64.efi does: its memdisk config reads
    /// $prefix/grub.cfg (seen in the e2e secureboot path), so the prefix
    /// still says where grub.cfg is.
    bool config_keeps_prefix() const;
};
grub_image read_grub_image(std::string_view bytes);

/// The directory (relative to the TFTP root, no leading or trailing '/')
/// where a GRUB loaded as `boot_file` with `prefix` looks for grub.cfg:
/// the prefix without its "(device)" part, or the image's own directory
/// when it has none. nullopt when it cannot be known ($variables).
std::optional<std::string> grub_config_dir(const std::optional<std::string>& prefix, std::string_view boot_file);

/// shim (shimx64.efi, often renamed bootx64.efi): its version banner.
bool is_shim(std::string_view bytes);
/// The second stage shim loads, "grubx64.efi", from its UTF-16 default
/// loader name; `fallback` when not found.
std::string shim_second_stage(std::string_view bytes, std::string_view fallback);

/// A PE/COFF image (an EFI application, or a kernel with its EFI stub) and
/// whether it carries an Authenticode signature: the certificate table (the
/// security data directory, PE/COFF spec 3.4.3 / Authenticode) is there,
/// non-empty and inside the file. `bytes` may be the file's head only when
/// `file_size` says how long the whole file is.
struct pe_image {
    bool is_pe = false;
    bool signed_ = false;
};
pe_image read_pe_image(std::string_view bytes, std::uint64_t file_size);

}  // namespace pxed::doctor
