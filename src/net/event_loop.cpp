#include "pxed/net/event_loop.hpp"

#include <boost/asio/io_context.hpp>

#include <sched.h>

#include <algorithm>

namespace pxed::net {

busy_poll::busy_poll(std::chrono::microseconds budget, unsigned usable_cpus) : budget_(budget), cpus_(usable_cpus) {}

unsigned busy_poll::count_usable_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    return static_cast<unsigned>(CPU_COUNT(&set));
}

void busy_poll::expect_reply(clock::time_point now, clock::duration rtt) {
    if (!enabled() || rtt > budget_) return;
    ++engagements_;
    const auto until = now + std::min<clock::duration>(2 * rtt, budget_);
    if (until > until_) until_ = until;
}

void run(boost::asio::io_context& io, busy_poll& poll) {
    for (;;) {
        // The clock is read only while a poll is pending.
        if (poll.pending() && poll.polling(busy_poll::clock::now())) {
            io.poll();  // epoll_wait with a zero timeout, then whatever is ready
            if (io.stopped()) return;
        } else if (io.run_one() == 0) {
            return;
        }
    }
}

}  // namespace pxed::net
