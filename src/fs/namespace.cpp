#include "pxed/fs/namespace.hpp"

#include "pxed/wire/ipv4.hpp"
#include "pxed/wire/text.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <stdexcept>
#include <system_error>

namespace pxed::fs {

void unique_fd::reset(int fd) noexcept {
    if (fd_ >= 0 && fd_ != fd) ::close(fd_);
    fd_ = fd;
}

std::string_view to_string(errc code) {
    switch (code) {
    case errc::not_found: return "not found";
    case errc::invalid_path: return "invalid path";
    case errc::access_denied: return "access denied";
    case errc::is_directory: return "is a directory";
    case errc::not_a_directory: return "not a directory";
    case errc::io_error: return "i/o error";
    }
    return "unknown error";
}

struct file_namespace::target {
    node_kind kind = node_kind::directory;
    document doc;                        // kind == document
    const mount_point* mount = nullptr;  // set when a real file or directory is behind it
    std::string canonical;
    struct ::stat st {};                 // zero for directories implied by mounts or documents
    std::string instead;                 // a refused document served as this one (release::instead)
};

namespace {

using entry_map = std::map<std::string, dir_entry, std::less<>>;

// Messages go to the operator's log, so they name the request (escaped: it
// comes from the wire) and never the server-side path it resolved to.
error fail(errc code, std::string_view path, std::string_view reason) {
    std::string message = "\"" + wire::escape_for_log(path) + "\": ";
    message.append(reason.data(), reason.size());
    return error{code, std::move(message)};
}

std::string mount_name(std::string_view prefix) {
    return "mount \"/" + wire::escape_for_log(prefix) + "\"";
}

error from_errno(int e, std::string_view path) {
    switch (e) {
    case ENOENT:
    case ENOTDIR: return fail(errc::not_found, path, "not found");
    case EACCES:
    case EPERM: return fail(errc::access_denied, path, "permission denied");
    case ELOOP: return fail(errc::access_denied, path, "symbolic link loop");
    case ENXIO:
    case ENODEV: return fail(errc::access_denied, path, "not a regular file or directory");
    case ENAMETOOLONG: return fail(errc::invalid_path, path, "resolved path too long");
    default: return fail(errc::io_error, path, std::generic_category().message(e));
    }
}

// Whether `path` is `prefix` or lies below it, by whole components:
// "pub/centos" covers "pub/centos/7" but not "pub/centosfoo".
bool within_prefix(std::string_view path, std::string_view prefix) {
    if (prefix.empty()) return true;
    return path.size() >= prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
           (path.size() == prefix.size() || path[prefix.size()] == '/');
}

// Precondition: within_prefix(path, prefix).
std::string_view relative_to(std::string_view path, std::string_view prefix) {
    if (prefix.empty()) return path;
    if (path.size() == prefix.size()) return {};
    return path.substr(prefix.size() + 1);
}

// For canonical absolute paths; a root of "/" holds everything.
bool inside_root(std::string_view canonical, std::string_view root) {
    if (root == "/") return true;
    return within_prefix(canonical, root);
}

std::string join(std::string_view dir, std::string_view name) {
    std::string out(dir);
    if (name.empty()) return out;
    if (!out.empty() && out.back() != '/') out += '/';
    out.append(name.data(), name.size());
    return out;
}

std::int64_t mtime_of(const struct ::stat& st) { return static_cast<std::int64_t>(st.st_mtime); }

// A directory entry a client could actually ask for: normalize() would keep
// it as exactly this one component. A name holding `\` or a control
// character is unreachable, so listing it would only mislead.
bool is_requestable_name(std::string_view name) {
    if (name.empty()) return false;
    const auto n = file_namespace::normalize(name);
    return n && *n == name;
}

// A file mount's root is the file itself: confinement by prefix then admits
// that one file and nothing below it (a lookup under it is ENOTDIR).
std::optional<std::string> canonical_root(const std::string& root, bool file) {
    if (root.empty()) return std::nullopt;
    std::unique_ptr<char, decltype(&std::free)> real(::realpath(root.c_str(), nullptr), &std::free);
    if (!real) return std::nullopt;
    struct ::stat st {};
    if (::stat(real.get(), &st) != 0 || !(file ? S_ISREG(st.st_mode) : S_ISDIR(st.st_mode))) return std::nullopt;
    return std::string(real.get());
}

struct real_node {
    std::string canonical;
    struct ::stat st;
};

// Whether the deepest ancestor of `candidate` (an absolute path under `root`)
// that realpath() can resolve lies outside `root`: the lookup failed (EACCES,
// ELOOP) somewhere a symlink had already taken it out of the root.
bool fails_outside(const std::string& candidate, const std::string& root) {
    std::string p = candidate;
    for (;;) {
        const auto slash = p.rfind('/');
        if (slash == std::string::npos || slash == 0) return false;
        p.resize(slash);
        if (p.size() <= root.size()) return false;  // back at the root
        std::unique_ptr<char, decltype(&std::free)> real(::realpath(p.c_str(), nullptr), &std::free);
        if (real) return !inside_root(real.get(), root);
    }
}

// Confinement by realpath(): symlinks inside a root that land inside the same
// root are fine (install trees and TFTP roots are full of them); anything
// that lands outside is refused, however it got there.
result<real_node> resolve_real(const std::optional<std::string>& root, std::string_view prefix,
                               std::string_view rel, std::string_view path) {
    if (!root) return fail(errc::not_found, path, mount_name(prefix) + " has no usable root");
    const std::string candidate = join(*root, rel);
    std::unique_ptr<char, decltype(&std::free)> real(::realpath(candidate.c_str(), nullptr), &std::free);
    // Past a symlink out of the root, every answer is "not found": 403 for
    // what exists out there and 404 for what does not would let a client
    // map the server's disk (issue 16). The log still says which it was.
    if (!real) {
        const int e = errno;
        if (e != ENOENT && e != ENOTDIR && fails_outside(candidate, *root))
            return fail(errc::not_found, path, "resolves outside " + mount_name(prefix));
        return from_errno(e, path);
    }
    real_node node{real.get(), {}};
    if (!inside_root(node.canonical, *root)) {
        return fail(errc::not_found, path, "resolves outside " + mount_name(prefix));
    }
    // lstat: the canonical path has no symlinks left, so one here was swapped in.
    if (::lstat(node.canonical.c_str(), &node.st) != 0) return from_errno(errno, path);
    if (!S_ISREG(node.st.st_mode) && !S_ISDIR(node.st.st_mode)) {
        return fail(errc::access_denied, path, "not a regular file or directory");
    }
    return node;
}

// realpath() and open() are two separate lookups: whoever can write inside a
// root could swap a component for a symlink in between. openat2() with
// RESOLVE_BENEATH would close that, but needs Linux 5.6 and we support 3.10.
// Instead, once the fd is open, ask the kernel where it really is. Without
// /proc (a chroot) only the realpath() check remains; roots belong to the
// admin, so that residual race is accepted.
std::optional<error> confirm_inside(int fd, const std::string& root, std::string_view path) {
    char link[48];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    std::string where(PATH_MAX + 1, '\0');
    const ssize_t n = ::readlink(link, &where[0], where.size());
    if (n < 0) {
        if (errno == ENOENT) return std::nullopt;
        return from_errno(errno, path);
    }
    if (static_cast<std::size_t>(n) >= where.size()) {
        return fail(errc::access_denied, path, "cannot confirm where the file is");
    }
    where.resize(static_cast<std::size_t>(n));
    if (!inside_root(where, root)) return fail(errc::access_denied, path, "moved outside its mount while opening");
    return std::nullopt;
}

result<opened_file> open_regular(const std::string& canonical, const std::string& root, std::string_view path) {
    // O_NOFOLLOW: the canonical path has no symlinks, so one here was swapped
    // in after realpath(). O_NONBLOCK: a fifo swapped in after the lstat()
    // must not hang a server thread waiting for a writer. O_NOCTTY: nor may
    // a terminal become our controlling tty.
    unique_fd fd{::open(canonical.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)};
    if (!fd) {
        if (errno == ELOOP) return fail(errc::access_denied, path, "became a symbolic link while opening");
        return from_errno(errno, path);
    }
    struct ::stat st {};
    if (::fstat(fd.get(), &st) != 0) return from_errno(errno, path);
    if (S_ISDIR(st.st_mode)) return fail(errc::is_directory, path, "is a directory");
    if (!S_ISREG(st.st_mode)) return fail(errc::access_denied, path, "not a regular file");
    if (auto e = confirm_inside(fd.get(), root, path)) return std::move(*e);
    // Regular files ignore O_NONBLOCK, but code that later inspects the
    // flags (Asio's stream descriptors do) should see an ordinary fd.
    const int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags >= 0) ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
    return opened_file{std::move(fd), static_cast<std::int64_t>(st.st_size), mtime_of(st)};
}

// Entries of a real directory that is already confined to `root`.
std::optional<error> read_real_dir(const std::string& canonical, const std::string& root, std::string_view prefix,
                                   const std::string& path, entry_map& out) {
    unique_fd fd{::open(canonical.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)};
    if (!fd) return from_errno(errno, path);
    if (auto e = confirm_inside(fd.get(), root, path)) return e;
    DIR* raw = ::fdopendir(fd.get());
    if (!raw) return from_errno(errno, path);
    fd.release();
    const std::unique_ptr<DIR, int (*)(DIR*)> dir(raw, &::closedir);
    const std::string_view rel = relative_to(path, prefix);

    for (;;) {
        errno = 0;
        const dirent* e = ::readdir(dir.get());
        if (!e) {
            if (errno != 0) return from_errno(errno, path);
            return std::nullopt;
        }
        const std::string_view name = e->d_name;
        if (!is_requestable_name(name)) continue;
        struct ::stat st {};
        if (::fstatat(::dirfd(dir.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
        if (S_ISLNK(st.st_mode)) {
            // Only what a client could fetch: escapes, loops and dangling links stay out.
            auto real = resolve_real(root, prefix, join(rel, name), join(path, name));
            if (!real) continue;
            st = real->st;
        }
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) continue;
        const bool is_dir = S_ISDIR(st.st_mode);
        out.emplace(std::string(name),
                    dir_entry{std::string(name), is_dir, is_dir ? 0 : static_cast<std::int64_t>(st.st_size),
                              mtime_of(st)});
    }
}

}  // namespace

file_namespace::file_namespace(std::vector<mount> mounts, std::shared_ptr<const document_source> documents)
    : documents_(std::move(documents)) {
    for (const mount& m : mounts) {
        auto prefix = normalize(m.prefix);
        if (!prefix) throw std::invalid_argument("bad mount prefix " + prefix.error().message);
        const bool duplicate = std::any_of(mounts_.begin(), mounts_.end(),
                                           [&](const mount_point& p) { return p.prefix == *prefix; });
        if (duplicate) throw std::invalid_argument(mount_name(*prefix) + " is configured twice");
        if (m.file && prefix->empty()) throw std::invalid_argument("a file cannot be mounted at the top");
        mounts_.push_back(mount_point{std::move(*prefix), canonical_root(m.root, m.file), m.file});
    }
    std::stable_sort(mounts_.begin(), mounts_.end(), [](const mount_point& a, const mount_point& b) {
        return a.prefix.size() > b.prefix.size();
    });
}

result<std::string> file_namespace::normalize(std::string_view request) {
    if (request.size() > max_path_length) {
        return fail(errc::invalid_path, request, "longer than " + std::to_string(max_path_length) + " bytes");
    }
    for (std::size_t i = 0; i < request.size(); ++i) {
        const auto c = static_cast<unsigned char>(request[i]);
        // A NUL would cut the C string handed to the kernel: "a.cfg\0.txt" must
        // not quietly become "a.cfg".
        if (c == 0) return fail(errc::invalid_path, request, "NUL byte at offset " + std::to_string(i));
        if (c < 0x20 || c == 0x7f) {
            return fail(errc::invalid_path, request, "control character at offset " + std::to_string(i));
        }
    }
    std::string out;
    out.reserve(request.size());
    std::size_t pos = 0;
    while (pos < request.size()) {
        // `\` separates too: WDS (wdsnbp.com, bootmgr) and other PXE clients
        // from the Windows world ask for `boot\x86\wdsnbp.com`. Real file
        // names under a boot root never contain a backslash.
        std::size_t end = request.find_first_of("/\\", pos);
        if (end == std::string_view::npos) end = request.size();
        const std::string_view component = request.substr(pos, end - pos);
        pos = end + 1;
        if (component.empty() || component == ".") continue;
        // Refused rather than resolved lexically: no legitimate client needs
        // it, and every directory-traversal attack does.
        if (component == "..") return fail(errc::access_denied, request, "\"..\" component");
        if (component.size() > max_component_length) {
            return fail(errc::invalid_path, request,
                        "component longer than " + std::to_string(max_component_length) + " bytes");
        }
        if (!out.empty()) out += '/';
        out.append(component.data(), component.size());
    }
    return out;
}

const file_namespace::mount_point* file_namespace::mount_for(std::string_view path) const {
    for (const mount_point& m : mounts_) {
        if (within_prefix(path, m.prefix)) return &m;  // longest first
    }
    return nullptr;
}

bool file_namespace::implied_by_mounts(std::string_view path) const {
    return std::any_of(mounts_.begin(), mounts_.end(), [&](const mount_point& m) {
        return m.prefix.size() > path.size() && within_prefix(m.prefix, path);
    });
}

// `who` null: a listing's own lookups, which never reach host documents.
auto file_namespace::locate(const std::string& path, const client* who) const -> result<target> {
    target t;
    // Rendered documents win over real files: pxed owns those paths, and a
    // stale hand-written pxelinux.cfg/default left over from a previous
    // setup must not silently shadow the inventory. real_file_exists() lets
    // the config checker warn about such files.
    if (documents_ && !path.empty()) {
        if (who) {
            auto r = documents_->check(path, *who);
            if (r.what == release::hide && !r.instead.empty()) {
                // What an unknown name would get; the log still says why.
                if (auto doc = documents_->find(r.instead)) {
                    t.kind = node_kind::document;
                    t.doc = std::move(*doc);
                    t.instead = std::move(r.instead);
                    return t;
                }
            }
            if (r.what == release::hide) return fail(errc::not_found, path, "refused: " + r.reason);
            if (r.what == release::refuse) return fail(errc::access_denied, path, "refused: " + r.reason);
        }
        if (auto doc = documents_->find(path)) {
            t.kind = node_kind::document;
            t.doc = std::move(*doc);
            return t;
        }
    }
    // Like a kernel mount point: a path above a deeper mount is a directory
    // whatever the parent root holds there ("" always is).
    const bool implied = path.empty() || implied_by_mounts(path);
    std::optional<error> miss;
    if (const mount_point* m = mount_for(path)) {
        auto real = resolve_real(m->root, m->prefix, relative_to(path, m->prefix), path);
        if (real) {
            const bool is_dir = S_ISDIR(real->st.st_mode);
            if (is_dir || !implied) {
                t.kind = is_dir ? node_kind::directory : node_kind::file;
                t.mount = m;
                t.canonical = std::move(real->canonical);
                t.st = real->st;
                return t;
            }
        } else if (real.error().code != errc::not_found && !implied) {
            return real.error();
        } else {
            miss = real.error();
        }
    }
    if (implied || (documents_ && !documents_->list(path).empty())) {
        t.kind = node_kind::directory;
        return t;
    }
    if (miss) return std::move(*miss);
    return fail(errc::not_found, path, "not under any mount");
}

result<node_info> file_namespace::stat(std::string_view request, const client& who) const {
    auto path = normalize(request);
    if (!path) return path.error();
    auto t = locate(*path, &who);
    if (!t) return t.error();
    node_info info;
    info.path = std::move(*path);
    info.kind = t->kind;
    if (t->kind == node_kind::document) {
        info.size = t->doc.body ? static_cast<std::int64_t>(t->doc.body->size()) : 0;
        info.mtime = t->doc.mtime;
        info.content_type = t->doc.content_type;
    } else {
        info.size = t->kind == node_kind::file ? static_cast<std::int64_t>(t->st.st_size) : 0;
        info.mtime = mtime_of(t->st);
    }
    return info;
}

result<opened> file_namespace::open(std::string_view request, const client& who, bool peek) const {
    auto path = normalize(request);
    if (!path) return path.error();
    auto t = locate(*path, &who);
    if (!t) return t.error();
    switch (t->kind) {
    case node_kind::document:
    {
        // A stand-in is what was sent: the refused host's fetch is no fetch.
        auto source = t->instead.empty() ? *path : t->instead;
        if (!peek) documents_->opened(source);
        return opened{std::move(*path), std::move(source), std::move(t->doc)};
    }
    case node_kind::directory: return fail(errc::is_directory, *path, "is a directory");
    case node_kind::file: break;
    }
    auto file = open_regular(t->canonical, *t->mount->root, *path);
    if (!file) return file.error();
    return opened{std::move(*path), {}, std::move(*file)};
}

result<std::vector<dir_entry>> file_namespace::list(std::string_view request) const {
    auto normalized = normalize(request);
    if (!normalized) return normalized.error();
    const std::string& path = *normalized;
    auto t = locate(path, nullptr);
    if (!t) return t.error();
    if (t->kind != node_kind::directory) return fail(errc::not_a_directory, path, "not a directory");

    // Same precedence as locate(): documents, then directories implied by
    // mounts, then the real directory, then directories that only the
    // document source knows (a real file of that name wins in locate() too).
    // emplace() keeps the first entry of a name.
    entry_map merged;
    std::vector<std::string> document_dirs;
    if (documents_) {
        for (const std::string& listed : documents_->list(path)) {
            std::string_view name = listed;
            const bool is_dir = !name.empty() && name.back() == '/';
            if (is_dir) name.remove_suffix(1);
            if (!is_requestable_name(name)) continue;
            if (is_dir) {
                document_dirs.emplace_back(name);
                continue;
            }
            // Listed but not found: do not show what cannot be fetched.
            const auto doc = documents_->find(join(path, name));
            if (!doc) continue;
            const std::int64_t size = doc->body ? static_cast<std::int64_t>(doc->body->size()) : 0;
            merged.emplace(std::string(name), dir_entry{std::string(name), false, size, doc->mtime});
        }
    }
    for (const mount_point& m : mounts_) {
        if (m.prefix.size() <= path.size() || !within_prefix(m.prefix, path)) continue;
        const std::string_view rest = relative_to(m.prefix, path);
        const std::string_view child = rest.substr(0, rest.find('/'));
        if (merged.count(child) != 0) continue;
        const auto sub = locate(join(path, child), nullptr);
        if (sub && sub->kind == node_kind::file) {  // a file mount
            merged.emplace(std::string(child), dir_entry{std::string(child), false,
                                                         static_cast<std::int64_t>(sub->st.st_size), mtime_of(sub->st)});
            continue;
        }
        const std::int64_t mtime = sub && sub->kind == node_kind::directory ? mtime_of(sub->st) : 0;
        merged.emplace(std::string(child), dir_entry{std::string(child), true, 0, mtime});
    }
    std::optional<error> real_error;
    if (t->mount) real_error = read_real_dir(t->canonical, *t->mount->root, t->mount->prefix, path, merged);
    for (std::string& name : document_dirs) {
        merged.emplace(name, dir_entry{name, true, 0, 0});
    }
    // An unreadable real directory still lists what pxed itself provides.
    if (real_error && merged.empty()) return std::move(*real_error);

    std::vector<dir_entry> entries;
    entries.reserve(merged.size());
    for (auto& kv : merged) {
        // Real names the source keeps out of sight (a leftover
        // pxelinux.cfg/01-<mac> would tell which hosts exist).
        if (documents_ && documents_->hidden_from_listings(join(path, kv.first))) continue;
        entries.push_back(std::move(kv.second));
    }
    return entries;
}

std::string client::address_text() const {
    return ipv4 ? wire::ipv4_address{*ipv4}.to_string() : std::string("(no address)");
}

void file_namespace::fetched(std::string_view document_path) const {
    if (documents_ && !document_path.empty()) documents_->opened(document_path);
}

bool file_namespace::real_file_exists(std::string_view request) const {
    const auto path = normalize(request);
    if (!path) return false;
    const mount_point* m = mount_for(*path);
    if (!m) return false;
    const auto real = resolve_real(m->root, m->prefix, relative_to(*path, m->prefix), *path);
    return real && S_ISREG(real->st.st_mode);
}

bool file_namespace::real_directory_exists(std::string_view request) const {
    const auto path = normalize(request);
    if (!path) return false;
    const mount_point* m = mount_for(*path);
    if (!m) return false;
    const auto real = resolve_real(m->root, m->prefix, relative_to(*path, m->prefix), *path);
    return real && S_ISDIR(real->st.st_mode);
}

}  // namespace pxed::fs
