#include "pxed/net/event_loop.hpp"

#include <boost/asio/io_context.hpp>

#include <sched.h>

#include <algorithm>
#include <mutex>

#include "log_limit.hpp"

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

void escaped_exception(const char* service, const char* what, const char* error) noexcept {
    // One budget for every service: a handler that throws on every packet
    // must not fill the disk. Formatting may need memory that is not there.
    static std::mutex mutex;  // tests run loops on several threads
    static log_limiter limiter("event loop");
    try {
        const std::lock_guard<std::mutex> lock(mutex);
        // Through a copy of the default logger, taken under the lock a
        // reload's set_default_logger() takes: this runs on TFTP data
        // threads too, and the raw pointer spdlog::error() uses may be
        // freed meanwhile (tftp_server.cpp, log_off_loop).
        if (limiter.allow())
            if (const auto logger = spdlog::default_logger())
                logger->error("{}: {} failed: {}; dropped that, serving on", service, what, error);
    } catch (...) {
    }
}

void run(boost::asio::io_context& io, busy_poll& poll, idle_work idle) {
    const auto idle_due = [&] { return idle.due && idle.run && idle.due(); };
    for (;;) {
        try {
            for (;;) {
                // The clock is read only while a poll is pending.
                if (poll.pending() && poll.polling(busy_poll::clock::now())) {
                    // epoll_wait with a zero timeout, then whatever is ready
                    if (io.poll() == 0 && idle_due()) idle.run();
                    if (io.stopped()) return;
                    continue;
                }
                if (idle_due()) {
                    // Only when something waits: one more epoll_wait with
                    // a zero timeout before the loop sleeps.
                    if (io.poll_one() > 0) continue;
                    if (io.stopped()) return;
                    idle.run();
                }
                if (io.run_one() == 0) {
                    if (idle_due()) idle.run();
                    return;
                }
            }
        } catch (const std::exception& e) {
            // The io_context is still usable after a handler threw (Asio
            // documents run() as re-entrant after an exception).
            escaped_exception("event loop", "a handler", e.what());
        } catch (...) {
            escaped_exception("event loop", "a handler", "an exception that is not a std::exception");
        }
    }
}

}  // namespace pxed::net
