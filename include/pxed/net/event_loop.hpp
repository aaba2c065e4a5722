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

/// io.run(), except that while poll.polling() it runs ready handlers
/// without sleeping (io.poll()) instead of waiting in epoll_wait. Returns
/// when io is stopped or out of work, as run() does.
void run(boost::asio::io_context& io, busy_poll& poll);

}  // namespace pxed::net
