// Sockets and timers around tftp::read_transfer. Requests, files, limits,
// logs, metrics and the trace are the event loop's; a transfer's packets
// and deadline are its shard's, which is the loop too or a data thread of
// its own (class shard). State is owned by one thread at a time and handed
// over by posted messages, so no strands or locks are needed; a session
// stays alive while the server or its shard lists it, and while its packet
// is being handled.

#include "pxed/net/tftp_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <malloc.h>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "endpoint.hpp"
#include "log_limit.hpp"
#include "udp_batch.hpp"
#include "pxed/engine/tftp_front_door.hpp"
#include "pxed/metrics/registry.hpp"
#include "pxed/net/event_loop.hpp"
#include "pxed/net/transfer_board.hpp"
#include "pxed/net/udp.hpp"
#include "pxed/proto/tftp.hpp"
#include "pxed/wire/text.hpp"

namespace pxed::net {
namespace asio = boost::asio;
using udp = asio::ip::udp;
using clock_type = tftp::transfer_clock;

namespace {

// UDP segmentation (UDP_SEGMENT, Linux 4.18; <netinet/udp.h> of older
// libcs lacks the names): a window of DATA blocks handed to the kernel as
// one datagram that it cuts into blocks, so the window makes one trip
// through the UDP and IP layers, the routing and the device instead of
// one per block. Asked once per process: a kernel without it (CentOS 7's
// 3.10) would ignore the cmsg and send the window as one fragmented
// datagram, so it is never tried there. PXED_TFTP_GSO=0 turns it off.
constexpr int sol_udp = 17;      // SOL_UDP
constexpr int udp_segment = 103;  // UDP_SEGMENT
constexpr std::size_t max_segments = 64;  // UDP_MAX_SEGMENTS of 4.18

bool udp_segmentation_usable() {
    static const bool usable = [] {
        if (const char* env = std::getenv("PXED_TFTP_GSO"); env && std::string_view(env) == "0") return false;
        const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return false;
        int size = 0;
        const bool ok = ::setsockopt(fd, sol_udp, udp_segment, &size, sizeof size) == 0;
        ::close(fd);
        return ok;
    }();
    return usable;
}

// Reads a real file with pread(), a chunk at a time: the kernel page cache
// holds each file once however many clients fetch it, and one syscall serves
// dozens of blocks. (mmap would save the copy but turns a file truncated
// under a running transfer, e.g. an initrd replaced with cp, into SIGBUS.)
class fd_block_source final : public tftp::block_source {
public:
    fd_block_source(fs::unique_fd fd, std::uint64_t size) : fd_(std::move(fd)), size_(size) {}

    std::optional<std::uint64_t> size() const override { return size_; }

    std::optional<std::size_t> read(std::uint64_t offset, std::uint8_t* out, std::size_t len) override {
        std::size_t done = 0;
        while (done < len) {
            const std::uint64_t at = offset + done;
            if (at < chunk_start_ || at >= chunk_start_ + chunk_.size()) {
                if (!fill(at)) return std::nullopt;
                if (chunk_.empty()) break;  // end of file
            }
            const auto from = static_cast<std::size_t>(at - chunk_start_);
            const auto n = std::min(len - done, chunk_.size() - from);
            std::memcpy(out + done, chunk_.data() + from, n);
            done += n;
        }
        return done;
    }

private:
    // 64 KiB: 44 blocks of 1468 bytes per syscall, and one window of the
    // largest windowsize at that block size; 200 transfers cost 12.5 MiB.
    // A transfer starts with 4 KiB and doubles it per read: one that never
    // gets past its first block (a forged request, a tsize probe, a
    // boot loader's config file) holds 4 KiB, not 64.
    static constexpr std::size_t max_chunk_size = 64 * 1024;
    static constexpr std::size_t first_chunk_size = 4 * 1024;

    bool fill(std::uint64_t at) {
        const std::size_t chunk_size = next_chunk_size_;
        next_chunk_size_ = std::min(next_chunk_size_ * 2, max_chunk_size);
        chunk_.resize(chunk_size);
        chunk_start_ = at - at % chunk_size;
        std::size_t got = 0;
        while (got < chunk_size) {
            const ssize_t n = ::pread(fd_.get(), chunk_.data() + got, chunk_size - got,
                                      static_cast<off_t>(chunk_start_ + got));
            if (n < 0) {
                if (errno == EINTR) continue;
                chunk_.clear();
                return false;
            }
            if (n == 0) break;
            got += static_cast<std::size_t>(n);
        }
        chunk_.resize(got);
        if (at >= chunk_start_ + got) chunk_.clear();
        return true;
    }

    fs::unique_fd fd_;
    std::uint64_t size_;
    std::vector<std::uint8_t> chunk_;
    std::uint64_t chunk_start_ = 0;
    std::size_t next_chunk_size_ = first_chunk_size;
};

tftp::error_code to_tftp(fs::errc e) {
    switch (e) {
    case fs::errc::not_found:
    case fs::errc::is_directory: return tftp::error_code::file_not_found;
    case fs::errc::access_denied:
    case fs::errc::invalid_path: return tftp::error_code::access_violation;
    case fs::errc::not_a_directory:
    case fs::errc::io_error: break;
    }
    return tftp::error_code::not_defined;
}

// A boot loader looking for its per-client config file.
bool is_config_probe(const std::string& path) {
    return path.find("pxelinux.cfg/") != std::string::npos || path.find("grub.cfg-") != std::string::npos;
}

udp::endpoint to_endpoint(const sockaddr_in& sa) {
    return udp::endpoint(asio::ip::address_v4(ntohl(sa.sin_addr.s_addr)), ntohs(sa.sin_port));
}




// A transfer whose handler threw (out of memory, a bug) ends with an ERROR
// to its client; the other transfers carry on (event_loop.hpp).
template <class Session, class F>
void contain_transfer(Session& s, const char* what, F&& f) {
    if (!contain("tftp", what, f))
        contain("tftp", "ending a failed transfer",
                [&] { s.refuse(tftp::error_code::not_defined, "server error", "its handler failed"); });
}

}  // namespace

// What the server counts (docs/metrics.md). Transfers are counted when
// they end (bytes and retransmissions too), so the per-block path has no
// metric in it at all.
struct tftp_metrics {
    explicit tftp_metrics(metrics::registry& r)
        : started(r.counters("pxed_tftp_transfers_started_total", "TFTP transfers started (read requests accepted).")
                      .only()),
          finished(r.counters("pxed_tftp_transfers_finished_total",
                              "TFTP transfers ended, by outcome: completed, size_probe (a PXE ROM asked for tsize "
                              "and ended it, as they do), or a failure (error_sent, client_error, timed_out, "
                              "aborted, replaced).",
                              {"outcome"})),
          refused(r.counters("pxed_tftp_requests_refused_total",
                             "TFTP requests answered with ERROR without a transfer: not_found (routine: pxelinux "
                             "and GRUB probe many config names), access_violation, invalid (malformed, write "
                             "requests), busy (server.tftp.max_transfers), client_limit (max_transfers_per_client), "
                             "error (a server-side failure).",
                             {"reason"})),
          not_found(refused.with({"not_found"})),
          access_violation(refused.with({"access_violation"})),
          invalid(refused.with({"invalid"})),
          busy(refused.with({"busy"})),
          client_limit(refused.with({"client_limit"})),
          not_started(refused.with({"error"})),
          bytes(r.counters("pxed_tftp_sent_bytes_total", "TFTP payload bytes acknowledged by clients.").only()),
          retransmissions(
              r.counters("pxed_tftp_retransmissions_total", "TFTP DATA and OACK packets sent again.").only()),
          spurious_timeouts(r.counters("pxed_tftp_spurious_timeouts_total",
                                       "TFTP retransmission timeouts found spurious (the client's ACKs showed it had "
                                       "the block) and undone.")
                                .only()),
          duration(r.histograms("pxed_tftp_transfer_duration_seconds", "Time completed TFTP transfers took.",
                                {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300})
                       .only()) {
        const std::pair<tftp::transfer_outcome, const char*> labels[] = {
            {tftp::transfer_outcome::completed, "completed"},   {tftp::transfer_outcome::error_sent, "error_sent"},
            {tftp::transfer_outcome::client_error, "client_error"}, {tftp::transfer_outcome::timed_out, "timed_out"},
            {tftp::transfer_outcome::aborted, "aborted"},       {tftp::transfer_outcome::replaced, "replaced"}};
        for (const auto& [o, label] : labels) by_outcome[static_cast<std::size_t>(o)] = &finished.with({label});
        size_probe = &finished.with({"size_probe"});
    }

