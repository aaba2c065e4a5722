#pragma once
/// The TFTP read transfer as a pure state machine: one object per client
/// transfer, driven by the server from one event loop. It never touches a
/// socket or a clock: the server passes the time in and carries out the
/// returned actions.
///
/// Server loop, in full:
///
///     auto a = transfer.start(now);                  // after front_door() accepted
///     for (;;) {
///         for (auto& p : a.send) socket.send(p);      // in order
///         if (a.done) break;                          // log transfer.outcome(), stats()
///         timer.expires_at(*a.deadline);              // always set while !done
///         wait for a datagram from the client's TID or the timer;
///         a = datagram ? transfer.on_packet(bytes, size, now) : transfer.on_timer(now);
///     }
///
/// Datagrams from any other source TID never reach the engine; the server
/// answers them with unknown_tid_reply() (tftp_front_door.hpp). An RRQ on
/// port 69 from the address and port of a transfer in progress is the
/// client repeating itself: hand it to on_duplicate_request() rather than
/// starting a second transfer.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "pxed/engine/tftp_block_source.hpp"
#include "pxed/proto/tftp.hpp"

namespace pxed::tftp {

using transfer_clock = std::chrono::steady_clock;

/// What the server allows; everything else is negotiated per transfer.
struct transfer_config {
    /// Largest blksize granted (RFC 2348). Derive it from the path MTU:
    /// MTU - 20 (IPv4) - 8 (UDP) - 4 (TFTP), e.g. 1468 for 1500; larger on
    /// loopback. Bigger requests are reduced to this, not refused. Kept
    /// within 8..65464.
    std::uint16_t max_blksize = 1468;
    /// Largest windowsize granted (RFC 7440); bigger requests are reduced.
    /// Kept within 1..32768 so a 16-bit ACK maps to one block unambiguously.
    std::uint16_t max_windowsize = 64;
    /// Retransmission timeout before the first RTT sample (RFC 6298 2.1).
    /// A server that remembers a client's RTT from an earlier transfer may
    /// pass a smaller one.
    std::chrono::milliseconds initial_rto{1000};
    /// Bounds of the adaptive timeout, SRTT + max(100 us, 4 RTTVAR). On a
    /// fast link the floor is what one lost packet costs, so it is low
    /// while the transfer is losing packets: with steady loss, lock-step
    /// clients finish in well under the time a 1 ms floor gives them
    /// (bench/README.md, "TFTP under packet loss"). A timeout that fires
    /// early only costs a duplicate block (or window) and backs itself off
    /// (Karn); jittery clients raise RTTVAR, and with it the timeout, on
    /// their own.
    std::chrono::microseconds min_rto{200};
    /// The floor while the transfer is not losing packets: before its first
    /// timeout, and once 256 blocks have been acknowledged since its last
    /// one (losing_window). There the floor costs nothing in recovery but
    /// sets how often the server's timer wakes up to find every transfer
    /// on time when the round trip is far below it (loopback, veth; what
    /// that was measured to cost: bench/README.md, "TFTP under packet loss").
    std::chrono::microseconds clean_min_rto{1000};
    std::chrono::milliseconds max_rto{2000};
    /// Retransmissions at the adaptive timeout, doubling each time, before
    /// the engine goes quiet: at least quick_retries of them, and for at
    /// least quick_period without progress (a 200 us timeout doubled six
    /// times spans 13 ms, less than a busy client may take to answer)...
    unsigned quick_retries = 6;
    std::chrono::milliseconds quick_period{1000};
    /// From this many timeouts in a row on, each resend of the outstanding
    /// blocks is followed by new ones: one window more than were out, per
    /// timeout, up to max_look_ahead windows past the first. A client that
    /// got every block and whose ACKs were all lost hears only duplicates
    /// otherwise, and atftp 0.8 answers just the first duplicate of a block,
    /// then waits for its own 5 s timer. The new blocks are in order for
    /// such a client, which ACKs them at once; a client still missing an
    /// earlier block sees them right after that block's resend, in order
    /// too, or as the kind of gap RFC 7440 clients handle and lock-step
    /// ones ignore. 0 turns it off.
    unsigned look_ahead_after = 2;
    unsigned max_look_ahead = 3;
    /// ...and then waits this long between retransmissions. It must exceed
    /// the clients' own timers: atftp 0.8 answers only the first duplicate
    /// of a block and then waits for its 5 s timer, which every packet we
    /// send restarts, so only a silence longer than that gets its ACK back
    /// after the ACK and its one repeat were both lost. The wait for ACK 0
    /// after an OACK is this long from the start (see read_transfer::arm).
    std::chrono::milliseconds quiet_wait{6000};
    /// How long an OACK waits for its ACK 0 before it is sent again, when
    /// the client negotiated no timeout (with one, RFC 2349 makes that the
    /// interval: quiet_wait or just past the client's timeout). The
    /// client's own timers cover both halves of the handshake: it repeats
    /// its RRQ when the OACK was lost (answered at once, see
    /// on_duplicate_request) and its ACK 0 when that was lost. A second
    /// OACK makes atftp abort ("unexpected OACK"), so this outlasts two
    /// of its 5 s timers: a lost ACK 0 and a lost repeat of it.
    std::chrono::milliseconds oack_wait{11000};
    /// A client that has made no progress for this long is given up on
    /// (timed_out). No ERROR is sent.
    std::chrono::milliseconds give_up_after{30000};
    /// Until the client's first ACK the request's source address is all we
    /// know of it, and anyone can forge that: what we send may land on a
    /// machine that never asked (an RRQ without options gets DATA at once).
    /// So an unanswered transfer has only its first packet out (the OACK or
    /// DATA 1; no look-ahead), resends it at most unanswered_retries times,
    /// and is given up at the timeout after that, or unanswered_give_up
    /// after the request, whichever comes first. A real client that lost
    /// everything repeats its RRQ, which starts the transfer again; but a
    /// client whose ACK 0 was lost has nothing to repeat until its own
    /// timer fires (curl's: 72 s), so an OACK keeps its three resends for
    /// as long as a stalled transfer is kept (give_up_after). At 15 s, an
    /// OACK sent at curl's 6.5 s pace had two resends: at 10% loss each way
    /// about 1 curl fetch in 150 lost all three rounds and hung.
    unsigned unanswered_retries = 3;
    std::chrono::milliseconds unanswered_give_up{30000};
};

/// The outcome of option negotiation for one RRQ (RFC 2347, 2348, 2349, 7440).
struct negotiation {
    /// Set when the request must be refused (ERROR 8): no transfer happens.
    std::optional<error_packet> refusal;
    std::uint16_t blksize = default_blksize;
    std::uint16_t windowsize = 1;
    /// RFC 2349 timeout in seconds, when the client asked for a valid one.
    std::optional<std::uint8_t> timeout_s;
    /// The size announced in the OACK, when tsize was requested and known.
    std::optional<std::uint64_t> tsize;
    /// OACK contents, in request order, names spelled as the client spelled
    /// them. Empty: no OACK, the transfer starts with DATA 1 (RFC 2347).
    std::vector<option> acknowledged;
};

/// Per option (only the first occurrence of each counts; unknown ones are
/// ignored, RFC 2347):
/// - blksize: 8..65464 granted, clamped to cfg.max_blksize (RFC 2348 lets the
///   server answer smaller). Below 8: refused with ERROR 8, as tftp-hpa does.
///   Not a number: ignored, the client falls back to 512.
/// - tsize: answered with the real size in octet mode when the source knows
///   it; omitted otherwise (netascii: the converted size would cost a full
///   read of the file).
/// - timeout: 1..255 s granted; anything else ignored rather than refused.
///   Granted, it caps the adaptive timer instead of replacing it: we never
///   wait longer than the client asked, but a loss still costs a few round
///   trips. (curl asks for "timeout 6" on every transfer; taken literally,
///   each lost packet would cost it 6 s.) A long one also stretches the
///   quiet phase to just past the client's own timer.
/// - windowsize: 1..65535 granted, clamped to cfg.max_windowsize; 0 or not a
///   number ignored (lock-step always works).
negotiation negotiate(const request& rrq, std::optional<std::uint64_t> source_size, const transfer_config& cfg);

enum class transfer_outcome {
    in_progress,
    completed,     ///< the last block was acknowledged
    error_sent,    ///< we ended it with an ERROR (refused option, read error, illegal packet)
    client_error,  ///< the client sent ERROR (also how PXE ROMs end a tsize probe)
    timed_out,     ///< no progress for give_up_after; see stats().last_block_sent
    aborted,       ///< abort() was called, e.g. on shutdown
    replaced,      ///< the client started a new transfer from the same port (see replaceable())
};

std::string_view to_string(transfer_outcome outcome);

struct transfer_stats {
    transfer_clock::time_point started{};
    transfer_clock::duration duration{};  ///< start() to the end of the transfer
    std::uint64_t bytes = 0;              ///< payload bytes acknowledged (after netascii conversion)
    std::uint64_t blocks = 0;             ///< DATA blocks acknowledged
    std::uint64_t packets_sent = 0;       ///< every packet handed to the server, ERRORs included
    std::uint64_t retransmissions = 0;    ///< DATA/OACK packets sent again (timeouts, loss in a window)
    std::uint64_t timeouts = 0;           ///< timer expiries that caused a resend
    /// Timeouts found afterwards to have been spurious: the client had the
    /// block(s) and was only slow to ACK (see read_transfer::on_ack). Each
    /// was undone and raised the transfer's timeout floor.
    std::uint64_t spurious_timeouts = 0;
    std::uint64_t look_ahead_blocks = 0;  ///< new blocks sent past the window after repeated timeouts
    std::uint64_t ignored_packets = 0;    ///< duplicate/stale ACKs, ACKs not yet due, runts
    std::uint16_t blksize = default_blksize;
    std::uint16_t windowsize = 1;
    std::optional<std::uint8_t> timeout_s;
    std::optional<std::uint64_t> tsize;
    bool oack_sent = false;
    /// The client acknowledged something (ACK 0 of the OACK, or a block):
    /// it is at the address the request came from. A transfer that timed
    /// out without it most likely answered a forged request.
    bool answered = false;
    /// The final (short) DATA block went out at least once. A transfer that
    /// timed out with this set most likely succeeded: some clients never
    /// send the last ACK, or it was lost.
    bool last_block_sent = false;
    std::optional<transfer_clock::duration> srtt;  ///< smoothed RTT once measured
};

/// What the server does after each call: send `send` in order, then either
/// finish (done) or (re)arm its one timer for `deadline`.
struct transfer_actions {
    std::vector<std::vector<std::uint8_t>> send;
    std::optional<transfer_clock::time_point> deadline;  ///< set exactly when !done
    bool done = false;
};

class read_transfer {
public:
    /// `rrq` should have passed front_door(); if it did not (WRQ, mail mode)
    /// start() refuses it the same way. The source must be ready to read.
    read_transfer(request rrq, std::unique_ptr<block_source> source, transfer_config cfg = {});

