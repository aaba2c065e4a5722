#include "pxed/doctor/trees.hpp"

// SHA256_Init/Update/Final rather than EVP: in the static release binary
// (cmake/static.cmake) EVP brings libcrypto's provider, config and BIO code,
// and with it getaddrinfo and gethostbyname, NSS functions that need the
// host's own glibc modules at run time (tests/packaging/portable_binary_test.sh
// refuses them); the low-level functions are deprecated in OpenSSL 3 but
// present, and link only the digest itself.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <optional>

#include "pxed/inventory/install_tree.hpp"
#include "pxed/wire/text.hpp"

namespace pxed::doctor {

namespace stdfs = std::filesystem;

std::string sha256_of_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    SHA256_CTX ctx;
    if (SHA256_Init(&ctx) != 1) return {};
    std::array<char, 1 << 16> buf;
    while (in) {
        in.read(buf.data(), buf.size());
        if (in.gcount() > 0 && SHA256_Update(&ctx, buf.data(), static_cast<std::size_t>(in.gcount())) != 1) return {};
    }
    if (in.bad()) return {};
    std::array<unsigned char, SHA256_DIGEST_LENGTH> md;
    if (SHA256_Final(md.data(), &ctx) != 1) return {};
    return wire::hex_encode(md.data(), md.size());
}

namespace {

std::optional<std::uintmax_t> size_of(const stdfs::path& p) {
    std::error_code ec;
    if (!stdfs::is_regular_file(p, ec)) return std::nullopt;
    const auto n = stdfs::file_size(p, ec);
    if (ec) return std::nullopt;
    return n;
}

// Same size, then the same bytes.
bool same_content(const stdfs::path& a, const stdfs::path& b) {
    std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
    if (!fa || !fb) return false;
    std::array<char, 1 << 16> ba, bb;
    while (fa && fb) {
        fa.read(ba.data(), ba.size());
        fb.read(bb.data(), bb.size());
        if (fa.gcount() != fb.gcount() ||
            !std::equal(ba.begin(), ba.begin() + fa.gcount(), bb.begin()))
            return false;
    }
    return fa.eof() && fb.eof();
}

// The sha256 .treeinfo gives for `rel`, or empty.
std::string listed_sha256(const inventory::install_tree_info& info, const std::string& rel) {
    const auto it = info.checksums.find(rel);
    constexpr std::string_view prefix = "sha256:";
    if (it == info.checksums.end() || !wire::starts_with(it->second, prefix)) return {};
    return it->second.substr(prefix.size());
}

std::string dir_of(const std::string& rel) {
    const auto slash = rel.rfind('/');
    return slash == std::string::npos ? std::string() : rel.substr(0, slash + 1);
}

void check_tree_files(std::vector<finding>& out, const inventory::tree& t, const inventory::install_tree_info& info) {
    for (const auto* rel : {&info.kernel, &info.initrd}) {
        if (rel->empty()) continue;
        const auto file = t.path + "/" + *rel;
        if (!size_of(file)) {
            out.push_back({inventory::severity::error, t.where, "tree",
                           "trees." + t.name + ": " + info.evidence + " names " + *rel + " but " + file +
                               " is not there (an incomplete copy of the tree)",
                           "copy the tree again, or mount the DVD or ISO at " + t.path});
            continue;
        }
        const auto want = listed_sha256(info, *rel);
        if (want.empty()) continue;
        const auto have = sha256_of_file(file);
        if (!have.empty() && !wire::iequals(have, want))
            out.push_back({inventory::severity::error, t.where, "tree",
                           "trees." + t.name + ": " + file + " does not match its sha256 in .treeinfo (a damaged or "
                                                             "mixed copy of the tree)",
                           "copy the tree again from the DVD or mirror (rsync -c), or mount the ISO at " + t.path});
    }
}

// A profile's copy of the tree's kernel or initrd, in the TFTP root.
void check_copy(std::vector<finding>& out, const inventory::site& s, const inventory::profile& p,
                const inventory::tree& t, const inventory::install_tree_info& info, const char* field,
                const std::string& copy_rel, const std::string& tree_rel) {
    if (tree_rel.empty() || copy_rel.empty()) return;  // nothing to compare with
    const stdfs::path copy = stdfs::path(s.server.tftp.root) / copy_rel;
    const auto copy_size = size_of(copy);
    if (!copy_size) return;  // the loader reports a missing file
    const stdfs::path original = stdfs::path(t.path) / tree_rel;
    std::string why;
    if (const auto original_size = size_of(original)) {
        if (*copy_size != *original_size)
            why = "it is " + std::to_string(*copy_size) + " bytes, the tree's " + tree_rel + " " +
                  std::to_string(*original_size);
        else if (!same_content(copy, original))
            why = "its content differs from the tree's " + tree_rel;
    } else if (const auto want = listed_sha256(info, tree_rel); !want.empty()) {
        const auto have = sha256_of_file(copy.string());
        if (!have.empty() && !wire::iequals(have, want)) why = "sha256 differs from .treeinfo's " + tree_rel;
    }
    if (why.empty()) return;
    out.push_back({inventory::severity::error, p.where, "kernel",
                   "profiles." + p.name + "." + field + " " + copy_rel + " is not the " + field + " of tree " + t.name +
                       " (" + why + ")",
                   "copy it again from " + t.path + "/" + dir_of(tree_rel) + " or omit " + field +
                       ": to serve the tree's own"});
}

void check_served(std::vector<finding>& out, const inventory::site& s, const inventory::tree& t) {
    const auto& srv = s.server;
    if (t.protocol == inventory::tree_protocol::ftp && !srv.ftp.enabled)
        out.push_back({inventory::severity::error, t.where, "tree",
                       "trees." + t.name + " is served over FTP ({{tree_url}} is ftp://), but server.ftp is disabled",
                       "enable server.ftp or set trees." + t.name + ".protocol: http"});
    if (t.protocol == inventory::tree_protocol::http && !srv.http.enabled)
        out.push_back({inventory::severity::error, t.where, "tree",
                       "trees." + t.name + " is served over HTTP ({{tree_url}} is http://), but server.http is disabled",
                       "enable server.http or set trees." + t.name + ".protocol: ftp with server.ftp on"});
    // The tree's mount takes its url over: whatever the TFTP root has
    // there can no longer be fetched.
    std::error_code ec;
    const auto shadowed = stdfs::path(srv.tftp.root) / t.url.substr(1);
    if (!srv.tftp.root.empty() && stdfs::exists(shadowed, ec))
        out.push_back({inventory::severity::warning, t.where, "tree",
                       "trees." + t.name + " is served at " + t.url + ", which hides " + shadowed.string() +
                           " of the TFTP root",
                       "move " + shadowed.string() + " out of the TFTP root or give the tree another url"});
    for (const auto& [name, other] : s.trees)
        if (name != t.name && wire::starts_with(t.url, other.url + "/"))
            out.push_back({inventory::severity::warning, t.where, "tree",
                           "trees." + t.name + " is served at " + t.url + ", inside tree " + name + "'s " + other.url +
                               ": that tree's " + t.url.substr(other.url.size() + 1) + " is hidden",
                           "give trees." + t.name + " a url outside " + other.url});
}

}  // namespace

