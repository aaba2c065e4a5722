#pragma once
/// One confined, read-only file namespace shared by the TFTP, HTTP and FTP
/// servers. A request path maps to a real file or directory under one of
/// several mounted roots, or to a document rendered by pxed itself.
///
/// Errors are values, never exceptions. The `errc` alone is what a server
/// shows to a client; the message is for the operator's log and never
/// contains a server-side absolute path.
///
/// Everything is const after construction and safe to call from several
/// threads at once (the document source must be thread-safe too).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pxed::fs {

enum class errc {
    not_found,
    invalid_path,     ///< NUL, control characters, too long: a malformed request.
    access_denied,    ///< `..`, escapes from a root, special files, unreadable files.
    is_directory,     ///< open() of a directory.
    not_a_directory,  ///< list() of a file or document.
    io_error,
};

/// `"not found"`, `"access denied"`, ...: a stable name for logs and tests.
std::string_view to_string(errc code);

struct error {
    errc code;
    /// For the operator's log: the escaped request path and the reason.
    std::string message;
};

/// A value or an error; a minimal `expected`.
template <typename T>
class result {
public:
    // Two overloads rather than one by value: under C++17 rules (GCC 8),
    // `return local;` into a result<T> only moves when a T&& constructor exists.
    result(const T& value) : value_(value) {}
    result(T&& value) : value_(std::move(value)) {}
    result(fs::error e) : error_{std::move(e)} {}

    bool has_value() const { return value_.has_value(); }
    explicit operator bool() const { return has_value(); }

    /// Precondition: has_value() (throws std::bad_optional_access otherwise).
    T& value() & { return value_.value(); }
    const T& value() const& { return value_.value(); }
    T&& value() && { return std::move(value_).value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    /// Meaningful only when !has_value().
    const fs::error& error() const { return error_; }

private:
    std::optional<T> value_;
    fs::error error_{errc::io_error, {}};
};

/// A namespace path `prefix` (no leading or trailing slash, "" = the top)
/// served from the directory `root` on disk; with `file`, `root` is one
/// regular file served at exactly `prefix` (boot.secure_boot's shim and
/// GRUB, straight from where their packages put them).
struct mount {
    std::string prefix;
    std::string root;
    bool file = false;
};

/// A file rendered in memory (pxelinux.cfg/<mac>, grub.cfg, iPXE scripts).
struct document {
    std::shared_ptr<const std::string> body;
    std::string content_type;
    std::int64_t mtime = 0;  ///< Unix seconds.
};

/// Who is asking for a path, as far as a server knows: what a document
/// source needs to decide whether a host's own documents may go to it
/// (docs/security.md). The default is an anonymous client: no address, no
/// token; a document source that guards host documents refuses it.
struct client {
    std::optional<std::uint32_t> ipv4;  ///< the peer's address, host byte order
    std::string token;                  ///< an HTTP request's `token=`; empty otherwise
    std::string protocol;               ///< "http", "ftp", "tftp", for logs

    /// "10.0.0.5", or "(no address)".
    std::string address_text() const;
    /// Whether the address could be anyone's: a UDP request (TFTP) names
    /// its source itself, a TCP peer has completed a handshake from it.
    bool forgeable_source() const { return protocol == "tftp"; }
};

/// Whether a document may go to a client. `hide` answers as if there were
/// no such document (boot loaders then fall back to the menu, and nothing
/// tells a prober that the MAC is known); `refuse` is access denied.
struct release {
    enum verdict { allow, hide, refuse } what = allow;
    std::string reason;  ///< for the operator's log: why not (never a secret)
    /// With `hide`: serve this path instead, as for a name the source does
    /// not know (iPXE's unknown MACs get the default script); "": not found.
    std::string instead;
};

/// Supplies rendered documents. Paths are always normalised: relative, no
/// leading slash, no `.`/`..`/empty components ("pxelinux.cfg/01-52-54-00-12-34-56").
/// Implementations must be safe to call from several threads.
class document_source {
public:
    virtual ~document_source() = default;

    virtual std::optional<document> find(std::string_view path) const = 0;

    /// Names directly inside `dir` ("" = the top), for listings. A name
    /// ending in `/` is a sub-directory that holds documents, so listings
    /// can show directories that exist only in the source. The namespace
    /// also treats `dir` as a directory when this returns anything.
    virtual std::vector<std::string> list(std::string_view dir) const = 0;

    /// Called when a server opens the document at `path` to send it (not
    /// for stat() or listings): how pxed learns that a host fetched its
    /// boot config or kickstart. Runs on the caller's thread.
    virtual void opened(std::string_view path) const { (void)path; }

    /// Whether the document at `path` may go to `who`: asked by stat() and
    /// open() before find(). Paths that are not the source's own are
    /// `allow`: the namespace goes on to the real files.
    virtual release check(std::string_view path, const client& who) const {
        (void)path;
        (void)who;
        return {};
    }