    metrics::counter& started;
    metrics::family<metrics::counter>& finished;
    metrics::family<metrics::counter>& refused;
    metrics::counter& not_found;
    metrics::counter& access_violation;
    metrics::counter& invalid;
    metrics::counter& busy;
    metrics::counter& client_limit;
    metrics::counter& not_started;
    metrics::counter& bytes;
    metrics::counter& retransmissions;
    metrics::counter& spurious_timeouts;
    metrics::histogram& duration;
    std::array<metrics::counter*, 8> by_outcome{};  // by transfer_outcome
    metrics::counter* size_probe;
};

class tftp_server::impl : public std::enable_shared_from_this<impl> {
public:
    impl(asio::io_context& io, tftp_server_options options, namespace_provider files)
        : io_(io),
          options_(std::move(options)),
          files_(std::move(files)),
          socket_(io),
          shares_(tftp::share_limits{options_.max_transfers, options_.max_transfers_per_client}),
          registry_(options_.metrics),
          metrics_(registry_.get()) {}

    ~impl();

    void start() {
        const auto addr = asio::ip::make_address_v4(options_.listen_address);
        socket_.open(udp::v4());
        socket_.bind(udp::endpoint(addr, options_.port));
        socket_.non_blocking(true);
        // A rack powering on sends its RRQs within milliseconds of each other.
        socket_.set_option(asio::socket_base::receive_buffer_size(4 << 20));
        if (!enable_pktinfo(socket_.native_handle()))
            throw std::system_error(errno, std::generic_category(), "IP_PKTINFO");
        open_shards();
        wait_for_requests();
        metrics::active_gauge(registry_.get(), "pxed_tftp_transfers_active", "TFTP transfers running now.", weak_from_this());
    }

    void stop();

    std::uint16_t port() const {
        boost::system::error_code ec;
        return socket_.local_endpoint(ec).port();
    }

    std::size_t active() const { return sessions_.size(); }
    std::vector<std::uint64_t> per_shard() const;
    std::uint64_t segmented() const;
    std::size_t post_to_data_threads(const std::function<void()>& f);

private:
    class session;
    class shard;

    void open_shards();

    void wait_for_requests() {
        socket_.async_wait(udp::socket::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->stopping_) return;
            self->drain_requests();
        });
    }

    // Reads queued requests: during a boot storm one wake-up serves many.
    // After a batch the loop yields to running transfers; what is still
    // queued is read on the next turn without waiting for readiness again
    // (the socket is edge-triggered: no new datagram, no new wake-up).
    void drain_requests() {
        for (int i = 0; i < 256; ++i) {
            int err = 0;
            const auto info = receive_datagram(socket_.native_handle(), buffer_, sizeof buffer_, err);
            if (!info) {
                if (err != EAGAIN && err != EWOULDBLOCK && error_log_.allow(clock_type::now()))
                    spdlog::warn("tftp: receive failed: {}", std::strerror(err));
                wait_for_requests();
                return;
            }
            contain("tftp", "handling a request", [&] { on_request(*info); });
        }
        asio::post(io_, [self = shared_from_this()] {
            if (!self->stopping_) self->drain_requests();
        });
    }

    void on_request(const datagram_info& info) {
        const auto peer = to_endpoint(info.peer);
        const auto decoded = tftp::decode(buffer_, info.size);
        const auto door = tftp::front_door(decoded);
        const auto now = clock_type::now();
        switch (door.verdict) {
        case tftp::door_verdict::drop:
            if (junk_log_.allow(spdlog::level::debug, now))
                spdlog::debug("tftp: {} sent a datagram that is not a request ({} bytes); dropped", describe(peer),
                              info.size);
            return;
        case tftp::door_verdict::refuse:
            if (junk_log_.allow(spdlog::level::info, now))
                spdlog::info("tftp: {} refused: {}", describe(peer), wire::escape_for_log(door.reason));
            metrics_.invalid.inc();
            send_once(door.reply, info);
            return;
        case tftp::door_verdict::accept: break;
        }
        const auto& rrq = *decoded.get_if<tftp::request>();
        if (decoded.quirks().any())
            spdlog::debug("tftp: {} request decoded with tolerated quirks", describe(peer));
        // The same client TID asking again has not heard our first answer
        // (lost OACK or DATA 1): the running transfer answers it, rather
        // than a second transfer racing the first.
        if (const auto it = by_peer_.find(peer); it != by_peer_.end()) {
            repeated_request(*it->second, rrq, info, peer);
            return;
        }
        admit(rrq, info, peer, now);
    }

    void repeated_request(session& s, const tftp::request& rrq, const datagram_info& info, const udp::endpoint& peer);

    void admit(const tftp::request& rrq, const datagram_info& info, const udp::endpoint& peer,
               clock_type::time_point now) {
        const std::uint32_t client = ntohl(info.peer.sin_addr.s_addr);
        const auto admitted = shares_.admit(client, now);
        if (admitted.verdict != tftp::admission::accept) {
            refuse_over_limit(admitted, rrq, info, peer);
            return;
        }
        start_session(rrq, info, peer, client);
    }

    // The boot trace hears of a transfer's end or a refusal.
    void trace_file(const udp::endpoint& peer, std::string_view path, bool ok, std::string outcome, std::string detail,
               std::uint64_t bytes, std::int64_t ms) const {
        if (!options_.trace || !peer.address().is_v4()) return;
        trace::event e;
        e.k = trace::kind::tftp;
        e.client = peer.address().to_v4().to_uint();
        e.what = wire::escape_for_log(path);
        e.ok = ok;
        e.outcome = std::move(outcome);
        e.detail = std::move(detail);
        e.bytes = bytes;
        e.duration_ms = static_cast<std::uint32_t>(std::max<std::int64_t>(ms, 0));
        options_.trace(std::move(e));
    }

    // A limit bit: the client gets ERROR 0 saying which (over its own
    // share, at most once a second: see share_limits), and the log a
    // warning from the limit's own budget (transfer_shares): at most one
    // per client, or for the whole server, per ten seconds, counting the
    // refusals in between. Nothing else the server logs draws on it.
    void refuse_over_limit(const tftp::admission_decision& d, const tftp::request& rrq, const datagram_info& info,
                           const udp::endpoint& peer) {
        const bool per_client = d.verdict == tftp::admission::client_full;
        (per_client ? metrics_.client_limit : metrics_.busy).inc();
        trace_file(peer, rrq.filename, false,
              per_client ? "refused: too many transfers from this address (server.tftp.max_transfers_per_client)"
                         : "refused: server busy (server.tftp.max_transfers)",
              {}, 0, 0);
        if (d.answer)
            send_once(tftp::encode_error(tftp::error_code::not_defined,
                                         per_client ? "too many transfers from your address, try again"
                                                    : "server busy, try again"),
                      info);
        if (!d.report) return;
        const std::string more =
            d.held_back ? "; " + std::to_string(d.held_back) + " more refused since the last such line" : "";
        if (per_client) {
            spdlog::warn("tftp: {} \"{}\" refused: {} transfers from {} already running "
                         "(server.tftp.max_transfers_per_client){}",
                         describe(peer), wire::escape_for_log(rrq.filename), d.running, peer.address().to_string(), more);
        } else {
            spdlog::warn("tftp: {} \"{}\" refused: {} transfers already running (server busy){}", describe(peer),
                         wire::escape_for_log(rrq.filename), d.running, more);
        }
    }

    // An ERROR for a request we will not serve, from a fresh port (a new TID,
    // as a transfer would have).
    void send_once(const std::vector<std::uint8_t>& packet, const datagram_info& info) {
        boost::system::error_code ec;
        udp::socket s(io_);
        s.open(udp::v4(), ec);
        if (!ec) s.bind(udp::endpoint(asio::ip::address_v4(ntohl(info.local.s_addr)), 0), ec);
        if (!ec) s.send_to(asio::buffer(packet), to_endpoint(info.peer), 0, ec);
    }

    void start_session(const tftp::request& rrq, const datagram_info& info, const udp::endpoint& peer,
                       std::uint32_t client);
    void session_closed(std::uint32_t client);
    shard& least_loaded();

    asio::io_context& io_;
    tftp_server_options options_;
    namespace_provider files_;
    udp::socket socket_;
    std::uint8_t buffer_[65536];
    bool stopping_ = false;
    bool stopped_ = false;
    // A budget per kind of message (issue 16: junk used up the one the
    // "already running" warning needed). The limits' own warnings have
    // theirs in shares_.
    log_limiter junk_log_{"tftp"};   // datagrams that are not requests, malformed requests
    log_limiter error_log_{"tftp"};  // socket errors
    // Transfers that timed out without the client ever answering: forged
    // requests make as many as they like.
    log_limiter unanswered_log_{"tftp", 20, spdlog::level::warn, "more transfers timed out unanswered"};
    tftp::transfer_shares shares_;
    std::size_t peak_since_trim_ = 0;
    static constexpr std::size_t max_batch = 64;
    static constexpr int max_events = 256;  // ready transfers handled per epoll_wait
    // The data paths: one on the loop, or one per data thread.
    std::vector<std::unique_ptr<shard>> shards_;
    // Every transfer until its end has been reported on the loop (its
    // shard has its own list of those it runs).
    std::unordered_map<session*, std::shared_ptr<session>> sessions_;
    std::map<udp::endpoint, session*> by_peer_;  // running transfers by client TID
    metrics::registry_ref registry_;  // options_.metrics, or a private one
    tftp_metrics metrics_;
};

