#include "pxed/net/control_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>

namespace pxed::net {
namespace asio = boost::asio;
using local = asio::local::stream_protocol;

std::string control_socket_path(const std::string& state_dir) { return state_dir + "/" + control_socket_name; }

namespace {

// Whether a daemon answers on the socket at `path`.
bool somebody_listens(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
    const bool up = ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) == 0;
    ::close(fd);
    return up;
}

std::string peer_of(local::socket& s) {
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(s.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return "an unknown local user";
    return "uid " + std::to_string(cred.uid) + " pid " + std::to_string(cred.pid);
}

}  // namespace

class control_server::impl : public std::enable_shared_from_this<impl> {
public:
    impl(asio::io_context& io, std::string path, async_handler h)
        : io_(io), path_(std::move(path)), handler_(std::move(h)), acceptor_(io) {}

    void start() {
        if (path_.size() >= sizeof(sockaddr_un::sun_path))
            throw std::runtime_error("control socket path " + path_ + " is too long for a Unix socket");
        struct stat st{};
        if (::lstat(path_.c_str(), &st) == 0) {
            if (!S_ISSOCK(st.st_mode))
                throw std::runtime_error(path_ + " exists and is not a socket; not touching it");
            if (somebody_listens(path_))
                throw std::runtime_error("another pxed answers on " + path_ +
                                         ": two daemons must not share one state directory");
            ::unlink(path_.c_str());  // left by a pxed that died
        }
        // 0660 from the start: no moment in which others could connect.
        const mode_t old = ::umask(0117);
        boost::system::error_code ec;
        acceptor_.open(local(), ec);
        if (!ec) acceptor_.bind(local::endpoint(path_), ec);
        ::umask(old);
        if (!ec) acceptor_.listen(16, ec);
        if (ec) throw std::runtime_error("cannot listen on " + path_ + ": " + ec.message());
        listening_ = true;
        do_accept();
    }

    void stop() {
        stopping_ = true;
        boost::system::error_code ec;
        acceptor_.close(ec);
        for (auto* s : sessions_) s->cancel();
        if (listening_) ::unlink(path_.c_str());
        listening_ = false;
    }

    const std::string& path() const { return path_; }

private:
    struct session : std::enable_shared_from_this<session> {
        session(impl& owner, local::socket s) : server(owner), socket(std::move(s)), timer(owner.io_), in(max_request + 1) {}
        void cancel() {
            boost::system::error_code ec;
            socket.close(ec);
            timer.cancel();
        }
        impl& server;
        local::socket socket;
        asio::steady_timer timer;
        asio::streambuf in;
        std::string out;
    };

    void do_accept() {
        acceptor_.async_accept([self = shared_from_this()](const boost::system::error_code& ec, local::socket s) {
            if (self->stopping_) return;
            if (!ec) self->begin(std::move(s));
            self->do_accept();
        });
    }

    void begin(local::socket s) {
        if (sessions_.size() >= 16) return;  // closed: a local caller retries
        auto ss = std::make_shared<session>(*this, std::move(s));
        sessions_.insert(ss.get());
        // A caller that connects and says nothing is dropped.
        ss->timer.expires_after(std::chrono::seconds(10));
        ss->timer.async_wait([ss](const boost::system::error_code& ec) {
            if (!ec) ss->cancel();
        });
        asio::async_read_until(ss->socket, ss->in, '\n',
                               [ss](const boost::system::error_code& ec, std::size_t n) { ss->server.on_line(ss, ec, n); });
    }

    void on_line(const std::shared_ptr<session>& ss, const boost::system::error_code& ec, std::size_t n) {
        if (stopping_) return end(ss);
        if (ec && ec != asio::error::not_found) return end(ss);
        std::string answer;
        if (ec == asio::error::not_found) {
            answer = "{\"ok\": false, \"message\": \"request longer than 64 KiB\"}\n";
        } else {
            // n counts the '\n', which the line leaves out.
            std::string line(n - 1, '\0');
            asio::buffer_copy(asio::buffer(line), ss->in.data());
            const auto who = peer_of(ss->socket);
            // The answer may come later (a reload prepared off the loop):
            // the 10 s for saying something no longer applies.
            ss->timer.expires_after(std::chrono::minutes(10));
            ss->timer.async_wait([ss](const boost::system::error_code& tec) {
                if (!tec) ss->cancel();
            });
            try {
                handler_(line, who, [ss](std::string later) { ss->server.send(ss, std::move(later)); });
                return;
            } catch (const std::exception& e) {
                spdlog::error("control: {} failed: {}", who, e.what());
                answer = "{\"ok\": false, \"message\": \"internal error\"}\n";
            }
        }
        send(ss, std::move(answer));
    }

    void send(const std::shared_ptr<session>& ss, std::string answer) {
        if (stopping_) return end(ss);
        ss->out = std::move(answer);
        asio::async_write(ss->socket, asio::buffer(ss->out),
                          [ss](const boost::system::error_code&, std::size_t) { ss->server.end(ss); });
    }

    void end(const std::shared_ptr<session>& ss) {
        ss->cancel();
        sessions_.erase(ss.get());
    }

    asio::io_context& io_;
    std::string path_;
    async_handler handler_;
    local::acceptor acceptor_;
    std::set<session*> sessions_;
    bool listening_ = false;
    bool stopping_ = false;
};

control_server::control_server(asio::io_context& io, std::string path, handler h)
    : impl_(std::make_shared<impl>(io, std::move(path), [h = std::move(h)](std::string_view request, const std::string& who,
                                                                          const reply_fn& reply) { reply(h(request, who)); })) {}
control_server::control_server(asio::io_context& io, std::string path, async_handler h)
    : impl_(std::make_shared<impl>(io, std::move(path), std::move(h))) {}
control_server::~control_server() {
    if (impl_) impl_->stop();
}
void control_server::start() { impl_->start(); }
void control_server::stop() { impl_->stop(); }
const std::string& control_server::path() const { return impl_->path(); }

}  // namespace pxed::net
