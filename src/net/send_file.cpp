#include "pxed/net/send_file.hpp"

#include <sys/sendfile.h>

#include <algorithm>
#include <cerrno>

namespace pxed::net {

send_file_result send_file(int socket, int file, std::uint64_t offset, std::uint64_t length, std::uint64_t budget) {
    // Linux moves at most 0x7ffff000 bytes per call (sendfile(2), NOTES).
    constexpr std::uint64_t max_call = 0x7ffff000;
    budget = std::max<std::uint64_t>(budget, 1);
    send_file_result r;
    while (r.sent < length) {
        if (r.sent >= budget) {
            r.status = send_file_status::yield;
            return r;
        }
        off_t at = static_cast<off_t>(offset + r.sent);
        const auto ask = static_cast<std::size_t>(std::min({length - r.sent, budget - r.sent, max_call}));
        const ssize_t n = ::sendfile(socket, file, &at, ask);
        if (n > 0) {
            r.sent += static_cast<std::uint64_t>(n);
            // A short write: the socket buffer is full for now. Asking again
            // at once would mostly be refused (EAGAIN) and cost a wait for
            // writability; on the next turn the client has often drained
            // some, and a wait is taken only if it has not.
            if (static_cast<std::uint64_t>(n) < ask && r.sent < length) {
                r.status = send_file_status::yield;
                return r;
            }
            continue;
        }
        if (n == 0) {
            r.status = send_file_status::file_shrank;
            return r;
        }
        const int e = errno;
        if (e == EINTR) continue;
        if (e == EAGAIN || e == EWOULDBLOCK) {
            r.status = send_file_status::wait_writable;
            return r;
        }
        r.status = send_file_status::failed;
        r.error = e;
        return r;
    }
    r.status = send_file_status::done;
    return r;
}

}  // namespace pxed::net
