#include "pxed/app/sd_notify.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace pxed::app {

std::optional<notify_address> parse_notify_address(std::string_view value, std::string& error) {
    notify_address a;
    a.addr.sun_family = AF_UNIX;
    if (value.empty()) {
        error = "NOTIFY_SOCKET is empty";
        return std::nullopt;
    }
    if (value[0] != '/' && value[0] != '@') {
        // systemd 254+ may also hand out "vsock:CID:PORT" to VMs; pxed runs on the host.
        error = "NOTIFY_SOCKET is neither an absolute path nor an @abstract name: " + std::string(value);
        return std::nullopt;
    }
    // A path needs room for its terminating NUL; an abstract name may fill sun_path.
    const bool abstract = value[0] == '@';
    if (value.size() > sizeof a.addr.sun_path - (abstract ? 0 : 1) || (abstract && value.size() < 2)) {
        error = "NOTIFY_SOCKET does not fit in a sockaddr_un: " + std::string(value);
        return std::nullopt;
    }
    std::memcpy(a.addr.sun_path, value.data(), value.size());
    if (abstract) a.addr.sun_path[0] = '\0';
    a.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + value.size() + (abstract ? 0 : 1));
    return a;
}

std::uint64_t monotonic_usec() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

service_notifier::service_notifier() {
    const char* env = std::getenv("NOTIFY_SOCKET");
    if (!env) return;
    address_ = parse_notify_address(env, error_);
    if (address_) connect();
}

service_notifier::~service_notifier() {
    if (fd_ >= 0) ::close(fd_);
}

bool service_notifier::connect() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        error_ = std::string("cannot create the notification socket: ") + std::strerror(errno);
        return false;
    }
    // Connected now, while pxed may still be root: a datagram socket checks
    // write permission on the socket file at connect(), not at each send().
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address_->addr), address_->length) != 0) {
        error_ = std::string("cannot connect to NOTIFY_SOCKET: ") + std::strerror(errno);
        ::close(fd_);
        fd_ = -1;
        return false;
    }
    error_.clear();
    return true;
}

bool service_notifier::notify(std::string_view state) {
    if (!address_) return error_.empty();  // unset: nothing to tell; unparsable: say so
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (fd_ < 0 && !connect()) return false;
        if (::send(fd_, state.data(), state.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(state.size())) {
            error_.clear();
            return true;
        }
        error_ = std::string("cannot send to NOTIFY_SOCKET: ") + std::strerror(errno);
        // The manager re-created its socket (daemon-reexec): connect afresh once.
        if (errno != ECONNREFUSED && errno != ENOTCONN) return false;
        ::close(fd_);
        fd_ = -1;
    }
    return false;
}

}  // namespace pxed::app