    /// Whether a listing leaves out a real file or directory at `path`
    /// (names that would tell which hosts exist).
    virtual bool hidden_from_listings(std::string_view path) const {
        (void)path;
        return false;
    }
};

/// Owns a file descriptor and closes it on destruction.
class unique_fd {
public:
    unique_fd() = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
    unique_fd& operator=(unique_fd&& other) noexcept {
        reset(other.release());
        return *this;
    }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset(int fd = -1) noexcept;

private:
    int fd_ = -1;
};

/// A regular file opened read-only; size and mtime come from fstat on the fd.
struct opened_file {
    unique_fd fd;
    std::int64_t size = 0;
    std::int64_t mtime = 0;  ///< Unix seconds.
};

/// What open() hands to a server: a real file or a rendered document.
struct opened {
    std::string path;  ///< Normalised request path, for logs.
    /// The document that was opened: `path`, or the stand-in a refusal
    /// served instead (release::instead). What fetched() is told.
    std::string document_path;
    std::variant<opened_file, document> content;

    opened_file* file() { return std::get_if<opened_file>(&content); }
    const opened_file* file() const { return std::get_if<opened_file>(&content); }
    const document* doc() const { return std::get_if<document>(&content); }
};

enum class node_kind { file, directory, document };

struct node_info {
    std::string path;  ///< Normalised request path.
    node_kind kind = node_kind::file;
    std::int64_t size = 0;     ///< Bytes of a file or document; 0 for a directory.
    std::int64_t mtime = 0;    ///< Unix seconds; 0 for a directory implied only by a mount or documents.
    std::string content_type;  ///< Documents only.
};

struct dir_entry {
    std::string name;
    bool is_directory = false;
    std::int64_t size = 0;
    std::int64_t mtime = 0;
};

class file_namespace {
public:
    static constexpr std::size_t max_path_length = 4096;
    static constexpr std::size_t max_component_length = 255;

    /// Roots are canonicalised (realpath) here, once. A root that does not
    /// exist or is not a directory is not an error: lookups under it are
    /// not_found (the config validator reports it). Throws
    /// std::invalid_argument for a prefix that does not normalise or that
    /// appears twice: those are config errors.
    file_namespace(std::vector<mount> mounts, std::shared_ptr<const document_source> documents);

    /// The relative form of a request: leading `/` stripped, `//` and `.`
    /// collapsed, `\` taken as a separator. `..` is access_denied; NUL,
    /// control characters, more than max_path_length bytes or a component of
    /// more than max_component_length bytes are invalid_path. "" is the top.
    static result<std::string> normalize(std::string_view request);

    /// What is at `request`. A rendered document wins over a real file at
    /// the same path; a directory implied by a deeper mount wins over a
    /// real non-directory there.
    /// `who` is the client asking (see document_source::check).
    result<node_info> stat(std::string_view request, const client& who = {}) const;

    /// A regular file opened read-only, or a document (the document source
    /// is told unless `peek`: a HEAD request looks without fetching; see
    /// document_source::opened). Directories are
    /// is_directory; fifos, devices and sockets are access_denied, and
    /// opening them never blocks.
    result<opened> open(std::string_view request, const client& who = {}, bool peek = false) const;

    /// Tells the document source that the document opened (with `peek`) as
    /// `opened::document_path` was delivered: TFTP says so only when the
    /// client has acknowledged the last block, so a request with a forged
    /// source address moves no host on.
    void fetched(std::string_view document_path) const;

    /// Entries of a directory sorted by name, without `.` and `..`: the real
    /// directory merged with documents and with directories implied by
    /// deeper mounts. Entries that escape the root or are neither regular
    /// files nor directories are left out, and so are documents the source
    /// does not list (a host's own documents are never listed).
    result<std::vector<dir_entry>> list(std::string_view request) const;

    /// Whether a real regular file exists at `request`, ignoring documents:
    /// lets the config checker warn about hand-written files that rendered
    /// documents shadow.
    bool real_file_exists(std::string_view request) const;
    /// Whether a real directory exists at `request`: a file cannot be in
    /// one that does not (the checker's 100,000 hosts, one look per directory).
    bool real_directory_exists(std::string_view request) const;

private:
    struct mount_point {
        std::string prefix;
        std::optional<std::string> root;  // canonical; nullopt when unusable
        bool file = false;                // root is a regular file, served at prefix alone
    };
    struct target;

    result<target> locate(const std::string& path, const client* who) const;
    const mount_point* mount_for(std::string_view path) const;
    bool implied_by_mounts(std::string_view path) const;

    std::vector<mount_point> mounts_;  // Longest prefix first.
    std::shared_ptr<const document_source> documents_;
};

}  // namespace pxed::fs
