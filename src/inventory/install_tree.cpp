#include "pxed/inventory/install_tree.hpp"

#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "pxed/wire/text.hpp"

namespace pxed::inventory {

namespace stdfs = std::filesystem;

namespace {

using parsed = wire::result<install_tree_info, tree_parse_error>;

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        out.push_back(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// The leading number of "7", "6.10", "24.04", "7.9.2009"; 0 when none.
int major_of(std::string_view version) {
    int v = 0;
    const auto [p, ec] = std::from_chars(version.data(), version.data() + version.size(), v);
    return ec == std::errc() && p != version.data() && v < 10000 ? v : 0;
}

bool is_version(std::string_view s) {
    if (s.empty() || !std::isdigit(static_cast<unsigned char>(s.front()))) return false;
    for (const char c : s)
        if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.') return false;
    return true;
}

// INI as .treeinfo writes it (Python's ConfigParser): [section], key = value,
// comments after ; or # at the start of a line.
using ini = std::map<std::string, std::map<std::string, std::string>>;

wire::result<ini, tree_parse_error> parse_ini(std::string_view text) {
    ini out;
    std::string section;
    int n = 0;
    for (const auto raw : lines_of(text)) {
        ++n;
        const auto line = trim(raw);
        if (line.empty() || line.front() == ';' || line.front() == '#') continue;
        if (line.front() == '[') {
            if (line.back() != ']') return tree_parse_error{n, "a section header like [general] ends with ]"};
            section = std::string(trim(line.substr(1, line.size() - 2)));
            out[section];
            continue;
        }
        const auto eq = line.find('=');
        if (eq == std::string_view::npos || section.empty())
            return tree_parse_error{n, "expected 'key = value' inside a [section]"};
        out[section][std::string(trim(line.substr(0, eq)))] = std::string(trim(line.substr(eq + 1)));
    }
    return out;
}

const std::string* get(const ini& i, const std::string& section, const std::string& key) {
    const auto s = i.find(section);
    if (s == i.end()) return nullptr;
    const auto k = s->second.find(key);
    return k == s->second.end() || k->second.empty() ? nullptr : &k->second;
}

// Of two versions that agree, the longer: "7" and "7.9" give "7.9".
void take_release(install_tree_info& t, std::string_view candidate) {
    if (!is_version(candidate)) return;
    if (t.release.empty() || (candidate.size() > t.release.size() && wire::starts_with(candidate, t.release + ".")))
        t.release = std::string(candidate);
    if (!t.major) t.major = major_of(t.release);
}

// deb822 "Field: value" lines, continuation lines skipped.
std::map<std::string, std::string> parse_fields(std::string_view text) {
    std::map<std::string, std::string> out;
    for (const auto raw : lines_of(text)) {
        if (raw.empty() || raw.front() == ' ' || raw.front() == '\t') continue;
        const auto colon = raw.find(':');
        if (colon == std::string_view::npos) continue;
        out[std::string(trim(raw.substr(0, colon)))] = std::string(trim(raw.substr(colon + 1)));
    }
    return out;
}

std::string family_of_distro(std::string_view name) {
    const auto l = lower(name);
    if (l.find("ubuntu") != std::string::npos) return "ubuntu";
    if (l.find("debian") != std::string::npos) return "debian";
    return {};
}

std::optional<std::string> read_text(const stdfs::path& p, std::size_t limit = 1 << 20) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return std::nullopt;
    std::string text(limit, '\0');
    in.read(text.data(), static_cast<std::streamsize>(limit));
    text.resize(static_cast<std::size_t>(in.gcount()));
    return text;
}

bool is_file(const stdfs::path& p) {
    std::error_code ec;
    return stdfs::is_regular_file(p, ec);
}

}  // namespace

std::string conventional_kernel(const std::string& family) {
    if (family == "ubuntu") return "casper/vmlinuz";
    if (family == "debian") return "install.amd/vmlinuz";
    return "images/pxeboot/vmlinuz";
}

parsed parse_treeinfo(std::string_view text) {
    auto sections = parse_ini(text);
    if (!sections) return sections.error();
    const auto& i = sections.value();
    install_tree_info t;
    t.family = "el";
    t.evidence = ".treeinfo";
    // productmd (CentOS 7+) first; [general] is all CentOS 5/6 have, and
    // what CentOS 7 keeps "for compatibility with pre-productmd treeinfos".
    const std::string* name = get(i, "release", "name");
    if (!name) name = get(i, "general", "family");
    const std::string* version = get(i, "release", "version");
    if (!version) version = get(i, "general", "version");
    const std::string* arch = get(i, "tree", "arch");
    if (!arch) arch = get(i, "general", "arch");
    if (!name || !version || !arch)
        return tree_parse_error{0, "expected [general] family, version and arch (or productmd's [release] name, "
                                   "version and [tree] arch)"};
    t.distro = *name;
    take_release(t, *version);
    if (t.release.empty()) t.release = *version;
    t.major = major_of(*version);
    t.arch = *arch;
    for (const auto& section : {"images-" + t.arch, std::string("images-xen")}) {
        if (const auto* k = get(i, section, "kernel")) {
            t.kernel = *k;
            if (const auto* r = get(i, section, "initrd")) t.initrd = *r;
            break;
        }
    }
    if (const auto s = i.find("checksums"); s != i.end())
        for (const auto& [path, sum] : s->second) t.checksums[path] = sum;
    return t;
}

parsed parse_discinfo(std::string_view text) {
    const auto lines = lines_of(text);
    if (lines.size() < 3 || trim(lines[1]).empty() || trim(lines[2]).empty())
        return tree_parse_error{0, "expected a timestamp, the release and the architecture on its first three lines"};
    install_tree_info t;
    t.family = "el";
    t.evidence = ".discinfo";
    // "7.9" (CentOS 7), "Red Hat Enterprise Linux 6.10" (EL 6): the product
    // name, when there is one, before the release.
    const auto second = trim(lines[1]);
    const auto space = second.rfind(' ');
    take_release(t, space == std::string_view::npos ? second : second.substr(space + 1));
    if (space != std::string_view::npos) t.distro = std::string(trim(second.substr(0, space)));
    if (t.release.empty()) return tree_parse_error{2, "expected a release number like 7.9 on line 2"};
    t.arch = std::string(trim(lines[2]));
    return t;
}

parsed parse_debian_release(std::string_view text) {
    const auto f = parse_fields(text);
    const auto at = [&](const char* k) -> std::string {
        const auto it = f.find(k);
        return it == f.end() ? std::string() : it->second;
    };
    install_tree_info t;
    t.distro = at("Origin");
    t.family = family_of_distro(t.distro);
    if (t.family.empty())
        return tree_parse_error{0, "expected 'Origin: Debian' or 'Origin: Ubuntu', found '" + t.distro + "'"};
    t.codename = at("Codename");
    take_release(t, at("Version"));
    std::istringstream archs(at("Architectures"));
    for (std::string a; archs >> a;)
        if (a != "all" && a != "source") {
            t.arch = a;
            break;
        }
    if (t.codename.empty() || t.arch.empty())
        return tree_parse_error{0, "expected its Codename and Architectures fields"};
    return t;
}

parsed parse_netboot_version(std::string_view text) {
    // "Debian version:  12 (bookworm)"
    for (const auto raw : lines_of(text)) {
        const auto line = trim(raw);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || trim(line.substr(0, colon)) != "Debian version") continue;
        install_tree_info t;
        t.family = "debian";
        t.distro = "Debian";
        std::istringstream words(std::string(line.substr(colon + 1)));
        std::string version, codename;
        words >> version >> codename;
        take_release(t, version);
        if (codename.size() > 2 && codename.front() == '(' && codename.back() == ')')
            t.codename = codename.substr(1, codename.size() - 2);
        if (t.release.empty()) break;
        return t;
    }
    return tree_parse_error{0, "expected a line 'Debian version:  12 (bookworm)'"};
}

