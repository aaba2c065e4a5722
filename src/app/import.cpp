#include "pxed/app/import.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "pxed/app/site_loader.hpp"
#include "pxed/wire/text.hpp"

namespace pxed::app {

namespace stdfs = std::filesystem;

namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// "CentOS" -> centos, "Red Hat Enterprise Linux" -> rhel, "Rocky Linux" -> rocky.
std::string short_distro(const inventory::install_tree_info& t) {
    const auto l = lower(t.distro);
    if (l.rfind("red hat", 0) == 0) return "rhel";
    std::string word;
    for (const char c : l) {
        if (!std::isalnum(static_cast<unsigned char>(c))) break;
        word += c;
    }
    return word.empty() ? t.family : word;
}

// A plain YAML scalar when nothing in it means something to YAML, else
// single-quoted.
std::string scalar(const std::string& s) {
    bool plain = !s.empty() && (std::isalnum(static_cast<unsigned char>(s.front())) || s.front() == '/');
    for (const char c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("._/- ").find(c) == std::string_view::npos)
            plain = false;
    if (plain && s.back() != ' ') return s;
    std::string out = "'";
    for (const char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
}

bool valid_name(const std::string& n) {
    if (n.empty() || !std::isalnum(static_cast<unsigned char>(n.front()))) return false;
    for (const char c : n)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
    return true;
}

struct line {
    std::string text;  // without its newline
    bool newline = true;
};

std::vector<line> split_lines(const std::string& text) {
    std::vector<line> out;
    std::size_t at = 0;
    while (at < text.size()) {
        const auto nl = text.find('\n', at);
        if (nl == std::string::npos) {
            out.push_back({text.substr(at), false});
            break;
        }
        out.push_back({text.substr(at, nl - at), true});
        at = nl + 1;
    }
    return out;
}

std::string join(const std::vector<line>& lines) {
    std::string out;
    for (const auto& l : lines) out += l.text + (l.newline ? "\n" : "");
    return out;
}

std::size_t indent_of(const std::string& s) {
    std::size_t n = 0;
    while (n < s.size() && s[n] == ' ') ++n;
    return n;
}

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r") == std::string::npos; }

// Inserts `entry` (lines at one unit of indentation per level, "  " as
// written by import_plan) at the end of the `section:` block.
wire::result<std::string, import_refusal> insert_entry(const std::string& text, const std::string& section,
                                                     const std::string& name,
                                                     std::string (import_plan::*entry)(const std::string&) const,
                                                     const import_plan& plan, const std::string& file) {
    auto lines = split_lines(text);
    std::size_t header = lines.size();
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto& t = lines[i].text;
        if (!wire::starts_with(t, section + ":")) continue;
        const auto rest = t.substr(section.size() + 1);
        const auto first = rest.find_first_not_of(" \t\r");
        if (first != std::string::npos && rest[first] != '#')
            return import_refusal{file + ":" + std::to_string(i + 1) + ": " + section +
                                  ": is written on one line (flow style); write it as a block, one entry per line, "
                                  "to import into it"};
        header = i;
        break;
    }
    if (header == lines.size()) {
        // No such section: a new one at the end of the file.
        if (!lines.empty() && !lines.back().newline) lines.back().newline = true;
        auto out = join(lines);
        return out + section + ":\n" + (plan.*entry)("  ");
    }
    // The block: indented lines, blank lines and comments, up to the next
    // top-level key. Entries go after its last indented line, so comments
    // that introduce the next section stay where they are.
    std::size_t last = header, unit = 0;
    for (std::size_t i = header + 1; i < lines.size(); ++i) {
        const auto& t = lines[i].text;
        if (blank(t)) continue;
        const auto ind = indent_of(t);
        if (ind == 0 && t[0] != '#') break;
        if (ind == 0) continue;
        last = i;
        if (t[ind] == '#' || t[ind] == '-') continue;
        if (!unit) unit = ind;
        if (ind == unit && (wire::starts_with(t.substr(ind), name + ":") || wire::starts_with(t.substr(ind), "'" + name + "':") ||
                            wire::starts_with(t.substr(ind), "\"" + name + "\":")))
            return import_refusal{file + ":" + std::to_string(i + 1) + ": " + section + "." + name +
                                  " is already there; choose another name with --name"};
    }
    if (!unit) unit = 2;
    const auto entry_text = (plan.*entry)(std::string(unit, ' '));
    std::vector<line> added;
    for (auto& l : split_lines(entry_text)) added.push_back(std::move(l));
    if (!lines[last].newline) lines[last].newline = true;
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(last) + 1, added.begin(), added.end());
    return join(lines);
}

}  // namespace