    /// Negotiates and sends the OACK, the first window of DATA, or an ERROR.
    transfer_actions start(transfer_clock::time_point now);
    /// A datagram from the client's TID (raw bytes; decoded here).
    transfer_actions on_packet(const std::uint8_t* data, std::size_t size, transfer_clock::time_point now);
    transfer_actions on_packet(const std::vector<std::uint8_t>& bytes, transfer_clock::time_point now) {
        return on_packet(bytes.data(), bytes.size(), now);
    }
    /// The timer fired. Early or stale calls are harmless: nothing happens
    /// before deadline().
    transfer_actions on_timer(transfer_clock::time_point now);
    /// The client repeated its request from the same TID: it has heard
    /// nothing from us yet. Resends the OACK (or DATA 1) at once instead of
    /// at the timer; ignored once the client has acknowledged anything, and
    /// at most once per current_timeout().
    transfer_actions on_duplicate_request(transfer_clock::time_point now);
    /// Ends the transfer with ERROR 0 carrying `reason` (e.g. shutdown).
    transfer_actions abort(transfer_clock::time_point now, std::string_view reason);
    /// Whether a new RRQ from this transfer's client TID means the client
    /// has left it: something was acknowledged (so it is no repeat of the
    /// request this transfer answers), and the last block is out or nothing
    /// moved for max(1 s, 4 timeouts). Clients that exit without the final
    /// ACK getting through leave transfers behind for a while, and the
    /// client's next transfer can get the same ephemeral port; unanswered,
    /// it would wait out its own timer. A delayed copy of the request that
    /// started a transfer still in progress is not that.
    bool replaceable(transfer_clock::time_point now) const;
    /// Ends the transfer as `replaced`, silently: the client is elsewhere.
    void replace(transfer_clock::time_point now);

