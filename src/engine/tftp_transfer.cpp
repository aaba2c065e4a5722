#include "pxed/engine/tftp_transfer.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "pxed/engine/tftp_front_door.hpp"

namespace pxed::tftp {

namespace {

using std::chrono::milliseconds;

// RFC 6298 section 2: the G term, the timer granularity we can count on from
// an event loop (a timerfd wakes epoll within tens of microseconds).
constexpr transfer_clock::duration clock_granularity = std::chrono::microseconds(100);
// 2^14 times a 200 us floor passes the 2 s ceiling; more doublings would
// only risk overflow.
constexpr unsigned max_backoff_shift = 14;

// At most this many blocks outstanding: half the 16-bit block number space,
// so an ACK either names one of them or is old.
constexpr std::size_t max_outstanding = 32768;

transfer_config sanitized(transfer_config cfg) {
    cfg.max_blksize = std::clamp(cfg.max_blksize, min_blksize, max_blksize);
    cfg.max_windowsize = std::clamp<std::uint16_t>(cfg.max_windowsize, 1, static_cast<std::uint16_t>(max_outstanding));
    cfg.min_rto = std::max(cfg.min_rto, std::chrono::duration_cast<std::chrono::microseconds>(clock_granularity));
    cfg.clean_min_rto = std::max(cfg.clean_min_rto, cfg.min_rto);
    cfg.max_rto = std::max(cfg.max_rto, std::chrono::ceil<milliseconds>(cfg.clean_min_rto));
    cfg.initial_rto = std::clamp(cfg.initial_rto, std::chrono::ceil<milliseconds>(cfg.clean_min_rto), cfg.max_rto);
    cfg.quiet_wait = std::max(cfg.quiet_wait, cfg.max_rto);
    cfg.give_up_after = std::max(cfg.give_up_after, cfg.quiet_wait);
    cfg.max_look_ahead = std::min(cfg.max_look_ahead, 8u);
    cfg.unanswered_give_up = std::min(cfg.unanswered_give_up, cfg.give_up_after);
    return cfg;
}

// How far past a negotiated timeout the quiet phase waits: enough for the
// client's timer, started when our last packet reached it, to fire first.
constexpr transfer_clock::duration past_client_timer = milliseconds(500);

}  // namespace

std::string_view to_string(transfer_outcome outcome) {
    switch (outcome) {
        case transfer_outcome::in_progress: return "in progress";
        case transfer_outcome::completed: return "completed";
        case transfer_outcome::error_sent: return "error sent";
        case transfer_outcome::client_error: return "client error";
        case transfer_outcome::timed_out: return "timed out";
        case transfer_outcome::aborted: return "aborted";
        case transfer_outcome::replaced: return "left for a new transfer";
    }
    return "unknown";
}

read_transfer::read_transfer(request rrq, std::unique_ptr<block_source> source, transfer_config cfg)
    : rrq_(std::move(rrq)), source_(std::move(source)), cfg_(sanitized(cfg)), rto_(cfg_.initial_rto) {}

transfer_clock::duration read_transfer::current_timeout() const {
    // RFC 6298 5.5: double on each consecutive timeout, up to the ceiling.
    // A timeout the client negotiated (RFC 2349) is the longest it wants
    // to wait for a retransmission, so it lowers the ceiling; it does not
    // replace the measured round trip.
    const transfer_clock::duration ceiling =
        neg_.timeout_s ? std::min<transfer_clock::duration>(std::chrono::seconds(*neg_.timeout_s), cfg_.max_rto)
                       : transfer_clock::duration(cfg_.max_rto);
    const transfer_clock::duration floor =
        std::max<transfer_clock::duration>(losing() ? cfg_.min_rto : cfg_.clean_min_rto, spurious_floor_);
    const auto backed_off = std::max(rto_, floor) * (std::int64_t{1} << std::min(backoff_, max_backoff_shift));
    return std::min(backed_off, ceiling);
}

transfer_clock::duration read_transfer::quiet_interval() const {
    // Not shorter for a client that negotiated a short timeout: atftp
    // sends "timeout 1" when told to but keeps its own 5 s timer.
    if (neg_.timeout_s) {
        return std::max<transfer_clock::duration>(cfg_.quiet_wait,
                                                  std::chrono::seconds(*neg_.timeout_s) + past_client_timer);
    }
    return cfg_.quiet_wait;
}

transfer_clock::duration read_transfer::give_up_interval() const {
    // A client that asked for long timeouts gets a few of them.
    return std::max<transfer_clock::duration>(cfg_.give_up_after, 3 * quiet_interval());
}

transfer_actions read_transfer::start(transfer_clock::time_point now) {
    transfer_actions out;
    if (phase_ != phase::idle) return with_state(std::move(out));
    stats_.started = now;
    last_progress_ = now;

    // The same rules as the front door, for a server that skipped it.
    const door_decision door = front_door(decode_result(packet(rrq_), {}));
    if (door.verdict != door_verdict::accept) {
        send_error(door.code, door.reason, transfer_outcome::error_sent, now, out);
        return with_state(std::move(out));
    }

    neg_ = negotiate(rrq_, source_->size(), cfg_);
    if (neg_.refusal) {
        send_error(neg_.refusal->code, neg_.refusal->message, transfer_outcome::error_sent, now, out);
        return with_state(std::move(out));
    }
    stats_.blksize = neg_.blksize;
    stats_.windowsize = neg_.windowsize;
    stats_.timeout_s = neg_.timeout_s;
    stats_.tsize = neg_.tsize;

    if (!neg_.acknowledged.empty()) {
        // RFC 2347: with options acknowledged, the OACK goes first and DATA 1
        // only follows the client's ACK 0.
        oack_ = encode_oack(neg_.acknowledged);
        out.send.push_back(oack_);
        oack_sent_at_ = now;
        oack_transmissions_ = 1;
        stats_.oack_sent = true;
        ++stats_.packets_sent;
        phase_ = phase::awaiting_oack_ack;
    } else {
        phase_ = phase::sending;
        fill_window(now, out);
        if (done()) return with_state(std::move(out));
    }
    arm(now);
    return with_state(std::move(out));
}

transfer_actions read_transfer::on_packet(const std::uint8_t* data, std::size_t size, transfer_clock::time_point now) {
    transfer_actions out;
    if (phase_ == phase::idle || phase_ == phase::finished) return with_state(std::move(out));

    const decode_result decoded = decode(data, size);
    if (!decoded.ok()) {
        if (decoded.error().code == decode_errc::unknown_opcode) {
            send_error(error_code::illegal_operation, "unknown opcode", transfer_outcome::error_sent, now, out);
        } else {
            // A runt ACK or a mangled datagram: nothing in it can move the
            // transfer, and the timer covers whatever it was meant to say.
            ++stats_.ignored_packets;
        }
        return with_state(std::move(out));
    }

    const packet& p = decoded.value();
    if (const auto* ack = std::get_if<ack_packet>(&p)) {
        on_ack(ack->block, now, out);
    } else if (const auto* err = std::get_if<error_packet>(&p)) {
        // RFC 1350 section 7: an ERROR ends the transfer and is not
        // acknowledged. After an OACK this is also how a client declines our
        // options (ERROR 8, RFC 2347) and how PXE ROMs end their tsize probe
        // ("TFTP Aborted") before asking again with blksize.
        error_ = *err;
        finish(transfer_outcome::client_error, now);
    } else {
        // RRQ, WRQ, DATA or OACK from the client while we send: RFC 1350
        // ERROR 4, and the transfer ends.
        send_error(error_code::illegal_operation, "unexpected packet during a read transfer",
                   transfer_outcome::error_sent, now, out);
    }
    return with_state(std::move(out));
}

void read_transfer::on_ack(std::uint16_t wire_block, transfer_clock::time_point now, transfer_actions& out) {
    if (phase_ == phase::awaiting_oack_ack) {
        if (wire_block != 0) {
            // Nothing but ACK 0 answers an OACK. Resending on a wrong ACK
            // would start a Sorcerer's Apprentice exchange; the timer resends.
            ++stats_.ignored_packets;
            return;
        }
        // Karn: never from a resent OACK. Nor from an ACK 0 slower than the
        // timeout in force: we wait past client timers before resending an
        // OACK (see arm), so a late one is the client's own repeat after
        // its first was lost, and its timing is the client's timer (atftp:
        // 5 s), which would hold the timeout at its ceiling for the rest
        // of the transfer.
        const auto handshake = now - oack_sent_at_;
        if (oack_transmissions_ == 1 && handshake <= current_timeout()) sample_rtt(handshake);
        stats_.answered = true;
        note_progress(now);
        backoff_ = 0;  // the OACK's own resends wait past client timers (arm), not at the RTO
        phase_ = phase::sending;
        fill_window(now, out);
        if (!done()) arm(now);
        return;
    }

    // Map the 16-bit number onto the outstanding blocks acked_+1 ..
    // acked_+flight_.size(). At most max_outstanding are out, so every
    // number either names one of them or is old (a duplicate, or from the
    // far past across a rollover) and is ignored.
    const auto distance = static_cast<std::uint16_t>(wire_block - static_cast<std::uint16_t>(acked_));
    if (distance == 0 || distance > flight_.size()) {
        // A duplicate ACK never triggers a send (RFC 1350's Sorcerer's
        // Apprentice bug, RFC 1123 4.2.3.1); only the timer resends.
        ++stats_.ignored_packets;
        if (distance == 0 && resent_ack_ && resent_ack_->block == acked_ && ++resent_ack_->acks > resent_ack_->copies) {
            // More ACKs for a block a timeout resent than there were copies
            // to answer: the client had the first copies too, so nothing
            // was lost and the timeout was spurious (what a D-SACK shows,
            // RFC 3708). GRUB and OVMF ACK every copy of a block, as RFC
            // 1350 lock-step and RFC 7440 clients do: lock-step, the ACK of
            // the first copy and then one for the second; windowed, the
            // boundary's ACK and one per resent block. (When the first ACK
            // was lost instead, only the copies are answered.) It must come
            // within a round trip per copy after the resend (a slow client
            // takes one for each): a client's own timer repeating its last
            // ACK (iPXE: 250 ms and up) says nothing.
            const resent_ack r = *resent_ack_;
            resent_ack_.reset();
            if (now - r.resent_at <= (2 + r.copies) * (r.acked_at - r.first_sent_at) + clock_granularity) {
                undo_spurious_timeout(r);
                // The block out now was timed with the timeout that just
                // proved too short: time it again from when it went out
                // (never later, so repeated ACKs cannot postpone the timer).
                if (!flight_.empty() && deadline_) {
                    deadline_ = std::min(std::max(*deadline_, flight_.back().sent_at + current_timeout()),
                                         last_progress_ + give_up_interval());
                }
            }
        }
        return;
    }

    // A client acknowledges every windowsize blocks and at the end of the
    // file. An ACK anywhere else is an RFC 7440 client saying the blocks
    // after it went missing. (After a look-ahead several windows are out,
    // and an ACK at the end of any but the last is routine.)
    const bool at_boundary = distance == flight_.size() || distance % neg_.windowsize == 0;
    const in_flight& acknowledged = flight_[distance - 1];
    // Karn's rule: no sample from a block sent more than once, and the
    // backed-off timeout stays until a clean sample (RFC 6298 5.7): a
    // client slower than the timeout gets every block twice otherwise, and
    // never a sample to learn from. And only from an ACK at a window
    // boundary: one in the middle of a window signals loss, and its timing
    // includes however long the client waited before deciding so.
    if (resent_ack_) {
        // The client moved on without answering a copy twice: that timeout
        // was a real loss (or the client ACKs no duplicates). A floor that
        // a spurious timeout raised would make every loss cost it, so it
        // halves: a busy host's one stall must not slow loss recovery for
        // the rest of the transfer (bench/tftp_loss_bench.sh on a loaded
        // machine, where clients stall as well as lose packets).
        spurious_floor_ /= 2;
        resent_ack_.reset();
    }
    if (at_boundary && acknowledged.transmissions == 1) {
        sample_rtt(now - acknowledged.sent_at);
        backoff_ = 0;
    } else if (at_boundary && acknowledged.resent_by_timer) {
        // Which copy does this ACK answer (Eifel's question, RFC 3522)?
        // TFTP has no timestamps to tell, and timing cannot either: a
        // client answers a duplicate faster than a new block. The ACKs that
        // follow can (above).
        std::uint32_t copies = 0;
        for (std::uint16_t i = 0; i < distance; ++i) copies += flight_[i].transmissions - 1;
        resent_ack_ = resent_ack{acked_ + distance, copies, 1, acknowledged.first_sent_at, acknowledged.sent_at, now};
    }

    for (std::uint16_t i = 0; i < distance; ++i) {
        stats_.bytes += flight_.front().length;
        ++stats_.blocks;
        flight_.pop_front();
    }
    acked_ += distance;
    blocks_since_timeout_ = std::min<std::uint32_t>(blocks_since_timeout_ + distance, losing_window);
    stats_.answered = true;
    note_progress(now);

    if (last_block_ && acked_ == *last_block_) {
        finish(transfer_outcome::completed, now);
        return;
    }
    // RFC 7440 section 4: the client ACKs the last block it received in
    // order; the next window starts right after it. When that is inside what
    // we had sent, the blocks after it were lost: send them again now rather
    // than waiting for the timer.
    if (!at_boundary) resend_outstanding(now, out, false);
    if (done()) return;
    fill_window(now, out);
    if (!done()) arm(now);
}

transfer_actions read_transfer::on_timer(transfer_clock::time_point now) {
    transfer_actions out;
    if (phase_ == phase::idle || phase_ == phase::finished || !deadline_ || now < *deadline_) {
        return with_state(std::move(out));
    }

    if (now - last_progress_ >= give_up_interval()) {
        // No ERROR: a client that cannot hear our DATA would not hear it
        // either, and RFC 1350 section 2 ends a timed-out transfer silently.
        finish(transfer_outcome::timed_out, now);
        return with_state(std::move(out));
    }
    if (!stats_.answered &&
        (stats_.timeouts >= cfg_.unanswered_retries || now - stats_.started >= cfg_.unanswered_give_up)) {
        // Nobody at the request's address wants this transfer, or nobody is
        // there: each resend to a forged address is traffic for a machine
        // that never asked (see unanswered_retries).
        finish(transfer_outcome::timed_out, now);
        return with_state(std::move(out));
    }

    ++stats_.timeouts;
    if (consecutive_timeouts_ == 0) blocks_before_timeouts_ = blocks_since_timeout_;
    ++consecutive_timeouts_;
    blocks_since_timeout_ = 0;
    backoff_ = std::min(backoff_ + 1, max_backoff_shift);
    // No ACK at all within the timeout: the OACK, or the whole
    // unacknowledged window, goes again (RFC 7440 has no selective ACK).
    // Only towards a client that has answered: until then, the first
    // packet is all that may go out (amplification, unanswered_retries).
    unsigned windows_ahead = 0;
    if (stats_.answered && cfg_.look_ahead_after > 0 && consecutive_timeouts_ >= cfg_.look_ahead_after)
        windows_ahead = std::min(consecutive_timeouts_ - cfg_.look_ahead_after + 1, cfg_.max_look_ahead);
    return resend_unanswered(now, std::move(out), windows_ahead);
}

transfer_actions read_transfer::abort(transfer_clock::time_point now, std::string_view reason) {
    transfer_actions out;
    if (phase_ == phase::finished) return with_state(std::move(out));
    if (phase_ == phase::idle) stats_.started = now;
    send_error(error_code::not_defined, reason.empty() ? std::string_view("transfer aborted") : reason,
               transfer_outcome::aborted, now, out);
    return with_state(std::move(out));
}

bool read_transfer::replaceable(transfer_clock::time_point now) const {
    if (phase_ != phase::sending || acked_ == 0) return false;
    if (stats_.last_block_sent) return true;
    const transfer_clock::duration idle = std::max<transfer_clock::duration>(std::chrono::seconds(1), 4 * current_timeout());
    return now - last_progress_ >= idle;
}

void read_transfer::replace(transfer_clock::time_point now) {
    if (phase_ != phase::finished) finish(transfer_outcome::replaced, now);
}

void read_transfer::fill_to(std::size_t limit, transfer_clock::time_point now, transfer_actions& out) {
    while (flight_.size() < limit && !(last_block_ && next_block() > *last_block_)) {
        const std::uint64_t block = next_block();
        std::vector<std::uint8_t> datagram;
        cursor after;
        if (!produce(block, next_cursor_, datagram, after)) {
            fail_read(now, out);
            return;
        }
        const std::size_t length = datagram.size() - header_size;
        flight_.push_back(in_flight{next_cursor_, length, now, now, 1, false});
        next_cursor_ = after;
        // RFC 1350 section 6: a block shorter than blksize (zero bytes when
        // the size is a multiple of it) ends the transfer.
        if (length < neg_.blksize) {
            last_block_ = block;
            stats_.last_block_sent = true;
        }
        out.send.push_back(std::move(datagram));
        ++stats_.packets_sent;
    }
}

void read_transfer::resend_outstanding(transfer_clock::time_point now, transfer_actions& out, bool by_timer) {
    std::uint64_t block = acked_ + 1;
    for (auto& f : flight_) {
        std::vector<std::uint8_t> datagram;
        cursor after;
        if (!produce(block, f.start, datagram, after) || datagram.size() - header_size != f.length) {
            fail_read(now, out);
            return;
        }
        f.sent_at = now;
        ++f.transmissions;
        f.resent_by_timer = by_timer;
        out.send.push_back(std::move(datagram));
        ++stats_.packets_sent;
        ++stats_.retransmissions;
        ++block;
    }
}

bool read_transfer::produce(std::uint64_t block, const cursor& at, std::vector<std::uint8_t>& datagram, cursor& after) {
    const std::size_t blksize = neg_.blksize;
    datagram.resize(header_size + blksize);
    // The header is written in place and the block read in behind it: no
    // copy per block. RFC 1350 block numbers are 16 bits; past 65535 we roll
    // over to 0, which is what tftp-hpa, pxelinux and iPXE expect.
    write_data_header(datagram.data(), static_cast<std::uint16_t>(block));
    std::uint8_t* const payload = datagram.data() + header_size;

    if (rrq_.mode != transfer_mode::netascii) {
        const auto n = source_->read(at.offset, payload, blksize);
        if (!n || *n > blksize) return false;
        datagram.resize(header_size + *n);
        after = cursor{at.offset + *n, -1};
        return true;
    }

    // netascii (RFC 1350 section 1, RFC 764): LF becomes CR LF and a bare CR
    // becomes CR NUL. A pair cut by the end of a block carries its second
    // byte into the next block through the cursor, so the stream is the same
    // whatever blksize was negotiated.
    std::size_t used = 0;
    if (at.pending >= 0) payload[used++] = static_cast<std::uint8_t>(at.pending);
    // Every input byte yields at least one output byte, so this many input
    // bytes always fill the block unless the source ends first.
    const std::size_t want = blksize - used;
    scratch_.resize(want);
    const auto n = source_->read(at.offset, scratch_.data(), want);
    if (!n || *n > want) return false;

    std::size_t consumed = 0;
    int pending = -1;
    while (consumed < *n && used < blksize) {
        const std::uint8_t c = scratch_[consumed++];
        if (c == '\n' || c == '\r') {
            payload[used++] = '\r';
            const std::uint8_t second = c == '\n' ? '\n' : '\0';
            if (used < blksize) {
                payload[used++] = second;
            } else {
                pending = second;
            }
        } else {
            payload[used++] = c;
        }
    }
    datagram.resize(header_size + used);
    after = cursor{at.offset + consumed, pending};
    return true;
}

void read_transfer::fail_read(transfer_clock::time_point now, transfer_actions& out) {
    // Also reached when a block reads back with another length than the
    // first time: the file changed under us, and the client must not get a
    // spliced copy.
    send_error(error_code::not_defined, "read error", transfer_outcome::error_sent, now, out);
}

void read_transfer::send_error(error_code code, std::string_view message, transfer_outcome outcome,
                               transfer_clock::time_point now, transfer_actions& out) {
    error_ = error_packet{code, std::string(message)};
    out.send.push_back(encode_error(code, message));
    ++stats_.packets_sent;
    finish(outcome, now);
}

void read_transfer::finish(transfer_outcome outcome, transfer_clock::time_point now) {
    phase_ = phase::finished;
    outcome_ = outcome;
    deadline_.reset();
    stats_.duration = now - stats_.started;
    stats_.srtt = srtt_;
}

void read_transfer::sample_rtt(transfer_clock::duration rtt) {
    // RFC 6298 section 2.
    if (!srtt_) {
        srtt_ = rtt;
        rttvar_ = rtt / 2;
    } else {
        const auto delta = *srtt_ > rtt ? *srtt_ - rtt : rtt - *srtt_;
        rttvar_ = (3 * rttvar_ + delta) / 4;
        srtt_ = (7 * *srtt_ + rtt) / 8;
    }
    const auto rto = *srtt_ + std::max(clock_granularity, 4 * rttvar_);
    rto_ = std::clamp<transfer_clock::duration>(rto, cfg_.min_rto, cfg_.max_rto);
    stats_.srtt = srtt_;
    spurious_floor_ -= spurious_floor_ / 1024;
}

void read_transfer::undo_spurious_timeout(const resent_ack& r) {
    // RFC 4015 section 3: the ACK answered the first copy, so its timing is
    // a true round trip of this client, and the timeout was shorter than
    // that. Take it as a sample, keep SRTT and RTTVAR at least where that
    // round trip puts them (the timeout becomes at least three times it),
    // and undo what the timeout did: the backoff, and the low floor of a
    // transfer that loses packets (it lost none).
    ++stats_.spurious_timeouts;
    const auto rtt = r.acked_at - r.first_sent_at;
    sample_rtt(rtt);
    srtt_ = std::max(*srtt_, rtt);
    rttvar_ = std::max(rttvar_, rtt / 2);
    rto_ = std::clamp<transfer_clock::duration>(*srtt_ + std::max(clock_granularity, 4 * rttvar_), cfg_.min_rto,
                                                cfg_.max_rto);
    stats_.srtt = srtt_;
    spurious_floor_ = std::min<transfer_clock::duration>(std::max(spurious_floor_, rtt + rtt / 4), cfg_.max_rto);
    backoff_ = 0;
    blocks_since_timeout_ = std::max(blocks_since_timeout_, blocks_before_timeouts_);
}

void read_transfer::note_progress(transfer_clock::time_point now) {
    // The backoff is not reset here but by a clean sample (on_ack): ending
    // it on any progress, as this once did, locks a client slower than the
    // timeout into a resend of every block, each answered before the next
    // timeout and none a sample (issue 23: OVMF got 7,211 resends for
    // 7,507 blocks). Under loss the next clean window ends the backoff.
    consecutive_timeouts_ = 0;
    last_progress_ = now;
}

void read_transfer::arm(transfer_clock::time_point now) {
    transfer_clock::duration wait = current_timeout();
    if (phase_ == phase::awaiting_oack_ack) {
        // Our own OACK resend waits past client timers (see oack_wait).
        wait = neg_.timeout_s ? quiet_interval() : std::max<transfer_clock::duration>(cfg_.oack_wait, quiet_interval());
    } else if (consecutive_timeouts_ >= cfg_.quick_retries && now - last_progress_ >= cfg_.quick_period) {
        // Quick retries have not moved the client: it is gone, or deaf to
        // duplicates until its own timer fires. Go quiet long enough for
        // that timer to fire.
        wait = quiet_interval();
    }
    deadline_ = std::min(now + wait, last_progress_ + give_up_interval());
    if (!stats_.answered) deadline_ = std::min(*deadline_, stats_.started + cfg_.unanswered_give_up);
}

transfer_actions read_transfer::on_duplicate_request(transfer_clock::time_point now) {
    transfer_actions out;
    // Only before the client has acknowledged anything: afterwards a
    // repeated request is a stale duplicate from the network.
    const bool nothing_acknowledged =
        phase_ == phase::awaiting_oack_ack || (phase_ == phase::sending && acked_ == 0 && !stats_.oack_sent);
    if (!nothing_acknowledged) return with_state(std::move(out));
    // A client repeating its RRQ in a tight loop (or someone spoofing it)
    // gets no more than one resend per timeout.
    if (last_duplicate_resend_ && now - *last_duplicate_resend_ < current_timeout()) {
        ++stats_.ignored_packets;
        return with_state(std::move(out));
    }
    last_duplicate_resend_ = now;
    return resend_unanswered(now, std::move(out));
}

transfer_actions read_transfer::resend_unanswered(transfer_clock::time_point now, transfer_actions out,
                                                  unsigned windows_ahead) {
    if (phase_ == phase::awaiting_oack_ack) {
        out.send.push_back(oack_);
        ++oack_transmissions_;
        ++stats_.packets_sent;
        ++stats_.retransmissions;
    } else {
        resend_outstanding(now, out, true);
        if (windows_ahead > 0 && !done()) {
            const auto before = flight_.size();
            // Never more than max_outstanding, so that every 16-bit ACK
            // still names one block (see on_ack).
            fill_to(std::min(std::size_t{neg_.windowsize} * (1 + windows_ahead), max_outstanding), now, out);
            stats_.look_ahead_blocks += flight_.size() - before;
        }
        if (done()) return with_state(std::move(out));
    }
    arm(now);
    return with_state(std::move(out));
}

transfer_actions read_transfer::with_state(transfer_actions out) const {
    out.done = done();
    out.deadline = deadline_;
    return out;
}

}  // namespace pxed::tftp