std::string import_plan::tree_entry(const std::string& unit) const {
    const auto in = unit + unit;
    return unit + name + ":\n" + in + "path: " + scalar(path) + "\n" + in + "url: " + scalar(url) + "\n" + in +
           "protocol: http\n";
}

std::string import_plan::profile_entry(const std::string& unit) const {
    const auto in = unit + unit;
    std::string out = unit + name + ":\n" + in + "label: " + scalar(label) + "\n" + in + "tree: " + scalar(name) + "\n";
    out += in + "# kernel and initrd: the tree's " + tree.kernel + " and " + tree.initrd + "\n";
    out += in + "append: " + scalar(append) + "\n";
    if (!kickstart.empty()) out += in + "kickstart: " + scalar(kickstart) + "\n";
    return out;
}

std::string import_plan::yaml() const {
    return "# " + tree.distro + " " + tree.release + " " + tree.arch + ", from " + tree.evidence + "\ntrees:\n" +
           tree_entry() + "profiles:\n" + profile_entry();
}

wire::result<import_plan, std::string> plan_import(const std::string& path, const import_options& options) {
    std::error_code ec;
    auto abs = stdfs::weakly_canonical(stdfs::absolute(path, ec), ec).string();
    if (abs.empty()) abs = path;
    while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
    auto probed = inventory::probe_install_tree(abs);
    if (!probed)
        return probed.error() + "; give the tree's top directory (where .treeinfo, dists/ or casper/ is)";
    import_plan p;
    p.tree = std::move(probed.value());
    p.path = abs;
    const auto& t = p.tree;
    if (t.kernel.empty() || t.initrd.empty())
        return abs + " is a " + t.family + " tree (" + t.evidence + ") with no " + (t.kernel.empty() ? "kernel" : "initrd") +
               " to boot: looked for " + inventory::conventional_kernel(t.family) +
               "; import the DVD or a tree with its boot images";
    if (t.release.empty() || t.arch.empty())
        return abs + " is a " + t.family + " tree (" + t.evidence + ") whose release or architecture is not written in it";
    const auto distro = short_distro(t);
    p.name = options.name;
    if (p.name.empty()) {
        std::string release = t.family == "ubuntu" ? t.release : std::to_string(t.major);
        release.erase(std::remove(release.begin(), release.end(), '.'), release.end());
        p.name = distro + release;
        if (t.arch != "x86_64" && t.arch != "amd64") p.name += "-" + t.arch;
    }
    if (!valid_name(p.name)) return "'" + p.name + "' cannot be a tree or profile name: use letters, digits, - and _";
    p.url = options.url.empty() ? "/pub/" + distro + "/" + t.release + "/" + t.arch : options.url;
    while (p.url.size() > 1 && p.url.back() == '/') p.url.pop_back();
    if (p.url.empty() || p.url[0] != '/' || p.url.find("..") != std::string::npos || p.url == "/")
        return "--url " + options.url + " must be an absolute URL path below / like /pub/centos/7/x86_64";
    p.label = t.distro + " " + t.release + " " + t.arch;
    if (t.family == "el" && t.major >= 7) {
        p.append = "inst.repo={{tree_url}} inst.ks={{kickstart_url}}";
        p.kickstart = "centos7.ks";
    } else if (t.family == "el") {
        p.append = "ks={{kickstart_url}} ksdevice=bootif";
        p.kickstart = "centos6.ks";
    } else if (t.family == "debian") {
        p.append = "auto=true priority=critical url={{kickstart_url}}";
        p.kickstart = "debian12.preseed";
    } else {
        p.append = "autoinstall ds=nocloud-net;s={{nocloud_url}}";
        p.kickstart = "ubuntu-autoinstall.yaml";
    }
    return p;
}