    bool done() const { return outcome_ != transfer_outcome::in_progress; }
    transfer_outcome outcome() const { return outcome_; }
    const transfer_stats& stats() const { return stats_; }
    const request& rrq() const { return rrq_; }
    std::optional<transfer_clock::time_point> deadline() const { return deadline_; }
    /// The adaptive retransmission timeout, backoff included: SRTT-based,
    /// within [min_rto or clean_min_rto, max_rto], and never above a timeout the client
    /// negotiated.
    transfer_clock::duration current_timeout() const;
    /// The ERROR that ended the transfer: the one we sent (error_sent,
    /// aborted) or the client's (client_error, raw message).
    const std::optional<error_packet>& error() const { return error_; }

private:
    // Where a DATA block starts in the source. In netascii mode a block may
    // start with the second half of a CR LF / CR NUL pair cut by the
    // previous block's end.
    struct cursor {
        std::uint64_t offset = 0;
        int pending = -1;  // byte to emit first, or -1
    };
    // One DATA block sent and not yet acknowledged.
    struct in_flight {
        cursor start;
        std::size_t length = 0;  // payload bytes, to notice a source that changed
        transfer_clock::time_point sent_at{};        // the last transmission
        transfer_clock::time_point first_sent_at{};  // the first one
        std::uint32_t transmissions = 0;
        bool resent_by_timer = false;  // the last transmission was a timeout's
    };
    // The newest window boundary acknowledged after a timeout had resent
    // it, until we know whether the client had the first copies (see
    // on_ack): for spurious timeouts.
    struct resent_ack {
        std::uint64_t block = 0;
        std::uint32_t copies = 0;  // resends of the blocks up to it
        std::uint32_t acks = 0;    // ACKs for it so far
        transfer_clock::time_point first_sent_at{};
        transfer_clock::time_point resent_at{};
        transfer_clock::time_point acked_at{};
    };
    enum class phase { idle, awaiting_oack_ack, sending, finished };

