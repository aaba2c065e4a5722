#pragma once
/// Sending a file region to a non-blocking socket with sendfile(2), one turn
/// of the event loop at a time: the one loop the HTTP and FTP servers share.

#include <cstdint>

namespace pxed::net {

/// How a turn of send_file() ended, and what the caller does next.
enum class send_file_status {
    done,           ///< all `length` bytes are sent
    yield,          ///< more is left, and `budget` bytes went out this turn or the socket took less
                    ///< than asked: post the next turn to the event loop, so every other
                    ///< connection gets its turn first
    wait_writable,  ///< the socket buffer is full (EAGAIN): wait until the socket is writable, then call again
    file_shrank,    ///< the file ended before `offset + length`: it was truncated after it was opened
    failed,         ///< any other error, in `error`; the response cannot go on
};

struct send_file_result {
    send_file_status status = send_file_status::done;
    std::uint64_t sent = 0;  ///< bytes sent in this turn, whatever the status: advance the offset by them
    int error = 0;           ///< errno when status is failed, else 0
};

/// One turn: sendfile(2) from `file` at `offset` to `socket` (which must be
/// non-blocking) until `length` bytes are sent, the socket takes less than
/// asked or none, or `budget` bytes went out in this turn, whichever comes
/// first. The rule for both servers:
/// - at most `budget` bytes per turn (a budget of 0 counts as 1), then
///   yield, so one fast client on loopback cannot starve the others of the
///   single thread;
/// - a short write (the socket buffer filled): yield too; the next turn
///   finds room the client has drained meanwhile, or EAGAIN;
/// - EINTR: retried at once;
/// - EAGAIN / EWOULDBLOCK: wait_writable;
/// - a return of 0 before the end: file_shrank;
/// - anything else: failed, with errno (EPIPE, ECONNRESET, EIO, ...); the
///   caller tells the client's side going away from the file failing.
/// sendfile(2) has no MSG_NOSIGNAL: a process using this ignores SIGPIPE.
send_file_result send_file(int socket, int file, std::uint64_t offset, std::uint64_t length, std::uint64_t budget);

}  // namespace pxed::net