parsed parse_disk_info(std::string_view text) {
    // Ubuntu-Server 24.04 LTS "Noble Numbat" - Release amd64 (20240423)
    // Debian GNU/Linux 12.5.0 "Bookworm" - Official amd64 DVD Binary-1 20240210-11:28
    const auto line = std::string(trim(lines_of(text).empty() ? std::string_view() : lines_of(text).front()));
    install_tree_info t;
    t.family = family_of_distro(line);
    if (t.family.empty()) return tree_parse_error{1, "expected a Debian or Ubuntu disc name, found '" + line + "'"};
    t.distro = t.family == "ubuntu" ? "Ubuntu" : "Debian";
    std::istringstream words(line);
    bool after_dash = false;
    for (std::string w; words >> w;) {
        if (t.release.empty() && is_version(w)) take_release(t, w);
        if (w == "-") after_dash = true;
        if (after_dash && t.arch.empty() &&
            (w == "amd64" || w == "arm64" || w == "i386" || w == "ppc64el" || w == "s390x" || w == "armhf"))
            t.arch = w;
        if (w.size() > 1 && w.front() == '"' && t.codename.empty()) t.codename = lower(w.substr(1));
    }
    if (!t.codename.empty() && t.codename.back() == '"') t.codename.pop_back();
    if (t.release.empty()) return tree_parse_error{1, "expected a release number in '" + line + "'"};
    return t;
}

