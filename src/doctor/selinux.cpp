#include "pxed/doctor/selinux.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "command_text.hpp"

namespace pxed::doctor {
namespace {

// Types the confined file servers of EL 7 read (see selinux.hpp for why
// these): tftpd_t, httpd_t, ftpd_t.
constexpr std::string_view readable_types[] = {
    "tftpdir_t",         "tftpdir_rw_t",           "public_content_t", "public_content_rw_t",
    "httpd_sys_content_t", "httpd_sys_rw_content_t", "iso9660_t",
};
constexpr std::string_view writable_types[] = {"var_lib_t"};

enum class use { read, write };

struct path_to_check {
    std::string what;  // "the TFTP root", "tree c7", "boot file pxelinux.0"
    std::string path;
    use how = use::read;
    std::string suggested;  // the type to record when the default will not do
    inventory::source_location where;
    bool directory = true;  // a directory's pattern covers what is beneath it
};

// A file named relative to the TFTP root ("pxelinux.0", "c7/vmlinuz"), as a
// path on disk; empty for what is not such a name ("tree:...", a URL).
std::string in_tftp_root(const std::string& root, const std::string& name) {
    if (root.empty() || name.empty() || name.find(':') != std::string::npos) return {};
    std::string rel = name;
    while (!rel.empty() && rel.front() == '/') rel.erase(rel.begin());
    if (rel.empty()) return {};
    return root + (root.back() == '/' ? "" : "/") + rel;
}

// "system_u:object_r:tftpdir_t:s0" -> "tftpdir_t".
std::string type_of(std::string_view context) {
    const auto a = context.find(':');
    if (a == std::string_view::npos) return {};
    const auto b = context.find(':', a + 1);
    if (b == std::string_view::npos) return {};
    const auto c = context.find(':', b + 1);
    return std::string(context.substr(b + 1, c == std::string_view::npos ? std::string_view::npos : c - b - 1));
}

bool fits(const std::string& type, use how) {
    const auto in = [&](const auto& list) {
        return std::find(std::begin(list), std::end(list), type) != std::end(list);
    };
    return how == use::read ? in(readable_types) : in(writable_types);
}

// The type the policy gives `path`: `matchpathcon -n` prints only the
// context ("system_u:object_r:tftpdir_t:s0"); without -n older versions
// print "PATH\tCONTEXT", so the last word is taken.
std::optional<std::string> default_type(const command_runner& run, const std::string& path) {
    const auto r = run.run({"matchpathcon", "-n", path});
    if (!r.ran || r.status != 0) return std::nullopt;
    const auto w = detail::words(r.out);
    if (w.empty()) return std::nullopt;
    auto t = type_of(w.back());
    if (t.empty()) return std::nullopt;
    return t;
}

std::string quoted_pattern(const std::string& path, bool directory) {
    std::string p = path;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    return "\"" + p + (directory ? "(/.*)?" : "") + "\"";
}

}  // namespace

std::vector<finding> check_selinux(const inventory::site& site, const command_runner& run, const locator& where,
                                   std::string* skipped) {
    const auto mode = run.run({"getenforce"});
    const auto state = detail::first_line(mode.out);
    if (!mode.ran || mode.status != 0 || state != "Enforcing") {
        if (skipped != nullptr)
            *skipped = !mode.ran ? "getenforce is not installed: SELinux contexts not checked"
                                 : "SELinux is " + (state.empty() ? std::string("not enforcing") : state) +
                                       ": contexts not checked";
        return {};
    }

    std::vector<path_to_check> paths;
    if (site.server.tftp.enabled && !site.server.tftp.root.empty())
        paths.push_back({"the TFTP root", site.server.tftp.root, use::read, "tftpdir_t",
                         where.find({"server", "tftp", "root"})});
    for (const auto& [name, t] : site.trees)
        paths.push_back({"tree " + name, t.path, use::read, "public_content_t", where.find({"trees", name, "path"})});
    if (!site.server.state_dir.empty())
        paths.push_back({"the state directory", site.server.state_dir, use::write, "var_lib_t",
                         where.find({"server", "state_dir"})});
    // The boot files and kernels: `mv /root/pxelinux.0 /var/lib/tftpboot/`
    // leaves a file labelled admin_home_t in a directory that is right.
    if (site.server.tftp.enabled) {
        const auto& root = site.server.tftp.root;
        auto add_file = [&](const std::string& what, const std::string& name, inventory::source_location at) {
            const auto path = in_tftp_root(root, name);
            if (path.empty()) return;
            for (const auto& p : paths)
                if (p.path == path) return;  // profiles share kernels
            paths.push_back({what, path, use::read, "tftpdir_t", std::move(at), false});
        };
        const auto& b = site.boot;
        add_file("boot file", b.bios, where.find({"boot", "bios"}));
        add_file("boot file", b.uefi_x64, where.find({"boot", "uefi-x64"}));
        add_file("boot file", b.uefi_ia32, where.find({"boot", "uefi-ia32"}));
        add_file("boot file", b.uefi_arm64, where.find({"boot", "uefi-arm64"}));
        // A kernel or initrd served from its tree is not in the TFTP root:
        // the tree's own context is checked above.
        for (const auto& [name, prof] : site.profiles) {
            if (!prof.kernel_from_tree)
                add_file("the kernel of profile " + name, prof.kernel, where.find({"profiles", name, "kernel"}));
            if (!prof.initrd_from_tree)
                add_file("the initrd of profile " + name, prof.initrd, where.find({"profiles", name, "initrd"}));
        }
    }

    std::vector<finding> out;
    for (const auto& p : paths) {
        // "%C": the whole context, e.g. "unconfined_u:object_r:admin_home_t:s0".
        const auto st = run.run({"stat", "-c", "%C", p.path});
        if (!st.ran || st.status != 0) continue;  // missing: the tree and permission checks say so
        const auto actual = type_of(detail::first_line(st.out));
        if (actual.empty()) continue;
        const auto wanted = default_type(run, p.path);

        const bool actual_fits = fits(actual, p.how);
        const bool default_fits = wanted && fits(*wanted, p.how);
        // A read-only ISO mount has its type from the mount (genfscon), not
        // from file contexts, and cannot be relabelled.
        if (actual_fits && (actual == "iso9660_t" || (wanted && *wanted == actual))) continue;

        finding f;
        f.level = inventory::severity::warning;
        f.where = p.where;
        f.topic = "selinux";
        const std::string label = p.what + " " + p.path + " is labelled " + actual;
        const std::string relabel = (p.directory ? "restorecon -Rv " : "restorecon -v ") + p.path;
        const std::string unfit = p.how == use::read
                                      ? ", a type confined file servers (tftpd_t, httpd_t, ftpd_t) may not read"
                                      : ", not a type for state pxed writes (var_lib_t)";
        if (actual_fits) {
            // A fitting type set by hand (chcon) and not recorded: a relabel
            // would change it to what the policy says.
            f.message = label + " by hand, but the policy says " + (wanted ? *wanted : std::string("nothing")) +
                        ": the next restorecon or relabel changes it";
            f.fix = "semanage fcontext -a -t " + actual + " " + quoted_pattern(p.path, p.directory) + " && " + relabel;
        } else if (default_fits) {
            // The policy is right, the files are not: moved here (mv keeps labels).
            f.message = label + unfit + " (moved here with mv?); the policy says " + *wanted;
            f.fix = relabel;
        } else {
            f.message = label + unfit + ", and the policy has no fitting type for that path";
            f.fix = "semanage fcontext -a -t " + p.suggested + " " + quoted_pattern(p.path, p.directory) + " && " + relabel;
        }
        out.push_back(std::move(f));
    }
    return out;
}

}  // namespace pxed::doctor