// One data path: an epoll set of transfer sockets, an io_uring (or not),
// one timer, and the transfers it runs. On the event loop's own
// io_context, or on a thread of its own with an io_context of its own
// (server.tftp.data_threads). A shard's transfers are touched only by its
// thread while it runs; what the loop needs of them (their end, for logs,
// metrics, the trace and the limits) reaches it as a posted message, and
// what the loop must tell one of them (a repeated request) reaches the
// shard the same way. The loop-side members say so.
class tftp_server::impl::shard {
public:
    shard(impl& server, std::size_t index, bool own_thread) : server_(server), index_(index), own_thread_(own_thread) {}
    ~shard() { halt(); }
    shard(const shard&) = delete;
    shard& operator=(const shard&) = delete;

    // Loop thread.
    void open(bool epoll_only) {
        if (own_thread_) own_io_ = std::make_unique<asio::io_context>(1);
        auto& io = this->io();
        ready_.emplace(io);
        tick_.emplace(io);
        const int ep = ::epoll_create1(EPOLL_CLOEXEC);
        if (ep < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
        ready_->assign(ep);
        wait_for_transfers();
        if (!own_thread_) {
            open_batch(epoll_only);
            return;
        }
        threaded_ = true;
        // The io_uring is made by the thread that submits to it.
        std::promise<void> opened;
        auto batch_ready = opened.get_future();
        thread_ = std::thread([this, epoll_only, &opened] {
            open_batch(epoll_only);
            opened.set_value();
            for (;;) {
                try {
                    own_io_->run();
                    return;
                } catch (const std::exception& e) {
                    // contain() keeps exceptions inside each handler; this
                    // is the last line, and the shard keeps serving.
                    log(spdlog::level::err, fmt::format("tftp: data thread {}: {}", index_, e.what()));
                }
            }
        });
        // Named before anyone can look (top, /proc/PID/task/*/comm, tests).
        const std::string name = "pxed-tftp-" + std::to_string(index_);
        ::pthread_setname_np(thread_.native_handle(), name.c_str());
        batch_ready.wait();
    }

    bool has_batch() const { return batch_ != nullptr; }

    void open_batch(bool epoll_only) {
        if (!epoll_only) batch_ = udp_batch::open(max_events);
        if (batch_) receive_slots_.resize(max_events);
    }

    // Loop thread. The shard's thread, if it has one, is joined: from here
    // on the loop may touch its transfers (to end them) directly.
    void halt() {
        if (stopping_) return;
        if (thread_.joinable()) {
            own_io_->stop();
            thread_.join();
        }
        threaded_ = false;
        stopping_ = true;
        boost::system::error_code ec;
        if (ready_) ready_->cancel(ec);
        if (tick_) tick_->cancel();
    }

    // Loop thread, after halt() and after its transfers ended: handlers
    // still queued on its own io_context hold the server; drop them.
    void close() {
        if (!own_thread_) return;
        ready_.reset();
        tick_.reset();
        own_io_.reset();
    }

    // Whether the shard runs on a thread of its own now. Written by the
    // loop only while that thread does not run.
    bool threaded() const { return threaded_; }
    std::size_t index() const { return index_; }

    // Loop thread: `s`, its engine made, starts on this shard.
    void adopt(std::shared_ptr<session> s) {
        ++running_;
        ++started_;
        if (!threaded_) {
            attach(s);
            return;
        }
        asio::post(*own_io_, [this, s = std::move(s)] { attach(s); });
    }

    // Loop thread: `f` runs where the shard's transfers run.
    template <class F>
    void run_here(F&& f) {
        if (threaded_)
            asio::post(*own_io_, std::forward<F>(f));
        else
            f();
    }

    // A line from code the shard runs. Logging is the loop's: a reload
    // that changes server.log replaces, and frees, the default logger
    // there, and a data thread that logged through spdlog's raw pointer to
    // it read freed memory (ThreadSanitizer found it; docs/tftp.md "Thread
    // safety"). A data thread formats the line and posts it to the loop; a
    // shard on the loop logs at once.
    void log(spdlog::level::level_enum level, std::string line) {
        if (!threaded_) {
            spdlog::log(level, "{}", line);
            return;
        }
        asio::post(server_.io_, [level, line = std::move(line)] { spdlog::log(level, "{}", line); });
    }

    // Strangers on a transfer's port are anyone's to send: their debug
    // line is logged at most 20 times per ten seconds per shard (a data
    // thread cannot ask whether debug is on, and must not post a message
    // to the loop per datagram). Returns what the line adds (how many were
    // held back), or nothing when it is over budget. The shard's thread.
    std::optional<std::string> stranger_line(clock_type::time_point now) {
        if (now - strangers_since_ >= std::chrono::seconds(10)) {
            strangers_since_ = now;
            strangers_logged_ = 0;
        }
        if (++strangers_logged_ > 20) {
            ++strangers_held_back_;
            return std::nullopt;
        }
        std::string more;
        if (strangers_held_back_)
            more = "; " + std::to_string(strangers_held_back_) + " more held back since the last such line";
        strangers_held_back_ = 0;
        return more;
    }

    // Loop-side counts: transfers on this shard not yet reported ended,
    // and transfers ever started here.
    std::size_t running_ = 0;
    std::uint64_t started_ = 0;
    // Datagrams sent as UDP segments (a window, or part of one), by the
    // shard's thread; read by tests on any thread.
    std::atomic<std::uint64_t> segmented_{0};

private:
    friend class impl::session;

    asio::io_context& io() { return own_thread_ ? *own_io_ : server_.io_; }

    void attach(const std::shared_ptr<session>& s);

    // Transfer sockets are not Asio sockets: they are watched by an epoll
    // set of our own, level-triggered, which the io_context watches as one
    // descriptor. One wake-up then reads the ACK of every transfer that has
    // one, each with one syscall and no per-operation bookkeeping (an Asio
    // receive follows each datagram with a read that finds the socket
    // empty). That counts with many lock-step transfers, where the server
    // is CPU-bound (bench/README.md, "TFTP", has the figures). See
    // drain_transfers for why no datagram is left waiting.
    void wait_for_transfers() {
        ready_->async_wait(asio::posix::stream_descriptor::wait_read,
                           [self = server_.shared_from_this(), this](const boost::system::error_code& ec) {
                               if (ec || stopping_) return;
                               drain_transfers();
                           });
    }

    void drain_transfers();
    void drain_round(const epoll_event* events, int n);

    // One timer for all of the shard's transfers. Per-transfer timers would
    // be re-armed (a timerfd_settime syscall) every retransmission timeout
    // of every transfer, a few milliseconds on a LAN; this one fires at the
    // earliest deadline, checks every transfer, and re-arms once.
    void schedule(clock_type::time_point t) {
        if (tick_armed_ && tick_at_ <= t) return;
        tick_armed_ = true;
        tick_at_ = t;
        tick_->expires_at(t);
        tick_->async_wait([self = server_.shared_from_this(), this](const boost::system::error_code& ec) {
            if (ec == asio::error::operation_aborted) return;  // re-armed earlier
            tick_armed_ = false;
            if (!stopping_) on_tick();
        });
    }

    void on_tick();

    impl& server_;
    const std::size_t index_;
    const bool own_thread_;
    bool threaded_ = false;
    bool stopping_ = false;  // written by the loop only while the thread does not run
    std::unique_ptr<asio::io_context> own_io_;  // own_thread_ only; destroyed after what uses it
    std::optional<asio::posix::stream_descriptor> ready_;  // epoll set of the transfer sockets
    std::optional<asio::steady_timer> tick_;
    clock_type::time_point tick_at_{};
    bool tick_armed_ = false;
    clock_type::time_point strangers_since_{};
    unsigned strangers_logged_ = 0;
    unsigned strangers_held_back_ = 0;
    std::thread thread_;
    std::unordered_map<session*, std::shared_ptr<session>> sessions_;  // those attached here
    std::vector<std::shared_ptr<session>> due_;                         // reused by on_tick
    // Scratch shared by the shard's sessions (one thread): a session's ACK
    // buffer and sendmmsg() arrays would cost 6 KiB each, times thousands.
    std::uint8_t ack_buffer_[1024];
    std::unique_ptr<udp_batch> batch_;  // null: the epoll path
    std::vector<udp_batch::receive> receive_slots_;
    std::vector<std::shared_ptr<session>> round_;  // the sessions of one batched round
    bool batching_ = false;                        // sends wait in batch_ for the end of the round
    mmsghdr msgs_[max_batch];
    iovec iov_[max_batch];
};

// One transfer: its own socket (the server's TID), a deadline, the engine.
// Made and opened on the loop; then it runs on its shard (adopt), and its
// end is reported back to the loop (report) for everything the loop owns.
class tftp_server::impl::session : public std::enable_shared_from_this<session> {
public:
    session(impl& server, shard& home, fs::unique_fd fd, udp::endpoint peer, std::uint32_t client, std::string path)
        : server_(server), shard_(home), fd_(std::move(fd)), peer_(std::move(peer)), client_(client),
          path_(std::move(path)) {}