wire::result<install_tree_info, std::string> probe_install_tree(const std::string& dir) {
    const stdfs::path root(dir);
    std::error_code ec;
    if (!stdfs::is_directory(root, ec)) return dir + " is not an install tree: it is not a directory";
    const auto broken = [&](const std::string& file, const tree_parse_error& e) {
        return dir + "/" + file + (e.line ? ":" + std::to_string(e.line) : std::string()) + " is not valid: " +
               e.message;
    };
    const auto have = [&](const std::string& rel) { return is_file(root / rel); };

    std::optional<install_tree_info> found;
    if (const auto text = read_text(root / ".treeinfo")) {
        auto r = parse_treeinfo(*text);
        if (!r) return broken(".treeinfo", r.error());
        found = std::move(r.value());
    }
    if (const auto text = read_text(root / ".discinfo")) {
        auto r = parse_discinfo(*text);
        if (r) {
            if (!found) {
                found = std::move(r.value());
            } else if (found->family == "el") {
                take_release(*found, r.value().release);
            }
        } else if (!found) {
            return broken(".discinfo", r.error());
        }
    }
    if (found) {
        // A mirror keeps the full release in its path: centos/7.9.2009/os/x86_64.
        for (auto p = stdfs::absolute(root, ec); !ec && p.has_relative_path(); p = p.parent_path())
            take_release(*found, p.filename().string());
        if (found->kernel.empty() && have("images/pxeboot/vmlinuz")) {
            found->kernel = "images/pxeboot/vmlinuz";
            if (have("images/pxeboot/initrd.img")) found->initrd = "images/pxeboot/initrd.img";
        }
        return *found;
    }
    if (is_file(root / "repodata/repomd.xml") || is_file(root / "BaseOS/repodata/repomd.xml")) {
        // A bare repository (a reposync'd mirror): an install source with no
        // boot images of its own.
        install_tree_info t;
        t.family = "el";
        t.evidence = "repodata/repomd.xml";
        if (have("images/pxeboot/vmlinuz")) t.kernel = "images/pxeboot/vmlinuz";
        if (have("images/pxeboot/initrd.img")) t.initrd = "images/pxeboot/initrd.img";
        return t;
    }

    // Debian and Ubuntu: .disk/info (ISOs), dists/<codename>/Release
    // (ISOs and mirrors), version.info (netboot tarball).
    if (const auto text = read_text(root / ".disk/info")) {
        if (auto r = parse_disk_info(*text)) {
            found = std::move(r.value());
            found->evidence = ".disk/info";
        }
    }
    for (stdfs::directory_iterator it(root / "dists", ec), end; !ec && it != end; it.increment(ec)) {
        const auto release_file = it->path() / "Release";
        const auto text = read_text(release_file);
        if (!text || stdfs::is_symlink(it->path())) continue;  // stable -> bookworm
        auto r = parse_debian_release(*text);
        const auto rel = "dists/" + it->path().filename().string() + "/Release";
        if (!r) {
            if (found) continue;
            return broken(rel, r.error());
        }
        if (!found) {
            found = std::move(r.value());
            found->evidence = rel;
        } else {
            take_release(*found, r.value().release);
            if (found->codename.empty()) found->codename = r.value().codename;
            if (found->arch.empty()) found->arch = r.value().arch;
        }
        break;
    }
    if (!found) {
        if (const auto text = read_text(root / "version.info")) {
            auto r = parse_netboot_version(*text);
            if (!r) return broken("version.info", r.error());
            found = std::move(r.value());
            found->evidence = "version.info";
        }
    }
    // A netboot tarball: debian-installer/<arch>/linux (or ubuntu-installer/
    // for Ubuntu before 20.04), the arch from the directory.
    for (const char* installer : {"debian-installer", "ubuntu-installer"}) {
        for (stdfs::directory_iterator it(root / installer, ec), end; !ec && it != end; it.increment(ec)) {
            const auto arch = it->path().filename().string();
            const auto base = std::string(installer) + "/" + arch + "/";
            if (!have(base + "linux")) continue;
            if (!found) {
                found = install_tree_info{};
                found->family = installer[0] == 'u' ? "ubuntu" : "debian";
                found->distro = installer[0] == 'u' ? "Ubuntu" : "Debian";
                found->evidence = base + "linux";
            }
            if (found->arch.empty()) found->arch = arch;
            if (found->kernel.empty() && arch == found->arch) {
                found->kernel = base + "linux";
                if (have(base + "initrd.gz")) found->initrd = base + "initrd.gz";
            }
        }
    }
    const bool casper = stdfs::is_directory(root / "casper", ec);
    if (!found && casper) {
        found = install_tree_info{};
        found->family = "ubuntu";
        found->distro = "Ubuntu";
        found->evidence = "casper/";
    }
    if (!found)
        return dir +
               " is not an install tree: no .treeinfo, no .discinfo, no repodata/repomd.xml, no dists/*/Release, no "
               "casper/, no debian-installer/";

    if (found->kernel.empty() && casper && have("casper/vmlinuz")) {
        // Ubuntu live-server ISO: the installer (subiquity) boots casper's
        // kernel and initrd.
        found->kernel = "casper/vmlinuz";
        for (const char* initrd : {"casper/initrd", "casper/initrd.gz", "casper/initrd.lz"})
            if (have(initrd)) {
                found->initrd = initrd;
                break;
            }
    }
    if (found->kernel.empty() && !found->codename.empty() && !found->arch.empty()) {
        // A mirror: the netboot images under dists/ boot from the network;
        // a DVD's install.<a>/ initrd looks for the disc.
        const auto netboot = "dists/" + found->codename + "/main/installer-" + found->arch +
                             "/current/images/netboot/debian-installer/" + found->arch + "/";
        if (have(netboot + "linux")) {
            found->kernel = netboot + "linux";
            if (have(netboot + "initrd.gz")) found->initrd = netboot + "initrd.gz";
        }
    }
    if (found->kernel.empty()) {
        // A DVD: install.amd/ for amd64, install.a64/ for arm64, install.386/.
        const std::map<std::string, std::string> dirs{{"amd64", "install.amd"}, {"arm64", "install.a64"},
                                                      {"i386", "install.386"}, {"ppc64el", "install"}};
        const auto d = dirs.find(found->arch);
        const std::string name = d == dirs.end() ? "install.amd" : d->second;
        if (have(name + "/vmlinuz")) {
            found->kernel = name + "/vmlinuz";
            if (have(name + "/initrd.gz")) found->initrd = name + "/initrd.gz";
        }
    }
    return *found;
}

}  // namespace pxed::inventory
