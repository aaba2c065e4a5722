#include "pxed/app/privileges.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pxed::app {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    for (;;) {
        const auto at = s.find(sep);
        out.push_back(s.substr(0, at));
        if (at == std::string_view::npos) return out;
        s.remove_prefix(at + 1);
    }
}

template <class F>
void for_each_line(std::string_view text, F&& f) {
    while (!text.empty()) {
        const auto nl = text.find('\n');
        f(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
}

template <class T>
bool parse_id(std::string_view s, T& out) {
    unsigned long long v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    // (uid_t)-1 is "no change" to setresuid(): never a real account.
    if (ec != std::errc() || end != s.data() + s.size() || s.empty() || v >= 0xffffffffULL) return false;
    out = static_cast<T>(v);
    return true;
}

bool read_file(const char* path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
}

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

std::string id_list(const std::vector<gid_t>& ids) {
    std::string s;
    for (const auto id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
    return s.empty() ? "none" : s;
}

// The directory and the root-owned files directly in it go to the account;
// nothing is followed through a symlink and nothing below is touched.
std::string give_state_dir(const std::string& dir, const account& a, std::vector<std::string>& warnings) {
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return errno_text(("cannot open state directory " + dir).c_str());
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } dfd_closer{dfd};

    struct stat st{};
    if (::fstat(dfd, &st) != 0) return errno_text(("cannot stat " + dir).c_str());
    if (st.st_uid != 0 && st.st_uid != a.uid) {
        warnings.push_back("state directory " + dir + " belongs to uid " + std::to_string(st.st_uid) + ", not root or " +
                           a.name + ": left as it is");
        return {};
    }

    std::vector<std::string> root_files;
    bool has_subdirs = false;
    const int list_fd = ::dup(dfd);
    if (list_fd < 0) return errno_text("dup");
    DIR* d = ::fdopendir(list_fd);
    if (!d) {
        ::close(list_fd);
        return errno_text(("cannot list " + dir).c_str());
    }
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        struct stat es{};
        if (::fstatat(dfd, name.c_str(), &es, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISDIR(es.st_mode)) has_subdirs = true;
        if (S_ISREG(es.st_mode) && es.st_uid == 0) root_files.push_back(name);
        if (S_ISREG(es.st_mode) && es.st_uid != 0 && es.st_uid != a.uid)
            warnings.push_back(dir + "/" + name + " belongs to uid " + std::to_string(es.st_uid) + ": left as it is");
    }
    ::closedir(d);

    if (st.st_uid == 0) {
        // pxed's own state directory holds files (leases); one holding
        // directories is somebody else's (state_dir: /var/lib) and is not
        // pxed's to give away.
        if (has_subdirs)
            return "state directory " + dir + " belongs to root and holds subdirectories: not handing it to " + a.name +
                   "; point server.state_dir at a directory of pxed's own, or chown it to " + a.name + " yourself";
        if (::fchown(dfd, a.uid, a.gid) != 0) return errno_text(("cannot chown " + dir).c_str());
    }
    for (const auto& name : root_files)
        if (::fchownat(dfd, name.c_str(), a.uid, a.gid, AT_SYMLINK_NOFOLLOW) != 0)
            return errno_text(("cannot chown " + dir + "/" + name).c_str());
    return {};
}

// capget(2) directly: the fallback when /proc is not there to read.
bool kernel_capabilities(std::uint64_t& permitted, std::uint64_t& effective) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capget, &header, data) != 0) return false;
    permitted = data[0].permitted | (std::uint64_t{data[1].permitted} << 32);
    effective = data[0].effective | (std::uint64_t{data[1].effective} << 32);
    return true;
}