wire::result<std::string, import_refusal> insert_into_site(const std::string& text, const import_plan& plan,
                                                            const std::string& file) {
    // Refusals name lines of the file as it is: both sections are looked
    // at before trees: changes the numbering.
    if (auto r = insert_entry(text, "trees", plan.name, &import_plan::tree_entry, plan, file); !r) return r;
    if (auto r = insert_entry(text, "profiles", plan.name, &import_plan::profile_entry, plan, file); !r) return r;
    auto with_tree = insert_entry(text, "trees", plan.name, &import_plan::tree_entry, plan, file);
    if (!with_tree) return with_tree;
    return insert_entry(with_tree.value(), "profiles", plan.name, &import_plan::profile_entry, plan, file);
}

std::optional<std::string> append_to_site(const std::string& site_path, const import_plan& plan) {
    std::ifstream in(site_path, std::ios::binary);
    if (!in) return "cannot read " + site_path + ": " + std::strerror(errno);
    std::ostringstream buf;
    buf << in.rdbuf();
    auto text = insert_into_site(buf.str(), plan, site_path);
    if (!text) return text.error().message;

    // Beside site.yaml, so relative paths in it mean the same and the
    // rename stays on one file system.
    std::string tmp = site_path + ".import-XXXXXX";
    const int fd = ::mkstemp(tmp.data());
    if (fd < 0) return "cannot create a file beside " + site_path + ": " + std::strerror(errno);
    struct stat st {};
    if (::stat(site_path.c_str(), &st) == 0) {
        (void)::fchmod(fd, st.st_mode & 07777);
        if (::fchown(fd, st.st_uid, st.st_gid) != 0) {
            // Not root: the file stays ours, as any editor would leave it.
        }
    }
    const auto& body = text.value();
    std::size_t written = 0;
    while (written < body.size()) {
        const auto n = ::write(fd, body.data() + written, body.size() - written);
        if (n <= 0) break;
        written += static_cast<std::size_t>(n);
    }
    const bool ok = written == body.size() && ::fsync(fd) == 0;
    ::close(fd);
    const auto drop = [&](std::string why) {
        ::unlink(tmp.c_str());
        return std::optional<std::string>(std::move(why));
    };
    if (!ok) return drop("cannot write " + tmp + ": " + std::strerror(errno));

    inventory::load_options options;
    options.read_secrets = false;  // a secret file pxed's user may read, but not this one
    const auto loaded = load_site(tmp, options);
    if (!loaded.loaded) {
        std::string why = site_path + " would not load with the import, so it is unchanged:";
        for (const auto& d : loaded.diagnostics)
            if (d.level == inventory::severity::error) {
                auto m = d.to_string();
                if (const auto at = m.find(tmp); at != std::string::npos) m.replace(at, tmp.size(), site_path);
                why += "\n  " + m;
            }
        return drop(why);
    }
    if (::rename(tmp.c_str(), site_path.c_str()) != 0)
        return drop("cannot replace " + site_path + ": " + std::strerror(errno));
    return std::nullopt;
}

int cmd_import(const std::string& path, const import_options& options, const std::string& append_to) {
    const auto plan = plan_import(path, options);
    if (!plan) {
        std::cerr << plan.error() << "\n";
        return 1;
    }
    const auto& p = plan.value();
    if (append_to.empty()) {
        std::cout << p.yaml();
        return 0;
    }
    if (const auto error = append_to_site(append_to, p)) {
        std::cerr << *error << "\n";
        return 1;
    }
    std::cout << "added trees." << p.name << " and profiles." << p.name << " (" << p.label << ") to " << append_to
              << "; pxed check, then systemctl reload pxed\n";
    return 0;
}

}  // namespace pxed::app