    int fd() const { return fd_.get(); }
    shard& home() const { return shard_; }

    // Loop thread, before adopt.
    void set_transfer(std::unique_ptr<tftp::read_transfer> transfer) { transfer_ = std::move(transfer); }
    // Loop thread, before adopt: where the transfer shows while it runs.
    void show_on(transfer_board::ticket ticket) { ticket_ = std::move(ticket); }

    // Its shard, once attached.
    void run() { apply(transfer_->start(clock_type::now())); }

    /// Called once the client has the whole file (see delivered()).
    void when_delivered(std::function<void()> f) { on_delivered_ = std::move(f); }

    // Ends the transfer for a reason of ours (no file, its handler failed)
    // before or during it; the client gets ERROR. On the loop before the
    // session is adopted, on its shard after.
    void refuse(tftp::error_code code, const std::string& message, const char* why) {
        if (ended_) return;
        send_one(tftp::encode_error(code, message));
        refusal_ = refusal{code, why};
        finish();
    }

    // The loop thread, with the shards halted: a running transfer ends
    // with ERROR and is reported. One that ended on its data thread just
    // before is reported here too: the message that says so waits in the
    // loop's queue, which a SIGTERM has stopped for good (daemon.cpp stops
    // the loop, then the servers), and its line would never be logged.
    void abort(const std::string& reason) {
        if (!ended_ && transfer_ && !transfer_->done()) apply(transfer_->abort(clock_type::now(), reason));
        if (ended_) report();
    }

private:
    void send_one(const std::vector<std::uint8_t>& packet) {
        ::sendto(fd_.get(), packet.data(), packet.size(), MSG_DONTWAIT, peer_.data(), static_cast<socklen_t>(peer_.size()));
    }

public:
    // The transfer socket is readable, or was: reads one datagram. One
    // still queued keeps the socket ready in the epoll set (level-
    // triggered), so it is read on the next round (see drain_transfers).
    void on_readable() {
        if (!active()) return;
        sockaddr_in from{};
        socklen_t from_len = sizeof from;
        auto& buffer = shard_.ack_buffer_;
        const ssize_t n = ::recvfrom(fd_.get(), buffer, sizeof buffer, MSG_DONTWAIT,
                                     reinterpret_cast<sockaddr*>(&from), &from_len);
        // Nothing queued, or an error: the engine's timer and retry limit
        // deal with a client that went away.
        if (n < 0) return;
        on_datagram(buffer, static_cast<std::size_t>(n), from);
    }

