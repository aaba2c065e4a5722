// Whether server.user can read what pxed serves after the privilege drop
// (app/privileges.cpp): pxed opens every file as that user, so a boot file
// root left at 0600 answers TFTP "access violation" while `ls` as root shows
// it is there. Mode bits only: ACLs and SELinux are not read here.

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "checks.hpp"

namespace pxed::doctor::detail {

namespace {

namespace stdfs = std::filesystem;
using inventory::severity;

constexpr unsigned want_read = 4, want_search = 1;
constexpr std::size_t tree_walk_cap = 200000;  // entries per tree; a DVD tree has about 10,000
constexpr std::size_t shown_per_tree = 3;

bool allowed(const struct stat& st, const account& a, unsigned want) {
    if (a.uid == 0) return true;
    unsigned bits;
    if (st.st_uid == a.uid)
        bits = (st.st_mode >> 6) & 7;
    else if (st.st_gid == a.gid || std::find(a.groups.begin(), a.groups.end(), st.st_gid) != a.groups.end())
        bits = (st.st_mode >> 3) & 7;
    else
        bits = st.st_mode & 7;
    return (bits & want) == want;
}

std::string mode_of(const struct stat& st) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "mode %04o, owner %u:%u", static_cast<unsigned>(st.st_mode & 07777),
                  static_cast<unsigned>(st.st_uid), static_cast<unsigned>(st.st_gid));
    return buf;
}

struct checker {
    context& c;
    const account& who;
    std::string user;
    std::set<std::string> seen;          // paths checked
    std::map<std::string, bool> dirs;    // directory -> searchable

    // Every directory above `path` must let the user in; reported once each.
    bool can_reach(const stdfs::path& path, const inventory::source_location& at) {
        stdfs::path dir;
        for (const auto& part : path.parent_path()) {
            dir /= part;
            const auto key = dir.string();
            auto it = dirs.find(key);
            if (it == dirs.end()) {
                struct stat st {};
                const bool ok = ::stat(key.c_str(), &st) != 0 || allowed(st, who, want_search);
                it = dirs.emplace(key, ok).first;
                if (!ok)
                    c.add(severity::error, at, "permissions",
                          "Directory " + key + " cannot be entered by server.user " + user + " (" + mode_of(st) +
                              "), so nothing under it can be served, " + path.string() + " included.",
                          "chmod o+x " + key);
            }
            if (!it->second) return false;
        }
        return true;
    }

    void check(const served_path& p) {
        if (!seen.insert(p.path).second) return;
        struct stat st {};
        if (::stat(p.path.c_str(), &st) != 0) return;  // missing: the loader reports it
        if (!can_reach(p.path, p.where)) return;
        const bool dir = S_ISDIR(st.st_mode);
        if (!allowed(st, who, dir ? want_read | want_search : want_read)) {
            c.add(severity::error, p.where, "permissions",
                  (dir ? "Directory " : "File ") + p.path + " is not readable by server.user " + user + " (" +
                      mode_of(st) + "), so requests for it are refused.",
                  dir ? "chmod o+rx " + p.path : "chmod o+r " + p.path);
            return;
        }
        if (p.tree && dir) walk(p);
    }

    void walk(const served_path& p) {
        std::vector<std::string> shown;
        std::size_t bad = 0, entries = 0;
        std::error_code ec;
        for (stdfs::recursive_directory_iterator it(p.path, stdfs::directory_options::skip_permission_denied, ec), end;
             !ec && it != end; it.increment(ec)) {
            if (++entries > tree_walk_cap) {
                c.notes.push_back("permissions: stopped after " + std::to_string(tree_walk_cap) + " entries of " +
                                  p.path + ".");
                break;
            }
            struct stat st {};
            if (::stat(it->path().c_str(), &st) != 0) continue;
            const bool dir = S_ISDIR(st.st_mode);
            if (!dir && !S_ISREG(st.st_mode)) continue;
            if (allowed(st, who, dir ? want_read | want_search : want_read)) continue;
            if (++bad <= shown_per_tree) shown.push_back(it->path().string() + " (" + mode_of(st) + ")");
        }
        if (!bad) return;
        std::string list;
        for (const auto& s : shown) list += (list.empty() ? "" : ", ") + s;
        c.add(severity::error, p.where, "permissions",
              std::to_string(bad) + " file(s) or directories of " + p.path + " are not readable by server.user " + user +
                  ", so installs that need them fail: " + list + (bad > shown.size() ? ", ..." : "") + ".",
              "chmod -R o+rX " + p.path);
    }
};

}  // namespace

void check_permissions(context& c) {
    const auto& s = c.site;
    if (s.server.user.empty()) {
        c.notes.push_back("permissions not checked: server.user is not set, so pxed keeps the user it was started as.");
        return;
    }
    const auto who = c.opts.offline ? std::nullopt : c.host.find_account(s.server.user);
    if (!who) {
        if (c.opts.offline)
            c.notes.push_back("permissions not checked (--offline): server.user '" + s.server.user +
                              "' is looked up on the provisioning host.");
        else
            c.add(severity::error, c.where.find({"server", "user"}), "permissions",
                  "server.user '" + s.server.user + "' is not an account on this machine, so pxed cannot drop its "
                  "privileges to it.",
                  "create it (useradd --system --no-create-home " + s.server.user + ") or correct server.user");
        return;
    }
    checker ck{c, *who, s.server.user, {}, {}};
    std::vector<served_path> all = c.served;
    const stdfs::path root = s.server.tftp.root;
    if (s.server.tftp.enabled && !root.empty()) {
        all.insert(all.begin(), {root.string(), c.where.find({"server", "tftp", "root"}), false});
        // A kernel or initrd taken from its tree is checked with the tree.
        for (const auto& [name, p] : s.profiles) {
            if (!p.kernel.empty() && !p.kernel_from_tree) all.push_back({(root / p.kernel).string(), c.where.find({"profiles", name, "kernel"}), false});
            if (!p.initrd.empty() && !p.initrd_from_tree) all.push_back({(root / p.initrd).string(), c.where.find({"profiles", name, "initrd"}), false});
        }
    }
    for (const auto& [name, t] : s.trees) {
        auto at = c.where.find({"trees", name, "path"});
        if (at.line == 0) at = t.where;
        all.push_back({t.path, at, true});
    }
    for (const auto& p : all) ck.check(p);
}

}  // namespace pxed::doctor::detail
