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
#include <filesystem>
#include <sstream>

#include "pxed/net/control_server.hpp"
#include "pxed/store/hosts.hpp"
#include "pxed/store/leases.hpp"
#include "pxed/store/trace.hpp"

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

// pxed's files in its state directory; nothing else there is touched.
const std::vector<std::string>& state_file_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> n;
        for (const char* db : {store::host_file_name, store::lease_file_name, store::trace_file_name})
            for (const char* suffix : {"", "-wal", "-shm", "-journal"}) n.push_back(std::string(db) + suffix);
        n.push_back(net::control_socket_name);
        return n;
    }();
    return names;
}

struct fd_closer {
    int fd;
    ~fd_closer() {
        if (fd >= 0) ::close(fd);
    }
};

std::string uid_text(uid_t uid) {
    if (uid == 0) return "root";
    return "uid " + std::to_string(uid);
}

// The last component is never followed: state_dir pointing at a symlink is
// refused, not resolved (a link there handed its target, such as a root
// directory, to the service user).
int open_dir_nofollow(const std::string& dir, std::string& error) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) return fd;
    const int err = errno;
    struct stat st{};
    if (::lstat(dir.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
        error = "state directory " + dir + " is a symbolic link: pxed does not follow links there; set server.state_dir "
                "to the real directory";
    else if (err == ENOTDIR)
        error = "state directory " + dir + " is not a directory";
    else {
        errno = err;
        error = errno_text(("cannot open state directory " + dir).c_str());
    }
    errno = err;
    return -1;
}

// Whether the directory holds anything but pxed's own names.
std::string foreign_entry(int dfd) {
    const int list_fd = ::dup(dfd);
    if (list_fd < 0) return {};
    DIR* d = ::fdopendir(list_fd);
    if (!d) {
        ::close(list_fd);
        return {};
    }
    std::string found;
    while (const dirent* e = ::readdir(d)) {
        const std::string_view name = e->d_name;
        if (name == "." || name == ".." || is_state_file_name(name)) continue;
        found = name;
        break;
    }
    ::closedir(d);
    return found;
}

// Everything prepare_state_dir() promises, on an open directory.
std::string check_state_dir(int dfd, const std::string& dir, uid_t owner) {
    struct stat st{};
    if (::fstat(dfd, &st) != 0) return errno_text(("cannot stat " + dir).c_str());
    const bool hand_over = ::geteuid() == 0 && owner != 0;
    if (st.st_uid != owner && !(st.st_uid == 0 && hand_over))
        return "state directory " + dir + " belongs to " + uid_text(st.st_uid) + ", not " + uid_text(owner) +
               " that pxed runs as: refusing to use it; chown it to " + uid_text(owner) +
               " if it is pxed's, or set server.state_dir to a directory of pxed's own";
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return "state directory " + dir + " is writable by " + ((st.st_mode & S_IWOTH) ? "everyone" : "its group") +
               ": another user could plant links there; chmod go-w " + dir;
    if (st.st_uid == 0 && hand_over) {
        // pxed's own directory, created by root (by pxed, or by hand): it is
        // handed over at the drop. One holding anything else is somebody
        // else's (state_dir: /var/lib) and is not pxed's to give away.
        if (const auto other = foreign_entry(dfd); !other.empty())
            return "state directory " + dir + " belongs to root and holds " + other +
                   ", which is not pxed's: not handing it to " + uid_text(owner) +
                   "; set server.state_dir to a directory of pxed's own, or chown it yourself";
    }
    for (const auto& name : state_file_names()) {
        const std::string path = dir + "/" + name;
        struct stat fs{};
        if (::fstatat(dfd, name.c_str(), &fs, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue;
            return errno_text(("cannot stat " + path).c_str());
        }
        const bool socket = name == net::control_socket_name;
        if (S_ISLNK(fs.st_mode))
            return path + " is a symbolic link: pxed never follows links in its state directory (opened as root, "
                          "that would write wherever it points); remove it";
        if (socket ? !S_ISSOCK(fs.st_mode) : !S_ISREG(fs.st_mode))
            return path + " is not a " + (socket ? "socket" : "regular file") + ": remove it";
        if (fs.st_nlink != 1)
            return path + " has " + std::to_string(fs.st_nlink) +
                   " links: a hard link shares its file with another name, which pxed would write to (and hand to " +
                   uid_text(owner) + "); remove it and let pxed make its own";
        if (fs.st_uid != owner && !(fs.st_uid == 0 && hand_over))
            return path + " belongs to " + uid_text(fs.st_uid) + ", not " + uid_text(owner) +
                   " that pxed runs as: refusing to use it; remove it or chown it to " + uid_text(owner) +
                   " if it is pxed's";
    }
    return {};
}

// The directory, if root's, and pxed's root-owned regular files in it go to
// the account; each file is opened without following a link and checked
// (regular, one link) on the descriptor that is then changed, so nothing is
// swapped in between. The control socket stays root's (see daemon.cpp).
std::string give_state_dir(const std::string& dir, const account& a) {
    std::string error;
    const int dfd = open_dir_nofollow(dir, error);
    if (dfd < 0) return error;
    fd_closer dfd_closer{dfd};
    if (auto e = check_state_dir(dfd, dir, a.uid); !e.empty()) return e;

    for (const auto& name : state_file_names()) {
        if (name == net::control_socket_name) continue;
        const std::string path = dir + "/" + name;
        const int fd = ::openat(dfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT) continue;
            return errno_text(("cannot open " + path).c_str());
        }
        fd_closer closer{fd};
        struct stat st{};
        if (::fstat(fd, &st) != 0) return errno_text(("cannot stat " + path).c_str());
        if (st.st_uid != 0) continue;  // the account's already (check_state_dir allowed no one else)
        if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
            return path + " changed while pxed started (now not a regular file with one link): not handing it over";
        if (::fchown(fd, a.uid, a.gid) != 0) return errno_text(("cannot chown " + path).c_str());
    }
    struct stat st{};
    if (::fstat(dfd, &st) != 0) return errno_text(("cannot stat " + dir).c_str());
    if (st.st_uid == 0 && ::fchown(dfd, a.uid, a.gid) != 0) return errno_text(("cannot chown " + dir).c_str());
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

bool is_state_file_name(std::string_view name) {
    const auto& names = state_file_names();
    return std::find(names.begin(), names.end(), name) != names.end();
}

std::string prepare_state_dir(const std::string& dir, uid_t owner) {
    std::string error;
    int dfd = open_dir_nofollow(dir, error);
    if (dfd < 0 && errno == ENOENT) {
        // The parents as any directory would be made; the last one is
        // pxed's own, with no access for others.
        const auto parent = std::filesystem::path(dir).parent_path();
        std::error_code ec;
        if (!parent.empty()) std::filesystem::create_directories(parent, ec);
        if (ec) return "cannot create " + parent.string() + ": " + ec.message();
        if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST)
            return errno_text(("cannot create state directory " + dir).c_str());
        error.clear();
        dfd = open_dir_nofollow(dir, error);
    }
    if (dfd < 0) return error;
    fd_closer closer{dfd};
    return check_state_dir(dfd, dir, owner);
}

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

    if (const auto e = give_state_dir(state_dir, *a); !e.empty()) {
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
