// The FTP server's socket layer on loopback, for what site.yaml does not
// reach and the shell test cannot wait for: the session cap, the control,
// data-connect and stall timeouts (shortened here), an exhausted passive
// range, active mode, and shutdown. The client side is plain blocking
// POSIX sockets with receive timeouts.

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>

#include "pxed/net/ftp_server.hpp"
#include "pxed/net/transfer_board.hpp"
#include "temp_dir.hpp"

namespace pxed::net {
namespace {

using namespace std::chrono_literals;


// A blocking TCP client with a receive timeout.
class client {
public:
    // `from`: the local address to connect from (127.0.0.2 is another client).
    explicit client(std::uint16_t port, int rcvbuf = 0, const char* from = nullptr) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        if (from) {
            sockaddr_in local{};
            local.sin_family = AF_INET;
            ::inet_pton(AF_INET, from, &local.sin_addr);
            ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local);
        }
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    }
    explicit client(int fd) : fd_(fd), connected_(true) {
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~client() {
        if (fd_ >= 0) ::close(fd_);
    }
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    bool connected() const { return connected_; }
    int fd() const { return fd_; }

    void send(const std::string& line) {
        const std::string wire = line + "\r\n";
        ASSERT_EQ(::send(fd_, wire.data(), wire.size(), MSG_NOSIGNAL), static_cast<ssize_t>(wire.size()));
    }

    // One reply line ("" on EOF or timeout); multi-line replies are read whole.
    std::string reply() {
        std::string first = line();
        if (first.size() >= 4 && first[3] == '-') {
            for (;;) {
                const std::string l = line();
                if (l.empty() || (l.compare(0, 3, first, 0, 3) == 0 && l.size() > 3 && l[3] == ' ')) break;
            }
        }
        return first;
    }

    std::string command(const std::string& c) {
        send(c);
        return reply();
    }

    void login() {
        EXPECT_EQ(reply().substr(0, 3), "220");
        EXPECT_EQ(command("USER anonymous").substr(0, 3), "331");
        EXPECT_EQ(command("PASS x").substr(0, 3), "230");
    }

    std::uint16_t epsv() {
        const auto r = command("EPSV");
        std::smatch m;
        if (!std::regex_search(r, m, std::regex(R"(\(\|\|\|(\d+)\|\))"))) return 0;
        return static_cast<std::uint16_t>(std::stoi(m[1]));
    }

    // Everything until EOF.
    std::string drain() {
        std::string out;
        char buf[65536];
        for (;;) {
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) return out;
            out.append(buf, static_cast<std::size_t>(n));
        }
    }

private:
    std::string line() {
        std::string out;
        char c;
        while (::recv(fd_, &c, 1, 0) == 1) {
            if (c == '\n') {
                if (!out.empty() && out.back() == '\r') out.pop_back();
                return out;
            }
            out += c;
        }
        return out;
    }

    int fd_ = -1;
    bool connected_ = false;
};

class FtpServer : public ::testing::Test {
protected:
    void SetUp() override {
        write(dir_ + "/small.txt", "hello\n");
        files_ = std::make_shared<const fs::file_namespace>(std::vector<fs::mount>{{"", dir_}}, nullptr);
    }

    void TearDown() override {
        if (server_) run_on_loop([this] { server_->stop(); });
        if (thread_.joinable()) {
            work_.reset();
            io_.stop();
            thread_.join();
        }
        server_.reset();
    }

    static void write(const std::string& path, const std::string& body) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::write(fd, body.data(), body.size()), static_cast<ssize_t>(body.size()));
        ::close(fd);
    }

    // A passive range nobody else on the machine is likely to be using.
    static std::uint16_t passive_base() {
        static std::uint16_t next = static_cast<std::uint16_t>(45000 + (::getpid() % 2000) * 8);
        next = static_cast<std::uint16_t>(next + 4);
        return next;
    }

    void start(ftp_server_options o) {
        o.listen_address = "127.0.0.1";
        o.port = 0;
        if (o.passive_first == 30000) {
            o.passive_first = passive_base();
            o.passive_last = static_cast<std::uint16_t>(o.passive_first + 3);
        }
        server_ = std::make_unique<ftp_server>(io_, o, [this] { return files_; });
        server_->start();
        port_ = server_->port();
        work_.emplace(io_.get_executor());
        thread_ = std::thread([this] { io_.run(); });
    }

    template <typename F>
    void run_on_loop(F f) {
        std::promise<void> done;
        boost::asio::post(io_, [&] {
            f();
            done.set_value();
        });
        done.get_future().wait();
    }

    pxed::testing::temp_dir tmp_{"ftp-server-test"};
    const std::string dir_ = tmp_.path();
    std::shared_ptr<const fs::file_namespace> files_;
    boost::asio::io_context io_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
    std::unique_ptr<ftp_server> server_;
    std::thread thread_;
    std::uint16_t port_ = 0;
};