    // A datagram read for this transfer (by on_readable, or by a batched
    // round of receives).
    void on_datagram(const std::uint8_t* data, std::size_t n, const sockaddr_in& from) {
        if (!active()) return;
        if (const auto sender = to_endpoint(from); sender != peer_) {
            // RFC 1350 section 4: a stranger on our TID gets ERROR 5; the
            // transfer carries on untouched.
            const auto& reply = tftp::unknown_tid_reply();
            ::sendto(fd_.get(), reply.data(), reply.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&from),
                     sizeof from);
            if (const auto more = shard_.stranger_line(clock_type::now()))
                shard_.log(spdlog::level::debug,
                           fmt::format("tftp: {} sent a packet to the transfer of {}; answered unknown TID{}",
                                       describe(sender), describe(peer_), *more));
            return;
        }
        apply(transfer_->on_packet(data, n, clock_type::now()));
    }

private:
    void apply(tftp::transfer_actions actions) {
        // Non-blocking: a full socket buffer (EAGAIN/ENOBUFS) is a packet
        // lost on the wire, which the engine's timer recovers.
        if (actions.send.size() == 1 && shard_.batching_) {
            // In a batched round: leaves with the round's other sends, in
            // one syscall (drain_round). A session handles one datagram per
            // round, so nothing of its own can overtake it.
            shard_.batch_->queue_send(fd_.get(), *reinterpret_cast<const sockaddr_in*>(peer_.data()),
                                      std::move(actions.send.front()));
        } else if (actions.send.size() == 1) {
            send_one(actions.send.front());
        } else if (!actions.send.empty()) {
            send_batch(actions.send);
        }
        if (actions.done) {
            finish();
            return;
        }
        // The dashboard's count: a relaxed store per ACK (per window with
        // RFC 7440), a branch without a board.
        ticket_.sent(transfer_->stats().bytes);
        arm(*actions.deadline);
        if (!actions.send.empty()) expect_reply();
    }

    // A client that answers within the busy-poll budget is waited for by
    // polling, not sleeping (event_loop.hpp), while few transfers run. With
    // more, the loop is rarely idle and one wake-up serves several ACKs:
    // polling stops paying past two transfers (max_polled_transfers) and
    // with many only burns CPU the clients need (bench/README.md, "TFTP").
    // The poll is the loop's: a data thread never asks it.
    void expect_reply() {
        auto* poll = server_.options_.poll;
        if (shard_.own_thread_ || !poll || !poll->enabled() || shard_.sessions_.size() > max_polled_transfers) return;
        if (const auto& rtt = transfer_->stats().srtt) poll->expect_reply(clock_type::now(), *rtt);
    }

    // The shard's one timer watches every transfer's deadline (see
    // shard::schedule); a deadline that moves later, as it does on every
    // ACK, costs nothing.
    void arm(clock_type::time_point deadline) {
        deadline_ = deadline;
        shard_.schedule(deadline);
    }

    // A window of DATA blocks: as UDP segments where the kernel cuts them
    // (send_segmented), else in one sendmmsg() instead of one syscall each.
    void send_batch(const std::vector<std::vector<std::uint8_t>>& packets) {
        auto& msgs = shard_.msgs_;
        auto& iov = shard_.iov_;
        const auto dest = peer_.data();
        std::size_t sent = segment_ ? send_segmented(packets) : 0;
        while (sent < packets.size()) {
            const std::size_t n = std::min<std::size_t>(packets.size() - sent, max_batch);
            for (std::size_t i = 0; i < n; ++i) {
                auto& p = packets[sent + i];
                iov[i] = iovec{const_cast<std::uint8_t*>(p.data()), p.size()};
                msgs[i] = mmsghdr{};
                msgs[i].msg_hdr.msg_name = const_cast<sockaddr*>(dest);
                msgs[i].msg_hdr.msg_namelen = static_cast<socklen_t>(peer_.size());
                msgs[i].msg_hdr.msg_iov = &iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
            }
            const int r = ::sendmmsg(fd_.get(), msgs, static_cast<unsigned>(n), MSG_DONTWAIT);
            if (r <= 0) return;  // buffer full: the rest counts as lost
            sent += static_cast<std::size_t>(r);
        }
    }

    // The window's blocks as few datagrams as the kernel will cut: all
    // but the last of each the same size (the last block of a file may be
    // shorter), at most 64 and 64 KiB. Returns how many blocks are done
    // with: sent, or lost to a full buffer as a failed sendmmsg loses them.
    // A send the kernel refuses (a device without checksum offload: EIO; a
    // block above the path's MTU: EINVAL) leaves the rest to sendmmsg, and
    // this transfer's later windows too.
    std::size_t send_segmented(const std::vector<std::vector<std::uint8_t>>& packets) {
        const std::size_t size = packets.front().size();
        const std::size_t per = std::min({max_segments, max_batch, std::size_t{65000} / size});
        auto& iov = shard_.iov_;
        std::size_t done = 0;
        while (per >= 2 && packets.size() - done >= 2) {
            std::size_t n = 0;
            while (done + n < packets.size() && n < per) {
                const std::size_t s = packets[done + n].size();
                if (s > size) break;
                iov[n] = iovec{const_cast<std::uint8_t*>(packets[done + n].data()), s};
                ++n;
                if (s < size) break;  // a short block ends a datagram
            }
            if (n < 2) break;
            alignas(cmsghdr) char control[CMSG_SPACE(sizeof(std::uint16_t))] = {};
            msghdr m{};
            m.msg_name = const_cast<sockaddr*>(peer_.data());
            m.msg_namelen = static_cast<socklen_t>(peer_.size());
            m.msg_iov = iov;
            m.msg_iovlen = n;
            m.msg_control = control;
            m.msg_controllen = sizeof control;
            cmsghdr* c = CMSG_FIRSTHDR(&m);
            c->cmsg_level = sol_udp;
            c->cmsg_type = udp_segment;
            c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
            const auto segment = static_cast<std::uint16_t>(size);
            std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
            if (::sendmsg(fd_.get(), &m, MSG_DONTWAIT) < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return packets.size();
                segment_ = false;
                return done;
            }
            done += n;
            shard_.segmented_.fetch_add(1, std::memory_order_relaxed);
        }
        return done;
    }

public:
    // Its shard's thread (or the loop, for a shard on the loop).
    clock_type::time_point deadline() const { return deadline_; }
    bool active() const { return !ended_ && transfer_ && !transfer_->done(); }

    void duplicate_request(clock_type::time_point now) {
        if (active()) apply(transfer_->on_duplicate_request(now));
    }

    // A new request from this client's port: if the client has left this
    // transfer (see read_transfer::replaceable), end it so the request
    // starts a new one. Returns whether it did.
    bool replace_if_left(clock_type::time_point now) {
        if (!active() || !transfer_->replaceable(now)) return false;
        transfer_->replace(now);
        finish();
        return true;
    }

    void on_timer(clock_type::time_point now) {
        if (!active() || now < deadline_) return;
        apply(transfer_->on_timer(now));
    }