    void on_ack(std::uint16_t wire_block, transfer_clock::time_point now, transfer_actions& out);
    /// New blocks until `limit` are outstanding (or the file ends).
    void fill_to(std::size_t limit, transfer_clock::time_point now, transfer_actions& out);
    void fill_window(transfer_clock::time_point now, transfer_actions& out) { fill_to(neg_.windowsize, now, out); }
    void resend_outstanding(transfer_clock::time_point now, transfer_actions& out, bool by_timer);
    /// The OACK, or every outstanding block again, then new ones until
    /// 1 + windows_ahead windows are out; then re-arm.
    transfer_actions resend_unanswered(transfer_clock::time_point now, transfer_actions out, unsigned windows_ahead = 0);
    bool produce(std::uint64_t block, const cursor& at, std::vector<std::uint8_t>& packet, cursor& after);
    void fail_read(transfer_clock::time_point now, transfer_actions& out);
    void send_error(error_code code, std::string_view message, transfer_outcome outcome, transfer_clock::time_point now,
                    transfer_actions& out);
    void finish(transfer_outcome outcome, transfer_clock::time_point now);
    void sample_rtt(transfer_clock::duration rtt);
    /// The timeout that resent the block of `r` was spurious: the client
    /// answered the first copy after `r.acked_at - r.first_sent_at`.
    void undo_spurious_timeout(const resent_ack& r);
    void note_progress(transfer_clock::time_point now);
    void arm(transfer_clock::time_point now);
    transfer_clock::duration quiet_interval() const;
    transfer_clock::duration give_up_interval() const;
    std::uint64_t next_block() const { return acked_ + flight_.size() + 1; }
    transfer_actions with_state(transfer_actions out) const;