TEST_F(FtpServer, RetrOverEpsv) {
    start({});
    client c(port_);
    c.login();
    const auto dport = c.epsv();
    ASSERT_NE(dport, 0);
    client d(dport);
    ASSERT_TRUE(d.connected());
    EXPECT_EQ(c.command("RETR small.txt").substr(0, 3), "150");
    EXPECT_EQ(d.drain(), "hello\n");
    EXPECT_EQ(c.reply().substr(0, 3), "226");
}

TEST_F(FtpServer, SessionCap) {
    ftp_server_options o;
    o.max_sessions = 2;
    start(o);
    client a(port_), b(port_);
    EXPECT_EQ(a.reply().substr(0, 3), "220");
    EXPECT_EQ(b.reply().substr(0, 3), "220");
    client c(port_);
    EXPECT_EQ(c.reply().substr(0, 3), "421");
    EXPECT_EQ(c.drain(), "") << "and closed";
    a.send("QUIT");
    EXPECT_EQ(a.reply().substr(0, 3), "221");
    std::this_thread::sleep_for(100ms);
    client d(port_);
    EXPECT_EQ(d.reply().substr(0, 3), "220") << "a freed slot is usable again";
}

TEST_F(FtpServer, OneClientBeyondItsCapGets421OthersAreServed) {
    ftp_server_options o;
    o.max_sessions_per_client = 2;
    start(o);
    client a(port_), b(port_);
    EXPECT_EQ(a.reply().substr(0, 3), "220");
    EXPECT_EQ(b.reply().substr(0, 3), "220");
    client c(port_);
    EXPECT_EQ(c.reply().substr(0, 3), "421");
    EXPECT_EQ(c.drain(), "") << "and closed";
    client other(port_, 0, "127.0.0.2");
    other.login();
    EXPECT_EQ(other.command("NOOP").substr(0, 3), "200") << "another address is another client";
    a.send("QUIT");
    EXPECT_EQ(a.reply().substr(0, 3), "221");
    std::this_thread::sleep_for(100ms);
    client d(port_);
    EXPECT_EQ(d.reply().substr(0, 3), "220") << "a freed slot is usable again";
}

// Issue 16: sessions that PASV and never connect held the whole range.
// After passive_timeout the listener closes, the port is free for another
// client, and a transfer asked for on the dead listener gets 425 at once.
TEST_F(FtpServer, APassiveListenerNobodyConnectsToTimesOut) {
    ftp_server_options o;
    o.passive_first = passive_base();
    o.passive_last = o.passive_first;  // one port
    o.passive_timeout = 300ms;
    start(o);
    client a(port_), b(port_, 0, "127.0.0.2");
    a.login();
    b.login();
    const auto held = a.epsv();
    ASSERT_NE(held, 0);
    EXPECT_EQ(b.command("EPSV").substr(0, 3), "425") << "the range is exhausted";
    std::this_thread::sleep_for(600ms);
    client late(held);
    EXPECT_FALSE(late.connected()) << "nothing listens on it any more";
    EXPECT_EQ(b.epsv(), held) << "the port came back to the pool";
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(a.command("RETR small.txt").substr(0, 3), "150");
    EXPECT_EQ(a.reply().substr(0, 3), "425");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
    EXPECT_EQ(a.command("NOOP").substr(0, 3), "200") << "the session goes on";
    // A waiting RETR gets 425 when its listener times out.
    std::this_thread::sleep_for(600ms);
    ASSERT_NE(a.epsv(), 0);
    EXPECT_EQ(a.command("RETR small.txt").substr(0, 3), "150");
    EXPECT_EQ(a.reply().substr(0, 3), "425");
}