    void attached() { attached_ = true; }
    const udp::endpoint& peer() const { return peer_; }

    // The loop thread: everything the loop owns hears of the end.
    void report() {
        if (reported_) return;
        reported_ = true;
        if (refusal_) {
            report_refusal();
        } else if (transfer_) {
            count_outcome();
            log_outcome();
            trace_outcome();
            if (on_delivered_ && delivered()) on_delivered_();
        }
        on_delivered_ = nullptr;
        if (const auto it = server_.by_peer_.find(peer_); it != server_.by_peer_.end() && it->second == this)
            server_.by_peer_.erase(it);
        if (adopted_) --shard_.running_;
        server_.session_closed(client_);
        server_.sessions_.erase(this);  // may drop the last owner; the caller holds its own
    }

    // Loop thread: it goes to its shard.
    void adopted() { adopted_ = true; }

private:
    // The session's shard (or the loop, before adopt): its socket leaves
    // the shard, and its end goes to the loop.
    void finish() {
        if (ended_) return;
        ended_ = true;
        ticket_.reset();                 // off the board, on whichever thread ends it
        auto self = shared_from_this();  // leaving the shard may drop its last other owner
        if (attached_) {
            // What this transfer queued in a batched round (its ERROR)
            // leaves before its socket closes.
            if (shard_.batch_ && shard_.batch_->queued()) shard_.batch_->flush();
            ::epoll_ctl(shard_.ready_->native_handle(), EPOLL_CTL_DEL, fd_.get(), nullptr);
            attached_ = false;
            shard_.sessions_.erase(this);
        }
        fd_.reset();
        if (shard_.threaded())
            asio::post(server_.io_, [self] { self->report(); });
        else
            report();
    }

    // The client has the whole file: it acknowledged the last block, or
    // started a new transfer from the same port after it went out.
    bool delivered() const {
        const auto outcome = transfer_->outcome();
        return outcome == tftp::transfer_outcome::completed ||
               (outcome == tftp::transfer_outcome::replaced && transfer_->stats().last_block_sent);
    }

    // PXE ROMs ask for tsize, read the OACK and abort, then ask again for
    // real: that first exchange is routine. (An abort after a resent OACK
    // is not that: atftp aborts on a second OACK.)
    bool size_probe() const {
        const auto& st = transfer_->stats();
        return transfer_->outcome() == tftp::transfer_outcome::client_error && st.blocks == 0 && st.oack_sent &&
               st.retransmissions == 0;
    }

    void report_refusal() const {
        const auto code = refusal_->code;
        auto& m = server_.metrics_;
        (code == tftp::error_code::file_not_found     ? m.not_found
         : code == tftp::error_code::access_violation ? m.access_violation
                                                      : m.not_started)
            .inc();
        // pxelinux and GRUB probe a dozen names per boot (UUID, 01-MAC, hex
        // IP prefixes) before the one that exists: those misses are routine.
        const auto level = code == tftp::error_code::file_not_found && is_config_probe(path_) ? spdlog::level::debug
                                                                                              : spdlog::level::info;
        spdlog::log(level, "tftp: {} \"{}\" refused: {}", describe(peer_), wire::escape_for_log(path_), refusal_->why);
        server_.trace_file(peer_, path_, false, code == tftp::error_code::file_not_found ? "not found" : "refused",
                           refusal_->why, 0, 0);
    }

    void count_outcome() const {
        auto& m = server_.metrics_;
        const auto& st = transfer_->stats();
        const auto outcome = transfer_->outcome();
        auto* c = size_probe() ? m.size_probe : m.by_outcome[static_cast<std::size_t>(outcome)];
        if (c) c->inc();
        m.bytes.inc(st.bytes);
        m.retransmissions.inc(st.retransmissions);
        m.spurious_timeouts.inc(st.spurious_timeouts);
        if (outcome == tftp::transfer_outcome::completed)
            m.duration.observe(std::chrono::duration<double>(st.duration).count());
    }

    void trace_outcome() const {
        if (!server_.options_.trace || size_probe()) return;
        const auto& st = transfer_->stats();
        std::string outcome(tftp::to_string(transfer_->outcome()));
        if (const auto& e = transfer_->error()) outcome += ": " + wire::escape_for_log(e->message, 80);
        std::string detail = "blksize " + std::to_string(st.blksize);
        if (st.windowsize > 1) detail += ", windowsize " + std::to_string(st.windowsize);
        if (st.retransmissions) detail += ", " + std::to_string(st.retransmissions) + " retransmissions";
        server_.trace_file(peer_, path_, delivered(), std::move(outcome), std::move(detail), st.bytes,
                      std::chrono::duration_cast<std::chrono::milliseconds>(st.duration).count());
    }

    void log_outcome() const {
        const auto& st = transfer_->stats();
        const auto outcome = transfer_->outcome();
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(st.duration).count();
        const auto who = describe(peer_);
        const auto file = wire::escape_for_log(path_);
        std::string error;
        if (const auto& e = transfer_->error())
            error = " (error " + std::to_string(static_cast<unsigned>(e->code)) + ": " + wire::escape_for_log(e->message) + ")";
        // A size probe (see size_probe()) is not worth an info line.
        if (size_probe()) {
            spdlog::debug("tftp: {} \"{}\" size probe answered{}", who, file, error);
            return;
        }
        const bool unanswered = outcome == tftp::transfer_outcome::timed_out && !st.answered;
        if (unanswered && !server_.unanswered_log_.allow()) return;
        const auto level = delivered() ? spdlog::level::info : spdlog::level::warn;
        // Spurious timeouts: resends the client's late ACKs showed were not
        // needed (docs/tftp.md, "Retransmission timing for slow clients").
        spdlog::log(level,
                    "tftp: {} \"{}\" {}: {} bytes in {} ms ({}), blksize {}, windowsize {}, {} retransmissions, "
                    "{} spurious timeouts{}{}",
                    who, file, tftp::to_string(outcome), st.bytes, ms, format_rate(st.bytes, st.duration), st.blksize,
                    st.windowsize, st.retransmissions, st.spurious_timeouts,
                    unanswered ? " (never answered: the client is gone, or the request was forged)"
                    : (outcome == tftp::transfer_outcome::timed_out || outcome == tftp::transfer_outcome::replaced) &&
                            st.last_block_sent
                        ? " (last block sent, its ACK never came)"
                        : "",
                    error);
    }

    struct refusal {
        tftp::error_code code;
        std::string why;  // a copy: the report may come a turn later
    };

    impl& server_;
    shard& shard_;
    fs::unique_fd fd_;
    const udp::endpoint peer_;
    const std::uint32_t client_;
    const std::string path_;
    std::function<void()> on_delivered_;  // the loop's
    std::unique_ptr<tftp::read_transfer> transfer_;
    // The shard's while it runs the session, then the loop's (the message
    // that reports the end orders the two).
    clock_type::time_point deadline_ = clock_type::time_point::max();
    transfer_board::ticket ticket_;  // empty without a board
    bool attached_ = false;
    bool ended_ = false;
    bool segment_ = udp_segmentation_usable();  // the shard's: windows as UDP segments
    std::optional<refusal> refusal_;
    // The loop's.
    bool adopted_ = false;
    bool reported_ = false;
    static constexpr std::size_t max_polled_transfers = 2;
};

