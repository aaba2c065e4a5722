// pxed check's doctor (docs/doctor.md): each broken site or TFTP root gives
// exactly the finding expected (topic, site.yaml line, message, fix), and a
// clean one none. The machine (interfaces, accounts, commands) is a fake;
// the boot loaders are small synthetic binaries built here with the
// layout of the real ones (ELF .c32 with DT_NEEDED, pxelinux.0's version
// banner, a GRUB image's "mimg" modules area), plus Debian's own files
// where the packages are installed.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "pxed/doctor/boot_loaders.hpp"
#include "pxed/doctor/doctor.hpp"
#include "pxed/doctor/kernel_image.hpp"
#include "pxed/inventory/load.hpp"
#include "pxed/inventory/locate.hpp"
#include "pxed/render/templates.hpp"

namespace {

using namespace pxed;
namespace stdfs = std::filesystem;
using doctor::finding;
using inventory::severity;

// ---------------------------------------------------------------- synthetic binaries

void put(std::string& b, std::uint64_t v, unsigned width) {
    for (unsigned i = 0; i < width; ++i) b.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_at(std::string& b, std::size_t at, std::uint64_t v, unsigned width) {
    for (unsigned i = 0; i < width; ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// An ELF shared object as syslinux 5+ builds its modules: a PT_LOAD mapping
// the file at 0x1000 (so DT_STRTAB is an address, not an offset) and a
// PT_DYNAMIC with DT_NEEDED entries.
std::string make_elf(bool is64, const std::vector<std::string>& needed) {
    const unsigned word = is64 ? 8 : 4, ehsize = is64 ? 64 : 52, phentsize = is64 ? 56 : 32;
    const std::uint64_t base = 0x1000;
    std::string b(ehsize + 2 * phentsize, '\0');
    b.replace(0, 4, "\x7f" "ELF");
    b[4] = is64 ? 2 : 1;
    b[5] = 1;  // little-endian
    b[6] = 1;
    put_at(b, 16, 3, 2);  // ET_DYN
    put_at(b, is64 ? 32 : 28, ehsize, word);
    put_at(b, is64 ? 54 : 42, phentsize, 2);
    put_at(b, is64 ? 56 : 44, 2, 2);
    const std::size_t strtab = b.size();
    std::vector<std::uint64_t> offsets;
    b.push_back('\0');
    for (const auto& n : needed) {
        offsets.push_back(b.size() - strtab);
        b += n;
        b.push_back('\0');
    }
    const std::size_t strsz = b.size() - strtab;
    while (b.size() % 8) b.push_back('\0');
    const std::size_t dyn = b.size();
    for (const auto off : offsets) put(b, 1, word), put(b, off, word);  // DT_NEEDED
    put(b, 5, word), put(b, base + strtab, word);                      // DT_STRTAB
    put(b, 10, word), put(b, strsz, word);                             // DT_STRSZ
    put(b, 0, word), put(b, 0, word);                                  // DT_NULL
    const std::size_t dynsz = b.size() - dyn;
    const auto phdr = [&](std::size_t at, std::uint32_t type, std::uint64_t offset, std::uint64_t vaddr,
                          std::uint64_t size) {
        put_at(b, at, type, 4);
        put_at(b, at + (is64 ? 8 : 4), offset, word);
        put_at(b, at + (is64 ? 16 : 8), vaddr, word);
        put_at(b, at + (is64 ? 32 : 16), size, word);
    };
    phdr(ehsize, 1, 0, base, b.size());                       // PT_LOAD
    phdr(ehsize + phentsize, 2, dyn, base + dyn, dynsz);      // PT_DYNAMIC
    return b;
}

std::string make_pxelinux(const std::string& version) {
    return std::string(300, '\x90') + "PXELINUX " + version + " PXE 20200816 " + std::string(200, '\0');
}

// grub-mkimage's modules area (GRUB include/grub/kernel.h): an 8-aligned
// grub_module_info64, then objects: a module (OBJ_TYPE_ELF) and the prefix.
std::string make_grub(const std::optional<std::string>& prefix, bool config = false) {
    std::string b = "MZ" + std::string(62, '\0') + "mimg-not-a-header" + std::string(13, '\0');  // a decoy first
    while (b.size() % 8) b.push_back('\0');
    const std::size_t info = b.size();
    b += "mimg";
    put(b, 0, 4);
    put(b, 24, 8);
    put(b, 0, 8);  // size, below
    put(b, 0, 4), put(b, 16, 4), b += std::string(8, 'm');  // OBJ_TYPE_ELF, an 8-byte "module"
    if (config) {
        std::string text = "set prefix=(tftp)/x\n";
        text.push_back('\0');
        while (text.size() % 4) text.push_back('\0');
        put(b, 2, 4), put(b, 8 + text.size(), 4), b += text;
    }
    if (prefix) {
        std::string text = *prefix;
        text.push_back('\0');
        while (text.size() % 4) text.push_back('\0');
        put(b, 3, 4), put(b, 8 + text.size(), 4), b += text;
    }
    put_at(b, info + 16, b.size() - info, 8);
    return b + std::string(64, '\xcc');
}

std::string utf16(const std::string& s) {
    std::string out;
    for (const char c : s) out += c, out += '\0';
    return out;
}

std::string make_shim(const std::string& second = "grubx64.efi") {
    return "MZ" + std::string(100, '\0') + "UEFI SHIM\n$Version: 15.8 $\n" + std::string(30, '\0') +
           utf16("\\" + second) + std::string(2, '\0') + utf16("\\fbx64.efi") + std::string(16, '\0');
}

// The first bytes of Debian 12's kernels, as `xxd` shows them: the arm64
// vmlinuz-6.1.0-57-arm64 is an uncompressed Image with an EFI stub ("MZ",
// "ARM\x64" at 56, PE header at 0x40 with machine 0xaa64); the amd64 one a
// bzImage ("HdrS" at 0x202) with a PE header of machine 0x8664.
std::string arm64_image() {
    std::string b(4096, '\0');
    b.replace(0, 4, "MZ@\xfa");
    b.replace(56, 8, std::string("ARM\x64\x40\0\0\0", 8));
    b.replace(0x40, 6, std::string("PE\0\0\x64\xaa", 6));
    return b;
}
std::string x86_bzimage() {
    std::string b(4096, '\0');
    b.replace(0, 2, "MZ");
    b.replace(0x3c, 4, std::string("\x40\0\0\0", 4));
    b.replace(0x40, 6, std::string("PE\0\0\x64\x86", 6));
    b.replace(0x1fe, 2, "\x55\xaa");
    b.replace(0x202, 4, "HdrS");
    return b;
}

// `image` (starting "MZ") made "signed" as the doctor sees it: a PE32+
// header after it whose certificate table (data directory 4) points at 16
// bytes appended behind it. No real signature: the firmware verifies those.
std::string signed_pe(std::string b) {
    while (b.size() % 8) b.push_back('\0');
    const auto pe = b.size();
    b.replace(0x3c, 4, std::string{static_cast<char>(pe & 0xff), static_cast<char>((pe >> 8) & 0xff), 0, 0});
    b += std::string("PE\0\0\x64\x86", 6) + std::string(18, '\0');  // signature, COFF header
    std::string opt(112 + 16 * 8, '\0');
    opt[0] = '\x0b', opt[1] = '\x02';  // PE32+
    opt[108] = 16;                     // NumberOfRvaAndSizes
    const auto cert = b.size() + opt.size();
    opt[112 + 32] = static_cast<char>(cert & 0xff), opt[112 + 33] = static_cast<char>((cert >> 8) & 0xff);
    opt[112 + 36] = 16;
    b += opt + std::string(16, 'c');
    return b;
}

// ---------------------------------------------------------------- the fake machine

class no_commands final : public doctor::command_runner {
public:
    doctor::command_result run(const std::vector<std::string>&) const override { return {}; }
};

class fake_machine final : public doctor::machine {
public:
    std::vector<doctor::interface_info> ifs{{"lo", true, {{*wire::ipv4_address::parse("127.0.0.1"), 8}}},
                                            {"eth1", true, {{*wire::ipv4_address::parse("10.0.0.2"), 24}}}};
    std::map<std::string, doctor::account> accounts{{"pxe", {50000, 50000, {50000}}}};
    no_commands runner_;

    std::vector<doctor::interface_info> interfaces() const override { return ifs; }
    std::optional<doctor::account> find_account(const std::string& user) const override {
        const auto it = accounts.find(user);
        if (it == accounts.end()) return std::nullopt;
        return it->second;
    }
    const doctor::command_runner& runner() const override { return runner_; }
};

// ---------------------------------------------------------------- the site

// Line numbers matter: the table below names them.
const std::string clean_yaml = R"(server:
  address: 10.0.0.2
  user: pxe
  interfaces: [eth1]
  tftp: {root: tftp}
subnets:
  - network: 10.0.0.0/24
    ranges: [10.0.0.100-10.0.0.200]
    next_server: 10.0.0.2
boot:
  bios: pxelinux.0
  uefi-x64: grubx64.efi
  grub_dir: grub
trees:
  c7: {path: tree, url: /pub/c7}
profiles:
  c7:
    label: CentOS 7
    tree: c7
    kernel: c7/vmlinuz
    initrd: c7/initrd.img
menu:
  ui: menu.c32
)";

void write(const stdfs::path& p, const std::string& data, unsigned mode = 0644) {
    stdfs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << data;
    ::chmod(p.c_str(), mode);
}

struct world {
    stdfs::path dir;
    std::string yaml = clean_yaml;
    fake_machine machine;
    doctor::options opts;

    world() {
        char tmpl[] = "/tmp/pxed-doctor-XXXXXX";
        dir = ::mkdtemp(tmpl);
        ::chmod(dir.c_str(), 0755);  // mkdtemp's 0700 would keep server.user out of everything
        const auto t = dir / "tftp";
        write(t / "pxelinux.0", make_pxelinux("6.04"));
        write(t / "ldlinux.c32", make_elf(false, {}));
        write(t / "menu.c32", make_elf(false, {"libutil.c32"}));
        write(t / "libutil.c32", make_elf(false, {"libcom32.c32"}));
        write(t / "libcom32.c32", make_elf(false, {}));
        write(t / "grubx64.efi", make_grub("(tftp)/grub"));
        write(t / "c7/vmlinuz", "kernel");
        write(t / "c7/initrd.img", "initrd");
        // A tree check_trees accepts, whose kernel and initrd are the copies'.
        write(dir / "tree/.treeinfo",
              "[general]\nfamily = CentOS\nversion = 7\narch = x86_64\n\n"
              "[images-x86_64]\nkernel = images/pxeboot/vmlinuz\ninitrd = images/pxeboot/initrd.img\n");
        write(dir / "tree/images/pxeboot/vmlinuz", "kernel");
        write(dir / "tree/images/pxeboot/initrd.img", "initrd");
    }
    ~world() {
        std::error_code ec;
        stdfs::permissions(dir, stdfs::perms::owner_all, stdfs::perm_options::add, ec);
        for (auto it = stdfs::recursive_directory_iterator(dir, ec); !ec && it != stdfs::recursive_directory_iterator();
             it.increment(ec))
            if (it->is_directory()) ::chmod(it->path().c_str(), 0755);
        stdfs::remove_all(dir, ec);
    }
    void replace(const std::string& from, const std::string& to) {
        const auto at = yaml.find(from);
        ASSERT_NE(at, std::string::npos) << from;
        yaml.replace(at, from.size(), to);
    }

    std::vector<finding> examine(std::vector<std::string>* notes = nullptr) {
        write(dir / "site.yaml", yaml);
        auto loaded = inventory::load_file((dir / "site.yaml").string());
        std::string msgs;
        for (const auto& d : loaded.diagnostics) msgs += d.to_string() + "\n";
        EXPECT_TRUE(loaded.model) << msgs;
        if (!loaded.model) return {};
        const render::renderer r(loaded.model, render::template_set::builtin());
        const doctor::yaml_locator where(inventory::key_locations::from_file((dir / "site.yaml").string()));
        return doctor::examine(*loaded.model, r, machine, where, opts, notes);
    }
};

std::string describe(const std::vector<finding>& fs) {
    std::ostringstream out;
    for (const auto& f : fs)
        out << f.where.line << ":" << f.where.column << " " << (f.level == severity::error ? "error" : "warning") << " ["
            << f.topic << "] " << f.message << " | fix: " << f.fix << "\n";
    return out.str();
}

// Signed x86-64 kernels, the copy in the TFTP root and the tree's alike.
// Its PE header where a bzImage has it (0x40: the doctor reads a kernel's
// first 4 KiB), the certificate table behind the image.
void sign_kernels(world& w) {
    std::string b = x86_bzimage();
    const std::size_t opt = 0x40 + 24;
    b[opt] = '\x0b', b[opt + 1] = '\x02';  // PE32+
    b[opt + 108] = 16;                     // NumberOfRvaAndSizes
    b[opt + 112 + 33] = 0x10;              // certificate table at 4096 ...
    b[opt + 112 + 36] = 16;                // ... of 16 bytes
    b += std::string(16, 'c');
    write(w.dir / "tftp/c7/vmlinuz", b);
    write(w.dir / "tree/images/pxeboot/vmlinuz", b);
}

TEST(Doctor, CleanSiteHasNoFindings) {
    world w;
    std::vector<std::string> notes;
    const auto fs = w.examine(&notes);
    EXPECT_TRUE(fs.empty()) << describe(fs);
}

struct broken_case {
    const char* name;
    std::function<void(world&)> breaks;
    severity level;
    const char* topic;
    int line;
    const char* message;
    const char* fix;
};

const broken_case cases[] = {
    {"server.address not on this machine", [](world& w) { w.replace("address: 10.0.0.2", "address: 10.0.0.9"); },
     severity::error, "address", 2, "server.address 10.0.0.9 is not an address of this machine", "--offline"},
    {"next_server not on this machine", [](world& w) { w.replace("next_server: 10.0.0.2", "next_server: 10.0.0.7"); },
     severity::error, "address", 9, "next_server 10.0.0.7 of subnet 10.0.0.0/24", "ip addr add 10.0.0.7/24"},
    {"an interface that does not exist", [](world& w) { w.replace("[eth1]", "[eth9]"); }, severity::error,
     "interface", 4, "server.interfaces lists 'eth9', which is not an interface of this machine", "ip -br link"},
    {"an interface that is down", [](world& w) { w.machine.ifs[1].up = false; }, severity::warning, "interface", 4,
     "Interface 'eth1' is down", "ip link set eth1 up"},
    {"an interface outside every subnet",
     [](world& w) {
         w.machine.ifs[1].addresses = {{*wire::ipv4_address::parse("192.168.5.2"), 24}};
         w.machine.ifs.push_back({"eth0", true, {{*wire::ipv4_address::parse("10.0.0.2"), 24}}});
     },
     severity::error, "interface", 4, "has address 192.168.5.2/24, which is in none of the subnets", "relay_only"},
    {"an interface with no address",
     [](world& w) {
         w.machine.ifs[1].addresses.clear();
         w.machine.ifs.push_back({"eth0", true, {{*wire::ipv4_address::parse("10.0.0.2"), 24}}});
     },
     severity::error, "interface", 4, "Interface 'eth1' has no IPv4 address", "ip addr add"},
    {"syslinux 6 without ldlinux.c32", [](world& w) { stdfs::remove(w.dir / "tftp/ldlinux.c32"); }, severity::error,
     "bootloader", 11, "pxelinux.0 (syslinux 6.04) needs ldlinux.c32", "cp /usr/lib/syslinux/modules/bios/ldlinux.c32"},
    {"an ldlinux.c32 of the EFI build",
     [](world& w) { write(w.dir / "tftp/ldlinux.c32", make_elf(true, {})); }, severity::error, "bootloader", 11,
     "ldlinux.c32 beside pxelinux.0 (syslinux 6.04) is built for 64-bit EFI", "same syslinux release"},
    {"no menu.c32", [](world& w) { stdfs::remove(w.dir / "tftp/menu.c32"); }, severity::error, "bootloader", 23,
     "menu.ui menu.c32 is not in the TFTP root beside pxelinux.0", "cp /usr/lib/syslinux/modules/bios/menu.c32"},
    {"no libutil.c32", [](world& w) { stdfs::remove(w.dir / "tftp/libutil.c32"); }, severity::error, "bootloader", 23,
     "libutil.c32, which menu.c32 loads, is not in the TFTP root", "on CentOS 7 from /usr/share/syslinux/"},
    {"no libcom32.c32 (loaded by libutil.c32)", [](world& w) { stdfs::remove(w.dir / "tftp/libcom32.c32"); },
     severity::error, "bootloader", 23, "libcom32.c32, which libutil.c32 loads", "modules/bios/libcom32.c32"},
    {"vesamenu.c32 and its two libraries",
     [](world& w) {
         w.replace("ui: menu.c32", "ui: vesamenu.c32");
         write(w.dir / "tftp/vesamenu.c32", make_elf(false, {"libutil.c32", "libcom32.c32", "libgpl.c32"}));
     },
     severity::error, "bootloader", 23, "libgpl.c32, which vesamenu.c32 loads", "libgpl.c32"},
    {"a syslinux 4 menu.c32 with syslinux 6", [](world& w) { write(w.dir / "tftp/menu.c32", "\xb8\xfe\x4c\xcd\x21 com32"); },
     severity::error, "bootloader", 23, "menu.c32 beside pxelinux.0 (syslinux 6.04) is from syslinux 4 or older",
     "from the same syslinux release"},
    {"a syslinux 6 menu.c32 with syslinux 4",
     [](world& w) {
         write(w.dir / "tftp/pxelinux.0", make_pxelinux("4.05"));
         stdfs::remove(w.dir / "tftp/ldlinux.c32");
     },
     severity::error, "bootloader", 23, "menu.c32 is a syslinux 5 or later module but pxelinux.0 (syslinux 4.05)",
     "from the syslinux 4.05"},
    {"syslinux 4 without its menu.c32",
     [](world& w) {
         write(w.dir / "tftp/pxelinux.0", make_pxelinux("4.04"));
         stdfs::remove(w.dir / "tftp/menu.c32");
     },
     severity::error, "bootloader", 23, "menu.ui menu.c32 is not in the TFTP root beside pxelinux.0",
     "from the syslinux 4.04 that pxelinux.0 came from"},
    {"GRUB built with another prefix", [](world& w) { write(w.dir / "tftp/grubx64.efi", make_grub("/EFI/centos")); },
     severity::error, "bootloader", 13, "GRUB grubx64.efi looks for grub.cfg in /EFI/centos (its prefix is '/EFI/centos')",
     "boot.grub_dir: EFI/centos"},
    {"GRUB with no prefix, loaded from the root", [](world& w) { write(w.dir / "tftp/grubx64.efi", make_grub(std::nullopt)); },
     severity::error, "bootloader", 13, "it has no prefix and was loaded from '/'", "boot.grub_dir: \"\""},
    {"GRUB reading a hand-written grub.cfg",
     [](world& w) {
         write(w.dir / "tftp/grubx64.efi", make_grub("(tftp)/boot/grub"));
         write(w.dir / "tftp/boot/grub/grub.cfg", "menuentry old {}\n");
     },
     severity::warning, "bootloader", 13, "reads boot/grub/grub.cfg", "grub-mkimage -p /grub"},
    {"shim without its GRUB",
     [](world& w) {
         w.replace("uefi-x64: grubx64.efi", "uefi-x64: EFI/BOOT/bootx64.efi");
         write(w.dir / "tftp/EFI/BOOT/bootx64.efi", signed_pe(make_shim()));
     },
     severity::error, "bootloader", 12, "shim EFI/BOOT/bootx64.efi loads grubx64.efi from its own directory",
     "EFI/BOOT/grubx64.efi"},
    {"shim whose GRUB looks elsewhere",
     [](world& w) {
         w.replace("uefi-x64: grubx64.efi", "uefi-x64: shimx64.efi");
         write(w.dir / "tftp/shimx64.efi", signed_pe(make_shim()));
         write(w.dir / "tftp/grubx64.efi", signed_pe(make_grub("/EFI/redhat")));
         sign_kernels(w);
     },
     severity::error, "bootloader", 13, "GRUB grubx64.efi looks for grub.cfg in /EFI/redhat", "EFI/redhat"},
    {"a kernel only root can read", [](world& w) { ::chmod((w.dir / "tftp/c7/vmlinuz").c_str(), 0600); },
     severity::error, "permissions", 20, "c7/vmlinuz is not readable by server.user pxe (mode 0600", "chmod o+r"},
    {"a directory server.user cannot enter", [](world& w) { ::chmod((w.dir / "tftp/c7").c_str(), 0700); },
     severity::error, "permissions", 20, "tftp/c7 cannot be entered by server.user pxe", "chmod o+x"},
    {"a boot module only root can read", [](world& w) { ::chmod((w.dir / "tftp/libutil.c32").c_str(), 0640); },
     severity::error, "permissions", 23, "libutil.c32 is not readable by server.user pxe", "chmod o+r"},
    {"tree files only root can read",
     [](world& w) {
         ::chmod((w.dir / "tree/.treeinfo").c_str(), 0600);
         ::chmod((w.dir / "tree/images/pxeboot/vmlinuz").c_str(), 0600);
     },
     severity::error, "permissions", 15, "2 file(s) or directories of", "chmod -R o+rX"},
    {"server.user that does not exist", [](world& w) { w.replace("user: pxe", "user: pxeboot"); }, severity::error,
     "permissions", 3, "server.user 'pxeboot' is not an account on this machine", "useradd --system"},
    {"an ARM64 kernel in an x86_64 profile",
     [](world& w) {
         write(w.dir / "tftp/c7/vmlinuz", arm64_image());
         write(w.dir / "tree/images/pxeboot/vmlinuz", arm64_image());
     },
     severity::warning, "kernel", 20, "profile 'c7' is arch x86_64 but its kernel", "set arch: arm64 on profile c7"},
    {"an arm64 profile whose copied kernel is compared with an x86_64 tree's",
     [](world& w) { w.replace("    kernel: c7/vmlinuz\n", "    arch: arm64\n    kernel: c7/vmlinuz\n"); }, severity::warning,
     "kernel", 17, "profiles.c7 is arch arm64 but its tree c7 is x86_64 (.treeinfo)", "a tree of its own CPU"},
    {"an x86 kernel in an arm64 profile (taken from the tree)",
     [](world& w) {
         w.replace("    kernel: c7/vmlinuz\n    initrd: c7/initrd.img\n", "    arch: arm64\n");
         write(w.dir / "tree/.treeinfo",
               "[general]\nfamily = CentOS\nversion = 7\narch = aarch64\n\n"
               "[images-aarch64]\nkernel = images/pxeboot/vmlinuz\ninitrd = images/pxeboot/initrd.img\n");
         write(w.dir / "tree/images/pxeboot/vmlinuz", x86_bzimage());
     },
     severity::warning, "kernel", 17, "is an x86_64 kernel (x86 bzImage)", "point its kernel at an arm64 kernel"},
};

class DoctorBroken : public ::testing::TestWithParam<broken_case> {};

TEST_P(DoctorBroken, GivesExactlyTheFinding) {
    const auto& c = GetParam();
    world w;
    c.breaks(w);
    const auto fs = w.examine();
    ASSERT_EQ(fs.size(), 1u) << describe(fs);
    const auto& f = fs.front();
    EXPECT_EQ(f.level, c.level) << describe(fs);
    EXPECT_EQ(f.topic, c.topic);
    EXPECT_EQ(f.where.line, c.line) << describe(fs);
    EXPECT_EQ(f.where.file, (w.dir / "site.yaml").string());
    EXPECT_NE(f.message.find(c.message), std::string::npos) << f.message;
    EXPECT_NE(f.fix.find(c.fix), std::string::npos) << f.fix;
}

INSTANTIATE_TEST_SUITE_P(Table, DoctorBroken, ::testing::ValuesIn(cases), [](const auto& param_info) {
    std::string n;
    for (const char* p = param_info.param.name; *p; ++p) n += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
    return n;
});

TEST(Doctor, OfflineSkipsTheMachineChecks) {
    world w;
    w.replace("address: 10.0.0.2", "address: 10.0.0.9");
    w.replace("[eth1]", "[eth9]");
    w.opts.offline = true;
    std::vector<std::string> notes;
    const auto fs = w.examine(&notes);
    EXPECT_TRUE(fs.empty()) << describe(fs);
    ASSERT_FALSE(notes.empty());
    EXPECT_NE(notes.front().find("--offline"), std::string::npos);
}

TEST(Doctor, RelayOnlySubnetsNeedNoLocalAddress) {
    world w;
    w.replace("next_server: 10.0.0.2", "next_server: 10.0.0.2\n    relay_only: true");
    w.machine.ifs[1].addresses = {{*wire::ipv4_address::parse("192.168.5.2"), 24}};
    w.machine.ifs.push_back({"eth0", true, {{*wire::ipv4_address::parse("10.0.0.2"), 24}}});
    const auto fs = w.examine();
    EXPECT_TRUE(fs.empty()) << describe(fs);
}

TEST(Doctor, NoUserMeansNoPermissionCheckAndANote) {
    world w;
    w.replace("user: pxe", "user: \"\"");
    ::chmod((w.dir / "tftp/c7/vmlinuz").c_str(), 0600);
    std::vector<std::string> notes;
    const auto fs = w.examine(&notes);
    EXPECT_TRUE(fs.empty()) << describe(fs);
    bool noted = false;
    for (const auto& n : notes) noted = noted || n.find("server.user is not set") != std::string::npos;
    EXPECT_TRUE(noted);
}

TEST(Doctor, GroupMembershipGrantsRead) {
    world w;
    const auto kernel = w.dir / "tftp/c7/vmlinuz";
    ::chmod(kernel.c_str(), 0640);
    struct stat st {};
    ASSERT_EQ(::stat(kernel.c_str(), &st), 0);
    w.machine.accounts["pxe"].groups.push_back(st.st_gid);
    auto fs = w.examine();
    EXPECT_TRUE(fs.empty()) << describe(fs);
}

TEST(Doctor, GrubWithEmbeddedConfigIsNotJudged) {
    world w;
    write(w.dir / "tftp/grubx64.efi", make_grub("/EFI/centos", true));
    std::vector<std::string> notes;
    const auto fs = w.examine(&notes);
    EXPECT_TRUE(fs.empty()) << describe(fs);
}

TEST(Doctor, ShimFollowedToAGoodGrubIsClean) {
    world w;
    w.replace("uefi-x64: grubx64.efi", "uefi-x64: shimx64.efi");
    write(w.dir / "tftp/shimx64.efi", signed_pe(make_shim()));
    write(w.dir / "tftp/grubx64.efi", signed_pe(make_grub("/grub")));
    sign_kernels(w);
    const auto fs = w.examine();
    EXPECT_TRUE(fs.empty()) << describe(fs);
}

// The same chain unsigned, copied by hand: Secure Boot would stop it, so
// each unsigned piece is a warning (an error with boot.secure_boot).
TEST(Doctor, ShimChainWithoutSignaturesIsWarnedAbout) {
    world w;
    w.replace("uefi-x64: grubx64.efi", "uefi-x64: shimx64.efi");
    write(w.dir / "tftp/shimx64.efi", make_shim());
    const auto fs = w.examine();
    ASSERT_EQ(fs.size(), 3u) << describe(fs);
    for (const auto& f : fs) {
        EXPECT_EQ(f.level, severity::warning) << describe(fs);
        EXPECT_EQ(f.topic, "secureboot");
    }
    EXPECT_NE(fs[0].message.find("shim shimx64.efi carries no signature"), std::string::npos) << describe(fs);
    EXPECT_NE(fs[1].message.find("GRUB grubx64.efi beside shim carries no signature"), std::string::npos) << describe(fs);
    EXPECT_NE(fs[2].message.find("profiles.c7.kernel c7/vmlinuz is not an EFI image"), std::string::npos) << describe(fs);
    EXPECT_NE(fs[2].message.find("shim/GRUB will refuse it"), std::string::npos);
    EXPECT_EQ(fs[2].where.line, 17) << describe(fs);
}

// ---------------------------------------------------------------- the parsers alone

TEST(BootLoaders, SyslinuxVersion) {
    EXPECT_EQ(doctor::find_syslinux_version(make_pxelinux("6.04"))->to_string(), "6.04");
    EXPECT_EQ(doctor::find_syslinux_version(make_pxelinux("4.05"))->major, 4);
    EXPECT_FALSE(doctor::find_syslinux_version("PXELINUX x.yy PXELINUX 6."));
    EXPECT_FALSE(doctor::find_syslinux_version("placeholder: install Debian's pxelinux package"));
}

TEST(BootLoaders, ElfNeeded) {
    for (const bool is64 : {false, true}) {
        const auto m = doctor::read_elf_module(make_elf(is64, {"libutil.c32", "libcom32.c32"}));
        EXPECT_EQ(m.elf_class, is64 ? 64 : 32);
        EXPECT_TRUE(m.readable);
        EXPECT_EQ(m.needed, (std::vector<std::string>{"libutil.c32", "libcom32.c32"}));
    }
}

TEST(BootLoaders, TruncatedOrForeignElfNeverReadsPastTheEnd) {
    const auto full = make_elf(false, {"libutil.c32"});
    for (std::size_t n = 0; n < full.size(); ++n) {
        const auto m = doctor::read_elf_module(std::string_view(full).substr(0, n));
        EXPECT_TRUE(m.needed.empty() || m.needed == std::vector<std::string>{"libutil.c32"}) << n;
    }
    std::string lying = full;
    put_at(lying, 44, 0xffff, 2);  // e_phnum far past the end
    EXPECT_FALSE(doctor::read_elf_module(lying).readable);
    EXPECT_EQ(doctor::read_elf_module("\xb8\xfe\x4c\xcd\x21").elf_class, 0);
}

TEST(BootLoaders, GrubPrefix) {
    EXPECT_EQ(doctor::read_grub_image(make_grub("(tftp)/grub")).prefix, "(tftp)/grub");
    const auto none = doctor::read_grub_image(make_grub(std::nullopt));
    EXPECT_TRUE(none.found);
    EXPECT_FALSE(none.prefix);
    EXPECT_TRUE(doctor::read_grub_image(make_grub("/x", true)).embedded_config);
    EXPECT_FALSE(doctor::read_grub_image("MZ no modules here mimg").found);
    const auto full = make_grub("/EFI/centos");
    for (std::size_t n = 0; n < full.size(); n += 3) (void)doctor::read_grub_image(std::string_view(full).substr(0, n));
    EXPECT_EQ(doctor::grub_config_dir(std::string("(tftp,10.0.0.2)/EFI/centos/"), "x.efi"), "EFI/centos");
    EXPECT_EQ(doctor::grub_config_dir(std::nullopt, "EFI/BOOT/grubx64.efi"), "EFI/BOOT");
    EXPECT_EQ(doctor::grub_config_dir(std::string("$root/grub"), "x.efi"), std::nullopt);
}

TEST(BootLoaders, Shim) {
    EXPECT_TRUE(doctor::is_shim(make_shim()));
    EXPECT_EQ(doctor::shim_second_stage(make_shim("grubaa64.efi"), "x"), "grubaa64.efi");
    EXPECT_EQ(doctor::shim_second_stage("no loader name", "grubx64.efi"), "grubx64.efi");
}

// Debian's own files, where pxelinux and syslinux-common are installed.
std::optional<std::string> slurp(const char* path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(BootLoaders, DebianPxelinuxAndModules) {
    const auto pxelinux = slurp("/usr/lib/PXELINUX/pxelinux.0");
    const auto menu = slurp("/usr/lib/syslinux/modules/bios/menu.c32");
    const auto vesamenu = slurp("/usr/lib/syslinux/modules/bios/vesamenu.c32");
    const auto ldlinux = slurp("/usr/lib/syslinux/modules/bios/ldlinux.c32");
    if (!pxelinux || !menu || !vesamenu || !ldlinux) GTEST_SKIP() << "Debian's pxelinux and syslinux-common are not installed";
    const auto v = doctor::find_syslinux_version(*pxelinux);
    ASSERT_TRUE(v);
    EXPECT_GE(v->major, 5);
    EXPECT_EQ(doctor::read_elf_module(*ldlinux).elf_class, 32);
    EXPECT_EQ(doctor::read_elf_module(*menu).needed, std::vector<std::string>{"libutil.c32"});
    EXPECT_EQ(doctor::read_elf_module(*vesamenu).needed, (std::vector<std::string>{"libutil.c32", "libcom32.c32"}));
    if (const auto efi = slurp("/usr/lib/syslinux/modules/efi64/menu.c32")) {
        EXPECT_EQ(doctor::read_elf_module(*efi).elf_class, 64);
        EXPECT_EQ(doctor::read_elf_module(*efi).needed, std::vector<std::string>{"libutil.c32"});
    }
}

TEST(BootLoaders, DebianSyslinuxEfi) {
    const auto efi = slurp("/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi");
    const auto ldlinux = slurp("/usr/lib/syslinux/modules/efi64/ldlinux.e64");
    if (!efi || !ldlinux) GTEST_SKIP() << "Debian's syslinux-efi and syslinux-common are not installed";
    const auto v = doctor::find_syslinux_version(*efi, "Syslinux");
    ASSERT_TRUE(v);
    EXPECT_GE(v->major, 6);
    EXPECT_EQ(doctor::read_elf_module(*ldlinux).elf_class, 64);
}

TEST(Doctor, SyslinuxEfiNeedsLdlinuxE64) {
    world w;
    w.replace("uefi-x64: grubx64.efi", "uefi-x64: efi64/syslinux.efi");
    write(w.dir / "tftp/efi64/syslinux.efi", "MZ" + std::string(200, '\0') + "Syslinux 6.04 (EFI; 20200816)");
    write(w.dir / "tftp/efi64/menu.c32", make_elf(true, {"libutil.c32"}));
    write(w.dir / "tftp/efi64/libutil.c32", make_elf(true, {}));
    auto fs = w.examine();
    ASSERT_EQ(fs.size(), 1u) << describe(fs);
    EXPECT_EQ(fs[0].where.line, 12);
    EXPECT_NE(fs[0].message.find("needs ldlinux.e64"), std::string::npos) << fs[0].message;
    EXPECT_NE(fs[0].fix.find("cp /usr/lib/syslinux/modules/efi64/ldlinux.e64 " + (w.dir / "tftp/efi64/").string()),
              std::string::npos)
        << fs[0].fix;
    write(w.dir / "tftp/efi64/ldlinux.e64", make_elf(true, {}));
    fs = w.examine();
    EXPECT_TRUE(fs.empty()) << describe(fs);
}

TEST(BootLoaders, DebianShim) {
    const auto shim = slurp("/usr/lib/shim/shimx64.efi");
    if (!shim) GTEST_SKIP() << "Debian's shim-unsigned is not installed";
    EXPECT_TRUE(doctor::is_shim(*shim));
    EXPECT_EQ(doctor::shim_second_stage(*shim, "none"), "grubx64.efi");
}

// Authenticode: the certificate table of Debian's signed binaries; the
// unsigned shim beside them has none; a kernel's head is enough.
TEST(BootLoaders, SignedPeImages) {
    const auto signed_shim = slurp("/usr/lib/shim/shimx64.efi.signed");
    const auto signed_grub = slurp("/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed");
    const auto unsigned_shim = slurp("/usr/lib/shim/shimx64.efi");
    if (!signed_shim || !signed_grub || !unsigned_shim)
        GTEST_SKIP() << "Debian's shim-signed, shim-unsigned and grub-efi-amd64-signed are not installed";
    for (const auto* b : {&*signed_shim, &*signed_grub}) {
        const auto pe = doctor::read_pe_image(*b, b->size());
        EXPECT_TRUE(pe.is_pe);
        EXPECT_TRUE(pe.signed_);
        // The head alone, with the whole file's size: what the kernel check reads.
        EXPECT_TRUE(doctor::read_pe_image(b->substr(0, 4096), b->size()).signed_);
        // Cut before the certificate table ends: not inside the file, not signed.
        EXPECT_FALSE(doctor::read_pe_image(b->substr(0, 4096), b->size() / 2).signed_);
    }
    const auto pe = doctor::read_pe_image(*unsigned_shim, unsigned_shim->size());
    EXPECT_TRUE(pe.is_pe);
    EXPECT_FALSE(pe.signed_);
    // Debian's signed network GRUB: prefix /grub, and an embedded config
    // that only runs normal on its memdisk, which reads $prefix/grub.cfg.
    const auto g = doctor::read_grub_image(*signed_grub);
    ASSERT_TRUE(g.found);
    EXPECT_EQ(g.prefix.value_or(""), "/grub");
    EXPECT_TRUE(g.embedded_config);
    EXPECT_TRUE(g.config_keeps_prefix()) << g.config;
    doctor::grub_image other = g;
    other.config = "set prefix=(tftp)/elsewhere\nnormal\n";
    EXPECT_FALSE(other.config_keeps_prefix());
    EXPECT_FALSE(doctor::read_pe_image("kernel\n", 7).is_pe);
    EXPECT_FALSE(doctor::read_pe_image(signed_shim->substr(0, 70), signed_shim->size()).is_pe);  // truncated: not recognised
}

// ---------------------------------------------------------------- this machine's command runner

TEST(LocalMachine, RunsCommandsWithoutAShell) {
    const auto m = doctor::local_machine({}, std::chrono::milliseconds(500));
    const auto echo = m->runner().run({"sh", "-c", "echo out; echo err >&2; exit 3"});
    EXPECT_TRUE(echo.ran);
    EXPECT_EQ(echo.status, 3);
    EXPECT_EQ(echo.out, "out\n");  // stderr is not mixed in
    const auto literal = m->runner().run({"echo", "$HOME;", "|", "x"});
    EXPECT_EQ(literal.out, "$HOME; | x\n");  // no shell: nothing is interpreted
    EXPECT_FALSE(m->runner().run({"/nonexistent/firewall-cmd", "--state"}).ran);
    EXPECT_FALSE(m->runner().run({}).ran);
}

TEST(LocalMachine, KillsACommandThatHangs) {
    const auto m = doctor::local_machine({}, std::chrono::milliseconds(200));
    const auto start = std::chrono::steady_clock::now();
    const auto r = m->runner().run({"sleep", "30"});
    EXPECT_FALSE(r.ran);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(LocalMachine, FindsAccountsThroughTheLookupItIsGiven) {
    const auto m = doctor::local_machine([](const std::string& user) -> std::optional<doctor::account> {
        if (user == "pxed") return doctor::account{990, 985, {985, 10}};
        return std::nullopt;
    });
    const auto a = m->find_account("pxed");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->uid, 990u);
    EXPECT_EQ(a->groups, (std::vector<std::uint32_t>{985, 10}));
    EXPECT_FALSE(m->find_account("pxed-doctor-no-such-user"));
    EXPECT_FALSE(doctor::local_machine({})->find_account("root"));
}

// ---------------------------------------------------------------- locating keys

TEST(KeyLocations, KeysSequencesAndFallbacks) {
    const auto k = inventory::key_locations::from_string(R"(server:
  address: 10.0.0.2
  interfaces: [eth0, eth1]
hosts:
  - mac: 52:54:00:AA:BB:01
    profile: c7
  - mac: 52:54:00:aa:bb:02
)",
                                                         "site.yaml");
    EXPECT_EQ(k.find({"server", "address"}).line, 2);
    EXPECT_EQ(k.find({"server", "address"}).column, 3);
    EXPECT_EQ(k.find({"server", "interfaces", "eth1"}).column, 22);
    EXPECT_EQ(k.find({"hosts", "52:54:00:aa:bb:01", "profile"}).line, 6);
    EXPECT_EQ(k.find({"hosts", "1"}).line, 7);
    EXPECT_EQ(k.find({"server", "http", "port"}).line, 1);  // not written: the enclosing key
    EXPECT_EQ(k.find({"menu"}).line, 0);
    EXPECT_EQ(k.find({"menu"}).file, "site.yaml");
    EXPECT_EQ(inventory::key_locations::from_string("server: [", "x.yaml").find({"server"}).line, 0);
}

}  // namespace

TEST(KernelImage, TellsArm64FromX86ByTheirHeaders) {
    using inventory::cpu_arch;
    const auto arm = doctor::read_kernel_image(arm64_image());
    EXPECT_EQ(arm.cpu, cpu_arch::arm64);
    EXPECT_EQ(arm.evidence, "ARM64 Image");
    const auto x86 = doctor::read_kernel_image(x86_bzimage());
    EXPECT_EQ(x86.cpu, cpu_arch::x86_64);
    EXPECT_EQ(x86.evidence, "x86 bzImage");
    // Only the PE header (an EFI zboot image): its machine field.
    auto zboot = arm64_image();
    zboot.replace(56, 4, std::string(4, '\0'));
    EXPECT_EQ(doctor::read_kernel_image(zboot).cpu, cpu_arch::arm64);
    EXPECT_EQ(doctor::read_kernel_image(zboot).evidence, "PE machine 0xaa64");
    auto riscv = zboot;
    riscv.replace(0x44, 2, "\x64\x50");  // 0x5064, RISC-V 64
    EXPECT_EQ(doctor::read_kernel_image(riscv).cpu, std::nullopt);
    EXPECT_EQ(doctor::read_kernel_image(riscv).evidence, "PE machine 0x5064");
    // An ELF vmlinux: e_machine 183 (AArch64), 62 (x86-64).
    std::string elf = "\x7f" "ELF" + std::string("\x02\x01\x01", 3) + std::string(11, '\0');
    elf += std::string("\xb7\0", 2);
    EXPECT_EQ(doctor::read_kernel_image(elf).cpu, cpu_arch::arm64);
    elf[18] = 62;
    EXPECT_EQ(doctor::read_kernel_image(elf).cpu, cpu_arch::x86_64);
    // gzip (compressed: not looked into), garbage, truncated headers.
    EXPECT_EQ(doctor::read_kernel_image("\x1f\x8b\x08\0").cpu, std::nullopt);
    EXPECT_EQ(doctor::read_kernel_image("kernel").evidence, "");
    EXPECT_EQ(doctor::read_kernel_image(arm64_image().substr(0, 59)).cpu, std::nullopt);
    EXPECT_EQ(doctor::read_kernel_image(x86_bzimage().substr(0, 0x204)).evidence, "PE machine 0x8664");
    auto bad_pe = zboot;
    bad_pe.replace(0x3c, 4, std::string("\xff\xff\0\0", 4));  // e_lfanew past the end
    EXPECT_EQ(doctor::read_kernel_image(bad_pe).cpu, std::nullopt);
}