std::vector<finding> check_trees(const inventory::site& site) {
    std::vector<finding> out;
    std::map<std::string, std::optional<inventory::install_tree_info>> probed;
    for (const auto& [name, t] : site.trees) {
        check_served(out, site, t);
        auto r = inventory::probe_install_tree(t.path);
        if (!r) {
            out.push_back({inventory::severity::error, t.where, "tree", "trees." + name + ": " + r.error(),
                           "point trees." + name + ".path at the tree's top directory (where .treeinfo, dists/ or "
                                                   "casper/ is), or mount the DVD or ISO there"});
            probed[name] = std::nullopt;
            continue;
        }
        check_tree_files(out, t, r.value());
        probed[name] = std::move(r.value());
    }
    for (const auto& [name, p] : site.profiles) {
        const auto* t = site.find_tree(p.tree);
        if (!t) continue;
        const auto& info = probed[p.tree];
        if (!info) continue;
        // A tree of another CPU: its kernel is not the one to compare with.
        const auto& a = info->arch;
        const auto tree_cpu = a == "x86_64" || a == "amd64"   ? std::optional(inventory::cpu_arch::x86_64)
                              : a == "aarch64" || a == "arm64" ? std::optional(inventory::cpu_arch::arm64)
                                                                : std::nullopt;
        if (tree_cpu && *tree_cpu != p.arch) {
            out.push_back({inventory::severity::warning, p.where, "kernel",
                           "profiles." + p.name + " is arch " + inventory::to_string(p.arch) + " but its tree " + t->name +
                               " is " + a + " (" + info->evidence + "): its kernel and initrd are not compared with the tree's",
                           "give profile " + p.name + " a tree of its own CPU"});
            continue;
        }
        if (!p.kernel_from_tree) check_copy(out, site, p, *t, *info, "kernel", p.kernel, info->kernel);
        if (!p.initrd_from_tree) check_copy(out, site, p, *t, *info, "initrd", p.initrd, info->initrd);
    }
    return out;
}

}  // namespace pxed::doctor