void tftp_server::impl::shard::attach(const std::shared_ptr<session>& s) {
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered: see drain_transfers
    ev.data.ptr = s.get();
    if (::epoll_ctl(ready_->native_handle(), EPOLL_CTL_ADD, s->fd(), &ev) != 0) {
        const int err = errno;
        log(spdlog::level::err,
            fmt::format("tftp: {}: cannot watch a transfer socket: {}", describe(s->peer()), std::strerror(err)));
        s->refuse(tftp::error_code::not_defined, "server error", "its socket could not be watched");
        return;
    }
    sessions_.emplace(s.get(), s);
    s->attached();
    contain_transfer(*s, "starting a transfer", [&] { s->run(); });
}

// The same client port asked again. On a shard of its own thread the
// running transfer is asked there; a new transfer, if the old one was left
// (replace_if_left), starts on the loop after the old one's end reached it.
void tftp_server::impl::repeated_request(session& s, const tftp::request& rrq, const datagram_info& info,
                                         const udp::endpoint& peer) {
    auto& home = s.home();
    if (!home.threaded()) {
        const auto now = clock_type::now();
        if (s.replace_if_left(now))
            admit(rrq, info, peer, now);
        else
            s.duplicate_request(now);
        return;
    }
    home.run_here([self = shared_from_this(), s = s.shared_from_this(), rrq, info, peer] {
        contain_transfer(*s, "a repeated request", [&] {
            const auto now = clock_type::now();
            if (!s->replace_if_left(now)) {
                s->duplicate_request(now);
                return;
            }
            // finish() posted the old transfer's end first: by_peer_ is
            // free when this runs, unless yet another request took it.
            asio::post(self->io_, [self, rrq, info, peer] {
                if (self->stopping_ || self->by_peer_.count(peer)) return;
                contain("tftp", "handling a request", [&] { self->admit(rrq, info, peer, clock_type::now()); });
            });
        });
    });
}

void tftp_server::impl::shard::on_tick() {
    const auto now = clock_type::now();
    due_.clear();
    auto next = clock_type::time_point::max();
    for (const auto& entry : sessions_) {
        const auto d = entry.second->deadline();
        if (d <= now)
            due_.push_back(entry.second);  // on_timer may end the session, which edits sessions_
        else if (d < next)
            next = d;
    }
    for (const auto& s : due_) {
        contain_transfer(*s, "a transfer's timer", [&] { s->on_timer(now); });
        if (s->active() && s->deadline() < next) next = s->deadline();
    }
    due_.clear();
    if (next != clock_type::time_point::max()) schedule(next);
}

// The io_context reports the epoll set readable when a transfer socket in
// it is. Each ready socket is read once per round; rounds go on while the
// set has more ready sockets than one answer holds, and after eight the
// loop yields to other work. A socket with a datagram still queued stays
// ready in the set (level-triggered), and the wait re-armed at the end
// reports the set at once if anything in it is ready: Asio re-arms a wait
// with EPOLL_CTL_MOD, which re-evaluates readiness. So no datagram waits
// for the next one to be read (tftp_server_test).
void tftp_server::impl::shard::drain_transfers() {
    if (sessions_.size() <= 2) {
        // One or two transfers: reading each is cheaper than asking the set
        // which one is ready, and keeps that question off the round trip of
        // a fast client (see the busy poll).
        std::shared_ptr<session> few[2];
        std::size_t k = 0;
        for (const auto& entry : sessions_) few[k++] = entry.second;
        for (std::size_t i = 0; i < k; ++i) contain_transfer(*few[i], "a transfer", [&] { few[i]->on_readable(); });
        wait_for_transfers();
        return;
    }
    epoll_event events[max_events];
    for (int round = 0; round < 8; ++round) {
        const int n = ::epoll_wait(ready_->native_handle(), events, max_events, 0);
        if (batch_ && n > 1) {
            drain_round(events, n);
        } else for (int i = 0; i < n; ++i) {
            // Ending a session removes its socket from the set, so every
            // pointer reported is alive; the shared_ptr keeps it so while
            // its packet ends it.
            const auto s = static_cast<session*>(events[i].data.ptr)->shared_from_this();
            contain_transfer(*s, "a transfer", [&] { s->on_readable(); });
        }
        if (n < max_events) {
            wait_for_transfers();
            return;
        }
    }
    asio::post(io(), [self = server_.shared_from_this(), this] {
        if (!stopping_) drain_transfers();
    });
}

// The io_uring path of one round: every ready transfer's datagram read in
// one syscall, handled, and the single DATA packets they answer with sent
// in one more (a window still goes out at once, in one sendmmsg). Against
// two syscalls per transfer, and a client woken (and perhaps scheduled in
// our place) inside each sendto, with many lock-step clients.
void tftp_server::impl::shard::drain_round(const epoll_event* events, int n) {
    round_.clear();
    for (int i = 0; i < n; ++i) {
        // See drain_transfers: every pointer reported is alive.
        auto* s = static_cast<session*>(events[i].data.ptr);
        round_.push_back(s->shared_from_this());
        receive_slots_[static_cast<std::size_t>(i)].fd = s->fd();
    }
    batch_->receive_all(receive_slots_.data(), round_.size());
    batching_ = true;
    for (std::size_t i = 0; i < round_.size(); ++i) {
        const auto& slot = receive_slots_[i];
        // Nothing queued after all, or an error: as in on_readable.
        if (slot.result < 0) continue;
        auto& s = *round_[i];
        contain_transfer(s, "a transfer", [&] {
            s.on_datagram(slot.data, static_cast<std::size_t>(slot.result), slot.from);
        });
    }
    batching_ = false;
    batch_->flush();
    round_.clear();
}

// One shard on the loop, or server.tftp.data_threads shards each on a
// thread of its own; PXED_TFTP_IO=epoll asks for the epoll data path
// (tests run both), which is also the one where the kernel has no io_uring
// (CentOS 7's 3.10).
void tftp_server::impl::open_shards() {
    const char* io = std::getenv("PXED_TFTP_IO");
    const bool epoll_only = io && std::string_view(io) == "epoll";
    unsigned threads = options_.data_threads;
    if (const char* env = std::getenv("PXED_TFTP_DATA_THREADS")) {
        unsigned v = 0;
        const std::string_view text(env);
        if (const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
            r.ec == std::errc{} && r.ptr == text.data() + text.size())
            threads = v;
        else
            spdlog::warn("tftp: PXED_TFTP_DATA_THREADS={} is not a number; ignored", wire::escape_for_log(text));
    }
    threads = std::min(threads, 64u);
    // Shard 0 is the loop's own, always: a lone transfer runs there, where
    // the busy poll waits for its client's ACK (a data thread would have to
    // be woken for each one). The data threads' shards come after it.
    const std::size_t n = threads > 1 ? threads + 1 : 1;
    for (std::size_t i = 0; i < n; ++i) {
        shards_.push_back(std::make_unique<shard>(*this, i, i > 0));
        shards_.back()->open(epoll_only);
    }
    const bool batched = shards_.front()->has_batch();
    spdlog::info("tftp: transfer data path: {}; {}; {}",
                 batched      ? "io_uring (one syscall per round of receives and one per round of sends)"
                 : epoll_only ? "epoll, one syscall per datagram (PXED_TFTP_IO=epoll)"
                              : "epoll, one syscall per datagram (no io_uring here)",
                 threads > 1 ? "on " + std::to_string(threads) + " data threads (server.tftp.data_threads)"
                             : std::string("on the event loop (server.tftp.data_threads 1)"),
                 udp_segmentation_usable() ? "windows (RFC 7440) leave as UDP segments"
                                           : "windows (RFC 7440) leave in one sendmmsg each (no UDP segmentation here)");
}