// Issue 16: a session that sends commands and never reads the replies
// outlived its idle timeout (the 421 queued behind the stuck write). Now
// its socket is closed once a write has been stuck for the idle timeout.
TEST_F(FtpServer, ASessionThatNeverReadsItsRepliesIsClosed) {
    ftp_server_options o;
    o.control_timeout = 1000ms;
    start(o);
    client c(port_, 4096);
    c.login();
    std::atomic<bool> stop{false};
    const auto t0 = std::chrono::steady_clock::now();
    std::thread flood([&] {
        const std::string many = [&] {
            std::string s;
            for (int i = 0; i < 64; ++i) s += "HELP\r\nSTAT\r\n";  // multi-line replies
            return s;
        }();
        while (!stop && std::chrono::steady_clock::now() - t0 < 12s) {
            const ssize_t n = ::send(c.fd(), many.data(), many.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return;  // reset: the server closed it
            std::this_thread::sleep_for(20ms);
        }
    });
    // The session ends while the flood goes on: connections() drops.
    std::size_t sessions = 1;
    while (std::chrono::steady_clock::now() - t0 < 12s) {
        std::promise<std::size_t> n;
        boost::asio::post(io_, [&] { n.set_value(server_->active_sessions()); });
        sessions = n.get_future().get();
        if (sessions == 0) break;
        std::this_thread::sleep_for(50ms);
    }
    const auto took = std::chrono::steady_clock::now() - t0;
    stop = true;
    flood.join();
    EXPECT_EQ(sessions, 0u);
    EXPECT_GE(took, 900ms);
    // The kernel's buffers take a moment to fill; then one idle timeout.
    EXPECT_LT(took, 8s) << "closed within about the idle timeout of its write getting stuck";
}

// Issue 16: past a symlink out of the root, every command answers as for a
// missing name, whether the name exists out there or not.
TEST_F(FtpServer, ANamePastASymlinkOutOfTheRootIsAnsweredLikeAMissingOne) {
    pxed::testing::temp_dir outside("ftp-outside");
    write(outside.path() + "/secret", "secret\n");
    ASSERT_EQ(::symlink(outside.path().c_str(), (dir_ + "/out").c_str()), 0);
    ASSERT_EQ(::symlink((outside.path() + "/secret").c_str(), (dir_ + "/secret-link").c_str()), 0);
    start({});
    client c(port_);
    c.login();
    for (const char* verb : {"SIZE", "MDTM", "CWD", "MLST", "RETR"}) {
        auto ask = [&](const std::string& name) {
            if (std::string(verb) == "RETR") c.epsv();
            return c.command(std::string(verb) + " " + name);
        };
        const auto missing = ask("no-such-name");
        EXPECT_EQ(missing.substr(0, 3), "550") << verb;
        for (const char* name : {"out/secret", "out/no-such-name", "out", "secret-link"})
            EXPECT_EQ(ask(name), missing) << verb << " " << name;
    }
}

TEST_F(FtpServer, IdleControlConnectionTimesOut) {
    ftp_server_options o;
    o.control_timeout = 300ms;
    start(o);
    client c(port_);
    c.login();
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(c.reply(), "421 Timeout.");
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 250ms);
    EXPECT_EQ(c.drain(), "");
}

TEST_F(FtpServer, ActivityKeepsTheSessionAlive) {
    ftp_server_options o;
    o.control_timeout = 700ms;
    start(o);
    client c(port_);
    c.login();
    for (int i = 0; i < 8; ++i) {  // 1.2 s in all, well past the timeout
        std::this_thread::sleep_for(150ms);
        EXPECT_EQ(c.command("NOOP").substr(0, 3), "200");
    }
}

