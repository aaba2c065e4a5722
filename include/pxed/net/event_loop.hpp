#pragma once
/// The daemon's one event loop, and the one thing it does besides
/// io_context::run(): polling briefly instead of sleeping when a reply is
/// due within microseconds.
///
/// A lock-step TFTP transfer is one round trip per block. When the client
/// answers in 20-50 us (on the same host: VMs booting off a bridge, or a
/// fast NIC on the same switch), going to sleep in epoll_wait and being
/// woken again costs the server about as much as the rest of the block
/// (measured on loopback: docs/tftp.md, "Fast clients"). Clients slower than the
/// budget (PXE ROMs on most LANs) never trigger it, and a transfer spins
/// only for as long as its measured round trip says the reply takes.
/// Asio stays out of this header.

#include <chrono>
#include <exception>

namespace boost::asio {
class io_context;
}

namespace pxed::net {

class busy_poll {
public:
    using clock = std::chrono::steady_clock;

    /// `budget` 0 turns polling off. So does a machine where this process
    /// may run on one CPU only: the peer it waits for needs that CPU.
    explicit busy_poll(std::chrono::microseconds budget = {}, unsigned usable_cpus = count_usable_cpus());

    void set_budget(std::chrono::microseconds budget) { budget_ = budget; }
    std::chrono::microseconds budget() const { return budget_; }
    bool enabled() const { return budget_.count() > 0 && cpus_ > 1; }

    /// A peer whose replies take `rtt` was just sent something it answers.
    /// If rtt is within the budget, the loop polls until twice rtt from
    /// now (at most the budget), or later if already polling longer.
    void expect_reply(clock::time_point now, clock::duration rtt);

    /// Whether a poll was asked for and may not have ended yet (no clock read).
    bool pending() const { return until_ != clock::time_point{}; }
    /// Whether the loop should poll rather than sleep at `now`.
    bool polling(clock::time_point now) {
        if (until_ == clock::time_point{}) return false;
        if (now < until_) return true;
        until_ = {};
        return false;
    }

    /// Replies polled for: expect_reply() calls within the budget.
    unsigned long long engagements() const { return engagements_; }

    static unsigned count_usable_cpus();

private:
    std::chrono::microseconds budget_;
    unsigned cpus_;
    clock::time_point until_{};
    unsigned long long engagements_ = 0;
};

/// Work the loop does once nothing is ready, before it sleeps: the daemon
/// writes the log lines it held while busy (app/logging.hpp). `due` is asked
/// on every turn and must be cheap; `run` is called only when it said yes
/// and no handler was ready.
struct idle_work {
    bool (*due)() = nullptr;
    void (*run)() = nullptr;
};

/// io.run(), except that while poll.polling() it runs ready handlers
/// without sleeping (io.poll()) instead of waiting in epoll_wait, and that
/// `idle` runs whenever it is due and nothing is ready. Returns when io is
/// stopped or out of work, as run() does.
///
/// An exception escaping a handler (std::bad_alloc, a bug) does not end the
/// daemon: it is logged (escaped_exception()) and the loop runs on. What that
/// handler was doing is lost: a connection whose handler threw has no
/// operation pending any more and is closed when its last owner lets go (or
/// by its server's idle sweep). The servers' own loops, which must re-arm
/// after every batch (DHCP and TFTP receives, accepts), wrap their work in
/// contain() so that one packet or connection is all that is lost.
void run(boost::asio::io_context& io, busy_poll& poll, idle_work idle = {});

/// Logs an exception that escaped `what` in `service` ("dhcp", "handling a
/// packet"), at error, at most 20 lines per 10 s for all services together.
/// Never throws, even out of memory.
void escaped_exception(const char* service, const char* what, const char* error) noexcept;

/// Runs `f`; an exception from it is logged (escaped_exception()) and
/// swallowed. Returns false if `f` threw.
template <class F>
bool contain(const char* service, const char* what, F&& f) noexcept {
    try {
        f();
        return true;
    } catch (const std::exception& e) {
        escaped_exception(service, what, e.what());
    } catch (...) {
        escaped_exception(service, what, "an exception that is not a std::exception");
    }
    return false;
}

}  // namespace pxed::net
