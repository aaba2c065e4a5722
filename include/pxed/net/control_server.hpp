#pragma once
/// The local control socket the `pxed hosts`, `pxed reinstall` and
/// `pxed mark-installed` commands talk to (as birdc or chronyc do): a Unix
/// domain stream socket in the state directory, mode 0660, never on the
/// network. One request line in, one answer out, then the connection
/// closes. Asio stays out of this header.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace pxed::net {

/// The socket's name in the state directory.
inline constexpr const char* control_socket_name = "control.sock";

class control_server {
public:
    /// Gets the request line (without its newline) and who sent it
    /// ("uid 0 pid 1234", from the socket's peer credentials); returns the
    /// answer to send.
    using handler = std::function<std::string(std::string_view request, const std::string& who)>;

    /// Longest request line; a longer one is answered with an error.
    static constexpr std::size_t max_request = 64 * 1024;

    /// Like `handler`, but answers later by calling `reply` (once, on the
    /// io_context's thread): `pxed reload` waits for a reload prepared on
    /// a worker thread while the loop goes on serving.
    using reply_fn = std::function<void(std::string answer)>;
    using async_handler = std::function<void(std::string_view request, const std::string& who, reply_fn reply)>;

    control_server(boost::asio::io_context& io, std::string path, handler h);
    control_server(boost::asio::io_context& io, std::string path, async_handler h);
    ~control_server();
    control_server(const control_server&) = delete;
    control_server& operator=(const control_server&) = delete;

    /// Binds and listens. A socket file left by a pxed that died is
    /// replaced; one a running pxed answers on is not (std::runtime_error:
    /// two daemons must not share a state directory).
    void start();
    /// Stops listening, closes open sessions and removes the socket file.
    void stop();

    const std::string& path() const;

private:
    class impl;
    std::shared_ptr<impl> impl_;
};

/// The path of the control socket inside server.state_dir.
std::string control_socket_path(const std::string& state_dir);

}  // namespace pxed::net
