#pragma once
/// The service-manager notification protocol (sd_notify(3)), written out so
/// pxed needs no libsystemd: one datagram of newline-separated VAR=value
/// lines to the AF_UNIX socket named by $NOTIFY_SOCKET.

#include <sys/socket.h>
#include <sys/un.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pxed::app {

/// A parsed $NOTIFY_SOCKET: an absolute path, or "@name" for Linux's abstract
/// namespace (the '@' becomes the leading NUL; the name is not NUL-terminated).
struct notify_address {
    sockaddr_un addr{};
    socklen_t length = 0;  ///< what bind/connect/sendto take
};

/// nullopt with `error` set for an empty, relative, too long or unsupported value.
std::optional<notify_address> parse_notify_address(std::string_view value, std::string& error);

/// CLOCK_MONOTONIC in microseconds, for RELOADING=1's MONOTONIC_USEC= (systemd 253+ asks for it).
std::uint64_t monotonic_usec();

/// Talks to the service manager. Inactive (every call a no-op that succeeds)
/// when $NOTIFY_SOCKET is unset, i.e. when not started by systemd with Type=notify.
class service_notifier {
public:
    /// Reads $NOTIFY_SOCKET and connects to it now: construct it before
    /// dropping privileges, so the socket stays reachable whatever its mode.
    service_notifier();
    ~service_notifier();
    service_notifier(const service_notifier&) = delete;
    service_notifier& operator=(const service_notifier&) = delete;

    bool active() const { return address_.has_value(); }
    /// The reason the last notify() or the connect failed; empty if none.
    const std::string& error() const { return error_; }

    /// Sends `state` ("READY=1\nSTATUS=serving") as one datagram.
    bool notify(std::string_view state);

private:
    bool connect();

    std::optional<notify_address> address_;
    int fd_ = -1;
    std::string error_;
};

}  // namespace pxed::app
