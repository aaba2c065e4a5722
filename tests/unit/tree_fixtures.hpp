#pragma once
// Synthetic install trees: the real layout and metadata of each kind, with
// small stand-in files for the kernel and initrd ("kernel of centos7").
// The metadata follows real trees: CentOS-7-x86_64-DVD-2009's .treeinfo
// (productmd 1.2 with the [general] kept for pre-productmd tools),
// CentOS-6.10's (the [general] format only), Debian 12's netboot.tar.gz
// and DVD-1, ubuntu-24.04-live-server-amd64.iso.

#include <filesystem>
#include <fstream>
#include <string>

namespace pxed::testing {

inline void write_file(const std::filesystem::path& p, const std::string& text) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
}

// The EL7 stand-ins and their sha256 (printf 'kernel of centos7\n' | sha256sum).
inline const char* const el7_kernel_text = "kernel of centos7\n";
inline const char* const el7_initrd_text = "initrd of centos7\n";

inline std::string el7_treeinfo(const std::string& kernel_sha256, const std::string& initrd_sha256) {
    return "[checksums]\n"
           "images/efiboot.img = sha256:8bade52ec1656fcb0a5faf638e048914cf642f5afa9c41303c602a793b0d6d9f\n"
           "images/pxeboot/initrd.img = sha256:" + initrd_sha256 + "\n"
           "images/pxeboot/vmlinuz = sha256:" + kernel_sha256 + "\n"
           "\n"
           "[general]\n"
           "; WARNING.0 = This section provides compatibility with pre-productmd treeinfos.\n"
           "; WARNING.1 = Read productmd documentation for details about new format.\n"
           "arch = x86_64\n"
           "family = CentOS\n"
           "name = CentOS 7\n"
           "packagedir = Packages\n"
           "platforms = x86_64,xen\n"
           "repository = .\n"
           "timestamp = 1603733435\n"
           "variant = \n"
           "version = 7\n"
           "\n"
           "[header]\n"
           "type = productmd.treeinfo\n"
           "version = 1.2\n"
           "\n"
           "[images-x86_64]\n"
           "boot.iso = images/boot.iso\n"
           "efiboot.img = images/efiboot.img\n"
           "initrd = images/pxeboot/initrd.img\n"
           "kernel = images/pxeboot/vmlinuz\n"
           "\n"
           "[images-xen]\n"
           "initrd = images/pxeboot/initrd.img\n"
           "kernel = images/pxeboot/vmlinuz\n"
           "\n"
           "[release]\n"
           "name = CentOS\n"
           "short = CentOS\n"
           "version = 7\n"
           "\n"
           "[stage2]\n"
           "mainimage = LiveOS/squashfs.img\n"
           "\n"
           "[tree]\n"
           "arch = x86_64\n"
           "build_timestamp = 1603733435\n"
           "platforms = x86_64,xen\n"
           "variants = \n";
}

inline const char* const el7_kernel_sha256 = "4b30b9a0504df6f979fddec2c722af805596184e5e3c78ee7cb91ac3a796d39d";
inline const char* const el7_initrd_sha256 = "bc106255e0c7e384e3aea18836f5672bf1c78c2ee5704c9c3f6d39d114aa7e91";

inline void make_el7_tree(const std::filesystem::path& dir, const std::string& kernel_sha256 = el7_kernel_sha256,
                          const std::string& initrd_sha256 = el7_initrd_sha256) {
    write_file(dir / ".treeinfo", el7_treeinfo(kernel_sha256, initrd_sha256));
    write_file(dir / ".discinfo", "1603733435.495302\n7.9\nx86_64\n");
    write_file(dir / "images/pxeboot/vmlinuz", el7_kernel_text);
    write_file(dir / "images/pxeboot/initrd.img", el7_initrd_text);
    write_file(dir / "repodata/repomd.xml", "<repomd/>\n");
}

inline void make_el6_tree(const std::filesystem::path& dir) {
    write_file(dir / ".treeinfo",
               "[general]\n"
               "family = CentOS\n"
               "timestamp = 1530288316.16\n"
               "variant = \n"
               "totaldiscs = 1\n"
               "version = 6.10\n"
               "discnum = 1\n"
               "packagedir = \n"
               "arch = x86_64\n"
               "\n"
               "[images-x86_64]\n"
               "kernel = images/pxeboot/vmlinuz\n"
               "initrd = images/pxeboot/initrd.img\n"
               "boot.iso = images/boot.iso\n"
               "\n"
               "[images-xen]\n"
               "kernel = images/pxeboot/vmlinuz\n"
               "initrd = images/pxeboot/initrd.img\n"
               "\n"
               "[stage2]\n"
               "mainimage = images/install.img\n"
               "\n"
               "[checksums]\n"
               "images/pxeboot/initrd.img = sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
    write_file(dir / ".discinfo", "1530288316.160918\nCentOS 6.10\nx86_64\n1\n");
    write_file(dir / "images/pxeboot/vmlinuz", "kernel of centos6\n");
    write_file(dir / "images/pxeboot/initrd.img", "initrd of centos6\n");
}

/// netboot.tar.gz of Debian 12, unpacked.
inline void make_debian_netboot(const std::filesystem::path& dir) {
    write_file(dir / "version.info", "Debian version:  12 (bookworm)\nInstaller build: 20230607+deb12u5\n");
    write_file(dir / "debian-installer/amd64/linux", "kernel of debian12\n");
    write_file(dir / "debian-installer/amd64/initrd.gz", "initrd of debian12\n");
    write_file(dir / "debian-installer/amd64/pxelinux.0", "pxelinux\n");
    write_file(dir / "ldlinux.c32", "ldlinux\n");
}

/// debian-12.5.0-amd64-DVD-1.iso, mounted.
inline void make_debian_dvd(const std::filesystem::path& dir) {
    write_file(dir / ".disk/info", "Debian GNU/Linux 12.5.0 \"Bookworm\" - Official amd64 DVD Binary-1 20240210-11:28");
    write_file(dir / "dists/bookworm/Release",
               "Origin: Debian\nLabel: Debian\nSuite: stable\nVersion: 12.5\nCodename: bookworm\n"
               "Date: Sat, 10 Feb 2024 10:58:05 UTC\nArchitectures: all amd64\nComponents: main contrib\n"
               "Description: Debian 12.5 Released 10 February 2024\nMD5Sum:\n 0123 42 main/binary-amd64/Release\n");
    write_file(dir / "install.amd/vmlinuz", "kernel of debian12 dvd\n");
    write_file(dir / "install.amd/initrd.gz", "initrd of debian12 dvd\n");
}

/// ubuntu-24.04-live-server-amd64.iso, mounted.
inline void make_ubuntu_live(const std::filesystem::path& dir) {
    write_file(dir / ".disk/info", "Ubuntu-Server 24.04 LTS \"Noble Numbat\" - Release amd64 (20240423)");
    write_file(dir / "dists/noble/Release",
               "Origin: Ubuntu\nLabel: Ubuntu\nSuite: noble\nVersion: 24.04\nCodename: noble\n"
               "Architectures: amd64\nComponents: main restricted\n");
    write_file(dir / "casper/vmlinuz", "kernel of ubuntu2404\n");
    write_file(dir / "casper/initrd", "initrd of ubuntu2404\n");
}

}  // namespace pxed::testing