// Everything that must hold after the drop; an empty string when it does.
std::string verify_dropped(const account& a) {
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    if (::getresuid(&ruid, &euid, &suid) != 0 || ruid != a.uid || euid != a.uid || suid != a.uid)
        return "user ids are not all " + std::to_string(a.uid) + " after setresuid";
    if (::getresgid(&rgid, &egid, &sgid) != 0 || rgid != a.gid || egid != a.gid || sgid != a.gid)
        return "group ids are not all " + std::to_string(a.gid) + " after setresgid";
    // The proof that root is gone for good: asking for it back must fail.
    if (::setuid(0) == 0 || ::seteuid(0) == 0) return "setuid(0) succeeded after the drop";
    if (::setgid(0) == 0 || ::setegid(0) == 0) return "setgid(0) succeeded after the drop";

    std::uint64_t prm = 0, eff = 0, amb = 0;
    std::vector<gid_t> groups;
    if (const auto c = own_credentials()) {
        prm = c->cap_prm, eff = c->cap_eff, amb = c->cap_amb;
        groups = c->groups;
    } else {
        if (!kernel_capabilities(prm, eff)) return errno_text("capget");
        const int n = ::getgroups(0, nullptr);
        groups.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        if (n > 0 && ::getgroups(n, groups.data()) != n) return errno_text("getgroups");
    }
    if (prm != 0 || eff != 0 || amb != 0) {
        char buf[128];
        std::snprintf(buf, sizeof buf, "capabilities left after the drop: CapPrm %016llx CapEff %016llx CapAmb %016llx",
                      static_cast<unsigned long long>(prm), static_cast<unsigned long long>(eff),
                      static_cast<unsigned long long>(amb));
        return buf;
    }
    auto want = a.groups;
    std::sort(want.begin(), want.end());
    std::sort(groups.begin(), groups.end());
    if (groups != want) return "supplementary groups are " + id_list(groups) + ", not " + id_list(want);
    return {};
}

}  // namespace

std::optional<account> find_account(std::string_view passwd, std::string_view group, std::string_view name) {
    if (name.empty()) return std::nullopt;
    std::optional<account> found;
    for_each_line(passwd, [&](std::string_view line) {
        if (found) return;
        const auto f = split(line, ':');
        // name:password:uid:gid:gecos:home:shell. "+"/"-" lines are NIS
        // compat entries, not accounts.
        if (f.size() < 7 || f[0] != name) return;
        account a;
        a.name = std::string(name);
        if (!parse_id(f[2], a.uid) || !parse_id(f[3], a.gid)) return;
        found = std::move(a);
    });
    if (!found) return std::nullopt;
    found->groups.push_back(found->gid);
    for_each_line(group, [&](std::string_view line) {
        const auto f = split(line, ':');  // name:password:gid:member,member
        if (f.size() < 4 || f[3].empty()) return;
        gid_t gid = 0;
        if (!parse_id(f[2], gid)) return;
        for (const auto member : split(f[3], ',')) {
            if (member == name && std::find(found->groups.begin(), found->groups.end(), gid) == found->groups.end()) {
                found->groups.push_back(gid);
                break;
            }
        }
    });
    return found;
}

std::optional<account> lookup_account(std::string_view name, std::string& error) {
    std::string passwd, group;
    if (!read_file("/etc/passwd", passwd)) {
        error = errno_text("cannot read /etc/passwd");
        return std::nullopt;
    }
    // A missing /etc/group leaves the primary group only.
    read_file("/etc/group", group);
    auto a = find_account(passwd, group, name);
    if (!a) error = "no user '" + std::string(name) + "' in /etc/passwd";
    return a;
}

