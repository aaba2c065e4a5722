// libFuzzer target for the FTP control path: bytes -> line_reader (Telnet
// stripping, line limits) -> parse_command -> ftp::session, with the
// server's part played from the input too (passive port found or not,
// transfer outcomes, commands arriving while a transfer runs). Checks that
// every reply is well-formed RFC 959 text, that nothing handed to a data
// connection is out of bounds, and that argument parsers round-trip.
//
// The namespace is a small real tree in a temporary directory (a root, a
// tree mounted at pub/centos/7/x86_64, a symlink out of it) plus rendered
// documents, built once per process.

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pxed/engine/ftp_session.hpp"
#include "pxed/proto/ftp.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

class docs : public pxed::fs::document_source {
public:
    std::optional<pxed::fs::document> find(std::string_view path) const override {
        if (path == "ks/52-54-00-12-34-56.ks")
            return pxed::fs::document{std::make_shared<const std::string>("install\n"), "text/plain", 1700000000};
        return std::nullopt;
    }
    std::vector<std::string> list(std::string_view dir) const override {
        if (dir.empty()) return {"ks/"};
        if (dir == "ks") return {"52-54-00-12-34-56.ks"};
        return {};
    }
};

std::string temp_dir;

int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }
void cleanup() { ::nftw(temp_dir.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

void put(const std::string& path, const std::string& body) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) std::abort();
    if (::write(fd, body.data(), body.size()) != static_cast<ssize_t>(body.size())) std::abort();
    ::close(fd);
}

std::shared_ptr<const pxed::fs::file_namespace> make_namespace() {
    char tmpl[] = "/tmp/pxed-ftp-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl)) std::abort();
    temp_dir = tmpl;
    std::atexit(cleanup);
    const std::string root = temp_dir + "/root", tree = temp_dir + "/tree";
    ::mkdir(root.c_str(), 0755);
    ::mkdir((root + "/pxelinux.cfg").c_str(), 0755);
    ::mkdir(tree.c_str(), 0755);
    ::mkdir((tree + "/Packages").c_str(), 0755);
    put(root + "/pxelinux.0", "PXELINUX");
    put(tree + "/.treeinfo", "[general]\n");
    put(tree + "/Packages/a.rpm", std::string(3000, 'a'));
    put(temp_dir + "/secret", "secret");
    (void)::symlink("../secret", (tree + "/out").c_str());
    return std::make_shared<const pxed::fs::file_namespace>(
        std::vector<pxed::fs::mount>{{"", root}, {"pub/centos/7/x86_64", tree}}, std::make_shared<docs>());
}

// Every reply line: three digits, '-' or ' ', text without CR/LF, CR LF.
void check_reply(const std::string& r) {
    std::size_t pos = 0;
    while (pos < r.size()) {
        const auto end = r.find("\r\n", pos);
        check(end != std::string::npos);
        const std::string_view line(r.data() + pos, end - pos);
        check(line.find('\r') == std::string_view::npos && line.find('\n') == std::string_view::npos);
        check(line.find('\0') == std::string_view::npos);
        if (line.size() >= 4 && line[0] >= '1' && line[0] <= '5' && line[1] >= '0' && line[1] <= '9' &&
            line[2] >= '0' && line[2] <= '9' && (line[3] == ' ' || line[3] == '-')) {
        } else {
            check(!line.empty() && line[0] == ' ');  // a middle line of a multi-line reply
        }
        pos = end + 2;
    }
}

void check_transfer(const pxed::ftp::outgoing_data& d) {
    check(d.offset >= 0 && d.offset <= d.size);
    if (d.what == pxed::ftp::outgoing_data::kind::file) {
        check(static_cast<bool>(d.fd));
    } else {
        check(d.body != nullptr);
        check(static_cast<std::int64_t>(d.body->size()) == d.size);
    }
    // Confined: a normalised namespace path, never a way up.
    check(d.path.empty() || d.path.front() != '/');
    check(d.path != ".." && d.path.rfind("../", 0) != 0 && d.path.find("/../") == std::string::npos);
    check(d.path.find("secret") == std::string::npos);
}

void check_arguments(const std::string& arg) {
    using namespace pxed::ftp;
    if (const auto hp = parse_port_argument(arg)) {
        const std::string again = std::to_string(hp->address >> 24) + "," + std::to_string((hp->address >> 16) & 255) +
                                  "," + std::to_string((hp->address >> 8) & 255) + "," +
                                  std::to_string(hp->address & 255) + "," + std::to_string(hp->port >> 8) + "," +
                                  std::to_string(hp->port & 255);
        const auto back = parse_port_argument(again);
        check(back && back->address == hp->address && back->port == hp->port);
    }
    if (const auto hp = parse_eprt_argument(arg)) check(hp->port <= 65535);
    if (const auto m = parse_restart_marker(arg)) check(*m >= 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace pxed::ftp;
    static const auto files = make_namespace();
    if (size == 0) return 0;

    // The first byte picks the server's behaviour; the rest is the stream.
    const std::uint8_t mode = data[0];
    const char* stream = reinterpret_cast<const char*>(data + 1);
    const std::size_t len = size - 1;

    session s(files, 0x7f000001, session_config{(mode & 1) != 0, 4});
    check_reply(s.greeting());
    line_reader reader(256);
    unsigned turn = mode;
    bool transfer_open = false;

    auto apply = [&](step st) {
        // Steps can chain (PASV -> reply, transfer -> final reply -> queued commands).
        for (int depth = 0; depth < 64; ++depth) {
            check_reply(st.reply);
            if (st.open_passive) {
                st = (turn++ % 5) ? s.on_passive_ready(0x7f000001, 30000) : s.on_passive_failed();
                continue;
            }
            if (st.transfer) {
                check_transfer(*st.transfer);
                transfer_open = true;
            }
            if (transfer_open && (turn++ % 3) == 0) {
                transfer_open = false;
                st = s.on_transfer_done(static_cast<transfer_outcome>(turn % 5));
                continue;
            }
            if (s.has_queued()) {
                st = s.run_queued(1700000000);
                continue;
            }
            return;
        }
    };

    // Feed in uneven pieces so Telnet sequences and CR LF split across reads.
    std::size_t pos = 0;
    while (pos < len && !s.closed()) {
        const std::size_t piece = std::min<std::size_t>(len - pos, 1 + (turn * 7) % 23);
        reader.feed(stream + pos, piece);
        pos += piece;
        while (auto ev = reader.next()) {
            if (s.closed()) break;
            if (ev->what == line_reader::event::kind::too_long) {
                apply(s.on_line_too_long());
                continue;
            }
            const auto c = parse_command(ev->text);
            check(c.name.size() <= 16);
            check_arguments(c.argument);
            apply(s.on_line(ev->text, 1700000000));
        }
    }
    if (transfer_open) apply(s.on_transfer_done(transfer_outcome::completed));
    check(s.working_directory().front() == '/');
    return 0;
}