TEST_F(FtpServer, AServerDestroyedWithARepliesBacklogClosesItsSessions) {
    // stop() lets a session whose reply is still going out send its 421
    // after it; when the loop stops first (the daemon exiting), destroying
    // the server must still end that session and close its connection
    // (the session and the server own each other: without an explicit end
    // both leaked, and the client's connection stayed open).
    start(ftp_server_options{});
    client c(port_, 4096);
    c.login();
    std::string many;
    for (int i = 0; i < 64; ++i) many += "HELP\r\nSTAT\r\n";
    // A second of it: far more replies (~60 KB a send) than the socket
    // buffers hold, so the server is in the middle of a write.
    const auto t0 = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - t0 < 1s) {
        ::send(c.fd(), many.data(), many.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        std::this_thread::sleep_for(5ms);
    }
    run_on_loop([this] {
        server_->stop();
        EXPECT_EQ(server_->active_sessions(), 1u) << "no reply was on its way: the test proves nothing";
    });
    work_.reset();
    io_.stop();
    thread_.join();
    server_.reset();
    // Read what is there; then EOF or a reset, never a timeout (5 s).
    char buf[65536];
    ssize_t n;
    while ((n = ::recv(c.fd(), buf, sizeof buf, 0)) > 0) {
    }
    const int e = errno;
    EXPECT_TRUE(n == 0 || e != EAGAIN) << "the connection was left open";
}

TEST_F(FtpServer, ALongTransferIsNotIdleness) {
    // A download that outlasts the control timeout: the idle clock starts
    // again when it ends, so the next command is still answered. The
    // client reads the first half slowly (about 1.4 s) and the rest at
    // once: the server finishes sending (and starts its idle clock) only
    // when what is left fits the socket buffers, during the fast part.
    write(dir_ + "/slow.img", std::string(16 << 20, 's'));
    ftp_server_options o;
    o.control_timeout = 1000ms;
    start(o);
    client c(port_);
    c.login();
    client d(c.epsv(), 4096);
    ASSERT_TRUE(d.connected());
    EXPECT_EQ(c.command("RETR slow.img").substr(0, 3), "150");
    std::size_t got = 0;
    char buf[256 * 1024];
    while (got < (8u << 20)) {
        std::size_t slice = 0;
        ssize_t n = 0;
        while (slice < sizeof buf && (n = ::recv(d.fd(), buf, sizeof buf - slice, 0)) > 0)
            slice += static_cast<std::size_t>(n);
        got += slice;
        if (n <= 0) break;
        std::this_thread::sleep_for(45ms);
    }
    got += d.drain().size();
    EXPECT_EQ(got, 16u << 20);
    EXPECT_EQ(c.reply().substr(0, 3), "226");
    std::this_thread::sleep_for(600ms);
    EXPECT_EQ(c.command("NOOP").substr(0, 3), "200");
}

TEST_F(FtpServer, DataConnectionThatNeverComes) {
    ftp_server_options o;
    o.data_connect_timeout = 300ms;
    start(o);
    client c(port_);
    c.login();
    ASSERT_NE(c.epsv(), 0);
    EXPECT_EQ(c.command("RETR small.txt").substr(0, 3), "150");
    EXPECT_EQ(c.reply().substr(0, 3), "425");
    EXPECT_EQ(c.command("NOOP").substr(0, 3), "200");
}

TEST_F(FtpServer, StalledTransferEnds) {
    // A client that opens the data connection and never reads: once the
    // socket buffers are full, nothing moves, and the stall timeout ends it.
    write(dir_ + "/big.img", std::string(64 << 20, 'x'));
    ftp_server_options o;
    o.data_stall_timeout = 500ms;
    start(o);
    client c(port_);
    c.login();
    const auto dport = c.epsv();
    client d(dport, 4096);
    ASSERT_TRUE(d.connected());
    EXPECT_EQ(c.command("RETR big.img").substr(0, 3), "150");
    EXPECT_EQ(c.reply().substr(0, 3), "426");
    EXPECT_EQ(c.command("NOOP").substr(0, 3), "200");
}

TEST_F(FtpServer, ExhaustedPassiveRange) {
    ftp_server_options o;
    o.passive_first = passive_base();
    o.passive_last = o.passive_first;  // one port
    start(o);
    client a(port_), b(port_);
    a.login();
    b.login();
    EXPECT_NE(a.epsv(), 0);
    EXPECT_EQ(b.command("EPSV").substr(0, 3), "425");
    a.send("QUIT");
    EXPECT_EQ(a.reply().substr(0, 3), "221");
    std::this_thread::sleep_for(100ms);
    EXPECT_NE(b.epsv(), 0) << "the port is free again";
}

