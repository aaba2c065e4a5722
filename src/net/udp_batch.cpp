#include "udp_batch.hpp"

#include <algorithm>
#include <cerrno>

#ifdef PXED_HAVE_IO_URING
#include <liburing.h>
#endif

namespace pxed::net {

#ifdef PXED_HAVE_IO_URING

struct udp_batch::ring {
    io_uring r{};
    bool live = false;  // set up: only then is there a ring to tear down
    // io_uring_queue_exit on a ring whose setup failed closes its ring_fd,
    // 0: stdin, or whatever took fd 0 since (on a kernel without io_uring,
    // each data thread's failed setup closed another one's eventfd).
    ~ring() {
        if (live) io_uring_queue_exit(&r);
    }
};

namespace {

// Submits what is in the queue and waits for `n` completions; returns the
// completions handed to `f(user_data, res)`. Every operation is
// non-blocking (MSG_DONTWAIT): it completes inside the submit, so the wait
// never sleeps.
template <class F>
void submit_and_reap(io_uring& r, unsigned n, F&& f) {
    unsigned done = 0;
    while (done < n) {
        const int rc = io_uring_submit_and_wait(&r, n - done);
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
            // The ring is unusable (should not happen): what did not complete
            // counts as lost; the engines' timers recover it.
            return;
        }
        io_uring_cqe* cqe = nullptr;
        unsigned head = 0, seen = 0;
        io_uring_for_each_cqe(&r, head, cqe) {
            f(io_uring_cqe_get_data64(cqe), cqe->res);
            ++seen;
        }
        io_uring_cq_advance(&r, seen);
        done += seen;
    }
}

}  // namespace

std::unique_ptr<udp_batch> udp_batch::open(unsigned depth) {
    auto r = std::make_unique<ring>();
    if (io_uring_queue_init(depth, &r->r, 0) != 0) return nullptr;
    r->live = true;
    return std::unique_ptr<udp_batch>(new udp_batch(std::move(r), depth));
}

void udp_batch::receive_all(receive* slots, std::size_t n) {
    std::size_t at = 0;
    iovec iov[64];
    msghdr msgs[64];
    while (at < n) {
        const unsigned k = static_cast<unsigned>(std::min<std::size_t>({n - at, depth_, 64}));
        for (unsigned i = 0; i < k; ++i) {
            auto& s = slots[at + i];
            iov[i] = iovec{s.data, sizeof s.data};
            msgs[i] = msghdr{};
            msgs[i].msg_name = &s.from;
            msgs[i].msg_namelen = sizeof s.from;
            msgs[i].msg_iov = &iov[i];
            msgs[i].msg_iovlen = 1;
            s.result = -EAGAIN;
            io_uring_sqe* sqe = io_uring_get_sqe(&ring_->r);
            io_uring_prep_recvmsg(sqe, s.fd, &msgs[i], MSG_DONTWAIT);
            io_uring_sqe_set_data64(sqe, at + i);
        }
        submit_and_reap(ring_->r, k, [&](std::uint64_t i, int res) { slots[i].result = res; });
        at += k;
    }
}

void udp_batch::queue_send(int fd, const sockaddr_in& to, std::vector<std::uint8_t> packet) {
    if (queued_ == depth_) flush();
    const auto i = queued_++;
    packets_[i] = std::move(packet);
    to_[i] = to;
    iov_[i] = iovec{packets_[i].data(), packets_[i].size()};
    msgs_[i] = msghdr{};
    msgs_[i].msg_name = &to_[i];
    msgs_[i].msg_namelen = sizeof to_[i];
    msgs_[i].msg_iov = &iov_[i];
    msgs_[i].msg_iovlen = 1;
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_->r);
    io_uring_prep_sendmsg(sqe, fd, &msgs_[i], MSG_DONTWAIT);
    io_uring_sqe_set_data64(sqe, i);
}

void udp_batch::flush() {
    if (!queued_) return;
    // Sends to one socket leave in order: each completes inline, in
    // submission order, or fails with EAGAIN (never queued for later).
    submit_and_reap(ring_->r, static_cast<unsigned>(queued_), [](std::uint64_t, int) {});
    queued_ = 0;
}

#else

struct udp_batch::ring {};
std::unique_ptr<udp_batch> udp_batch::open(unsigned) { return nullptr; }
void udp_batch::receive_all(receive*, std::size_t) {}
void udp_batch::queue_send(int, const sockaddr_in&, std::vector<std::uint8_t>) {}
void udp_batch::flush() {}

#endif

udp_batch::udp_batch(std::unique_ptr<ring> r, unsigned depth)
    : ring_(std::move(r)), depth_(depth), packets_(depth), to_(depth), iov_(depth), msgs_(depth) {}

udp_batch::~udp_batch() = default;

}  // namespace pxed::net
