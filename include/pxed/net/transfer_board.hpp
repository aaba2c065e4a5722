#pragma once
/// The transfers running now, for the dashboard (docs/dashboard.md): each
/// file server registers a transfer when it starts and drops it when it
/// ends. The byte count moves with a relaxed atomic store, so the data
/// path takes no lock and makes no call; only start and end take the
/// board's mutex. Thread-safe: TFTP's data threads register too.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pxed::net {

class transfer_board {
public:
    struct entry {
        std::uint64_t id = 0;
        std::string protocol;     ///< "tftp", "http", "ftp"
        std::uint32_t client = 0; ///< IPv4, host byte order
        std::string path;         ///< as the client asked (hostile text: escape when shown)
        std::uint64_t size = 0;   ///< 0: unknown
        std::int64_t started_ms = 0;
        std::atomic<std::uint64_t> bytes{0};
    };

    /// A registered transfer: sent() moves its count; it leaves the board
    /// when the ticket goes (or reset()). An empty ticket does nothing, so a
    /// server without a board pays one branch per call.
    class ticket {
    public:
        ticket() = default;
        ticket(ticket&& o) noexcept : board_(o.board_), entry_(std::move(o.entry_)) { o.board_ = nullptr; }
        ticket& operator=(ticket&& o) noexcept {
            if (this != &o) {
                reset();
                board_ = o.board_;
                entry_ = std::move(o.entry_);
                o.board_ = nullptr;
            }
            return *this;
        }
        ticket(const ticket&) = delete;
        ticket& operator=(const ticket&) = delete;
        ~ticket() { reset(); }

        /// The bytes of the file sent so far (a total, not an increment).
        void sent(std::uint64_t total) {
            if (entry_) entry_->bytes.store(total, std::memory_order_relaxed);
        }
        void set_size(std::uint64_t size);
        explicit operator bool() const { return entry_ != nullptr; }
        void reset();

    private:
        friend class transfer_board;
        ticket(transfer_board* b, std::shared_ptr<entry> e) : board_(b), entry_(std::move(e)) {}
        transfer_board* board_ = nullptr;
        std::shared_ptr<entry> entry_;
    };

    /// What snapshot() copies out of one entry.
    struct view {
        std::uint64_t id = 0;
        std::string protocol;
        std::uint32_t client = 0;
        std::string path;
        std::uint64_t size = 0;
        std::uint64_t bytes = 0;
        std::int64_t started_ms = 0;
    };

    /// Registers a transfer; `now_ms` Unix milliseconds. The board must
    /// outlive every ticket it hands out.
    ticket add(std::string_view protocol, std::uint32_t client, std::string_view path, std::uint64_t size,
               std::int64_t now_ms);

    /// Every transfer on the board now, oldest first.
    std::vector<view> snapshot() const;
    std::size_t size() const;

private:
    void remove(std::uint64_t id);
    mutable std::mutex mutex_;
    std::uint64_t next_id_ = 1;
    std::unordered_map<std::uint64_t, std::shared_ptr<entry>> live_;
};

/// Unix milliseconds now, for add().
std::int64_t unix_ms_now();

}  // namespace pxed::net