// The loop's shard while it runs nothing (one client alone keeps the busy
// poll), else the data thread with the fewest running transfers; the first
// of equals. Without data threads, the loop.
tftp_server::impl::shard& tftp_server::impl::least_loaded() {
    if (shards_.size() == 1 || shards_.front()->running_ == 0) return *shards_.front();
    shard* best = shards_[1].get();
    for (std::size_t i = 2; i < shards_.size(); ++i)
        if (shards_[i]->running_ < best->running_) best = shards_[i].get();
    return *best;
}

std::uint64_t tftp_server::impl::segmented() const {
    std::uint64_t n = 0;
    for (const auto& s : shards_) n += s->segmented_.load(std::memory_order_relaxed);
    return n;
}

std::vector<std::uint64_t> tftp_server::impl::per_shard() const {
    std::vector<std::uint64_t> out;
    for (const auto& s : shards_) out.push_back(s->started_);
    return out;
}

std::size_t tftp_server::impl::post_to_data_threads(const std::function<void()>& f) {
    std::size_t n = 0;
    for (auto& s : shards_) {
        if (!s->threaded()) continue;
        s->run_here(f);
        ++n;
    }
    return n;
}

void tftp_server::impl::stop() {
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
    boost::system::error_code ec;
    socket_.close(ec);
    // The data threads end first; their transfers are then the loop's to
    // end, each with ERROR to its client and its line in the log.
    for (auto& s : shards_) s->halt();
    std::vector<std::shared_ptr<session>> running;
    running.reserve(sessions_.size());
    for (auto& entry : sessions_) running.push_back(entry.second);  // ending one erases it
    for (auto& s : running) contain_transfer(*s, "ending a transfer", [&] { s->abort("server shutting down"); });
    for (auto& s : shards_) s->close();
}

tftp_server::impl::~impl() {
    for (auto& s : shards_) s->halt();
}


// Gives memory back after a burst. Transfers allocate small blocks
// (engine, packets, file chunks) that glibc keeps in its heap when they are
// freed; after thousands of transfers end, that is tens of MiB held for
// good (see hostile_tftp_test.sh). malloc_trim() returns the free pages;
// it walks the heap, so only once the running transfers fall to a quarter
// of a peak of at least 256.
void tftp_server::impl::session_closed(std::uint32_t client) {
    shares_.release(client);
    const std::size_t running = shares_.running();
    if (peak_since_trim_ >= 256 && running * 4 <= peak_since_trim_) {
        peak_since_trim_ = running;
        asio::post(io_, [] { ::malloc_trim(0); });
    }
}

void tftp_server::impl::start_session(const tftp::request& rrq, const datagram_info& info, const udp::endpoint& peer,
                                      std::uint32_t client) {
    peak_since_trim_ = std::max(peak_since_trim_, shares_.running());
    // The transfer's own socket (its TID), bound to the address the client
    // talked to: a client checks where the answer comes from.
    fs::unique_fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr = info.local;
    if (!fd || ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
        const int err = errno;
        shares_.release(client);
        if (error_log_.allow(clock_type::now()))
            spdlog::error("tftp: {}: cannot open a transfer socket: {}", describe(peer), std::strerror(err));
        return;
    }
    auto& home = least_loaded();
    auto sess = std::make_shared<session>(*this, home, std::move(fd), peer, client, rrq.filename);
    sessions_.emplace(sess.get(), sess);
    by_peer_[peer] = sess.get();
    // A throw from here on (out of memory) ends this transfer, which has
    // no engine yet, with an ERROR; the server carries on (event_loop.hpp).
    struct end_if_thrown {
        session& s;
        int before = std::uncaught_exceptions();
        ~end_if_thrown() {
            if (std::uncaught_exceptions() > before)
                contain("tftp", "ending a failed transfer",
                        [&] { s.refuse(tftp::error_code::not_defined, "server error", "starting it failed"); });
        }
    } end_if_thrown{*sess};

    const auto files = files_();
    const fs::client who{peer.address().is_v4() ? std::optional<std::uint32_t>(peer.address().to_v4().to_uint())
                                                : std::nullopt,
                         {}, "tftp"};
    // Opened to look (peek): a host's document counts as fetched only once
    // the client has acknowledged its last block. The request's source
    // address is anyone's to forge; the transfer's port is not.
    auto opened = files ? files->open(rrq.filename, who, /*peek=*/true)
                        : fs::result<fs::opened>(fs::error{fs::errc::not_found, "no site"});
    if (!opened) {
        // The client learns only the code; the log gets the reason, which
        // names the request and never a server-side path.
        sess->refuse(to_tftp(opened.error().code), std::string(fs::to_string(opened.error().code)),
                     opened.error().message.c_str());
        return;
    }
    std::unique_ptr<tftp::block_source> source;
    if (auto* f = opened->file()) {
        source = std::make_unique<fd_block_source>(std::move(f->fd), static_cast<std::uint64_t>(f->size));
    } else {
        source = std::make_unique<tftp::memory_block_source>(opened->doc()->body);
        sess->when_delivered([files, path = opened->document_path] { files->fetched(path); });
    }
    if (options_.transfers)
        sess->show_on(options_.transfers->add("tftp", client, rrq.filename, source->size().value_or(0), unix_ms_now()));

    auto cfg = options_.transfer;
    if (const auto payload = path_mtu(local, info.peer)) {
        // DATA is its header plus the block.
        const auto fits =
            *payload > tftp::header_size + tftp::max_blksize ? tftp::max_blksize : *payload - tftp::header_size;
        if (fits < cfg.max_blksize) cfg.max_blksize = static_cast<std::uint16_t>(std::max<std::size_t>(fits, 512));
    }
    spdlog::debug("tftp: {} \"{}\" requested ({} options, mode {})", describe(peer), wire::escape_for_log(rrq.filename),
                  rrq.options.size(), wire::escape_for_log(rrq.mode_text));
    metrics_.started.inc();
    sess->set_transfer(std::make_unique<tftp::read_transfer>(rrq, std::move(source), cfg));
    sess->adopted();
    home.adopt(std::move(sess));
}

tftp_server::tftp_server(asio::io_context& io, tftp_server_options options, namespace_provider files)
    : impl_(std::make_shared<impl>(io, std::move(options), std::move(files))) {}

tftp_server::~tftp_server() { impl_->stop(); }

void tftp_server::start() { impl_->start(); }
void tftp_server::stop() { impl_->stop(); }
std::uint16_t tftp_server::port() const { return impl_->port(); }
std::size_t tftp_server::active_transfers() const { return impl_->active(); }
std::vector<std::uint64_t> tftp_server::transfers_per_shard() const { return impl_->per_shard(); }

std::uint64_t tftp_server::segmented_datagrams() const { return impl_->segmented(); }
std::size_t tftp_server::post_to_data_threads(const std::function<void()>& f) {
    return impl_->post_to_data_threads(f);
}

unsigned tftp_server::default_data_threads() {
    return std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
}

}  // namespace pxed::net