TEST_F(FtpServer, ActiveModeWhenEnabled) {
    ftp_server_options o;
    o.allow_active = true;
    start(o);
    const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_EQ(::listen(lfd, 1), 0);
    socklen_t len = sizeof sa;
    ::getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len);
    const auto lport = ntohs(sa.sin_port);

    client c(port_);
    c.login();
    EXPECT_EQ(c.command("EPRT |1|127.0.0.1|" + std::to_string(lport) + "|").substr(0, 3), "200");
    EXPECT_EQ(c.command("RETR small.txt").substr(0, 3), "150");
    const int dfd = ::accept(lfd, nullptr, nullptr);
    ASSERT_GE(dfd, 0);
    client d(dfd);
    EXPECT_EQ(d.drain(), "hello\n");
    EXPECT_EQ(c.reply().substr(0, 3), "226");
    ::close(lfd);
}

TEST_F(FtpServer, StopSays421) {
    start({});
    client c(port_);
    c.login();
    run_on_loop([this] { server_->stop(); });
    EXPECT_EQ(c.reply().substr(0, 3), "421");
    EXPECT_EQ(c.drain(), "");
    // The session leaves the server's table in a handler after the one that
    // closed its socket, so the client can see the close first; asked on
    // the loop, the count must reach 0 promptly.
    std::size_t left = 1;
    for (int i = 0; i < 200 && left != 0; ++i) {
        run_on_loop([&] { left = server_->active_sessions(); });
        if (left != 0) std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(left, 0u);
}

// The dashboard's live transfers (server.ftp -> transfer_board): a RETR
// is on the board from the command until its data connection closes, with
// its client, path and size and the bytes sent so far, and leaves it
// however it ends: completed, stalled, ABOR, the server's stop. Listings
// are not shown. The server runs on one thread: once a handler posted
// after a reply has run (sync()), everything the handler that sent the
// reply did is done, so most checks need no polling.
class FtpBoard : public FtpServer {
protected:
    ftp_server_options with_board(ftp_server_options o = {}) {
        o.transfers = &board_;
        return o;
    }

    // Every handler queued before this call has run.
    void sync() {
        run_on_loop([] {});
    }

    // Whether `holds(snapshot)` comes true within 10 s.
    template <typename Holds>
    bool eventually(Holds holds) {
        for (int i = 0; i < 1000; ++i) {
            if (holds(board_.snapshot())) return true;
            std::this_thread::sleep_for(10ms);
        }
        return holds(board_.snapshot());
    }

    // Reads `n` bytes from the data connection (fewer on EOF).
    static std::size_t read_some(client& d, std::size_t n) {
        std::vector<char> buf(64 * 1024);
        std::size_t got = 0;
        while (got < n) {
            const ssize_t r = ::recv(d.fd(), buf.data(), std::min(buf.size(), n - got), 0);
            if (r <= 0) break;
            got += static_cast<std::size_t>(r);
        }
        return got;
    }

    static constexpr std::uint32_t loopback = 0x7f000001;
    static constexpr std::uint64_t big = 16u << 20;
    transfer_board board_;  // FtpServer::TearDown destroys the server before it goes
};

TEST_F(FtpBoard, ARetrShowsWithGrowingBytesAndLeavesWhenItCompletes) {
    write(dir_ + "/big.img", std::string(big, 'b'));
    start(with_board());
    client c(port_);
    c.login();
    client d(c.epsv(), 4096);
    ASSERT_TRUE(d.connected());
    const auto before = unix_ms_now();
    EXPECT_EQ(c.command("RETR big.img").substr(0, 3), "150");
    ASSERT_EQ(read_some(d, 1u << 20), 1u << 20);
    // At most the socket buffers' worth ahead of the client: far from done.
    std::uint64_t first = 0;
    ASSERT_TRUE(eventually([&](const auto& snap) {
        if (snap.size() != 1 || snap[0].bytes < (1u << 20)) return false;
        first = snap[0].bytes;
        return true;
    }));
    const auto v = board_.snapshot();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].protocol, "ftp");
    EXPECT_EQ(v[0].client, loopback);
    EXPECT_EQ(v[0].path, "/big.img");
    EXPECT_EQ(v[0].size, big);
    EXPECT_LT(v[0].bytes, big);
    EXPECT_GE(v[0].started_ms, before);
    EXPECT_LE(v[0].started_ms, unix_ms_now());
    ASSERT_EQ(read_some(d, 8u << 20), 8u << 20);
    // What the client has read was sent, so it is counted; and the count
    // grew. (Not "first + 8 MiB": `first` includes what sat in the socket
    // buffers then, and the kernel may hold less there now. CI saw that.)
    EXPECT_TRUE(eventually([&](const auto& snap) {
        return snap.size() == 1 && snap[0].bytes >= (9u << 20) && snap[0].bytes > first;
    })) << "the count follows the data";
    EXPECT_EQ(d.drain().size(), big - (9u << 20));
    EXPECT_EQ(c.reply().substr(0, 3), "226");
    EXPECT_EQ(board_.size(), 0u) << "off the board before the 226 went out";
}

