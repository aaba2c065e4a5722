// The boot files of the TFTP root and the companions each one loads: a
// syslinux 5+ pxelinux.0 fetches ldlinux.c32 from its own directory before
// anything else (syslinux core/elflink/load_env32.c), then the menu module
// and the modules it was linked against (DT_NEEDED); a GRUB image looks for
// grub.cfg in its prefix; shim loads its GRUB from its own directory.

#include "pxed/doctor/boot_loaders.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>

#include "checks.hpp"

namespace pxed::doctor {

namespace {

using detail::read_le;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string syslinux_version::to_string() const {
    return std::to_string(major) + "." + (minor < 10 ? "0" : "") + std::to_string(minor);
}

std::optional<syslinux_version> find_syslinux_version(std::string_view image, std::string_view banner) {
    const std::string needle = std::string(banner) + " ";
    for (auto pos = image.find(needle); pos != std::string_view::npos; pos = image.find(needle, pos + 1)) {
        auto p = pos + needle.size();
        syslinux_version v;
        std::size_t digits = 0;
        while (p < image.size() && is_digit(image[p]) && digits < 3) v.major = v.major * 10 + (image[p++] - '0'), ++digits;
        if (!digits || p + 2 >= image.size() || image[p] != '.' || !is_digit(image[p + 1]) || !is_digit(image[p + 2]))
            continue;
        v.minor = (image[p + 1] - '0') * 10 + (image[p + 2] - '0');
        return v;
    }
    return std::nullopt;
}

elf_module read_elf_module(std::string_view b) {
    elf_module m;
    if (b.size() < 52 || b.substr(0, 4) != "\x7f" "ELF" || b[5] != 1) return m;  // little-endian only (x86, arm64)
    const bool is64 = b[4] == 2;
    if (b[4] != 1 && !is64) return m;
    m.elf_class = is64 ? 64 : 32;
    const unsigned word = is64 ? 8 : 4;
    const auto phoff = read_le(b, is64 ? 32 : 28, word);
    const auto phentsize = read_le(b, is64 ? 54 : 42, 2);
    const auto phnum = read_le(b, is64 ? 56 : 44, 2);
    if (!phoff || !phentsize || !phnum || *phentsize < (is64 ? 56u : 32u)) return m;
    struct segment {
        std::uint64_t type, offset, vaddr, filesz;
    };
    std::vector<segment> segs;
    for (std::uint64_t i = 0; i < *phnum; ++i) {
        const auto at = *phoff + i * *phentsize;
        const auto type = read_le(b, at, 4);
        const auto offset = read_le(b, at + (is64 ? 8 : 4), word);
        const auto vaddr = read_le(b, at + (is64 ? 16 : 8), word);
        const auto filesz = read_le(b, at + (is64 ? 32 : 16), word);
        if (!type || !offset || !vaddr || !filesz) return m;
        segs.push_back({*type, *offset, *vaddr, *filesz});
    }
    const auto dyn = std::find_if(segs.begin(), segs.end(), [](const segment& s) { return s.type == 2; });  // PT_DYNAMIC
    if (dyn == segs.end()) {
        m.readable = true;  // linked against nothing
        return m;
    }
    std::vector<std::uint64_t> needed;
    std::optional<std::uint64_t> strtab, strsz;
    for (std::uint64_t at = dyn->offset; at + 2 * word <= dyn->offset + dyn->filesz; at += 2 * word) {
        const auto tag = read_le(b, at, word);
        const auto val = read_le(b, at + word, word);
        if (!tag || !val) return m;
        if (*tag == 0) break;  // DT_NULL
        if (*tag == 1) needed.push_back(*val);
        if (*tag == 5) strtab = *val;
        if (*tag == 10) strsz = *val;
    }
    if (needed.empty()) {
        m.readable = true;
        return m;
    }
    if (!strtab || !strsz) return m;
    // DT_STRTAB is an address: find the file offset through the PT_LOAD that maps it.
    std::optional<std::uint64_t> table;
    for (const auto& s : segs)
        if (s.type == 1 && *strtab >= s.vaddr && *strtab - s.vaddr < s.filesz) table = s.offset + (*strtab - s.vaddr);
    if (!table || *table > b.size() || b.size() - *table < *strsz) return m;
    const auto strings = b.substr(*table, *strsz);
    for (const auto off : needed) {
        if (off >= strings.size()) return m;
        const auto end = strings.find('\0', off);
        if (end == std::string_view::npos) return m;
        m.needed.emplace_back(strings.substr(off, end - off));
    }
    m.readable = true;
    return m;
}

grub_image read_grub_image(std::string_view b) {
    grub_image g;
    constexpr std::string_view magic{"mimg", 4};  // GRUB_MODULE_MAGIC 0x676d696d, little-endian
    for (auto pos = b.find(magic); pos != std::string_view::npos; pos = b.find(magic, pos + 1)) {
        // grub_module_info64 (x86_64, arm64: magic, padding, offset, size),
        // then grub_module_info32 (i386: magic, offset, size).
        for (const bool is64 : {true, false}) {
            const auto offset = is64 ? read_le(b, pos + 8, 8) : read_le(b, pos + 4, 4);
            const auto size = is64 ? read_le(b, pos + 16, 8) : read_le(b, pos + 8, 4);
            const std::uint64_t header = is64 ? 24 : 12;
            if (!offset || !size || *offset < header || *offset > *size || *size > b.size() - pos) continue;
            grub_image found;
            found.found = true;
            bool valid = true;
            for (std::uint64_t at = pos + *offset; at < pos + *size;) {
                const auto type = read_le(b, at, 4);
                const auto len = read_le(b, at + 4, 4);
                if (!type || !len || *len < 8 || *len > pos + *size - at) {
                    valid = false;
                    break;
                }
                const auto body = b.substr(at + 8, *len - 8);
                if (*type == 3) found.prefix = std::string(body.substr(0, body.find('\0')));  // OBJ_TYPE_PREFIX
                if (*type == 2) {                                                             // OBJ_TYPE_CONFIG
                    found.embedded_config = true;
                    found.config = std::string(body.substr(0, body.find('\0')));
                }
                at += *len;
            }
            if (valid) return found;
        }
    }
    return g;
}

bool grub_image::config_keeps_prefix() const {
    std::string c = config;
    while (!c.empty() && (c.back() == '\n' || c.back() == ' ')) c.pop_back();
    return c == "normal (memdisk)/grub.cfg";
}

std::optional<std::string> grub_config_dir(const std::optional<std::string>& prefix, std::string_view boot_file) {
    std::string dir;
    if (prefix && !prefix->empty()) {
        if (prefix->find('$') != std::string::npos) return std::nullopt;
        dir = *prefix;
        if (dir.front() == '(') {
            const auto close = dir.find(')');
            if (close == std::string::npos) return std::nullopt;
            dir.erase(0, close + 1);
        }
    } else {
        const auto slash = boot_file.rfind('/');
        dir = slash == std::string_view::npos ? std::string{} : std::string(boot_file.substr(0, slash));
    }
    while (!dir.empty() && dir.front() == '/') dir.erase(0, 1);
    while (!dir.empty() && dir.back() == '/') dir.pop_back();
    return dir;
}

bool is_shim(std::string_view b) { return b.find("UEFI SHIM") != std::string_view::npos; }

std::string shim_second_stage(std::string_view b, std::string_view fallback) {
    // DEFAULT_LOADER, L"\\grubx64.efi" in shim's Makefile: UTF-16LE.
    const std::string needle{"\\\0g\0r\0u\0b\0", 10};
    const auto pos = b.find(needle);
    if (pos == std::string_view::npos) return std::string(fallback);
    std::string name;
    for (auto p = pos + 2; p + 1 < b.size() && b[p + 1] == '\0' && b[p] != '\0' && name.size() < 64; p += 2) name += b[p];
    return name.size() > 4 && name.compare(name.size() - 4, 4, ".efi") == 0 ? name : std::string(fallback);
}

pe_image read_pe_image(std::string_view b, std::uint64_t file_size) {
    pe_image pe;
    if (b.size() < 64 || b.substr(0, 2) != "MZ") return pe;
    const auto lfanew = read_le(b, 0x3c, 4);
    if (!lfanew || !read_le(b, *lfanew, 4) || b.substr(*lfanew, 4) != std::string_view("PE\0\0", 4)) return pe;
    const auto opt = *lfanew + 24;  // after the signature and the COFF file header
    const auto magic = read_le(b, opt, 2);
    if (!magic || (*magic != 0x10b && *magic != 0x20b)) return pe;  // PE32, PE32+
    pe.is_pe = true;
    const bool plus = *magic == 0x20b;
    const auto count = read_le(b, opt + (plus ? 108 : 92), 4);  // NumberOfRvaAndSizes
    if (!count || *count < 5) return pe;
    // Data directory 4, the certificate table: a file offset, not an RVA.
    const auto entry = opt + (plus ? 112 : 96) + 4 * 8;
    const auto offset = read_le(b, entry, 4);
    const auto size = read_le(b, entry + 4, 4);
    pe.signed_ = offset && size && *offset != 0 && *size >= 8 && *offset <= file_size && *size <= file_size - *offset;
    return pe;
}

namespace detail {

namespace {

namespace stdfs = std::filesystem;
using inventory::severity;

constexpr std::size_t max_image = 64u << 20;  // boot loaders are well under a MiB; kernels are not read

std::optional<std::string> slurp(const stdfs::path& p) {
    std::error_code ec;
    if (!stdfs::is_regular_file(p, ec)) return std::nullopt;
    std::ifstream in(p, std::ios::binary);
    if (!in) return std::nullopt;
    std::string data;
    char buf[65536];
    while (in && data.size() < max_image) {
        in.read(buf, sizeof buf);
        data.append(buf, static_cast<std::size_t>(in.gcount()));
    }
    return data;
}

std::string dir_of(const std::string& rel) {
    const auto slash = rel.rfind('/');
    return slash == std::string::npos ? std::string{} : rel.substr(0, slash);
}

std::string join(const std::string& dir, const std::string& name) { return dir.empty() ? name : dir + "/" + name; }

struct loader_site {
    context& c;
    stdfs::path root;
    // Where a boot file of the TFTP root really is: boot.secure_boot serves
    // its shim and GRUB straight from their own files.
    stdfs::path file(const std::string& rel) const {
        const auto& b = c.site.boot;
        if (b.secure_boot.on()) {
            if (rel == b.uefi_x64) return b.secure_boot.shim;
            if (rel == b.secure_boot_grub()) return b.secure_boot.grub;
        }
        return root / rel;
    }
    void serve(const std::string& rel, inventory::source_location at) {
        c.served.push_back({file(rel).string(), std::move(at), false});
    }
};

// Where the distributions keep syslinux's modules, for the fixes.
enum class flavour { bios, efi32, efi64 };

// `cp` from where the distributions keep syslinux's modules, for the fixes.
std::string copy_module(const std::string& name, flavour f, const std::string& dest) {
    if (f != flavour::bios)
        return "cp /usr/lib/syslinux/modules/" + std::string(f == flavour::efi64 ? "efi64/" : "efi32/") + name + " " +
               dest + " (Debian's syslinux-common)";
    return "cp /usr/lib/syslinux/modules/bios/" + name + " " + dest +
           " (Debian's syslinux-common; on CentOS 7 from /usr/share/syslinux/)";
}

void check_syslinux(loader_site& l, const std::string& boot_rel, const std::string& key, syslinux_version v,
                    flavour build) {
    auto& c = l.c;
    const auto at = c.where.find({"boot", key});
    const auto dir = dir_of(boot_rel);
    auto dest = (l.root / dir).string();
    if (dest.back() != '/') dest += '/';
    const std::string what = boot_rel + " (syslinux " + v.to_string() + ")";
    const int want_class = build == flavour::efi64 ? 64 : 32;
    const auto module_finding = [&](const inventory::source_location& where, const std::string& name,
                                    const std::string& wrong) {
        c.add(severity::error, where, "bootloader", name + " beside " + what + " " + wrong,
              copy_module(name, build, dest) + ", from the same syslinux release as " + boot_rel);
    };
    if (v.major >= 5) {
        const std::string ld = build == flavour::efi64 ? "ldlinux.e64" : build == flavour::efi32 ? "ldlinux.e32" : "ldlinux.c32";
        const auto bytes = slurp(l.root / join(dir, ld));
        if (!bytes) {
            c.add(severity::error, at, "bootloader",
                  what + " needs " + ld + " in the same directory of the TFTP root and there is none, so it stops with "
                  "'Failed to load " + ld + "'.",
                  copy_module(ld, build, dest));
        } else {
            l.serve(join(dir, ld), at);
            const auto m = read_elf_module(*bytes);
            if (m.elf_class != want_class)
                module_finding(at, ld, m.elf_class ? "is built for " + std::string(m.elf_class == 64 ? "64-bit EFI" : "BIOS or 32-bit EFI") +
                                                     ", not for this loader; different syslinux builds do not work together."
                                               : "is not a syslinux 5 or later module; different syslinux versions do not work together.");
        }
    }
    const auto& ui = c.site.menu.ui;
    if (ui.empty()) return;
    auto ui_at = c.where.find({"menu", "ui"});
    if (ui_at.line == 0) ui_at = at;  // the default menu.c32: the boot file that loads it
    std::set<std::string> seen;
    std::vector<std::pair<std::string, std::string>> queue{{ui, ""}};  // module, who needs it
    while (!queue.empty()) {
        const auto [name, parent] = queue.front();
        queue.erase(queue.begin());
        if (!seen.insert(name).second || seen.size() > 64) continue;
        const auto bytes = slurp(l.root / join(dir, name));
        if (!bytes) {
            c.add(severity::error, ui_at, "bootloader",
                  (parent.empty() ? "menu.ui " + name + " is not in the TFTP root beside " + boot_rel
                                  : name + ", which " + parent + " loads, is not in the TFTP root beside " + boot_rel) +
                      ", so clients get no menu.",
                  v.major >= 5 ? copy_module(name, build, dest)
                               : "copy " + name + " from the syslinux " + v.to_string() + " that " + boot_rel +
                                     " came from to " + dest + " (CentOS 6: /usr/share/syslinux/" + name + ")");
            continue;
        }
        l.serve(join(dir, name), ui_at);
        const auto m = read_elf_module(*bytes);
        if (v.major < 5) {
            if (m.elf_class)
                c.add(severity::error, ui_at, "bootloader",
                      name + " is a syslinux 5 or later module but " + what +
                          " is older; different syslinux versions do not work together.",
                      "copy " + name + " from the syslinux " + v.to_string() + " that " + boot_rel +
                          " came from, or replace " + boot_rel + " and its modules with one release");
            continue;
        }
        if (m.elf_class != want_class) {
            module_finding(ui_at, name, m.elf_class ? "is built for " + std::string(m.elf_class == 64 ? "64-bit EFI" : "BIOS or 32-bit EFI") +
                                                   ", not for this loader; different syslinux builds do not work together."
                                             : "is from syslinux 4 or older (not an ELF module); different syslinux "
                                               "versions do not work together.");
            continue;
        }
        for (const auto& dep : m.needed) queue.emplace_back(dep, name);
    }
}

void check_grub(loader_site& l, const std::string& boot_rel, const std::string& key, const grub_image& g) {
    auto& c = l.c;
    if (g.embedded_config && !g.config_keeps_prefix()) {
        c.notes.push_back(boot_rel + " carries an embedded GRUB config: where it looks for grub.cfg was not checked.");
        return;
    }
    const auto dir = grub_config_dir(g.prefix, boot_rel);
    if (!dir) {
        c.notes.push_back(boot_rel + "'s GRUB prefix '" + g.prefix.value_or("") + "' depends on variables: where it looks for grub.cfg was not checked.");
        return;
    }
    const auto& served = c.site.boot.grub_dir;
    if (*dir == served) return;
    const std::string looks = "/" + *dir;
    const std::string said = g.prefix && !g.prefix->empty() ? "its prefix is '" + *g.prefix + "'" : "it has no prefix and was loaded from '/" + *dir + "'";
    auto at = c.where.find({"boot", "grub_dir"});
    if (at.line == 0) at = c.where.find({"boot", key});
    const auto fix = "set boot.grub_dir: " + (dir->empty() ? std::string("\"\"") : *dir) +
                     " in site.yaml, or rebuild the image with grub-mkimage -p /" + served;
    std::error_code ec;
    if (stdfs::exists(l.root / join(*dir, "grub.cfg"), ec))
        c.add(severity::warning, at, "bootloader",
              "GRUB " + boot_rel + " reads " + join(*dir, "grub.cfg") + " (" + said +
                  "), a file of the TFTP root, not the menu pxed renders in boot.grub_dir '/" + served + "'.",
              fix);
    else
        c.add(severity::error, at, "bootloader",
              "GRUB " + boot_rel + " looks for grub.cfg in " + looks + " (" + said + ") but pxed serves it in '/" +
                  served + "' (boot.grub_dir), so GRUB drops to its grub> prompt.",
              fix);
}

constexpr const char* debian_shim = "/usr/lib/shim/shimx64.efi.signed";
constexpr const char* centos_shim = "/boot/efi/EFI/centos/shimx64.efi";
const std::string signed_grub_fix =
    "serve the GRUB signed for this shim: grub-efi-amd64-signed's "
    "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed (Debian) or grub2-efi-x64's /boot/efi/EFI/centos/grubx64.efi "
    "(CentOS 7), with boot.secure_boot or copied there; grub-mkimage's images are unsigned";

// The file a profile's kernel is served from: the TFTP root, or its tree.
stdfs::path kernel_file(const inventory::site& s, const inventory::profile& p) {
    if (p.kernel_from_tree)
        for (const auto& [name, t] : s.trees) {
            const auto prefix = t.url.substr(1) + "/";
            if (p.kernel.compare(0, prefix.size(), prefix) == 0) return stdfs::path(t.path) / p.kernel.substr(prefix.size());
        }
    return stdfs::path(s.server.tftp.root) / p.kernel;
}

// Under Secure Boot, shim's protocol makes GRUB's `linux` verify the kernel
// too: an unsigned one stops the boot at GRUB ("bad shim signature").
void check_signed_kernels(loader_site& l) {
    auto& c = l.c;
    std::set<std::string> seen;
    for (const auto& [name, p] : c.site.profiles) {
        if (p.arch != inventory::cpu_arch::x86_64 || p.kernel.empty()) continue;
        const auto path = kernel_file(c.site, p);
        if (!seen.insert(path.string()).second) continue;
        std::error_code ec;
        const auto size = stdfs::file_size(path, ec);
        if (ec) continue;  // the loader and the tree check report missing kernels
        std::ifstream in(path, std::ios::binary);
        std::string head(4096, '\0');
        in.read(&head[0], static_cast<std::streamsize>(head.size()));
        head.resize(static_cast<std::size_t>(in.gcount()));
        const auto pe = read_pe_image(head, size);
        if (pe.signed_) continue;
        c.add(severity::warning, p.where, "secureboot",
              "profiles." + name + ".kernel " + p.kernel +
                  (pe.is_pe ? " carries no signature" : " is not an EFI image (no PE header, so no signature)") +
                  ": under Secure Boot shim/GRUB will refuse it.",
              "boot the distribution's signed kernel (Debian's linux-image-*-amd64, the install tree's "
              "images/pxeboot/vmlinuz of CentOS 7) for UEFI hosts");
    }
}

// shim, the GRUB beside it, their signatures and the kernels it will boot.
// Under boot.secure_boot a missing signature is an error; a shim copied by
// hand (the CentOS 7 way) may run without Secure Boot: then a warning.
void check_shim(loader_site& l, const std::string& rel, const std::string& key, const std::string& arch,
                const std::string& bytes) {
    auto& c = l.c;
    const bool sb = c.site.boot.secure_boot.on() && key == "uefi-x64";
    const auto level = sb ? severity::error : severity::warning;
    const auto at = c.where.find({"boot", key});
    const auto sb_at = sb ? c.site.boot.secure_boot.where : at;
    const std::string shim_name = sb ? "shim " + l.file(rel).string() + " (served as " + rel + ")" : "shim " + rel;
    if (!read_pe_image(bytes, bytes.size()).signed_)
        c.add(level, sb_at, "secureboot",
              shim_name + " carries no signature (no Authenticode certificate table), so firmware with Secure Boot "
              "on refuses to start it.",
              "use the Microsoft-signed shim: " + std::string(debian_shim) + " (Debian's shim-signed) or " + centos_shim +
                  " (CentOS 7's shim-x64)");
    const auto second = shim_second_stage(bytes, "grub" + arch + ".efi");
    const auto beside = join(dir_of(rel), second);
    const auto grub = slurp(l.file(beside));
    if (!grub) {
        c.add(severity::error, at, "bootloader",
              "shim " + rel + " loads " + second + " from its own directory of the TFTP root and there is none, so "
              "the boot stops after shim.",
              "copy the GRUB signed for this shim (grub2-efi-x64's /boot/efi/EFI/centos/grubx64.efi on CentOS 7, "
              "grub-efi-amd64-signed's /usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed on Debian) to " +
                  (l.root / beside).string() + ", or set boot.secure_boot: on");
        return;
    }
    l.serve(beside, at);
    if (!read_pe_image(*grub, grub->size()).signed_)
        c.add(level, sb_at, "secureboot",
              "GRUB " + (sb && beside == c.site.boot.secure_boot_grub() ? l.file(beside).string() + " (served as " + beside + ")" : beside) +
                  " beside shim carries no signature, so shim refuses it under Secure Boot ('Verification failed') "
                  "and the boot stops after shim.",
              signed_grub_fix);
    const auto g = read_grub_image(*grub);
    if (g.found) check_grub(l, beside, key, g);
    if (arch == "x64") check_signed_kernels(l);
}

// `arch`: "" for BIOS, else the EFI architecture's suffix (x64, ia32, aa64).
void check_boot_file(loader_site& l, const std::string& rel, const std::string& key, const std::string& arch) {
    const bool efi = !arch.empty();
    if (rel.empty() || rel.find("://") != std::string::npos) return;
    auto& c = l.c;
    const auto bytes = slurp(l.file(rel));
    if (!bytes) return;  // the loader already warns about a boot file that is not there
    const auto at = c.where.find({"boot", key});
    l.serve(rel, at);
    if (!efi) {
        if (const auto v = find_syslinux_version(*bytes, "PXELINUX")) check_syslinux(l, rel, key, *v, flavour::bios);
        return;
    }
    if (is_shim(*bytes)) {
        check_shim(l, rel, key, arch, *bytes);
        return;
    }
    if (key == "uefi-x64" && c.site.boot.secure_boot.on()) {
        c.add(severity::error, c.site.boot.secure_boot.where, "secureboot",
              "boot.secure_boot's shim " + l.file(rel).string() + " is not a shim (no 'UEFI SHIM' banner), so GRUB "
              "never gets loaded the way Secure Boot needs.",
              "name the Microsoft-signed shim: secure_boot: {shim: " + std::string(debian_shim) + "} (Debian's "
              "shim-signed) or " + centos_shim + " (CentOS 7's shim-x64)");
        return;
    }
    const auto g = read_grub_image(*bytes);
    if (g.found) {
        check_grub(l, rel, key, g);
        return;
    }
    // syslinux.efi says "Syslinux 6.04 (EFI; 20200816)".
    if (const auto v = find_syslinux_version(*bytes, "Syslinux"); v && arch != "aa64")
        check_syslinux(l, rel, key, *v, arch == "x64" ? flavour::efi64 : flavour::efi32);
}

}  // namespace

void check_boot_loaders(context& c) {
    const auto& s = c.site;
    if (!s.server.tftp.enabled || s.server.tftp.root.empty()) return;
    loader_site l{c, s.server.tftp.root};
    check_boot_file(l, s.boot.bios, "bios", "");
    check_boot_file(l, s.boot.uefi_x64, "uefi-x64", "x64");
    check_boot_file(l, s.boot.uefi_ia32, "uefi-ia32", "ia32");
    check_boot_file(l, s.boot.uefi_arm64, "uefi-arm64", "aa64");
}

}  // namespace detail

}  // namespace pxed::doctor