    request rrq_;
    std::unique_ptr<block_source> source_;
    transfer_config cfg_;
    negotiation neg_;
    phase phase_ = phase::idle;
    transfer_outcome outcome_ = transfer_outcome::in_progress;
    transfer_stats stats_;
    std::optional<error_packet> error_;

    std::vector<std::uint8_t> oack_;
    transfer_clock::time_point oack_sent_at_{};
    std::uint32_t oack_transmissions_ = 0;

    // Blocks are counted in 64 bits and put on the wire modulo 65536, so a
    // file may span any number of rollovers. Blocks acked_+1 .. acked_+
    // flight_.size() are outstanding; next_cursor_ is where the next new
    // block starts.
    std::uint64_t acked_ = 0;
    std::deque<in_flight> flight_;
    cursor next_cursor_;
    std::optional<std::uint64_t> last_block_;
    std::vector<std::uint8_t> scratch_;

    std::optional<transfer_clock::time_point> deadline_;
    std::optional<transfer_clock::duration> srtt_;
    transfer_clock::duration rttvar_{};
    transfer_clock::duration rto_{};
    /// Blocks acknowledged since the last timeout, counted up to
    /// losing_window: the transfer is losing packets (min_rto is its floor)
    /// until that many have been, and clean before its first timeout. One
    /// timeout is enough: losses come in bursts (a switch buffer that fills
    /// while a rack boots), and a wrong guess costs no more than 256 blocks
    /// of a timer that may wake more often. Nothing older than the last
    /// timeout counts, so the window is the same after one or after many.
    static constexpr std::uint32_t losing_window = 256;
    std::uint32_t blocks_since_timeout_ = losing_window;
    bool losing() const { return blocks_since_timeout_ < losing_window; }
    // What blocks_since_timeout_ was before the first of the timeouts in a
    // row, restored when they turn out to have been spurious.
    std::uint32_t blocks_before_timeouts_ = losing_window;
    unsigned backoff_ = 0;
    unsigned consecutive_timeouts_ = 0;
    /// Set by spurious timeouts: the longest a client that was only slow has
    /// taken to ACK, plus a quarter. The timeout never goes below it; each
    /// clean sample takes 1/1024 off (a third after 400 samples) and a
    /// timeout that was a real loss halves it, so a one-off stall (the
    /// client's host busy for 100 ms) does not slow loss recovery for the
    /// rest of a long transfer, while a client whose ACKs now and then take
    /// milliseconds finds its floor raised again before it has decayed
    /// below them.
    transfer_clock::duration spurious_floor_{};
    std::optional<resent_ack> resent_ack_;
    transfer_clock::time_point last_progress_{};
    std::optional<transfer_clock::time_point> last_duplicate_resend_;
};

}  // namespace pxed::tftp