std::optional<process_credentials> parse_proc_status(std::string_view text) {
    process_credentials c;
    bool uid = false, gid = false, prm = false, eff = false;
    const auto ids = [](std::string_view v, auto (&out)[4]) {
        std::size_t n = 0;
        for (const auto f : split(v, '\t')) {
            if (f.empty()) continue;
            if (n == 4 || !parse_id(f, out[n])) return false;
            ++n;
        }
        return n == 4;
    };
    const auto hex = [](std::string_view v, std::uint64_t& out) {
        while (!v.empty() && (v.front() == '\t' || v.front() == ' ')) v.remove_prefix(1);
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out, 16);
        return ec == std::errc() && end == v.data() + v.size();
    };
    bool ok = true;
    for_each_line(text, [&](std::string_view line) {
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) return;
        const auto key = line.substr(0, colon);
        const auto v = line.substr(colon + 1);
        if (key == "Uid") ok = ok && (uid = ids(v, c.uid));
        else if (key == "Gid") ok = ok && (gid = ids(v, c.gid));
        else if (key == "CapInh") ok = ok && hex(v, c.cap_inh);
        else if (key == "CapPrm") ok = ok && (prm = hex(v, c.cap_prm));
        else if (key == "CapEff") ok = ok && (eff = hex(v, c.cap_eff));
        else if (key == "CapAmb") ok = ok && hex(v, c.cap_amb);
        else if (key == "Groups") {
            for (const auto f : split(v, ' ')) {
                auto g = f;
                while (!g.empty() && g.front() == '\t') g.remove_prefix(1);
                if (g.empty()) continue;
                gid_t id = 0;
                if (!parse_id(g, id)) ok = false;
                c.groups.push_back(id);
            }
        }
    });
    if (!ok || !uid || !gid || !prm || !eff) return std::nullopt;
    return c;
}

std::optional<process_credentials> own_credentials() {
    std::string text;
    if (!read_file("/proc/self/status", text)) return std::nullopt;
    return parse_proc_status(text);
}

drop_report drop_privileges(const std::string& user, const std::string& state_dir) {
    drop_report r;
    if (user.empty()) {
        // Root with every capability, serving a network of machines that may
        // be hostile: allowed (a lab, a container), never silently.
        if (::geteuid() == 0) {
            r.outcome = drop_outcome::stayed;
            r.message = "server.user is not set: pxed keeps running as root with every capability; set it to an "
                        "unprivileged user (the RPM's is pxed) so that a flaw in a server is not root's";
            return r;
        }
        r.outcome = drop_outcome::not_configured;
        return r;
    }
    if (::geteuid() != 0) {
        std::string error;
        const auto a = lookup_account(user, error);
        if (a && a->uid == ::geteuid()) {
            r.outcome = drop_outcome::not_configured;
            r.message = "running as " + user + " (uid " + std::to_string(a->uid) + ") already";
            return r;
        }
        r.outcome = drop_outcome::stayed;
        r.message = "server.user is '" + user + "' but pxed is not root (uid " + std::to_string(::geteuid()) +
                    "): cannot switch users, continuing as the current one";
        return r;
    }

    std::string error;
    const auto a = lookup_account(user, error);
    if (!a) {
        r.message = "server.user '" + user + "': " + error + "; refusing to keep running as root";
        return r;
    }
    if (a->uid == 0) {
        r.outcome = drop_outcome::stayed;
        r.message = "server.user '" + user + "' is uid 0: nothing to drop, pxed keeps running as root";
        return r;
    }

    if (const auto e = give_state_dir(state_dir, *a, r.warnings); !e.empty()) {
        r.message = e;
        return r;
    }
    // Groups first: once the uid is gone, so is the right to change them.
    if (::setgroups(a->groups.size(), a->groups.data()) != 0) {
        r.message = errno_text("setgroups");
        return r;
    }
    if (::setresgid(a->gid, a->gid, a->gid) != 0) {
        r.message = errno_text("setresgid");
        return r;
    }
    if (::setresuid(a->uid, a->uid, a->uid) != 0) {
        r.message = errno_text("setresuid");
        return r;
    }
    if (const auto e = verify_dropped(*a); !e.empty()) {
        r.message = "privilege drop not complete: " + e;
        return r;
    }
    r.outcome = drop_outcome::dropped;
    r.message = "dropped root: running as " + a->name + " (uid " + std::to_string(a->uid) + ", gid " +
                std::to_string(a->gid) + ", groups " + id_list(a->groups) + "), no capabilities left";
    return r;
}

}  // namespace pxed::app