TEST_F(FtpBoard, AStalledRetrLeavesTheBoardWhenItTimesOut) {
    write(dir_ + "/big.img", std::string(64u << 20, 'x'));
    ftp_server_options o;
    o.data_stall_timeout = 500ms;
    start(with_board(o));
    client c(port_);
    c.login();
    client d(c.epsv(), 4096);
    ASSERT_TRUE(d.connected());
    EXPECT_EQ(c.command("RETR big.img").substr(0, 3), "150");
    sync();
    const auto v = board_.snapshot();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].size, 64u << 20);
    // Nothing is read: the socket buffers fill, then the stall timeout.
    EXPECT_EQ(c.reply().substr(0, 3), "426");
    EXPECT_EQ(board_.size(), 0u);
    EXPECT_EQ(c.command("NOOP").substr(0, 3), "200");
}

TEST_F(FtpBoard, AListingIsNotShownAWaitingRetrIsUntilAbor) {
    write(dir_ + "/big.img", std::string(big, 'b'));
    start(with_board());
    client c(port_);
    c.login();
    ASSERT_NE(c.epsv(), 0);
    EXPECT_EQ(c.command("LIST").substr(0, 3), "150");
    sync();
    EXPECT_EQ(board_.size(), 0u) << "a listing waiting for its data connection";
    EXPECT_EQ(c.command("ABOR").substr(0, 3), "426");
    c.reply();  // ABOR's own 226
    ASSERT_NE(c.epsv(), 0);
    // After REST the size shown is what is left to send.
    EXPECT_EQ(c.command("REST 1000").substr(0, 3), "350");
    EXPECT_EQ(c.command("RETR big.img").substr(0, 3), "150");
    sync();
    const auto v = board_.snapshot();
    ASSERT_EQ(v.size(), 1u) << "a download waiting for its data connection";
    EXPECT_EQ(v[0].path, "/big.img");
    EXPECT_EQ(v[0].size, big - 1000);
    EXPECT_EQ(v[0].bytes, 0u);
    EXPECT_EQ(c.command("ABOR").substr(0, 3), "426");
    sync();
    EXPECT_EQ(board_.size(), 0u);
}

TEST_F(FtpBoard, TheServersStopTakesItsTransfersOffTheBoard) {
    write(dir_ + "/big.img", std::string(big, 'b'));
    start(with_board());
    client c(port_), other(port_, 0, "127.0.0.2");
    c.login();
    other.login();
    client d(c.epsv(), 4096);
    ASSERT_TRUE(d.connected());
    EXPECT_EQ(c.command("RETR big.img").substr(0, 3), "150");
    ASSERT_NE(other.epsv(), 0);
    EXPECT_EQ(other.command("RETR big.img").substr(0, 3), "150");  // waits for its connection
    ASSERT_EQ(read_some(d, 1u << 20), 1u << 20);
    sync();
    const auto v = board_.snapshot();
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[0].client, loopback);
    EXPECT_EQ(v[1].client, 0x7f000002u);
    run_on_loop([this] { server_->stop(); });
    EXPECT_EQ(board_.size(), 0u);
}

}  // namespace
}  // namespace pxed::net
